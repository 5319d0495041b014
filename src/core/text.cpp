#include "core/text.hpp"

#include <algorithm>

namespace inferix {
namespace {

// The length of the UTF-8 sequence at `s[i]` and its code point, or 0 when the bytes there are not valid
// UTF-8 (overlong forms, surrogates and code points beyond U+10FFFF included).
size_t DecodeUtf8(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Code points that move, hide or reorder what a terminal shows.
bool IsUnsafeCodePoint(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
         cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

// `value` in `digits` lower-case hex digits.
std::string Hex(char32_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int k = digits - 1; k >= 0; --k, value >>= 4) out[static_cast<size_t>(k)] = kDigits[value & 0xF];
  return out;
}

std::string Escaped(char32_t cp) {
  switch (cp) {
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  return cp < 0x80 ? "\\x" + Hex(cp, 2) : "\\u" + Hex(cp, 4);
}

std::string Marker(size_t left_out) { return "...[+" + std::to_string(left_out) + " bytes]"; }

std::string Safe(std::string_view text, size_t max_bytes, bool keep_newlines) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, cp);
    std::string piece;
    if (len == 0) {
      piece = "\\x" + Hex(static_cast<unsigned char>(text[i]), 2);
    } else if (IsUnsafeCodePoint(cp) && !(keep_newlines && cp == '\n')) {
      piece = Escaped(cp);
    } else {
      piece.assign(text.substr(i, len));
    }
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += len == 0 ? 1 : len;
  }
  if (i < text.size()) out += Marker(text.size() - i);
  return out;
}

}  // namespace

std::string SafeText(std::string_view text, size_t max_bytes) { return Safe(text, max_bytes, false); }

std::string SafeLines(std::string_view text, size_t max_bytes) { return Safe(text, max_bytes, true); }

std::string CapText(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // Room for the marker; the number it holds has at most 20 digits.
  const size_t room = max_bytes > 32 ? max_bytes - 32 : 0;
  size_t cut = room;
  // Back up to the start of a character: never end inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + Marker(text.size() - cut);
}

}  // namespace inferix
