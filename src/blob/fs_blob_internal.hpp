#pragma once
// What the file adapter's source files share (private to src/blob): descriptors, errors, and the names of
// the files it keeps beside an object. Each object `<root>/<key>` may have beside it:
//   <key>#sha256        its digest (64 lower-case hex digits), written with the object
//   <key>~tmp-<hex>     a temporary file being written; a crash may leave one, removed when the store opens
// Neither '#' nor '~' may appear in a key (domain::IsValidObjectKey), so no such file is ever an object, and
// a listing of the folder skips every file whose relative path is not a valid key.
#include <cstddef>
#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace inferix::blob::internal {

/// The suffix of an object's digest file.
inline constexpr const char* kDigestSuffix = "#sha256";
/// What a temporary file's name carries after the object's name.
inline constexpr const char* kTempMark = "~tmp-";

/// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  /// Closes now, reporting the error (a write-back failure shows here).
  int Close();

 private:
  int fd_;
};

/// Writes all of `n` bytes, retrying short writes and interruptions; 0 or the errno.
int WriteAll(int fd, const char* p, size_t n);

/// An error about an object; the message names the key, never the folder the object is kept in.
Error ObjectError(int err, const std::string& key, const char* step);
/// "object <key> not found".
Error NotFound(const std::string& key);

/// The digest file of the object at `path`.
std::filesystem::path DigestPath(const std::filesystem::path& path);
/// The digest kept for the object at `path`; "" when none is (an object stored before digests were kept).
std::string ReadDigest(const std::filesystem::path& path);
/// Flushes a folder's entries (a rename or link in it survives a crash); 0 or the errno.
int SyncDir(const std::filesystem::path& dir);

}  // namespace inferix::blob::internal
