#include "manager/blob_endpoint.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/api_util.hpp"
#include "manager/dashboard.hpp"

namespace inferix::manager {

net::HttpResponse ServeBlob(blob::FsObjectStore& objects, const net::HttpRequest& req) {
  const std::string key = req.path.substr(kBlobPathPrefix.size());
  auto ok = objects.VerifyPresigned(req.method, key, req.query);
  if (!ok) return Fail(ok.error());
  if (req.method == "GET") {
    net::HttpResponse r;
    auto served = objects.Serve(key, r);
    if (!served) return Fail(served.error());
    // Previews and videos are the manager's own files; a worker's upload is never shown as anything but bytes
    // to save, whatever it holds.
    r.content_type = domain::IsManagerMade(key) ? ContentTypeFor(key) : "application/octet-stream";
    r.headers["X-Content-Type-Options"] = "nosniff";
    r.headers["Content-Security-Policy"] = "default-src 'none'; sandbox";
    r.headers["Cache-Control"] = "private, max-age=3600";
    auto name = req.query.find("name");
    if (name != req.query.end() && IsSafeDownloadName(name->second))
      r.headers["Content-Disposition"] = "attachment; filename=\"" + name->second + "\"";
    return r;
  }
  if (req.method == "PUT") {
    if (req.body.empty()) return Fail(Errc::kInvalidArgument, "empty upload");
    auto put = objects.Put(key, req.body);
    if (!put) return Fail(put.error());
    return Json(200, {{"key", key}, {"sha256", Sha256Hex(req.body)}, {"size", req.body.size()}});
  }
  return Fail(Errc::kInvalidArgument, "signed URLs support GET and PUT");
}

}  // namespace inferix::manager
