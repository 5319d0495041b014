#pragma once
// HTTP types shared by the server and the client; no Beast or curl types leak out of src/net.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace inferix::net {

/// A received HTTP request, fully read (body in memory, bounded by the server's body limit).
struct HttpRequest {
  std::string method;                          ///< "GET", "POST", ...
  std::string target;                          ///< raw request target, query included
  std::string path;                            ///< percent-decoded path, without the query
  std::map<std::string, std::string> query;    ///< percent-decoded query parameters
  std::map<std::string, std::string> headers;  ///< header names in lower case
  std::string body;
  int64_t received_ms = 0;  ///< when the server finished reading it (system clock, ms)
  /// Value of a header (name in any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

/// A response; `file`, when set, is streamed from disk instead of `body`.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  std::string body;
  std::filesystem::path file;
  /// Long-poll: when > 0 the server sends nothing yet, waits this many milliseconds without holding a thread,
  /// and calls the handler again with the same request (unless the client has gone away).
  int64_t retry_after_ms = 0;
};

}  // namespace inferix::net
