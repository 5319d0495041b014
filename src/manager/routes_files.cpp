// Scene files users upload, by content hash. (Presigned object URLs of the file adapter are answered by
// blob_endpoint, before the API.)

#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/quotas.hpp"
#include "manager/requests.hpp"
#include "manager/uploads.hpp"

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

// Where and how to upload a file (uploads.hpp): straight to the object store with S3.
HttpResponse StartFileUpload(Call& c) {
  const std::string& sha = c.params.at(0);
  if (!IsSha256Hex(sha)) return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
  auto body = ParseBody(c.req, {"size"});
  if (!body) return Fail(body.error());
  int64_t size = 0;
  BodyReader in(*body);
  in.Integer("size", size, 0, kMaxStatedFileBytes, true);
  if (auto done = in.Done(); !done) return Fail(done.error());
  auto answer = StartUpload(c.api, *c.user, sha, size);
  if (!answer) return Fail(answer.error());
  return Json(200, *answer);
}

// The presigned URL of one part of a multipart upload, signing that part's digest.
HttpResponse FilePartUrl(Call& c) {
  const std::string& sha = c.params.at(0);
  if (!IsSha256Hex(sha)) return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
  auto body = ParseBody(c.req, {"key", "upload_id", "number", "sha256"});
  if (!body) return Fail(body.error());
  std::string key;
  std::string upload_id;
  std::string part_sha;
  int number = 0;
  BodyReader in(*body);
  in.Required("key", key).Required("upload_id", upload_id).Integer("number", number, 1, 10000, true);
  in.Required("sha256", part_sha).Check(IsSha256Hex(part_sha), "\"sha256\" must be the part's SHA-256");
  if (auto done = in.Done(); !done) return Fail(done.error());
  auto answer = PartUrl(c.api, *c.user, sha, key, upload_id, number, part_sha);
  if (!answer) return Fail(answer.error());
  return Json(200, *answer);
}

// The upload is done: the manager checks what the store holds and records the file as the user's.
HttpResponse CompleteFileUpload(Call& c) {
  const std::string& sha = c.params.at(0);
  if (!IsSha256Hex(sha)) return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
  auto body = ParseBody(c.req, {"key", "upload_id", "parts"});
  if (!body) return Fail(body.error());
  std::string key;
  std::string upload_id;
  nlohmann::json parts_json = nlohmann::json::array();
  BodyReader in(*body);
  in.Required("key", key).Optional("upload_id", upload_id).Optional("parts", parts_json);
  in.Check(parts_json.is_array() && parts_json.size() <= 10000, "\"parts\" must be a list of at most 10000");
  in.Check(upload_id.empty() || !parts_json.empty(), "a multipart upload needs its \"parts\"");
  if (auto done = in.Done(); !done) return Fail(done.error());
  std::vector<UploadedPart> parts;
  for (const auto& p : parts_json) {
    UploadedPart part;
    BodyReader pin(p);
    pin.Check(p.is_object(), "each part is {\"number\", \"etag\"}");
    if (pin.ok()) pin.Integer("number", part.number, 1, 10000, true).Required("etag", part.etag);
    pin.Check(part.etag.size() <= 1024, "a part's \"etag\" is at most 1024 characters");
    if (auto done = pin.Done(); !done) return Fail(done.error());
    parts.push_back(std::move(part));
  }
  auto answer = CompleteUpload(c.api, *c.user, sha, key, upload_id, parts);
  if (!answer) return Fail(answer.error());
  return Json(201, *answer);
}

}  // namespace

std::vector<Route> FileRoutes() {
  return {
      {"POST", "files/check", Auth::kUser, CheckFiles},
      {"PUT", "files/:sha256", Auth::kUser, UploadFile},
      {"POST", "files/:sha256/upload", Auth::kUser, StartFileUpload},
      {"POST", "files/:sha256/part", Auth::kUser, FilePartUrl},
      {"POST", "files/:sha256/complete", Auth::kUser, CompleteFileUpload},
  };
}

}  // namespace inferix::manager
