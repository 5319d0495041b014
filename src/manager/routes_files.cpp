// Scene files users upload, by content hash. (Presigned object URLs of the file adapter are answered by
// blob_endpoint, before the API.)
#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/quotas.hpp"
#include "manager/requests.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

// Which of the hashes the user has not uploaded yet.
HttpResponse CheckFiles(Call& c) {
  auto request = DecodeCheckFiles(c.req);
  if (!request) return Fail(request.error());
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& h : request->sha256) {
    auto has = c.api.store.UserHasFile(c.user->id, h);
    if (!has) return Fail(has.error());
    if (!*has) missing.push_back(h);
  }
  return Json(200, {{"missing", missing}});
}

HttpResponse UploadFile(Call& c) {
  const std::string& sha = c.params.at(0);
  const std::string& body = c.req.body;
  if (!IsSha256Hex(sha)) return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
  if (Sha256Hex(body) != sha) {
    return Fail(Errc::kInvalidArgument, "uploaded content does not match its SHA-256; nothing was stored");
  }
  // The stored-bytes quota (issue #14, manager/quotas.hpp); a file the user has already costs nothing.
  if (auto allowed =
          AllowUpload(c.api.store, *c.user, c.api.options.quotas, sha, static_cast<int64_t>(body.size()));
      !allowed)
    return Fail(allowed.error());
  auto put = c.api.blobs.Put(domain::FileKey(sha), body);
  if (!put) return Fail(put.error());
  auto add = c.api.store.AddUserFile(c.user->id, sha, static_cast<int64_t>(body.size()));
  if (!add) return Fail(add.error());
  return Json(201, {{"sha256", sha}, {"size", body.size()}});
}

}  // namespace

std::vector<Route> FileRoutes() {
  return {
      {"POST", "files/check", Auth::kUser, CheckFiles},
      {"PUT", "files/:sha256", Auth::kUser, UploadFile},
  };
}

}  // namespace inferix::manager
