#include "domain/object_keys.hpp"

namespace inferix::domain {
namespace {

constexpr size_t kMaxKeySize = 512;

// "outputs/<job>/<task>_<frame>_": what every output key of this task and frame starts with.
std::string OutputKeyPrefix(int64_t job_id, int64_t task_id, int frame) {
  return "outputs/" + std::to_string(job_id) + "/" + std::to_string(task_id) + "_" + std::to_string(frame) +
         "_";
}

}  // namespace

bool IsListablePrefix(std::string_view prefix) {
  if (prefix.starts_with('/')) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = prefix.find('/', start);
    const std::string_view segment = prefix.substr(start, slash - start);
    if (segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    if (segment.empty()) return false;
    start = slash + 1;
  }
}

bool IsValidObjectKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeySize || key.front() == '/' || key.back() == '/') return false;
  size_t seg_start = 0;
  for (size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      auto seg = key.substr(seg_start, i - seg_start);
      if (seg.empty() || seg == "." || seg == "..") return false;
      seg_start = i + 1;
      continue;
    }
    const char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

std::string FileKey(std::string_view sha256) { return "files/" + std::string(sha256); }

std::string UploadKey(std::string_view sha256, int64_t user_id, std::string_view nonce) {
  return "uploads/" + std::string(sha256) + "/" + std::to_string(user_id) + "_" + std::string(nonce);
}

bool IsUploadKeyFor(std::string_view key, std::string_view sha256, int64_t user_id) {
  const std::string prefix = UploadKey(sha256, user_id, "");
  if (sha256.size() != 64 || !key.starts_with(prefix) || key.size() == prefix.size()) return false;
  for (char c : key.substr(prefix.size())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return IsValidObjectKey(key);
}

std::string OutputKey(int64_t job_id, int64_t task_id, int frame, std::string_view nonce) {
  return OutputKeyPrefix(job_id, task_id, frame) + std::string(nonce);
}

bool IsOutputKeyFor(std::string_view key, int64_t job_id, int64_t task_id, int frame) {
  const std::string prefix = OutputKeyPrefix(job_id, task_id, frame);
  if (!key.starts_with(prefix) || key.size() == prefix.size()) return false;
  for (char c : key.substr(prefix.size())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return IsValidObjectKey(key);
}

std::string PreviewKey(int64_t job_id, int frame, int64_t output_id) {
  return "previews/" + std::to_string(job_id) + "/" + std::to_string(frame) + "_" +
         std::to_string(output_id) + ".png";
}

std::string VideoKey(int64_t job_id) { return "videos/" + std::to_string(job_id) + ".mp4"; }

bool IsManagerMade(std::string_view key) {
  return key.starts_with("previews/") || key.starts_with("videos/");
}

}  // namespace inferix::domain
