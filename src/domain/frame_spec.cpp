#include "domain/frame_spec.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace inferix::domain {
namespace {

Error SpecError(std::string_view spec, const std::string& why) {
  return MakeError(Errc::kInvalidArgument, "frame spec \"" + std::string(spec) + "\": " + why +
                                               " (write e.g. 1-250, 1,5,10-20 or 1-100x5)");
}

// Reads an optionally negative integer at the front of `s`, advancing it.
bool ReadInt(std::string_view& s, long long& out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec != std::errc() || ptr == begin) return false;
  s.remove_prefix(static_cast<size_t>(ptr - begin));
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<int>> ParseFrameSpec(std::string_view spec, size_t max_frames) {
  if (Trim(spec).empty()) return SpecError(spec, "empty");
  if (spec.size() > 4096) return SpecError(spec.substr(0, 32), "longer than 4096 characters");
  std::vector<int> frames;
  std::string_view rest = spec;
  size_t total = 0;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (item.empty()) return SpecError(spec, "empty item between commas");
    long long first = 0;
    if (!ReadInt(item, first)) return SpecError(spec, "\"" + std::string(item) + "\" is not a frame number");
    long long last = first;
    long long step = 1;
    if (!item.empty()) {
      if (item.starts_with("..")) {
        item.remove_prefix(2);
      } else if (item.front() == '-') {
        item.remove_prefix(1);
      } else {
        return SpecError(spec, "unexpected \"" + std::string(item) + "\"");
      }
      if (!ReadInt(item, last)) return SpecError(spec, "range without an end");
      if (!item.empty()) {
        if (item.front() != 'x' && item.front() != 'X') {
          return SpecError(spec, "unexpected \"" + std::string(item) + "\"");
        }
        item.remove_prefix(1);
        if (!ReadInt(item, step) || !item.empty()) return SpecError(spec, "step must be a whole number");
        if (step <= 0) return SpecError(spec, "step must be 1 or more");
      }
    }
    if (first > last) {
      return SpecError(
          spec, "range " + std::to_string(first) + "-" + std::to_string(last) + " ends before it starts");
    }
    if (first < -kMaxFrameNumber || last > kMaxFrameNumber) {
      return SpecError(spec,
                       "frames must lie within +-" + std::to_string(kMaxFrameNumber) + " (Blender's limit)");
    }
    const auto count = static_cast<size_t>((last - first) / step + 1);
    total += count;
    if (total > max_frames) {
      return SpecError(spec, "more than " + std::to_string(max_frames) + " frames in one job");
    }
    // Counted rather than stepped past `last`: a step near the 64-bit limit would overflow the frame number.
    for (size_t i = 0; i < count; ++i)
      frames.push_back(static_cast<int>(first + static_cast<long long>(i) * step));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(frames.begin(), frames.end());
  frames.erase(std::unique(frames.begin(), frames.end()), frames.end());
  return frames;
}

}  // namespace inferix::domain
