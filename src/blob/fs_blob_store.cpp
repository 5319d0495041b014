#include "blob/fs_blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "blob/signed_url.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "domain/object_keys.hpp"
#include "net/http.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCopyChunk = size_t{1} << 20;

// An error about an object; the message names the key, never the folder the object is kept in.
Error ObjectError(int err, const std::string& key, const char* step) {
  if (err == ENOSPC || err == EDQUOT) {
    return MakeError(Errc::kUnavailable,
                     "no space left on the disk to store object " + key + ": free disk space and retry");
  }
  return MakeError(Errc::kInternal,
                   std::string("cannot ") + step + " object " + key + ": " + std::strerror(err));
}

Error NotFound(const std::string& key) { return MakeError(Errc::kNotFound, "object " + key + " not found"); }

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error (a write-back failure shows here).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Writes all of `n` bytes, retrying short writes and interruptions; 0 or the errno.
int WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
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

Result<void> FsObjectStore::WriteAtomically(const std::string& key,
                                            const std::function<Result<void>(int fd)>& fill) {
  auto path = PathOf(key);
  if (!path) return path.error();
  std::error_code ec;
  fs::create_directories(path->parent_path(), ec);
  if (ec) return MakeError(Errc::kInternal, "cannot make room for object " + key + ": " + ec.message());
  // Written into a temporary file beside the object, flushed, then renamed over it: all or nothing.
  fs::path tmp = *path;
  tmp += ".tmp-" + RandomHex(6);
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return ObjectError(errno, key, "create");
  auto fail = [&](const Error& e) -> Result<void> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto filled = fill(out.get()); !filled) return fail(filled.error());
  if (::fsync(out.get()) != 0) return fail(ObjectError(errno, key, "flush"));
  if (out.Close() != 0) return fail(ObjectError(errno, key, "flush"));
  if (::rename(tmp.c_str(), path->c_str()) != 0) return fail(ObjectError(errno, key, "store"));
  return Ok();
}

Result<void> FsObjectStore::Put(const std::string& key, std::string_view bytes) {
  return WriteAtomically(key, [&](int fd) -> Result<void> {
    if (int err = WriteAll(fd, bytes.data(), bytes.size()); err != 0) return ObjectError(err, key, "write");
    return Ok();
  });
}

Result<void> FsObjectStore::PutFile(const std::string& key, const fs::path& source) {
  if (!domain::IsValidObjectKey(key)) return PathOf(key).error();
  Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return MakeError(Errc::kNotFound,
                       "cannot store object " + key + ": " + source.string() + " does not exist");
    }
    return MakeError(Errc::kInternal, "cannot store object " + key + ": cannot open " + source.string() +
                                          ": " + std::strerror(err));
  }
  return WriteAtomically(key, [&](int fd) -> Result<void> {
    std::vector<char> buf(kCopyChunk);
    while (true) {
      const ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return MakeError(Errc::kInternal, "cannot store object " + key + ": cannot read " + source.string() +
                                              ": " + std::strerror(errno));
      }
      if (n == 0) return Ok();
      if (int err = WriteAll(fd, buf.data(), static_cast<size_t>(n)); err != 0)
        return ObjectError(err, key, "write");
    }
  });
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
  return std::optional<domain::ObjectInfo>(domain::ObjectInfo{static_cast<int64_t>(st.st_size)});
}

Result<void> FsObjectStore::Delete(const std::string& key) {
  auto path = PathOf(key);
  if (!path) return path.error();
  struct stat st {};
  if (::lstat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Ok();  // nothing there, or a folder
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) return ObjectError(errno, key, "delete");
  return Ok();
}

Result<std::string> FsObjectStore::PresignGet(const std::string& key, std::chrono::seconds ttl,
                                              const std::optional<std::string>& download_name) {
  auto path = PathOf(key);
  if (!path) return path.error();
  std::string url = SignedPath(url_secret_, "GET", key, ExpiresAt(ttl));
  if (download_name && !download_name->empty()) url += "&name=" + PercentEncode(*download_name);
  return url;
}

Result<std::string> FsObjectStore::PresignPut(const std::string& key, std::chrono::seconds ttl) {
  auto path = PathOf(key);
  if (!path) return path.error();
  return SignedPath(url_secret_, "PUT", key, ExpiresAt(ttl));
}

Result<void> FsObjectStore::VerifyPresigned(std::string_view method, const std::string& key,
                                            const std::map<std::string, std::string>& query) const {
  if (!domain::IsValidObjectKey(key)) return MakeError(Errc::kInvalidArgument, "invalid object key");
  auto q = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  if (q("method") != method) return MakeError(Errc::kPermissionDenied, "signed URL is for another method");
  return VerifySignature(url_secret_, method, key, q("expires"), q("sig"), clock_->NowMs() / 1000);
}

Result<void> FsObjectStore::Serve(const std::string& key, net::HttpResponse& response) const {
  auto path = PathOf(key);
  if (!path) return path.error();
  std::error_code ec;
  if (!fs::is_regular_file(*path, ec)) return MakeError(Errc::kNotFound, "object not found");
  response.file = *path;
  return Ok();
}

Result<std::unique_ptr<FsObjectStore>> OpenFsObjectStore(const fs::path& root, std::string url_secret,
                                                         std::shared_ptr<const Clock> clock) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return MakeError(Errc::kInternal, "cannot create blob folder " + root.string() + ": " + ec.message());
  return std::make_unique<FsObjectStore>(root, std::move(url_secret), std::move(clock));
}

}  // namespace inferix::blob
