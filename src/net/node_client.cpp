#include "net/node_client.hpp"

namespace inferix::net {

using json = nlohmann::json;

namespace {
// A URL of another server (an object store's presigned URL), not a path on the manager.
bool IsAbsoluteUrl(const std::string& url) {
  return url.starts_with("http://") || url.starts_with("https://");
}
}  // namespace

Error ErrorFromResponse(const HttpResponse& response, const std::string& what) {
  json body = json::parse(response.body, nullptr, false);
  std::string message = response.body.substr(0, 500);
  if (!body.is_discarded() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", message);
  }
  Errc code = Errc::kInternal;
  switch (response.status) {
    case 400:
      code = Errc::kInvalidArgument;
      break;
    case 401:
      code = Errc::kUnauthenticated;
      break;
    case 403:
      code = Errc::kPermissionDenied;
      break;
    case 404:
      code = Errc::kNotFound;
      break;
    case 409:
    case 412:  // an object store's write-once PUT (If-None-Match: *) to a key that holds an object
      code = Errc::kConflict;
      break;
    case 413:
      code = Errc::kTooLarge;
      break;
    case 502:
    case 503:
    case 504:
      code = Errc::kUnavailable;
      break;
    default:
      break;
  }
  return MakeError(code, what + ": " + message + " (HTTP " + std::to_string(response.status) + ")");
}

ApiClient::ApiClient(std::string manager_url, std::string bearer_token, ClientOptions options)
    : manager_url_(std::move(manager_url)), token_(std::move(bearer_token)), http_(std::move(options)) {
  while (!manager_url_.empty() && manager_url_.back() == '/') manager_url_.pop_back();
}

std::map<std::string, std::string> ApiClient::Headers(bool with_token, bool is_json) const {
  std::map<std::string, std::string> h;
  if (with_token && !token_.empty()) h["Authorization"] = "Bearer " + token_;
  if (is_json) h["Content-Type"] = "application/json";
  return h;
}

Result<json> ApiClient::Call(const std::string& method, const std::string& path, const json& body,
                             long timeout_s) {
  auto r = http_.Request(method, manager_url_ + path, body.is_null() ? "" : body.dump(),
                         Headers(true, !body.is_null()), timeout_s);
  if (!r) return r.error();
  if (r->status == 204) return json(nullptr);
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r, method + " " + path);
  json out = json::parse(r->body, nullptr, false);
  if (out.is_discarded()) return MakeError(Errc::kInternal, method + " " + path + ": answer is not JSON");
  return out;
}

Result<std::string> ApiClient::CallText(const std::string& method, const std::string& path,
                                        const std::map<std::string, std::string>& headers, long timeout_s) {
  auto h = Headers(true, false);
  for (const auto& [k, v] : headers) h[k] = v;
  auto r = http_.Request(method, manager_url_ + path, "", h, timeout_s);
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r, method + " " + path);
  return r->body;
}

Result<json> ApiClient::PutFile(const std::string& path_and_query, const std::filesystem::path& file,
                                bool with_token, const std::map<std::string, std::string>& headers) {
  const bool absolute = IsAbsoluteUrl(path_and_query);
  auto h = Headers(with_token && !absolute, false);
  for (const auto& [k, v] : headers) h[k] = v;
  auto r = http_.UploadFile("PUT", absolute ? path_and_query : manager_url_ + path_and_query, file, h);
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300)
    return ErrorFromResponse(*r, "upload of " + file.filename().string());
  json out = json::parse(r->body, nullptr, false);
  return out.is_discarded() ? json::object() : out;
}

Result<std::string> ApiClient::PutPart(const std::string& url, const std::string& bytes,
                                       const std::map<std::string, std::string>& headers) {
  if (!IsAbsoluteUrl(url)) return MakeError(Errc::kInvalidArgument, "a part's URL must be absolute");
  auto r = http_.Request("PUT", url, bytes, headers);
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r, "upload of a part");
  const auto etag = r->headers.find("etag");
  if (etag == r->headers.end() || etag->second.empty()) {
    return MakeError(Errc::kInternal, "upload of a part: the object store answered no ETag");
  }
  return etag->second;
}

Result<void> ApiClient::Download(const std::string& path_and_query, const std::filesystem::path& dest) {
  const bool absolute = IsAbsoluteUrl(path_and_query);
  auto r =
      http_.Download(absolute ? path_and_query : manager_url_ + path_and_query, dest, Headers(false, false));
  if (!r) return r.error();
  if (r->status != 200) return ErrorFromResponse(*r, "download of " + dest.filename().string());
  return Ok();
}

}  // namespace inferix::net
