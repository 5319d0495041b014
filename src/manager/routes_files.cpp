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

// The server spools the body of this route to a file and hashes it as it arrives (Api::Admit), so this
// handler, on the thread every request waits for, neither hashes nor holds the upload.
HttpResponse UploadFile(Call& c) {
  const std::string& sha = c.params.at(0);
  if (!IsSha256Hex(sha)) return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
  const bool spooled = !c.req.body_file.empty();
  const std::string digest = spooled ? c.req.body_sha256 : Sha256Hex(c.req.body);
  const uint64_t size = spooled ? c.req.body_size : c.req.body.size();
  if (digest != sha) {
    return Fail(Errc::kInvalidArgument, "uploaded content has SHA-256 " + digest + ", not the " + sha +
                                            " its URL names; nothing was stored");
  }
  // The stored-bytes quota (issue #14, manager/quotas.hpp); a file the user has already costs nothing.
  if (auto allowed = AllowUpload(c.api.store, *c.user, c.api.options.quotas, sha, static_cast<int64_t>(size));
      !allowed)
    return Fail(allowed.error());
  // A spooled upload is moved into the object store (same file system: a rename, nothing copied or hashed on
  // this thread). The key is the content's hash, so an object already there holds these very bytes.
  auto put = spooled ? c.api.blobs.CreateFromFile(domain::FileKey(sha), c.req.body_file, sha)
                     : c.api.blobs.Put(domain::FileKey(sha), c.req.body);
  if (!put && put.error().code != Errc::kConflict) return Fail(put.error());
  auto add = c.api.store.AddUserFile(c.user->id, sha, static_cast<int64_t>(size));
  if (!add) return Fail(add.error());
  return Json(201, {{"sha256", sha}, {"size", size}});
}

}  // namespace

std::vector<Route> FileRoutes() {
  return {
      {"POST", "files/check", Auth::kUser, CheckFiles},
      {"PUT", "files/:sha256", Auth::kUser, UploadFile},
  };
}

}  // namespace inferix::manager
