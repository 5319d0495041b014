#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"

namespace inferix {

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errc::kNotFound, "cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// An error for a failed write of `path`; a full disk (or quota) says so, as something to fix and retry, not a
// bug.
Error WriteError(int err, const std::filesystem::path& path, const char* step, size_t size) {
  if (err == ENOSPC || err == EDQUOT) {
    return MakeError(Errc::kUnavailable, "no space left on the disk to store " + path.filename().string() +
                                             " (" + std::to_string(size) + " bytes) in " +
                                             path.parent_path().string() + ": free disk space and retry");
  }
  return MakeError(Errc::kInternal,
                   std::string("cannot ") + step + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             std::filesystem::perms perms) {
  auto tmp = path;
  tmp += ".tmp-" + RandomHex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return WriteError(errno, path, "create", data.size());
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;  // before close and unlink change it
      ::close(fd);
      ::unlink(tmp.c_str());
      return WriteError(err, path, "write", data.size());
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return WriteError(err, path, "flush", data.size());
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return WriteError(err, path, "flush", data.size());
  }
  std::error_code ec;
  std::filesystem::permissions(tmp, perms, ec);
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return MakeError(Errc::kInternal, "cannot rename into " + path.string() + ": " + ec.message());
  }
  return Ok();
}

bool IsSafeRelativePath(std::string_view name) {
  if (name.empty() || name.size() > 1024 || name.front() == '/' || name.back() == '/') return false;
  // "a//b" names the same file as "a/b": two entries of one job could then claim one path.
  if (name.find("//") != std::string_view::npos) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\') return false;
  }
  std::filesystem::path p{std::string(name)};
  for (const auto& part : p) {
    if (part == ".." || part == "." || part.empty()) return false;
  }
  return true;
}

std::filesystem::path Absolute(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  if (ec) abs = p;
  std::filesystem::path canon = std::filesystem::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : canon;
}

std::filesystem::path ResolveExecutable(const std::filesystem::path& exe) {
  std::string name = exe.string();
  if (name.find('/') == std::string::npos) {
    const char* path_env = std::getenv("PATH");
    std::string_view dirs = path_env != nullptr ? path_env : "/usr/bin:/bin";
    while (!dirs.empty()) {
      size_t colon = dirs.find(':');
      std::string dir(dirs.substr(0, colon));
      dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
      std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return Absolute(candidate);
    }
    return exe;
  }
  return Absolute(exe);
}

}  // namespace inferix
