#include "domain/scene_layout.hpp"

#include <string>

namespace inferix::domain {

bool PathIsUnder(std::string_view path, std::string_view folder) {
  if (folder == "/") return !path.empty() && path.front() == '/';
  if (!path.starts_with(folder)) return false;
  return path.size() == folder.size() || path[folder.size()] == '/';
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
