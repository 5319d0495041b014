#include "blend/blend_file.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "blend/bytes.hpp"
#include "blend/dna.hpp"
#include "blend/source.hpp"

// The format, as Blender's own reader (source/blender/blenloader_core, makesdna/intern/dna_genfile.cc) has
// it: a header, then blocks (a block header + `len` bytes) until one with the code "ENDB". One block, "DNA1",
// is the catalog of every struct (member names, types and sizes) the file was written with; a Library
// data-block ("LI") is one such struct, and where its path lies is found from that catalog, never assumed.

namespace inferix::blend {
namespace {

namespace fs = std::filesystem;
using internal::AllDigits;
using internal::DigitsValue;
using internal::DnaStruct;
using internal::Invalid;
using internal::kHeaderSize0;
using internal::kHeaderSize1;
using internal::kMaxDecompressed;
using internal::LoadI32;
using internal::LoadI64;
using internal::PathField;
using internal::Printable;
using internal::RawSource;
using internal::Source;

// Limits against hostile files. Real files have a few thousand blocks per megabyte, one DNA1 block of about
// 130 KiB with some 5000 names, and Library blocks of about 2 KiB.
constexpr uint64_t kMaxBlocks = uint64_t{64} << 20;
constexpr uint64_t kMaxLibraryBlockSize = uint64_t{1} << 20;
constexpr size_t kMaxLibraryBlocks = 65536;
constexpr uint64_t kMaxLibraryBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxDnaBlockSize = uint64_t{16} << 20;
constexpr size_t kMaxBlockHeaderSize = 32;

// ---- Blocks. ----

// A block header, whichever of the three stored forms it came from.
struct BlockHeader {
  std::array<char, 4> code{};
  int64_t len = 0;
  int64_t sdna = 0;
};

// BHead4 (4-byte pointers): code, int32 len, uint32 old, int32 SDNAnr, int32 nr.
// SmallBHead8 (8-byte pointers, format 0): code, int32 len, uint64 old, int32 SDNAnr, int32 nr.
// LargeBHead8 (format 1): code, int32 SDNAnr, uint64 old, int64 len, int64 nr.
size_t BlockHeaderSize(const BlendHeader& h) {
  if (h.format_version == 1) {
    return 32;
  }
  return h.pointer_size == 4 ? 20 : 24;
}

BlockHeader DecodeBlockHeader(const char* p, const BlendHeader& h) {
  BlockHeader b;
  std::memcpy(b.code.data(), p, 4);
  // ID codes are two characters stored as an int: "LI\0\0" little-endian, "\0\0LI" big-endian.
  if (!h.little_endian && b.code[0] == '\0' && b.code[1] == '\0') {
    b.code = {b.code[2], b.code[3], '\0', '\0'};
  }
  const bool le = h.little_endian;
  if (h.format_version == 1) {
    b.sdna = LoadI32(p + 4, le);
    b.len = LoadI64(p + 16, le);
  } else {
    b.len = LoadI32(p + 4, le);
    b.sdna = LoadI32(p + (h.pointer_size == 4 ? 12 : 16), le);
  }
  return b;
}

bool CodeIs(const std::array<char, 4>& code, std::string_view four) {
  return std::string_view(code.data(), 4) == four;
}

// A Library block kept until the catalog (written near the end of the file) says how to read it.
struct LibraryBlock {
  uint64_t index = 0;
  int64_t sdna = 0;
  std::string bytes;
};

// Reads `len` bytes of a block that is kept; an error where the data ends first.
Result<std::string> ReadBlockBytes(Source& stream, uint64_t len, std::string_view what,
                                   std::string_view label) {
  std::string bytes(static_cast<size_t>(len), '\0');
  auto got = stream.Read(bytes.data(), bytes.size());
  if (!got) {
    return got.error();
  }
  if (*got < bytes.size()) {
    return Invalid(what, std::string(label) + " is cut short: the file is truncated");
  }
  return bytes;
}

Result<std::vector<std::string>> ReadLibraryPathsFrom(RawSource& raw, const std::string& what) {
  auto opened = internal::Open(raw, what);
  if (!opened) {
    return opened.error();
  }
  const BlendHeader& header = opened->header;
  Source& stream = *opened->stream;
  const bool compressed = opened->compression != Compression::kNone;
  const size_t bhead_size = BlockHeaderSize(header);

  std::vector<LibraryBlock> libraries;
  uint64_t library_bytes = 0;
  std::optional<std::string> dna_bytes;
  uint64_t offset = opened->header_size;  // in the decompressed data
  std::array<char, kMaxBlockHeaderSize> raw_header{};
  for (uint64_t index = 0;; ++index) {
    if (index == kMaxBlocks) {
      return Invalid(
          what, "has more than " + std::to_string(kMaxBlocks) + " blocks: the file is damaged or hostile");
    }
    auto got = stream.Read(raw_header.data(), bhead_size);
    if (!got) {
      return got.error();
    }
    // Blender accepts a last block header cut short after its ENDB code.
    if (*got >= 4 && std::string_view(raw_header.data(), 4) == "ENDB") {
      break;
    }
    const std::string at = " at offset " + std::to_string(offset);
    if (*got == 0) {
      return Invalid(what, "ends" + at + " without its ENDB block: the file is truncated");
    }
    if (*got < bhead_size) {
      return Invalid(what, "the block header" + at + " is cut short: the file is truncated");
    }
    const BlockHeader block = DecodeBlockHeader(raw_header.data(), header);
    const std::string label = "block " + std::to_string(index) + " ('" +
                              Printable(std::string_view(block.code.data(), 4)) + "')" + at;
    if (block.len < 0) {
      return Invalid(
          what, label + " has a negative length (" + std::to_string(block.len) + "): the file is damaged");
    }
    offset += bhead_size;
    const auto len = static_cast<uint64_t>(block.len);
    if (const auto left = stream.Remaining(); left && len > *left) {
      return Invalid(what, label + " claims " + std::to_string(len) + " bytes but only " +
                               std::to_string(*left) + " are left: the file is truncated or damaged");
    }
    if (compressed && len > kMaxDecompressed - std::min(offset, kMaxDecompressed)) {
      return Invalid(what, label + " claims " + std::to_string(len) +
                               " bytes, past the 4 GiB of decompressed data this reader accepts");
    }

    if (CodeIs(block.code, std::string_view("LI\0\0", 4))) {
      if (len > kMaxLibraryBlockSize) {
        return Invalid(what, label + " claims " + std::to_string(len) +
                                 " bytes for a Library, which takes a few KiB: the file is damaged");
      }
      if (libraries.size() == kMaxLibraryBlocks || library_bytes + len > kMaxLibraryBytes) {
        return Invalid(what,
                       "has more Library blocks than this reader accepts: the file is damaged or hostile");
      }
      auto bytes = ReadBlockBytes(stream, len, what, label);
      if (!bytes) {
        return bytes.error();
      }
      library_bytes += len;
      libraries.push_back({index, block.sdna, std::move(*bytes)});
    } else if (CodeIs(block.code, "DNA1")) {
      if (dna_bytes) {
        return Invalid(what, label + " is a second DNA1 block: the file is damaged");
      }
      if (len > kMaxDnaBlockSize) {
        return Invalid(
            what, label + " claims " + std::to_string(len) +
                      " bytes for the struct catalog, which takes a few hundred KiB: the file is damaged");
      }
      auto bytes = ReadBlockBytes(stream, len, what, label);
      if (!bytes) {
        return bytes.error();
      }
      dna_bytes = std::move(*bytes);
    } else {
      auto skipped = stream.Skip(len);
      if (!skipped) {
        return skipped.error();
      }
      if (*skipped < len) {
        return Invalid(what, label + " is cut short: the file is truncated");
      }
    }
    offset += len;
  }

  if (!dna_bytes) {
    return Invalid(
        what,
        "has no DNA1 block (the catalog of structs that says where a Library keeps its path): the file is "
        "damaged");
  }
  auto dna = internal::ParseDna(*dna_bytes, header.little_endian, what);
  if (!dna) {
    return dna.error();
  }

  std::vector<std::string> paths;
  std::unordered_set<std::string> seen;
  std::unordered_map<int64_t, PathField> fields;  // by struct index
  for (const LibraryBlock& library : libraries) {
    const std::string label = "Library block " + std::to_string(library.index);
    if (library.sdna < 0 || static_cast<uint64_t>(library.sdna) >= dna->structs.size()) {
      return Invalid(what, label + " names struct " + std::to_string(library.sdna) +
                               ", which the DNA1 block does not have: the file is damaged");
    }
    const DnaStruct& s = dna->structs[static_cast<size_t>(library.sdna)];
    if (dna->types[s.type] != "Library") {
      return Invalid(what, label + " is stored as struct \"" + Printable(dna->types[s.type]) +
                               "\", not Library: the file is damaged");
    }
    auto found = fields.find(library.sdna);
    if (found == fields.end()) {
      auto field = internal::FindLibraryPath(*dna, s, header.pointer_size, what);
      if (!field) {
        return field.error();
      }
      found = fields.emplace(library.sdna, *field).first;
    }
    const PathField& field = found->second;
    if (field.offset > library.bytes.size() || field.size > library.bytes.size() - field.offset) {
      return Invalid(what, label + " has " + std::to_string(library.bytes.size()) +
                               " bytes, too few for the path its struct places at " +
                               std::to_string(field.offset) + ": the file is damaged");
    }
    const std::string_view value(library.bytes.data() + field.offset, static_cast<size_t>(field.size));
    const size_t end = value.find('\0');
    if (end == std::string_view::npos) {
      return Invalid(what, label + "'s path does not end within its field: the file is damaged");
    }
    std::string path(value.substr(0, end));
    if (path.empty()) {
      continue;  // a Library without a path links nothing to fetch
    }
    if (seen.insert(path).second) {
      paths.push_back(std::move(path));
    }
  }
  return paths;
}

Result<BlendHeader> ReadHeaderFrom(RawSource& raw, const std::string& what) {
  auto opened = internal::Open(raw, what);
  if (!opened) {
    return opened.error();
  }
  return opened->header;
}

}  // namespace

std::string BlendHeader::VersionString() const {
  // Blender 2.x counted minors in two digits (2.79, 2.80); from 3.0 on they are single digits (3.4, 4.2).
  const int minor = Minor();
  std::string out = std::to_string(Major()) + ".";
  if (Major() < 3 && minor < 10) {
    out += "0";
  }
  return out + std::to_string(minor);
}

Result<BlendHeader> ParseHeader(std::string_view head) {
  const auto bad = [](const std::string& message) { return MakeError(Errc::kInvalidArgument, message); };
  constexpr std::string_view kMagic = "BLENDER";
  if (head.substr(0, kMagic.size()) != kMagic.substr(0, std::min(head.size(), kMagic.size()))) {
    return bad("not a .blend file: it does not start with \"BLENDER\"");
  }
  if (head.size() < kHeaderSize0) {
    return bad("the .blend header is cut short (" + std::to_string(head.size()) + " of 12 bytes)");
  }
  BlendHeader h;
  if (head[7] == '_' || head[7] == '-') {  // format 0: "BLENDER-v304"
    h.format_version = 0;
    h.pointer_size = head[7] == '_' ? 4 : 8;
    if (head[8] != 'v' && head[8] != 'V') {
      return bad("the .blend header has an unknown byte order '" + Printable(head.substr(8, 1)) +
                 "' (v or V)");
    }
    h.little_endian = head[8] == 'v';
    if (!AllDigits(head.substr(9, 3))) {
      return bad("the .blend header's version \"" + Printable(head.substr(9, 3)) + "\" is not 3 digits");
    }
    h.version = DigitsValue(head.substr(9, 3));
    return h;
  }
  // format 1: "BLENDER17-01v0502": header size, '-', format version, 'v', 4-digit version.
  if (!AllDigits(head.substr(7, 2))) {
    return bad("the .blend header has an unknown pointer size mark '" + Printable(head.substr(7, 1)) +
               "' (_ or -)");
  }
  const int header_size = DigitsValue(head.substr(7, 2));
  if (header_size != static_cast<int>(kHeaderSize1)) {
    return bad("the .blend header gives its size as " + std::to_string(header_size) +
               "; this reader knows 12 and 17 (saved by a newer Blender?)");
  }
  if (head.size() < kHeaderSize1) {
    return bad("the .blend header is cut short (" + std::to_string(head.size()) + " of 17 bytes)");
  }
  if (head[9] != '-') {
    return bad("the 17-byte .blend header has '" + Printable(head.substr(9, 1)) + "' where '-' belongs");
  }
  if (!AllDigits(head.substr(10, 2))) {
    return bad("the .blend header's format version \"" + Printable(head.substr(10, 2)) +
               "\" is not 2 digits");
  }
  h.format_version = DigitsValue(head.substr(10, 2));
  if (h.format_version != 1) {
    return bad("the .blend file format version " + std::to_string(h.format_version) +
               " is unknown to this reader (saved by a newer Blender?)");
  }
  // Blender writes this form only little-endian and reads no other.
  if (head[12] != 'v') {
    return bad("the 17-byte .blend header has byte order '" + Printable(head.substr(12, 1)) +
               "'; only 'v' exists");
  }
  if (!AllDigits(head.substr(13, 4))) {
    return bad("the .blend header's version \"" + Printable(head.substr(13, 4)) + "\" is not 4 digits");
  }
  h.pointer_size = 8;
  h.little_endian = true;
  h.version = DigitsValue(head.substr(13, 4));
  return h;
}

Result<BlendHeader> ReadHeader(const fs::path& file) {
  auto source = internal::OpenFileSource(file);
  if (!source) {
    return source.error();
  }
  return ReadHeaderFrom(**source, file.string());
}

Result<BlendHeader> ReadHeaderFromBytes(std::string_view file_bytes) {
  const auto source = internal::MemorySourceOf(file_bytes);
  return ReadHeaderFrom(*source, "input");
}

Result<std::vector<std::string>> ReadLibraryPaths(const fs::path& file) {
  auto source = internal::OpenFileSource(file);
  if (!source) {
    return source.error();
  }
  return ReadLibraryPathsFrom(**source, file.string());
}

Result<std::vector<std::string>> ReadLibraryPathsFromBytes(std::string_view file_bytes) {
  const auto source = internal::MemorySourceOf(file_bytes);
  return ReadLibraryPathsFrom(*source, "input");
}

}  // namespace inferix::blend
