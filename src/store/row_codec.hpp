#pragma once
// How the store adapters keep lists in one text column (SQLite and PostgreSQL alike): integers
// comma-separated, denoiser names (upper-case words) comma-separated, scene files as "sha256 size path" lines
// (paths are checked safe, without newlines, before they get here). Only src/store includes it.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "domain/model.hpp"

namespace inferix::store {

std::string JoinInts(const std::vector<int64_t>& v);
std::string JoinInts(const std::vector<int>& v);
template <class T>
std::vector<T> SplitInts(const std::string& s) {
  std::vector<T> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(static_cast<T>(std::stoll(item)));
  }
  return out;
}
std::string JoinWords(const std::vector<std::string>& v);
std::vector<std::string> SplitWords(const std::string& s);
std::string EncodeFiles(const std::vector<domain::SceneFile>& files);
std::vector<domain::SceneFile> DecodeFiles(const std::string& s);

}  // namespace inferix::store
