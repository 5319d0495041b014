#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             std::filesystem::perms perms) {
  auto tmp = path;
  tmp += ".tmp-" + RandomHex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return MakeError(Errc::kInternal, "cannot create " + tmp.string() + ": " + std::strerror(errno));
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return MakeError(errno == ENOSPC ? Errc::kUnavailable : Errc::kInternal,
                       "cannot write " + path.string() + ": " + err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return MakeError(Errc::kInternal, "cannot flush " + path.string() + ": " + std::strerror(errno));
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
  if (name.empty() || name.size() > 1024 || name.front() == '/') return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\') return false;
  }
  std::filesystem::path p{std::string(name)};
  for (const auto& part : p) {
    if (part == ".." || part == "." || part.empty()) return false;
  }
  return true;
}

}  // namespace inferix
