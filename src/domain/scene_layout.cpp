#include "domain/scene_layout.hpp"

#include <cstdint>
#include <string>

namespace inferix::domain {

bool PathIsUnder(std::string_view path, std::string_view folder) {
  if (folder == "/") return !path.empty() && path.front() == '/';
  if (!path.starts_with(folder)) return false;
  return path.size() == folder.size() || path[folder.size()] == '/';
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= text.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

Result<void> CheckSceneRoot(std::string_view root) {
  auto bad = [&](const std::string& why) {
    return MakeError(Errc::kInvalidArgument, "root \"" + std::string(root.substr(0, 200)) + "\" " + why);
  };
  if (root.empty() || root.front() != '/') return bad("is not an absolute path");
  if (root.size() > 4096) return bad("is over 4096 bytes");
  for (unsigned char c : root) {
    if (c < 32 || c == 127 || c == '\\') return bad("holds a backslash or a control character");
  }
  if (!IsValidUtf8(root)) return bad("is not UTF-8");
  if (root != "/") {
    if (root.back() == '/') return bad("ends with a slash");
    size_t start = 1;
    while (start <= root.size()) {
      size_t end = root.find('/', start);
      if (end == std::string_view::npos) end = root.size();
      const auto segment = root.substr(start, end - start);
      if (segment.empty() || segment == "." || segment == "..")
        return bad("is not a normal path (an empty, \".\" or \"..\" segment)");
      start = end + 1;
    }
  }
  for (auto system : kSystemFolders) {
    if (PathIsUnder(root, system)) {
      return bad("lies in the system folder " + std::string(system) +
                 ", which a worker's sandbox shows from the worker's own system");
    }
  }
  return Ok();
}

}  // namespace inferix::domain
