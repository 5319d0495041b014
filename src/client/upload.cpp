// The upload step of `inferix submit`: each file the manager lacks goes where the manager says
// (POST /files/{sha256}/upload): to the manager itself, or straight to its object store, in parts when large.
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "client/internal.hpp"
#include "core/crypto.hpp"
#include "net/node_client.hpp"

namespace inferix::client {
namespace {

using json = nlohmann::json;

std::map<std::string, std::string> HeadersOf(const json& answer) {
  std::map<std::string, std::string> headers;
  if (answer.contains("headers") && answer["headers"].is_object()) {
    for (const auto& [name, value] : answer["headers"].items()) {
      if (value.is_string()) headers[name] = value.get<std::string>();
    }
  }
  return headers;
}

// The parts of a multipart upload, one in memory at a time, each with its digest signed into its URL.
Result<void> UploadParts(net::ApiClient& api, const std::string& sha, const std::filesystem::path& path,
                         const json& multipart) {
  const std::string key = multipart.value("key", "");
  const std::string upload_id = multipart.value("upload_id", "");
  const int64_t part_size = multipart.value("part_size", int64_t{0});
  if (key.empty() || upload_id.empty() || part_size <= 0) {
    return MakeError(Errc::kInternal, "the manager's answer names no multipart upload");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errc::kNotFound, "cannot read " + path.string());
  json parts = json::array();
  std::string bytes;
  for (int number = 1;; ++number) {
    bytes.resize(static_cast<size_t>(part_size));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<size_t>(in.gcount()));
    if (bytes.empty() && number > 1) break;
    auto url =
        api.Call("POST", "/api/v1/files/" + sha + "/part",
                 {{"key", key}, {"upload_id", upload_id}, {"number", number}, {"sha256", Sha256Hex(bytes)}});
    if (!url) return url.error();
    auto etag = api.PutPart(url->value("url", ""), bytes, HeadersOf(*url));
    if (!etag) return etag.error();
    parts.push_back({{"number", number}, {"etag", *etag}});
    if (bytes.size() < static_cast<size_t>(part_size)) break;
  }
  auto done = api.Call("POST", "/api/v1/files/" + sha + "/complete",
                       {{"key", key}, {"upload_id", upload_id}, {"parts", parts}});
  if (!done) return done.error();
  return Ok();
}

}  // namespace

Result<void> UploadSceneFile(net::ApiClient& api, const std::string& sha, const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return MakeError(Errc::kNotFound, "cannot read " + path.string() + ": " + ec.message());
  auto answer = api.Call("POST", "/api/v1/files/" + sha + "/upload", {{"size", size}});
  if (!answer && answer.error().code == Errc::kNotFound) {
    // A manager older than the route: the file goes to it, as before.
    auto put = api.PutFile("/api/v1/files/" + sha, path, true);
    if (!put) return put.error();
    return Ok();
  }
  if (!answer) return answer.error();
  if (answer->value("have", false)) return Ok();
  if (answer->contains("multipart")) return UploadParts(api, sha, path, (*answer)["multipart"]);
  const std::string url = answer->value("url", "");
  if (url.empty()) return MakeError(Errc::kInternal, "the manager's answer names no upload URL");
  // A path on the manager takes the user's token; an object store's URL is presigned and gets none.
  auto put = api.PutFile(url, path, true, HeadersOf(*answer));
  // Conflict: the store holds the file already (uploaded meanwhile by someone else): the manager checks.
  if (!put && put.error().code != Errc::kConflict) return put.error();
  if (!answer->value("complete", false)) return Ok();
  auto done = api.Call("POST", "/api/v1/files/" + sha + "/complete", {{"key", answer->value("key", "")}});
  if (!done) return done.error();
  return Ok();
}

}  // namespace inferix::client
