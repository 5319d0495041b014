#pragma once
// The file adapter of the object store (the default): each object is a file under a folder on local disk,
// written atomically. Its presigned URLs are the manager's own HMAC-signed URLs ("/api/v1/blobs/<key>?method=
// &expires=&sig=", blob/signed_url.hpp), so the manager answers them, through the two calls below that only
// this adapter has. The folder's layout is this adapter's business: no other code knows an object's path.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "domain/object_store.hpp"

namespace inferix::net {
struct HttpResponse;
}

namespace inferix::blob {

/// Objects as files under `root`; see domain::ObjectStore for what each call promises.
class FsObjectStore final : public domain::ObjectStore {
 public:
  /// Use OpenFsObjectStore, which also makes the folder.
  FsObjectStore(std::filesystem::path root, std::string url_secret, std::shared_ptr<const Clock> clock)
      : root_(std::move(root)), url_secret_(std::move(url_secret)), clock_(std::move(clock)) {}

  Result<void> Put(const std::string& key, std::string_view bytes) override;
  Result<void> PutFile(const std::string& key, const std::filesystem::path& source) override;
  Result<std::unique_ptr<domain::ObjectReader>> Open(const std::string& key) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::optional<domain::ObjectInfo>> Stat(const std::string& key) override;
  Result<void> Delete(const std::string& key) override;
  Result<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                 const std::optional<std::string>& download_name) override;
  Result<std::string> PresignPut(const std::string& key, std::chrono::seconds ttl) override;
  /// In fs_blob_list.cpp.
  Result<std::vector<Listed>> List(const std::string& prefix, const std::string& start_after,
                                   size_t limit) override;

  // The manager's side of this adapter's URLs.

  /// Checks a request to one of this adapter's URLs, in this order: the key is well formed
  /// (kInvalidArgument), the query's "method" is the request's `method`, and its "expires" and "sig" sign
  /// that method on that key and have not expired (kPermissionDenied otherwise).
  Result<void> VerifyPresigned(std::string_view method, const std::string& key,
                               const std::map<std::string, std::string>& query) const;
  /// Makes `response` carry the object for a GET: streamed from disk by the HTTP server, which honours a
  /// single byte range. kNotFound when there is no object under `key`.
  Result<void> Serve(const std::string& key, net::HttpResponse& response) const;

 private:
  Result<std::filesystem::path> PathOf(const std::string& key) const;
  // Creates the object from what `fill` writes to a temporary file's descriptor, atomically.
  Result<void> WriteAtomically(const std::string& key, const std::function<Result<void>(int fd)>& fill);
  int64_t ExpiresAt(std::chrono::seconds ttl) const;

  std::filesystem::path root_;
  std::string url_secret_;
  std::shared_ptr<const Clock> clock_;
};

/// Opens (creating) the store rooted at `root`. Its URLs are signed with `url_secret` and expire by `clock`.
Result<std::unique_ptr<FsObjectStore>> OpenFsObjectStore(const std::filesystem::path& root,
                                                         std::string url_secret,
                                                         std::shared_ptr<const Clock> clock);

}  // namespace inferix::blob
