// The file adapter's writes: temporary file, flush, digest, then a move into place that is atomic and, for
// uploads, never replaces (renameat2 RENAME_NOREPLACE, or link then unlink where the file system lacks it),
// and a flush of the folder so that the move survives a crash.
#include <fcntl.h>
#include <stdio.h>  // NOLINT(modernize-deprecated-headers): renameat2 and RENAME_NOREPLACE are in glibc's stdio.h
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "blob/fs_blob_internal.hpp"
#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"
#include "domain/object_keys.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;
using internal::Fd;
using internal::ObjectError;

constexpr size_t kCopyChunk = size_t{1} << 20;
constexpr int64_t kDefaultMinFree = int64_t{1} << 30;

// Moves `from` to `to` unless something is at `to` already (EEXIST then, and nothing moves); 0 or the errno.
int MoveNoReplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return errno;
  // A file system without RENAME_NOREPLACE: a hard link is just as exclusive.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

// Writes `text` to `path` atomically (temporary file, flush, rename over); 0 or the errno.
int WriteSmallFile(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += internal::kTempMark + RandomHex(6);
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return errno;
  int err = internal::WriteAll(out.get(), text.data(), text.size());
  if (err == 0 && ::fsync(out.get()) != 0) err = errno;
  if (out.Close() != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) ::unlink(tmp.c_str());
  return err;
}

// Copies the open file `in` to `fd`, hashing it.
Result<void> CopyInto(int in, const fs::path& source, const std::string& key, int fd, Sha256Stream& digest) {
  std::vector<char> buf(kCopyChunk);
  while (true) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(Errc::kInternal, "cannot store object " + key + ": cannot read " + source.string() +
                                            ": " + std::strerror(errno));
    }
    if (n == 0) return Ok();
    digest.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (int err = internal::WriteAll(fd, buf.data(), static_cast<size_t>(n)); err != 0)
      return ObjectError(err, key, "write");
  }
}

Result<int> OpenSource(const fs::path& source, const std::string& key) {
  const int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR) {
    return MakeError(Errc::kNotFound,
                     "cannot store object " + key + ": " + source.string() + " does not exist");
  }
  return MakeError(Errc::kInternal, "cannot store object " + key + ": cannot open " + source.string() + ": " +
                                        std::strerror(err));
}

Error Exists(const std::string& key) {
  return MakeError(Errc::kConflict, "object " + key +
                                        " already exists and is never replaced; ask the manager for a new "
                                        "upload URL if this is a new file");
}

bool IsOldTempName(const std::string& name) {
  // Before digests were kept, temporary files were "<name>.tmp-<12 hex>"; no key ends like that.
  const size_t at = name.rfind(".tmp-");
  if (at == std::string::npos || name.size() - at != 5 + 12) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(at) + 5, name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

namespace internal {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::Close() {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

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

Error ObjectError(int err, const std::string& key, const char* step) {
  if (err == ENOSPC || err == EDQUOT) {
    return MakeError(Errc::kUnavailable,
                     "no space left on the disk to store object " + key + ": free disk space and retry");
  }
  return MakeError(Errc::kInternal,
                   std::string("cannot ") + step + " object " + key + ": " + std::strerror(err));
}

Error NotFound(const std::string& key) { return MakeError(Errc::kNotFound, "object " + key + " not found"); }

fs::path DigestPath(const fs::path& path) {
  fs::path p = path;
  p += kDigestSuffix;
  return p;
}

std::string ReadDigest(const fs::path& path) {
  Fd in(::open(DigestPath(path).c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return "";
  char buf[80];
  const ssize_t n = ::read(in.get(), buf, sizeof buf);
  if (n < 64) return "";
  std::string digest(buf, 64);
  return IsSha256Hex(digest) ? digest : "";
}

int SyncDir(const fs::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) return errno;
  return ::fsync(d.get()) == 0 ? 0 : errno;
}

}  // namespace internal

void FsObjectStore::SetMinFreeBytes(int64_t bytes) {
  if (bytes >= 0) {
    min_free_bytes_ = bytes;
    return;
  }
  struct statvfs vfs {};
  if (::statvfs(root_.c_str(), &vfs) != 0) {
    min_free_bytes_ = kDefaultMinFree;
    return;
  }
  const auto size = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
  min_free_bytes_ = std::min(kDefaultMinFree, size / 20);
}

Result<void> FsObjectStore::CheckRoom(const std::string& key) const {
  if (min_free_bytes_ <= 0) return Ok();
  struct statvfs vfs {};
  if (::statvfs(root_.c_str(), &vfs) != 0) return Ok();  // cannot tell: the write itself reports a full disk
  const auto free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
  if (free_bytes >= min_free_bytes_) return Ok();
  constexpr int64_t kMiB = int64_t{1} << 20;
  return MakeError(Errc::kUnavailable,
                   "the manager's disk is almost full (" + std::to_string(free_bytes / kMiB) +
                       " MiB free, below the watermark of " + std::to_string(min_free_bytes_ / kMiB) +
                       " MiB): object " + key +
                       " was not stored; the operator must free disk space (or lower --min-free-disk-mb)");
}

Result<void> FsObjectStore::MakeFolders(const fs::path& path, const std::string& key) const {
  // The folders missing between the root and the object, outermost first.
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path dir = path.parent_path(); dir != root_ && !fs::is_directory(dir, ec); dir = dir.parent_path())
    missing.insert(missing.begin(), dir);
  for (const auto& dir : missing) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ObjectError(errno, key, "make room for");
    if (int err = internal::SyncDir(dir.parent_path()); err != 0) return ObjectError(err, key, "flush");
  }
  return Ok();
}

Result<void> FsObjectStore::WriteObject(const std::string& key, const Fill& fill, bool replace,
                                        const std::string& expected_sha256) {
  auto path = PathOf(key);
  if (!path) return path.error();
  INFERIX_TRY(CheckRoom(key));
  struct stat st {};
  if (!replace && ::lstat(path->c_str(), &st) == 0) return Exists(key);  // before writing anything
  INFERIX_TRY(MakeFolders(*path, key));
  fs::path tmp = *path;
  tmp += internal::kTempMark + RandomHex(6);
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return ObjectError(errno, key, "create");
  auto fail = [&](const Error& e) -> Result<void> {
    ::unlink(tmp.c_str());
    return e;
  };
  Sha256Stream hasher;
  if (auto filled = fill(out.get(), hasher); !filled) return fail(filled.error());
  const std::string sha256 = hasher.FinishHex();
  if (!expected_sha256.empty() && sha256 != expected_sha256) {
    return fail(MakeError(Errc::kInvalidArgument, "object " + key + " was not stored: its bytes hash to " +
                                                      sha256 + ", not to the digest given, " +
                                                      expected_sha256));
  }
  if (::fsync(out.get()) != 0) return fail(ObjectError(errno, key, "flush"));
  if (out.Close() != 0) return fail(ObjectError(errno, key, "flush"));
  const fs::path digest = internal::DigestPath(*path);
  std::lock_guard lock(place_mu_);
  if (replace) {
    // The old digest goes first: a crash part-way leaves an object with no digest (unchecked), never one
    // with another object's digest (reported as damaged).
    ::unlink(digest.c_str());
    if (::rename(tmp.c_str(), path->c_str()) != 0) return fail(ObjectError(errno, key, "store"));
    if (int err = WriteSmallFile(digest, sha256 + "\n"); err != 0) return ObjectError(err, key, "store");
  } else {
    // The digest first: any digest file without its object is a leftover (removed at open) and is replaced
    // here; the object then appears with its digest already beside it.
    if (int err = WriteSmallFile(digest, sha256 + "\n"); err != 0)
      return fail(ObjectError(err, key, "store"));
    if (int err = MoveNoReplace(tmp, *path); err != 0) {
      return fail(err == EEXIST ? Exists(key) : ObjectError(err, key, "store"));
    }
  }
  if (int err = internal::SyncDir(path->parent_path()); err != 0) return ObjectError(err, key, "flush");
  return Ok();
}

namespace {

// What WriteObject runs to write `bytes` to an object's temporary file.
auto WriteBytes(const std::string& key, std::string_view bytes) {
  return [&key, bytes](int fd, Sha256Stream& digest) -> Result<void> {
    digest.Update(bytes);
    if (int err = internal::WriteAll(fd, bytes.data(), bytes.size()); err != 0)
      return ObjectError(err, key, "write");
    return Ok();
  };
}

}  // namespace

Result<void> FsObjectStore::Put(const std::string& key, std::string_view bytes) {
  return WriteObject(key, WriteBytes(key, bytes), true, "");
}

Result<void> FsObjectStore::CreateFromBytes(const std::string& key, std::string_view bytes) {
  return WriteObject(key, WriteBytes(key, bytes), false, "");
}

Result<void> FsObjectStore::PutFile(const std::string& key, const fs::path& source) {
  if (!domain::IsValidObjectKey(key)) return PathOf(key).error();
  auto in_fd = OpenSource(source, key);
  if (!in_fd) return in_fd.error();
  Fd in(*in_fd);
  return WriteObject(
      key, [&](int fd, Sha256Stream& digest) { return CopyInto(in.get(), source, key, fd, digest); }, true,
      "");
}

Result<void> FsObjectStore::CreateFromFile(const std::string& key, const fs::path& source,
                                           const std::string& sha256) {
  auto path = PathOf(key);
  if (!path) return path.error();
  if (!IsSha256Hex(sha256)) {
    return MakeError(Errc::kInvalidArgument,
                     "cannot store object " + key + ": the digest must be 64 lower-case hex digits");
  }
  INFERIX_TRY(CheckRoom(key));
  auto in_fd = OpenSource(source, key);
  if (!in_fd) return in_fd.error();
  Fd in(*in_fd);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return MakeError(Errc::kInvalidArgument,
                     "cannot store object " + key + ": " + source.string() + " is not a regular file");
  }
  if (::lstat(path->c_str(), &st) == 0) return Exists(key);
  INFERIX_TRY(MakeFolders(*path, key));
  // Same file system: the file itself becomes the object, flushed first, private to the manager.
  if (::fchmod(in.get(), 0600) != 0 || ::fsync(in.get()) != 0) return ObjectError(errno, key, "flush");
  const fs::path digest = internal::DigestPath(*path);
  {
    std::lock_guard lock(place_mu_);
    if (::lstat(path->c_str(), &st) == 0) return Exists(key);
    if (int err = WriteSmallFile(digest, sha256 + "\n"); err != 0) return ObjectError(err, key, "store");
    const int err = MoveNoReplace(source, *path);
    if (err == 0) {
      if (int e = internal::SyncDir(path->parent_path()); e != 0) return ObjectError(e, key, "flush");
      internal::SyncDir(source.parent_path());  // the source's entry is gone; best effort
      return Ok();
    }
    if (err == EEXIST) return Exists(key);
    if (err != EXDEV) return ObjectError(err, key, "store");
  }
  // Another file system: copied (and checked against the digest while copying), then the source removed.
  auto copied = WriteObject(
      key, [&](int fd, Sha256Stream& d) { return CopyInto(in.get(), source, key, fd, d); }, false, sha256);
  if (!copied) return copied;
  ::unlink(source.c_str());
  return Ok();
}

Result<int> FsObjectStore::RemoveLeftovers() {
  int removed = 0;
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const std::string digest_suffix = internal::kDigestSuffix;
    if (name.find(internal::kTempMark) != std::string::npos || IsOldTempName(name)) {
      doomed.push_back(it->path());
    } else if (name.ends_with(digest_suffix)) {
      const fs::path object = it->path().parent_path() / name.substr(0, name.size() - digest_suffix.size());
      if (!fs::is_regular_file(object, ec)) doomed.push_back(it->path());
    }
  }
  if (ec) return MakeError(Errc::kInternal, "cannot look through the blob folder: " + ec.message());
  for (const auto& p : doomed) removed += ::unlink(p.c_str()) == 0 ? 1 : 0;
  return removed;
}

}  // namespace inferix::blob
