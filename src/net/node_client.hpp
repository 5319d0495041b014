#pragma once
// JSON-over-HTTP calls to the manager's API, for the CLI's commands and the node's HttpManagerClient.
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/http_client.hpp"

namespace inferix::net {

/// Maps an HTTP error answer ({"error":{"code","message"}}) to an Error.
Error ErrorFromResponse(const HttpResponse& response, const std::string& what);

/// JSON-over-HTTP calls to the manager; transport failures are kUnavailable (retry with backoff).
class ApiClient {
 public:
  ApiClient(std::string manager_url, std::string bearer_token, ClientOptions options = {});
  /// Sends a JSON request to `path` ("/api/v1/..."); non-2xx answers become Errors with the server's message.
  /// 204 gives a null JSON value.
  Result<nlohmann::json> Call(const std::string& method, const std::string& path,
                              const nlohmann::json& body = nullptr, long timeout_s = 0);
  /// Sends a request and returns the body as text (event streams); non-2xx answers become Errors.
  Result<std::string> CallText(const std::string& method, const std::string& path,
                               const std::map<std::string, std::string>& headers = {}, long timeout_s = 0);
  /// PUTs a file to a path with the bearer token (user uploads) or to a signed URL (no token needed), with
  /// `headers` besides. A signed URL may be a path on the manager or an absolute URL of an object store: an
  /// absolute URL gets neither the token nor anything else of the manager's.
  Result<nlohmann::json> PutFile(const std::string& path_and_query, const std::filesystem::path& file,
                                 bool with_token, const std::map<std::string, std::string>& headers = {});
  /// PUTs `bytes` to an absolute presigned URL of an object store with `headers` (one part of a multipart
  /// upload); returns the ETag the store answered.
  Result<std::string> PutPart(const std::string& url, const std::string& bytes,
                              const std::map<std::string, std::string>& headers);
  /// GETs a path on the manager, or an absolute signed URL, into `dest` atomically.
  Result<void> Download(const std::string& path_and_query, const std::filesystem::path& dest);
  const std::string& manager_url() const { return manager_url_; }
  void set_token(std::string token) { token_ = std::move(token); }

 private:
  std::map<std::string, std::string> Headers(bool with_token, bool json) const;
  std::string manager_url_;
  std::string token_;
  HttpClient http_;
};

}  // namespace inferix::net
