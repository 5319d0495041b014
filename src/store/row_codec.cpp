#include "store/row_codec.hpp"

namespace inferix::store {

std::string JoinInts(const std::vector<int64_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out;
}
std::string JoinInts(const std::vector<int>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return JoinInts(w);
}
// Denoiser names are kept comma-separated (they are upper-case words, checked by the API).
std::string JoinWords(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& w : v) out += (out.empty() ? "" : ",") + w;
  return out;
}
std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Files are kept as "sha256 size path" lines: paths are checked safe (no newlines) before they get here.
std::string EncodeFiles(const std::vector<domain::SceneFile>& files) {
  std::string out;
  for (const auto& f : files) out += f.sha256 + " " + std::to_string(f.size) + " " + f.path + "\n";
  return out;
}
std::vector<domain::SceneFile> DecodeFiles(const std::string& s) {
  std::vector<domain::SceneFile> out;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) {
    auto a = line.find(' ');
    auto b = line.find(' ', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out.push_back({line.substr(b + 1), line.substr(0, a), std::stoll(line.substr(a + 1, b - a - 1))});
  }
  return out;
}

}  // namespace inferix::store
