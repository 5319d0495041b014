#pragma once
// What the render module's tests share: a temporary folder, stand-in executables, argv searches.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace inferix::render::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("inferix_render_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void WriteExecutable(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all);
}

// Index of `flag` followed by `a` and `b` in argv, or -1.
inline int FindTriple(const std::vector<std::string>& argv, const std::string& flag, const std::string& a,
                      const std::string& b) {
  for (size_t i = 0; i + 2 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == a && argv[i + 2] == b) return static_cast<int>(i);
  }
  return -1;
}

inline bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace inferix::render::test
