// Scene files users upload (by content hash) and the signed URLs through which nodes and browsers read and
// write stored objects.
#include "blob/signed_url.hpp"
#include "core/crypto.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/dashboard.hpp"
#include "manager/requests.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

// GET or PUT of one object through a signed URL: no credentials but the signature, which names the key, the
// method and an expiry.
HttpResponse SignedObject(Call& c) {
  const net::HttpRequest& req = c.req;
  std::string key = req.path.substr(std::string("/api/v1/blobs/").size());
  if (!blob::IsValidKey(key)) return Fail(Errc::kInvalidArgument, "invalid object key");
  auto q = [&](const char* name) {
    auto it = req.query.find(name);
    return it == req.query.end() ? std::string() : it->second;
  };
  if (q("method") != req.method) return Fail(Errc::kPermissionDenied, "signed URL is for another method");
  auto ok = blob::VerifySignature(c.api.options.url_secret, req.method, key, q("expires"), q("sig"),
                                  c.api.clock.NowMs() / 1000);
  if (!ok) return Fail(ok.error());
  if (req.method == "GET") {
    auto path = c.api.blobs.LocalPath(key);
    if (!path) return Fail(path.error());
    auto exists = c.api.blobs.Exists(key);
    if (!exists || !*exists) return Fail(Errc::kNotFound, "object not found");
    HttpResponse r;
    // Previews and videos are the manager's own files; a worker's upload is never shown as anything but
    // bytes to save, whatever it holds.
    const bool own = key.starts_with("previews/") || key.starts_with("videos/");
    r.content_type = own ? ContentTypeFor(key) : "application/octet-stream";
    r.file = *path;
    r.headers["X-Content-Type-Options"] = "nosniff";
    r.headers["Content-Security-Policy"] = "default-src 'none'; sandbox";
    r.headers["Cache-Control"] = "private, max-age=3600";
    const std::string name = q("name");
    if (!name.empty() && IsSafeDownloadName(name)) {
      r.headers["Content-Disposition"] = "attachment; filename=\"" + name + "\"";
    }
    return r;
  }
  if (req.method == "PUT") {
    if (req.body.empty()) return Fail(Errc::kInvalidArgument, "empty upload");
    auto put = c.api.blobs.Put(key, req.body);
    if (!put) return Fail(put.error());
    return Json(200, {{"key", key}, {"sha256", Sha256Hex(req.body)}, {"size", req.body.size()}});
  }
  return Fail(Errc::kInvalidArgument, "signed URLs support GET and PUT");
}

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
  auto put = c.api.blobs.Put("files/" + sha, body);
  if (!put) return Fail(put.error());
  auto add = c.api.store.AddUserFile(c.user->id, sha, static_cast<int64_t>(body.size()));
  if (!add) return Fail(add.error());
  return Json(201, {{"sha256", sha}, {"size", body.size()}});
}

}  // namespace

std::vector<Route> FileRoutes() {
  std::vector<Route> routes;
  for (const char* method : {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"}) {
    routes.push_back({method, "blobs/*", Auth::kNone, SignedObject});
  }
  routes.push_back({"POST", "files/check", Auth::kUser, CheckFiles});
  routes.push_back({"PUT", "files/:sha256", Auth::kUser, UploadFile});
  return routes;
}

}  // namespace inferix::manager
