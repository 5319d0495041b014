#pragma once
// HTTP types shared by the server and the client; no Beast or curl types leak out of src/net.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace inferix::net {

/// A received HTTP request, fully read (body in memory or spooled to a file, bounded by the server's limits).
struct HttpRequest {
  std::string method;                          ///< "GET", "POST", ...
  std::string target;                          ///< raw request target, query included
  std::string path;                            ///< percent-decoded path, without the query
  std::map<std::string, std::string> query;    ///< percent-decoded query parameters
  std::map<std::string, std::string> headers;  ///< header names in lower case
  std::string body;  ///< the body in memory; empty when the server spooled it to `body_file`
  /// Set when the server wrote the body to a temporary file instead of memory (the route asked for it before
  /// the body was read): the file holds exactly the body and is removed by the server after the response.
  std::filesystem::path body_file;
  std::string body_sha256;  ///< lower-case hex SHA-256 of a spooled body, computed while it was read
  uint64_t body_size = 0;   ///< the body's size in bytes, in memory or spooled
  int64_t received_ms = 0;  ///< when the server finished reading it (system clock, ms)
  /// Long-poll: when the handler last ran for this request (system clock, ms); 0 on its first run.
  int64_t previous_attempt_ms = 0;
  /// Value of a header (name in any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

/// One byte range of a file, both ends included.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

/// What a Range header asks of a file of `size` bytes. Only single ranges ("bytes=A-B", "bytes=A-",
/// "bytes=-N") are honoured: nullopt means serve the whole file (no header, several ranges, a unit other than
/// bytes, a malformed value); a range with first > last means the range cannot be satisfied (416).
std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size);

/// A response; `file`, when set, is streamed from disk instead of `body`. A GET of a file honours a single
/// byte range (206, at most kMaxRangeBytes of it at a time: players and resumed downloads ask again).
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  std::string body;
  std::filesystem::path file;
  /// Long-poll: when > 0 the server sends nothing yet, waits this many milliseconds without holding a thread,
  /// and calls the handler again with the same request (unless the client has gone away).
  int64_t retry_after_ms = 0;
  /// With retry_after_ms: the key the wait is parked under. HttpServer::Wake(wait_key) ends the wait early,
  /// and the handler is called again at once. Empty: the wait lasts retry_after_ms.
  std::string wait_key;
};

/// The most bytes one ranged answer carries.
inline constexpr uint64_t kMaxRangeBytes = uint64_t{8} << 20;

}  // namespace inferix::net
