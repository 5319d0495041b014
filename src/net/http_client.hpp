#pragma once
// The HTTP client (libcurl): JSON calls, file uploads and downloads.
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "net/http.hpp"

namespace inferix::net {

/// Client settings.
struct ClientOptions {
  std::string ca_file;   ///< CA to trust for HTTPS; empty: the system's
  long timeout_s = 120;  ///< whole-request limit, unless a call gives its own
  long connect_timeout_s = 10;
  const std::atomic<bool>* abort =
      nullptr;  ///< when it becomes true, a transfer in progress ends (kUnavailable)
};

/// A blocking HTTP client; one per thread (not thread-safe).
class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  /// Sends a request with an in-memory body. Transport failures (refused, timeout, TLS) are an Error with
  /// code kUnavailable; any HTTP status, 4xx/5xx included, is a response.
  Result<HttpResponse> Request(const std::string& method, const std::string& url,
                               const std::string& body = "",
                               const std::map<std::string, std::string>& headers = {}, long timeout_s = 0);
  /// Sends a file's content as the body (streamed from disk).
  Result<HttpResponse> UploadFile(const std::string& method, const std::string& url,
                                  const std::filesystem::path& file,
                                  const std::map<std::string, std::string>& headers = {});
  /// GETs `url` into `dest` atomically (temporary file, then rename) when the status is 200; on another
  /// status the response body (the error) is returned in the response and `dest` is untouched.
  Result<HttpResponse> Download(const std::string& url, const std::filesystem::path& dest,
                                const std::map<std::string, std::string>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferix::net
