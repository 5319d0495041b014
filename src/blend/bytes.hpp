#pragma once
// Internal to the .blend reader (blend_file.cpp, source.cpp, dna.cpp): the limits and small helpers its parts
// share. Not part of the module's interface; include blend/blend_file.hpp instead.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace inferix::blend::internal {

// The most decompressed data the reader accepts, against compression bombs (the other limits against hostile
// files are beside the code they guard).
constexpr uint64_t kMaxDecompressed = uint64_t{4} << 30;
// The two sizes of the file header: "BLENDER-v304" (format 0) and "BLENDER17-01v0502" (format 1).
constexpr size_t kHeaderSize0 = 12;
constexpr size_t kHeaderSize1 = 17;

inline Error Invalid(std::string_view what, std::string_view message) {
  return MakeError(Errc::kInvalidArgument, std::string(what) + ": " + std::string(message));
}

inline Error NotABlend(std::string_view what) {
  return MakeError(Errc::kInvalidArgument, std::string(what) + " is not a .blend file (plain, gzip or zstd)");
}

// Bytes as they may be shown in a message: printable ASCII as is, the rest as \xNN.
inline std::string Printable(std::string_view bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

inline bool AllDigits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit); }

inline int DigitsValue(std::string_view s) {
  int v = 0;
  for (const char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

inline uint64_t Load(const char* p, size_t n, bool little) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<unsigned char>(p[little ? n - 1 - i : i]);
    v = (v << 8) | byte;
  }
  return v;
}

inline int32_t LoadI32(const char* p, bool little) {
  return static_cast<int32_t>(static_cast<uint32_t>(Load(p, 4, little)));
}

inline int64_t LoadI64(const char* p, bool little) { return static_cast<int64_t>(Load(p, 8, little)); }

}  // namespace inferix::blend::internal
