#include "blob/fs_blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "blob/fs_blob_internal.hpp"
#include "blob/signed_url.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "domain/object_keys.hpp"
#include "net/http.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;

using internal::Fd;
using internal::NotFound;
using internal::ObjectError;

constexpr size_t kHashChunk = size_t{1} << 20;
constexpr size_t kMaxChecked = 100'000;  // remembered checks; forgotten all at once beyond (a rare re-read)

// The SHA-256 of an open file's bytes.
Result<std::string> HashFd(int fd, const std::string& key) {
  Sha256Stream digest;
  std::vector<char> buf(kHashChunk);
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ObjectError(errno, key, "read");
    }
    if (n == 0) return digest.FinishHex();
    digest.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    offset += n;
  }
}

class FsReader final : public domain::ObjectReader {
 public:
  FsReader(int fd, int64_t size, std::string key) : fd_(fd), size_(size), key_(std::move(key)) {}
  int64_t Size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* out, size_t n) override {
    if (offset < 0) return MakeError(Errc::kInvalidArgument, "negative offset in object " + key_);
    size_t done = 0;
    while (done < n) {
      const ssize_t r =
          ::pread(fd_.get(), out + done, n - done, static_cast<off_t>(offset + static_cast<int64_t>(done)));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ObjectError(errno, key_, "read");
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  Fd fd_;
  int64_t size_;
  std::string key_;
};

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<fs::path> FsObjectStore::PathOf(const std::string& key) const {
  if (!domain::IsValidObjectKey(key))
    return MakeError(Errc::kInvalidArgument, "invalid object key \"" + key.substr(0, 100) + "\"");
  return root_ / key;
}

int64_t FsObjectStore::ExpiresAt(std::chrono::seconds ttl) const {
  return clock_->NowMs() / 1000 + ttl.count();
}

Result<std::unique_ptr<domain::ObjectReader>> FsObjectStore::Open(const std::string& key) {
  auto path = PathOf(key);
  if (!path) return path.error();
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFound(key);
    return ObjectError(err, key, "open");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return NotFound(key);  // a folder is not an object
  }
  return std::unique_ptr<domain::ObjectReader>(std::make_unique<FsReader>(fd, st.st_size, key));
}

Result<std::string> FsObjectStore::Get(const std::string& key) {
  auto reader = Open(key);
  if (!reader) return reader.error();
  std::string bytes(static_cast<size_t>((*reader)->Size()), '\0');
  auto n = (*reader)->ReadAt(0, bytes.data(), bytes.size());
  if (!n) return n.error();
  bytes.resize(*n);
  return bytes;
}

Result<std::optional<domain::ObjectInfo>> FsObjectStore::Stat(const std::string& key) {
  auto path = PathOf(key);
  if (!path) return path.error();
  struct stat st {};
  if (::stat(path->c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return std::optional<domain::ObjectInfo>();
    return ObjectError(err, key, "read");
  }
  if (!S_ISREG(st.st_mode)) return std::optional<domain::ObjectInfo>();  // a folder is not an object
  return std::optional<domain::ObjectInfo>(
      domain::ObjectInfo{static_cast<int64_t>(st.st_size), internal::ReadDigest(*path)});
}

Result<void> FsObjectStore::Delete(const std::string& key) {
  auto path = PathOf(key);
  if (!path) return path.error();
  struct stat st {};
  if (::lstat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Ok();  // nothing there, or a folder
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) return ObjectError(errno, key, "delete");
  ::unlink(internal::DigestPath(*path).c_str());
  std::lock_guard lock(checked_mu_);
  checked_.erase(key);
  return Ok();
}

Result<std::string> FsObjectStore::PresignGet(const std::string& key, std::chrono::seconds ttl,
                                              const std::optional<std::string>& download_name,
                                              const std::string& sha256) {
  auto path = PathOf(key);
  if (!path) return path.error();
  UrlTerms terms;
  terms.sha256 = sha256;
  if (!ValidTerms(terms)) return MakeError(Errc::kInvalidArgument, "invalid digest for object " + key);
  std::string url = SignedPath(url_secret_, "GET", key, ExpiresAt(ttl), terms);
  if (download_name && !download_name->empty()) url += "&name=" + PercentEncode(*download_name);
  return url;
}

Result<std::string> FsObjectStore::PresignPut(const std::string& key, std::chrono::seconds ttl,
                                              const domain::PutTerms& put) {
  auto path = PathOf(key);
  if (!path) return path.error();
  UrlTerms terms;
  terms.max_bytes = put.max_bytes;
  terms.issued_to = put.issued_to;
  if (!ValidTerms(terms)) {
    return MakeError(Errc::kInvalidArgument, "invalid upload terms for object " + key +
                                                 ": a size limit >= 0 and a holder of [a-z0-9-]");
  }
  return SignedPath(url_secret_, "PUT", key, ExpiresAt(ttl), terms);
}

Result<UrlTerms> FsObjectStore::VerifyPresigned(std::string_view method, const std::string& key,
                                                const std::map<std::string, std::string>& query) const {
  if (!domain::IsValidObjectKey(key)) return MakeError(Errc::kInvalidArgument, "invalid object key");
  auto m = query.find("method");
  if (m == query.end() || m->second != method)
    return MakeError(Errc::kPermissionDenied, "signed URL is for another method");
  return VerifySignature(url_secret_, method, key, query, clock_->NowMs() / 1000);
}

Result<void> FsObjectStore::CheckIntact(const std::string& key, const fs::path& path,
                                        const std::string& want) const {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (in.get() < 0 || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return NotFound(key);
  Checked now{static_cast<uint64_t>(st.st_dev),
              static_cast<uint64_t>(st.st_ino),
              static_cast<int64_t>(st.st_size),
              static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
              static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec,
              ""};
  {
    std::lock_guard lock(checked_mu_);
    auto it = checked_.find(key);
    if (it != checked_.end() && it->second.dev == now.dev && it->second.ino == now.ino &&
        it->second.size == now.size && it->second.mtime_ns == now.mtime_ns &&
        it->second.ctime_ns == now.ctime_ns)
      now.sha256 = it->second.sha256;
  }
  if (now.sha256.empty()) {
    auto hashed = HashFd(in.get(), key);
    if (!hashed) return hashed.error();
    now.sha256 = *hashed;
    std::lock_guard lock(checked_mu_);
    if (checked_.size() >= kMaxChecked) checked_.clear();
    checked_[key] = now;
  }
  if (now.sha256 == want) return Ok();
  return MakeError(Errc::kInternal, "stored object " + key + " is damaged: its bytes hash to " + now.sha256 +
                                        " but " + want +
                                        " was recorded when it was stored; it is not served. The operator "
                                        "should restore it from a backup (or render the frame again)");
}

Result<void> FsObjectStore::Serve(const std::string& key, net::HttpResponse& response,
                                  const std::string& sha256) const {
  auto path = PathOf(key);
  if (!path) return path.error();
  std::error_code ec;
  if (!fs::is_regular_file(*path, ec)) return MakeError(Errc::kNotFound, "object not found");
  const std::string stored = internal::ReadDigest(*path);
  if (!sha256.empty() && !stored.empty() && sha256 != stored) {
    return MakeError(Errc::kInternal, "stored object " + key + " is damaged: the digest kept with it is " +
                                          stored + " but " + sha256 +
                                          " was expected; it is not served. The operator should restore it "
                                          "from a backup (or render the frame again)");
  }
  const std::string& want = sha256.empty() ? stored : sha256;
  if (!want.empty()) INFERIX_TRY(CheckIntact(key, *path, want));  // else an object from before digests
  response.file = *path;
  return Ok();
}

Result<std::unique_ptr<FsObjectStore>> OpenFsObjectStore(const fs::path& root, std::string url_secret,
                                                         std::shared_ptr<const Clock> clock) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return MakeError(Errc::kInternal, "cannot create blob folder " + root.string() + ": " + ec.message());
  auto store = std::make_unique<FsObjectStore>(root, std::move(url_secret), std::move(clock));
  auto removed = store->RemoveLeftovers();
  if (!removed) return removed.error();
  return store;
}

}  // namespace inferix::blob
