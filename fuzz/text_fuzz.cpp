// Fuzz target: core/text.hpp, what makes outside text safe for terminals and logs. For any bytes, SafeText's
// answer holds no control character (C0, DEL, C1), no bidi control and no invalid UTF-8, and stays within its
// cap plus the marker; CapText's answer is within its cap and never ends inside a UTF-8 sequence.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/text.hpp"

namespace {

// True when `s` is valid UTF-8 with no code point a terminal would act on (SafeText's promise).
bool IsInert(std::string_view s, bool newlines_allowed) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if ((b < 0x20 && !(newlines_allowed && b == '\n')) || b == 0x7F) return false;
      ++i;
      continue;
    }
    size_t len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    char32_t cp = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp <= 0x9F || cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cap = data[0];  // 0 to 255
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string safe = inferix::SafeText(text, cap);
  if (!IsInert(safe, false) || safe.size() > cap + 32) std::abort();
  const std::string lines = inferix::SafeLines(text, cap);
  if (!IsInert(lines, true) || lines.size() > cap + 32) std::abort();
  const std::string cut = inferix::CapText(text, cap + 32);
  if (cut.size() > cap + 32) std::abort();
  if (cut.size() < text.size() && cut.find("...[+") == std::string::npos) std::abort();
  return 0;
}
