#pragma once
// What the S3 adapter's files share (private to src/blob): one bucket on one endpoint, requests signed with
// SigV4 and sent with net::HttpClient, the store's errors mapped to Result codes, and the little XML reading
// S3's answers need. Shared by the store and the readers it opens, so a reader outlives nothing it needs.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob/s3_store.hpp"
#include "blob/sigv4.hpp"
#include "core/result.hpp"
#include "net/http.hpp"

namespace inferix::net {
class HttpClient;
}

namespace inferix::blob::s3 {

/// One request to the bucket (key "" addresses the bucket itself).
struct Call {
  Call(std::string method_, std::string key_, sigv4::Pairs query_ = {})
      : method(std::move(method_)), key(std::move(key_)), query(std::move(query_)) {}
  std::string method;
  std::string key;
  sigv4::Pairs query;    ///< decoded
  sigv4::Pairs headers;  ///< signed and sent, besides host, x-amz-date and x-amz-content-sha256
  std::string payload_hash = std::string(sigv4::kEmptySha256);
  std::string_view body;                        ///< the body in memory
  const std::filesystem::path* file = nullptr;  ///< or a file streamed as the body (PUT)
};

/// The endpoint, bucket and credentials, and a pool of HTTP clients (one per concurrent call).
class Connection {
 public:
  explicit Connection(S3Config config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const S3Config& config() const { return config_; }
  /// The path of `key` ("/bucket/key", decoded); the bucket's for "".
  std::string PathOf(const std::string& key) const;
  /// The Host header's value (the endpoint's authority, default port left out).
  const std::string& host() const { return host_; }
  /// Seconds since the epoch, by the configured clock.
  int64_t NowS() const;

  /// Signs and sends `call`. Transport failures are kUnavailable; any HTTP status is a response.
  Result<net::HttpResponse> Send(const Call& call);
  /// A presigned URL for `request` (path and headers filled in here from `key`).
  sigv4::Signed Presign(const std::string& key, sigv4::Request request, int64_t ttl_s) const;
  /// The URL of a presigned request (endpoint, encoded path, query).
  std::string UrlOf(const std::string& key, const std::string& encoded_query) const;

 private:
  S3Config config_;
  std::string scheme_host_;  // "http://127.0.0.1:57480"
  std::string host_;
  std::mutex mu_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;
};

/// The error an S3 answer says: 403 kPermissionDenied, 404 kNotFound, 409 and 412 kConflict, 400
/// kInvalidArgument, 413 kTooLarge, 5xx kUnavailable, with the store's code and message. `what` names the
/// request ("PUT key").
Error ErrorOf(const std::string& what, const net::HttpResponse& response);

/// The text of the first <tag>...</tag> at or after `*pos` (entities decoded), moving `*pos` past it;
/// nullopt when there is none.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag, size_t* pos);
/// Decodes the five XML entities and numeric character references.
std::string XmlDecode(std::string_view text);
/// Escapes text for an XML element.
std::string XmlEscape(std::string_view text);

/// kInvalidArgument unless `key` is a valid object key.
Result<void> CheckKey(const std::string& key);

}  // namespace inferix::blob::s3
