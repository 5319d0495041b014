#pragma once
// Test support for the .blend reader's tests: synthetic .blend files written the way Blender writes them
// (every block header form, a struct catalog, Library blocks), and gzip and zstd compression as Blender does
// it.
#include <gtest/gtest.h>
// zlib and zstd make the compressed copies; inferix_blend links them (privately, which a static library
// passes on to whatever links it).
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"
#include "core/files.hpp"
#include "core/result.hpp"

namespace inferix::blend::blend_test {

// ---- Compression, as Blender writes it. ----

inline std::string Gzip(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// Several zstd frames and a skippable seek-table frame at the end, as Blender 3.0 and later write.
inline std::string Zstd(std::string_view data, size_t frame_size = 256 * 1024) {
  std::string out;
  std::vector<std::pair<uint32_t, uint32_t>> frames;
  for (size_t pos = 0; pos < data.size() || pos == 0; pos += frame_size) {
    const std::string_view part = data.substr(pos, frame_size);
    std::string frame(ZSTD_compressBound(part.size()), '\0');
    const size_t n = ZSTD_compress(frame.data(), frame.size(), part.data(), part.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    frame.resize(n);
    out += frame;
    frames.emplace_back(static_cast<uint32_t>(n), static_cast<uint32_t>(part.size()));
    if (data.empty()) break;
  }
  std::string table;
  for (const auto& [compressed, size] : frames) {
    PutLe32(table, compressed);
    PutLe32(table, size);
  }
  PutLe32(table, static_cast<uint32_t>(frames.size()));
  table += '\0';
  PutLe32(table, 0x8F92EAB1);
  PutLe32(out, 0x184D2A5E);
  PutLe32(out, static_cast<uint32_t>(table.size()));
  return out + table;
}

// ---- Synthetic .blend files. ----

// One member of a struct in the catalog: its type and its name as DNA writes it ("*next", "name[64]").
struct Member {
  std::string type;
  std::string name;
};
struct StructDef {
  std::string type;
  std::vector<Member> members;
};

class Blend {
 public:
  Blend(int format, int pointer_size, bool little, int version)
      : format_(format), pointer_size_(pointer_size), little_(little) {
    if (format == 1) {
      char v[5];
      std::snprintf(v, sizeof v, "%04d", version);
      bytes_ = std::string("BLENDER17-01v") + v;
    } else {
      bytes_ = std::string("BLENDER") + (pointer_size == 4 ? '_' : '-') + (little ? 'v' : 'V') +
               std::to_string(version);
    }
  }

  // Appends a block; `len` is the stored length when given, data.size() otherwise.
  Blend& Block(std::string_view code, int sdna, std::string_view data, std::optional<int64_t> len = {}) {
    const int64_t stored = len.value_or(static_cast<int64_t>(data.size()));
    std::string c(code);
    c.resize(4, '\0');
    if (!little_ && c[2] == '\0' && c[3] == '\0') c = std::string("\0\0", 2) + c.substr(0, 2);  // ID codes
    bytes_ += c;
    if (format_ == 1) {
      Put(sdna, 4);
      Put(0x1000, 8);
      Put(stored, 8);
      Put(1, 8);
    } else {
      Put(stored, 4);
      Put(0x1000, pointer_size_);
      Put(sdna, 4);
      Put(1, 4);
    }
    bytes_ += data;
    return *this;
  }
  Blend& Endb() { return Block("ENDB", 0, ""); }

  // The DNA1 block's bytes for the given types (name and size) and structs.
  std::string Dna(const std::vector<std::pair<std::string, int>>& types,
                  const std::vector<StructDef>& structs, std::optional<int32_t> name_count = {}) const {
    std::vector<std::string> names;
    std::map<std::string, int> name_index;
    std::map<std::string, int> type_index;
    for (size_t i = 0; i < types.size(); ++i) type_index[types[i].first] = static_cast<int>(i);
    for (const auto& s : structs) {
      for (const auto& m : s.members) {
        if (name_index.emplace(m.name, static_cast<int>(names.size())).second) names.push_back(m.name);
      }
    }
    std::string d = "SDNANAME";
    PutTo(d, name_count.value_or(static_cast<int32_t>(names.size())), 4);
    for (const auto& n : names) d += n + '\0';
    Align(d);
    d += "TYPE";
    PutTo(d, static_cast<int64_t>(types.size()), 4);
    for (const auto& t : types) d += t.first + '\0';
    Align(d);
    d += "TLEN";
    for (const auto& t : types) PutTo(d, t.second, 2);
    Align(d);
    d += "STRC";
    PutTo(d, static_cast<int64_t>(structs.size()), 4);
    for (const auto& s : structs) {
      PutTo(d, type_index.at(s.type), 2);
      PutTo(d, static_cast<int64_t>(s.members.size()), 2);
      for (const auto& m : s.members) {
        PutTo(d, type_index.at(m.type), 2);
        PutTo(d, name_index.at(m.name), 2);
      }
    }
    return d;
  }

  const std::string& Bytes() const { return bytes_; }

 private:
  void Put(int64_t v, int n) { PutTo(bytes_, v, n); }
  void PutTo(std::string& out, int64_t v, int n) const {
    for (int i = 0; i < n; ++i) {
      const int shift = 8 * (little_ ? i : n - 1 - i);
      out += static_cast<char>((static_cast<uint64_t>(v) >> shift) & 0xff);
    }
  }
  static void Align(std::string& d) {
    while (d.size() % 4 != 0) d += '\0';
  }

  int format_;
  int pointer_size_;
  bool little_;
  std::string bytes_;
};

// The catalog of a small file: ID (68 bytes), and Library with a path field of 64 chars at offset 68 +
// pointer.
inline const std::vector<std::pair<std::string, int>> kTypes = {
    {"char", 1}, {"short", 2}, {"int", 4}, {"ID", 68}, {"Library", 0}, {"ListBase", 16}};
inline const StructDef kId = {"ID", {{"char", "name[66]"}, {"short", "flag"}}};
inline const StructDef kModernLibrary = {
    "Library", {{"ID", "id"}, {"Library", "*parent"}, {"char", "name[64]"}, {"char", "filepath_abs[64]"}}};
inline const StructDef kOldLibrary = {"Library",
                                      {{"ID", "id"}, {"char", "name[64]"}, {"char", "filepath[64]"}}};
inline const StructDef kRuntimeNamedLibrary = {
    "Library", {{"ID", "id"}, {"char", "filepath[64]"}, {"char", "filepath_abs[64]"}, {"int", "flag"}}};

// A Library block's bytes: the ID, then `before` bytes, then the path field, then the absolute path.
inline std::string LibraryBytes(size_t before, std::string_view path,
                                std::string_view abs_path = "/abs/lib.blend") {
  std::string b(68 + before, '\0');
  b.replace(0, 4, "LIli");
  std::string field(path);
  field.resize(64, '\0');
  std::string abs(abs_path);
  abs.resize(64, '\0');
  return b + field + abs;
}

// A file of the given format, pointer size and byte order that links `paths`, with other blocks around them.
inline std::string ModernFile(int format, int pointer_size, bool little,
                              const std::vector<std::string>& paths) {
  Blend b(format, pointer_size, little, format == 1 ? 502 : 304);
  const std::string dna = b.Dna(kTypes, {kId, kModernLibrary});
  b.Block("REND", 0, std::string(72, 'r'));
  for (const auto& p : paths) b.Block("LI", 1, LibraryBytes(static_cast<size_t>(pointer_size), p));
  b.Block("DATA", 0, std::string(100, 'd')).Block("DNA1", 0, dna).Endb();
  return b.Bytes();
}

}  // namespace inferix::blend::blend_test
