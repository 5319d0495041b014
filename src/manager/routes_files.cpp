// Scene files users upload, by content hash. (Presigned object URLs of the file adapter are answered by
// blob_endpoint, before the API.)
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/requests.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

// Stores of spooled uploads run off the handler thread, which every other request waits for: a large copy
// there would stall them all (issue #14). The handler starts the store, then has the server call it again (a
// long-poll retry) until the store is done; the spooled file names the request and lives until it is
// answered.
class BackgroundStores {
 public:
  // The store's result once done; nullopt while it runs (it is started on the first call for `file`).
  std::optional<Result<void>> Poll(const std::filesystem::path& file,
                                   const std::function<Result<void>()>& store) {
    std::lock_guard lock(mu_);
    auto it = pending_.find(file);
    if (it == pending_.end()) {
      pending_.emplace(file, std::async(std::launch::async, store));
      return std::nullopt;
    }
    if (it->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
    Result<void> done = it->second.get();
    pending_.erase(it);
    return done;
  }

 private:
  std::mutex mu_;
  std::map<std::filesystem::path, std::future<Result<void>>> pending_;
};

BackgroundStores& Stores() {
  static BackgroundStores stores;
  return stores;
}

// How soon the server asks again whether a background store is done.
constexpr int64_t kStorePollMs = 10;

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
  if (spooled) {
    // When merged with the write-once object store: CreateFromFile(key, body_file, body_sha256) moves it.
    domain::ObjectStore& blobs = c.api.blobs;
    const std::filesystem::path file = c.req.body_file;
    auto stored =
        Stores().Poll(file, [&blobs, sha, file] { return blobs.PutFile(domain::FileKey(sha), file); });
    if (!stored) {
      HttpResponse wait;
      wait.retry_after_ms = kStorePollMs;
      return wait;
    }
    if (!*stored) return Fail(stored->error());
  } else {
    auto put = c.api.blobs.Put(domain::FileKey(sha), c.req.body);
    if (!put) return Fail(put.error());
  }
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
