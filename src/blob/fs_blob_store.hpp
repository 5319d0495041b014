#pragma once
// The file adapter of the object store (the default): each object is a file under a folder on local disk,
// written atomically and, for uploads, write-once; its digest is kept in a file beside it (see
// blob/fs_blob_internal.hpp for the names). Its presigned URLs are the manager's own HMAC-signed URLs
// ("/api/v1/blobs/<key>?method=&expires=&sig=", blob/signed_url.hpp), so the manager answers them, through
// the calls below that only this adapter has. The folder's layout is this adapter's business: no other code
// knows an object's path.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "blob/signed_url.hpp"
#include "core/clock.hpp"
#include "domain/object_store.hpp"

namespace inferix::net {
struct HttpResponse;
}

namespace inferix {
class Sha256Stream;
}

namespace inferix::blob {

/// Objects as files under `root`; see domain::ObjectStore for what each call promises.
class FsObjectStore final : public domain::ObjectStore {
 public:
  /// Use OpenFsObjectStore, which also makes the folder and removes what a crash left.
  FsObjectStore(std::filesystem::path root, std::string url_secret, std::shared_ptr<const Clock> clock)
      : root_(std::move(root)), url_secret_(std::move(url_secret)), clock_(std::move(clock)) {}

  Result<void> Put(const std::string& key, std::string_view bytes) override;
  Result<void> PutFile(const std::string& key, const std::filesystem::path& source) override;
  Result<void> CreateFromFile(const std::string& key, const std::filesystem::path& source,
                              const std::string& sha256) override;
  Result<std::unique_ptr<domain::ObjectReader>> Open(const std::string& key) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::optional<domain::ObjectInfo>> Stat(const std::string& key) override;
  Result<void> Delete(const std::string& key) override;
  Result<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                 const std::optional<std::string>& download_name,
                                 const std::string& sha256) override;
  Result<std::string> PresignPut(const std::string& key, std::chrono::seconds ttl,
                                 const domain::PutTerms& terms) override;
  /// None: the manager answers this adapter's URLs and checks the body itself.
  std::map<std::string, std::string> PutHeaders(const domain::PutTerms& /*terms*/) const override {
    return {};
  }

  /// Stores `bytes` under `key` write-once, as CreateFromFile does with a file (kConflict when an object is
  /// there); for a body that arrived in memory.
  Result<void> CreateFromBytes(const std::string& key, std::string_view bytes);

  /// Writes stop (kUnavailable, with what to do) while the folder's file system has less than `bytes` free.
  /// 0: no watermark; negative: the default, the smaller of 1 GiB and 5% of the file system's size.
  void SetMinFreeBytes(int64_t bytes);
  /// Ok while the free space is at or above the watermark; kUnavailable with a clear message otherwise.
  Result<void> CheckRoom(const std::string& key) const;

  /// Removes what writes interrupted by a crash left in the folder: temporary files, and digest files with
  /// no object. Returns how many files it removed. OpenFsObjectStore calls it.
  Result<int> RemoveLeftovers();
  /// In fs_blob_list.cpp.
  Result<std::vector<Listed>> List(const std::string& prefix, const std::string& start_after,
                                   size_t limit) override;

  // The manager's side of this adapter's URLs.

  /// Checks a request to one of this adapter's URLs, in this order: the key is well formed
  /// (kInvalidArgument), the query's "method" is the request's `method`, and its "expires", terms and "sig"
  /// sign that method on that key and have not expired (kPermissionDenied otherwise). Returns the terms.
  Result<UrlTerms> VerifyPresigned(std::string_view method, const std::string& key,
                                   const std::map<std::string, std::string>& query) const;
  /// Makes `response` carry the object for a GET: streamed from disk by the HTTP server, which honours a
  /// single byte range. The object's bytes are checked first against `sha256` (when given) and the digest
  /// kept with it: kInternal ("stored object ... is damaged") rather than bytes that are not what was
  /// stored. The check's result is remembered while the file is unchanged, so it costs one read per object.
  /// kNotFound when there is no object under `key`.
  Result<void> Serve(const std::string& key, net::HttpResponse& response, const std::string& sha256) const;

 private:
  using Fill = std::function<Result<void>(int fd, Sha256Stream& digest)>;
  Result<std::filesystem::path> PathOf(const std::string& key) const;
  // Stores what `fill` writes (and hashes) into a temporary file, flushed, then moved into place: over any
  // object (`replace`) or only where there is none (kConflict otherwise). `expected_sha256`, when given,
  // must be the digest of what was written. The digest is kept beside the object.
  Result<void> WriteObject(const std::string& key, const Fill& fill, bool replace,
                           const std::string& expected_sha256);
  // Makes the folders of `path`, flushing each new folder's entry in its parent.
  Result<void> MakeFolders(const std::filesystem::path& path, const std::string& key) const;
  // Checks the bytes of the object at `path` against `want` (the digest to match).
  Result<void> CheckIntact(const std::string& key, const std::filesystem::path& path,
                           const std::string& want) const;
  int64_t ExpiresAt(std::chrono::seconds ttl) const;

  // What a check found of a file, valid while the file's identity and times are unchanged.
  struct Checked {
    uint64_t dev = 0, ino = 0;
    int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
    std::string sha256;
  };

  std::filesystem::path root_;
  std::string url_secret_;
  std::shared_ptr<const Clock> clock_;
  int64_t min_free_bytes_ = 0;
  std::mutex place_mu_;  // serialises moving objects and their digests into place
  mutable std::mutex checked_mu_;
  mutable std::map<std::string, Checked> checked_;  // key -> what the last check of its file found
};

/// Opens (creating) the store rooted at `root`, removing what a crash left there. Its URLs are signed with
/// `url_secret` and expire by `clock`.
Result<std::unique_ptr<FsObjectStore>> OpenFsObjectStore(const std::filesystem::path& root,
                                                         std::string url_secret,
                                                         std::shared_ptr<const Clock> clock);

}  // namespace inferix::blob
