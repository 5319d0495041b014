#include "blend/blend_file.hpp"

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

namespace inferix::blend {
namespace {

namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

// ---- Compression, as Blender writes it. ----

std::string Gzip(std::string_view data) {
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

void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// Several zstd frames and a skippable seek-table frame at the end, as Blender 3.0 and later write.
std::string Zstd(std::string_view data, size_t frame_size = 256 * 1024) {
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
const std::vector<std::pair<std::string, int>> kTypes = {{"char", 1}, {"short", 2},   {"int", 4},
                                                         {"ID", 68},  {"Library", 0}, {"ListBase", 16}};
const StructDef kId = {"ID", {{"char", "name[66]"}, {"short", "flag"}}};
const StructDef kModernLibrary = {
    "Library", {{"ID", "id"}, {"Library", "*parent"}, {"char", "name[64]"}, {"char", "filepath_abs[64]"}}};
const StructDef kOldLibrary = {"Library", {{"ID", "id"}, {"char", "name[64]"}, {"char", "filepath[64]"}}};
const StructDef kRuntimeNamedLibrary = {
    "Library", {{"ID", "id"}, {"char", "filepath[64]"}, {"char", "filepath_abs[64]"}, {"int", "flag"}}};

// A Library block's bytes: the ID, then `before` bytes, then the path field, then the absolute path.
std::string LibraryBytes(size_t before, std::string_view path, std::string_view abs_path = "/abs/lib.blend") {
  std::string b(68 + before, '\0');
  b.replace(0, 4, "LIli");
  std::string field(path);
  field.resize(64, '\0');
  std::string abs(abs_path);
  abs.resize(64, '\0');
  return b + field + abs;
}

// ---- Headers. ----

TEST(ParseHeaderTest, FormZero) {
  auto h = ParseHeader("BLENDER-v304");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->format_version, 0);
  EXPECT_EQ(h->pointer_size, 8);
  EXPECT_TRUE(h->little_endian);
  EXPECT_EQ(h->version, 304);
  EXPECT_EQ(h->Major(), 3);
  EXPECT_EQ(h->Minor(), 4);
  EXPECT_EQ(h->VersionString(), "3.4");
  EXPECT_EQ(h->compression, Compression::kNone);

  auto old = ParseHeader("BLENDER_V279REND and whatever follows");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->pointer_size, 4);
  EXPECT_FALSE(old->little_endian);
  EXPECT_EQ(old->VersionString(), "2.79");
}

TEST(ParseHeaderTest, FormOne) {
  auto h = ParseHeader("BLENDER17-01v0502");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->format_version, 1);
  EXPECT_EQ(h->pointer_size, 8);
  EXPECT_TRUE(h->little_endian);
  EXPECT_EQ(h->version, 502);
  EXPECT_EQ(h->VersionString(), "5.2");
}

TEST(ParseHeaderTest, VersionStrings) {
  BlendHeader h;
  for (const auto& [version, text] : std::vector<std::pair<int, std::string>>{
           {278, "2.78"}, {280, "2.80"}, {205, "2.05"}, {300, "3.0"}, {402, "4.2"}, {1001, "10.1"}}) {
    h.version = version;
    EXPECT_EQ(h.VersionString(), text);
  }
}

TEST(ParseHeaderTest, RefusesWhatIsNotAHeader) {
  for (const std::string_view bad :
       {std::string_view(""), std::string_view("BLENDER"), std::string_view("BLENDER-v30"),
        std::string_view("BLENDER-v3x4"), std::string_view("BLENDER-x304"), std::string_view("BLENDER#v304"),
        std::string_view("BLENDER17-01v050"), std::string_view("BLENDER18-01v0502"),
        std::string_view("BLENDER17-02v0502"), std::string_view("BLENDER17-01V0502"),
        std::string_view("BLENDER17_01v0502"), std::string_view("BLENDER17-01v05a2"),
        std::string_view("BLENDEX-v304"), std::string_view("PK\x03\x04 a zip file"),
        std::string_view("blender-v304")}) {
    auto h = ParseHeader(bad);
    ASSERT_FALSE(h.ok()) << bad;
    EXPECT_EQ(h.error().code, Errc::kInvalidArgument) << bad;
    EXPECT_FALSE(h.error().message.empty()) << bad;
  }
}

// ---- Files on disk. ----

class BlendFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_blend_test_" + RandomHex(8));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path Write(const std::string& name, std::string_view data) {
    const fs::path p = dir_ / name;
    EXPECT_TRUE(WriteFileAtomic(p, data).ok());
    return p;
  }
  fs::path dir_;
};

TEST_F(BlendFileTest, MissingOrUnreadableFilesAreNotFound) {
  auto missing = ReadHeader(dir_ / "absent.blend");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().message.find("absent.blend"), std::string::npos);
  auto paths = ReadLibraryPaths(dir_ / "absent.blend");
  ASSERT_FALSE(paths.ok());
  EXPECT_EQ(paths.error().code, Errc::kNotFound);

  auto directory = ReadHeader(dir_);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, Errc::kNotFound);
}

TEST_F(BlendFileTest, OtherFilesAreNotBlendFiles) {
  const auto text = Write("notes.blend", "just some text, not a scene\n");
  auto h = ReadHeader(text);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(h.error().message, text.string() + " is not a .blend file (plain, gzip or zstd)");

  auto empty = ReadHeader(Write("empty.blend", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::kInvalidArgument);
  EXPECT_NE(empty.error().message.find("not a .blend file"), std::string::npos);

  // Compressed, but not a .blend inside.
  auto gz = ReadHeader(Write("text.blend", Gzip("hello, world: a compressed text file")));
  ASSERT_FALSE(gz.ok());
  EXPECT_NE(gz.error().message.find("gzip-compressed data but not a .blend file"), std::string::npos)
      << gz.error().message;
  auto zst = ReadHeaderFromBytes(Zstd("hello, world: a compressed text file"));
  ASSERT_FALSE(zst.ok());
  EXPECT_NE(zst.error().message.find("zstd-compressed data but not a .blend file"), std::string::npos)
      << zst.error().message;
}

// ---- Synthetic files: every stored form, and hostile ones. ----

std::string ModernFile(int format, int pointer_size, bool little, const std::vector<std::string>& paths) {
  Blend b(format, pointer_size, little, format == 1 ? 502 : 304);
  const std::string dna = b.Dna(kTypes, {kId, kModernLibrary});
  b.Block("REND", 0, std::string(72, 'r'));
  for (const auto& p : paths) b.Block("LI", 1, LibraryBytes(static_cast<size_t>(pointer_size), p));
  b.Block("DATA", 0, std::string(100, 'd')).Block("DNA1", 0, dna).Endb();
  return b.Bytes();
}

TEST(BlendSyntheticTest, EveryBlockHeaderForm) {
  struct Case {
    int format;
    int pointer_size;
    bool little;
  };
  for (const Case c :
       {Case{0, 8, true}, Case{0, 4, true}, Case{0, 8, false}, Case{0, 4, false}, Case{1, 8, true}}) {
    SCOPED_TRACE(std::to_string(c.format) + " " + std::to_string(c.pointer_size) + " " +
                 std::to_string(c.little));
    const std::string file =
        ModernFile(c.format, c.pointer_size, c.little, {"//lib/a.blend", "C:\\lib\\b.blend"});
    auto h = ReadHeaderFromBytes(file);
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(h->pointer_size, c.pointer_size);
    EXPECT_EQ(h->little_endian, c.little);
    EXPECT_EQ(h->format_version, c.format);
    auto paths = ReadLibraryPathsFromBytes(file);
    ASSERT_TRUE(paths.ok()) << paths.error().message;
    EXPECT_EQ(*paths, (Paths{"//lib/a.blend", "C:\\lib\\b.blend"}));
    // The same, compressed.
    auto gz = ReadLibraryPathsFromBytes(Gzip(file));
    ASSERT_TRUE(gz.ok()) << gz.error().message;
    EXPECT_EQ(*gz, *paths);
    auto zst = ReadLibraryPathsFromBytes(Zstd(file, 100));
    ASSERT_TRUE(zst.ok()) << zst.error().message;
    EXPECT_EQ(*zst, *paths);
  }
}

TEST(BlendSyntheticTest, PathMemberOfEveryEra) {
  // 2.7x to 2.90: `name` is the path as written, `filepath` the absolute one.
  Blend old(0, 8, true, 279);
  old.Block("LI", 1, LibraryBytes(0, "//old.blend", "/abs/old.blend"))
      .Block("DNA1", 0, old.Dna(kTypes, {kId, kOldLibrary}))
      .Endb();
  auto paths = ReadLibraryPathsFromBytes(old.Bytes());
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  EXPECT_EQ(*paths, Paths{"//old.blend"});

  // A catalog with the in-memory names: `filepath` beside `filepath_abs`.
  Blend named(0, 8, true, 400);
  named.Block("LI", 1, LibraryBytes(0, "//named.blend", "/abs/named.blend"))
      .Block("DNA1", 0, named.Dna(kTypes, {kId, kRuntimeNamedLibrary}))
      .Endb();
  paths = ReadLibraryPathsFromBytes(named.Bytes());
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  EXPECT_EQ(*paths, Paths{"//named.blend"});
}

TEST(BlendSyntheticTest, EachPathOnceInFileOrderAndEmptyOnesLeftOut) {
  const std::string file = ModernFile(0, 8, true, {"//b.blend", "//a.blend", "", "//b.blend", "/x/c.blend"});
  auto paths = ReadLibraryPathsFromBytes(file);
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  EXPECT_EQ(*paths, (Paths{"//b.blend", "//a.blend", "/x/c.blend"}));
}

TEST(BlendSyntheticTest, NoLibrariesAndNoDna) {
  auto none = ReadLibraryPathsFromBytes(ModernFile(0, 8, true, {}));
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());

  // A header and blocks but no DNA1: the header reads, the libraries cannot.
  Blend b(0, 8, true, 304);
  b.Block("REND", 0, "xxxx").Block("LI", 1, LibraryBytes(8, "//a.blend")).Endb();
  EXPECT_TRUE(ReadHeaderFromBytes(b.Bytes()).ok());
  auto paths = ReadLibraryPathsFromBytes(b.Bytes());
  ASSERT_FALSE(paths.ok());
  EXPECT_EQ(paths.error().code, Errc::kInvalidArgument);
  EXPECT_NE(paths.error().message.find("no DNA1 block"), std::string::npos) << paths.error().message;
}

TEST(BlendSyntheticTest, EndBlockMayBeCutShortButNotMissing) {
  const std::string file = ModernFile(0, 8, true, {"//a.blend"});
  const size_t endb = file.size() - 24;
  ASSERT_EQ(file.substr(endb, 4), "ENDB");
  auto short_end = ReadLibraryPathsFromBytes(file.substr(0, endb + 4));
  ASSERT_TRUE(short_end.ok()) << short_end.error().message;
  EXPECT_EQ(*short_end, Paths{"//a.blend"});

  auto no_end = ReadLibraryPathsFromBytes(file.substr(0, endb));
  ASSERT_FALSE(no_end.ok());
  EXPECT_NE(no_end.error().message.find("without its ENDB block"), std::string::npos)
      << no_end.error().message;
}

// The failure and its message for a file that must be refused.
void ExpectRefused(const std::string& file, std::string_view expected) {
  auto paths = ReadLibraryPathsFromBytes(file);
  ASSERT_FALSE(paths.ok()) << "expected an error containing: " << expected;
  EXPECT_EQ(paths.error().code, Errc::kInvalidArgument);
  EXPECT_NE(paths.error().message.find(expected), std::string::npos) << paths.error().message;
}

TEST(BlendHostileTest, EmptyAndHeaderOnly) {
  ExpectRefused("", "not a .blend file");
  ExpectRefused("BLENDER", "cut short");
  ExpectRefused("BLENDER-v3x4", "not 3 digits");
  EXPECT_FALSE(ReadHeaderFromBytes("").ok());
  EXPECT_FALSE(ReadHeaderFromBytes("BLENDER").ok());
  EXPECT_FALSE(ReadHeaderFromBytes("BLENDER17-01v05").ok());
  // A header alone is a header, but not a file with blocks.
  EXPECT_TRUE(ReadHeaderFromBytes("BLENDER-v304").ok());
  ExpectRefused("BLENDER-v304", "without its ENDB block");
}

TEST(BlendHostileTest, BadBlockLengths) {
  Blend truncated(0, 8, true, 304);
  truncated.Block("DATA", 0, std::string(10, 'x'), 100);
  ExpectRefused(truncated.Bytes(), "claims 100 bytes but only 10 are left");

  Blend past_end(1, 8, true, 502);
  past_end.Block("DATA", 0, "", int64_t{1} << 40).Endb();
  ExpectRefused(past_end.Bytes(), "claims 1099511627776 bytes");
  ExpectRefused(Gzip(past_end.Bytes()), "past the 4 GiB");

  Blend negative(0, 8, true, 304);
  negative.Block("DATA", 0, "", -5).Endb();
  ExpectRefused(negative.Bytes(), "negative length (-5)");
  Blend negative64(1, 8, true, 502);
  negative64.Block("DATA", 0, "", INT64_MIN).Endb();
  ExpectRefused(Zstd(negative64.Bytes()), "negative length");

  Blend cut_header(0, 8, true, 304);
  cut_header.Block("DATA", 0, "abc");
  ExpectRefused(cut_header.Bytes() + "DAT", "cut short");
  ExpectRefused(cut_header.Bytes() + "DATA0123", "cut short");

  // A compressed stream whose block claims more than the data holds: skipped in a stream, then refused.
  Blend big(1, 8, true, 502);
  big.Block("DATA", 0, std::string(8 << 20, '\0'), int64_t{1} << 30);
  ExpectRefused(Zstd(big.Bytes(), 4 << 20), "truncated");
  ExpectRefused(Gzip(big.Bytes()), "truncated");
}

TEST(BlendHostileTest, AbsurdKeptBlocks) {
  Blend library(0, 8, true, 304);
  library.Block("LI", 1, std::string(2 << 20, 'x')).Endb();
  ExpectRefused(library.Bytes(), "for a Library");

  Blend dna(0, 8, true, 304);
  dna.Block("DNA1", 0, std::string(17 << 20, 'x')).Endb();
  ExpectRefused(dna.Bytes(), "struct catalog");

  Blend twice(0, 8, true, 304);
  const std::string catalog = twice.Dna(kTypes, {kId, kModernLibrary});
  twice.Block("DNA1", 0, catalog).Block("DNA1", 0, catalog).Endb();
  ExpectRefused(twice.Bytes(), "second DNA1");
}

TEST(BlendHostileTest, DamagedCatalog) {
  Blend b(0, 8, true, 304);
  // Counts beyond the data.
  Blend names(0, 8, true, 304);
  names.Block("DNA1", 0, b.Dna(kTypes, {kId, kModernLibrary}, 1000000)).Endb();
  ExpectRefused(names.Bytes(), "DNA1 block is damaged");
  Blend negative(0, 8, true, 304);
  negative.Block("DNA1", 0, b.Dna(kTypes, {kId, kModernLibrary}, -1)).Endb();
  ExpectRefused(negative.Bytes(), "DNA1 block is damaged");

  // Cut anywhere, the catalog is refused, never read past its end.
  const std::string full = b.Dna(kTypes, {kId, kModernLibrary});
  for (size_t cut = 0; cut < full.size(); ++cut) {
    Blend c(0, 8, true, 304);
    c.Block("LI", 1, LibraryBytes(8, "//a.blend")).Block("DNA1", 0, full.substr(0, cut)).Endb();
    auto paths = ReadLibraryPathsFromBytes(c.Bytes());
    EXPECT_FALSE(paths.ok()) << "cut at " << cut;
  }
  Blend garbage(0, 8, true, 304);
  garbage.Block("DNA1", 0, "not a catalog at all").Endb();
  ExpectRefused(garbage.Bytes(), "does not start with SDNA");
}

TEST(BlendHostileTest, DamagedLibraries) {
  Blend b(0, 8, true, 304);
  const std::string catalog = b.Dna(kTypes, {kId, kModernLibrary});

  const StructDef no_path = {"Library", {{"ID", "id"}, {"char", "filename[64]"}, {"int", "flag"}}};
  Blend missing(0, 8, true, 304);
  missing.Block("LI", 1, LibraryBytes(0, "//a.blend")).Block("DNA1", 0, b.Dna(kTypes, {kId, no_path})).Endb();
  ExpectRefused(missing.Bytes(), "no path member");

  const StructDef pointer_name = {"Library", {{"ID", "id"}, {"char", "*name"}}};
  Blend pointer(0, 8, true, 304);
  pointer.Block("LI", 1, LibraryBytes(0, "//a.blend"))
      .Block("DNA1", 0, b.Dna(kTypes, {kId, pointer_name}))
      .Endb();
  ExpectRefused(pointer.Bytes(), "no path member");

  Blend short_block(0, 8, true, 304);
  short_block.Block("LI", 1, LibraryBytes(8, "//a.blend").substr(0, 100)).Block("DNA1", 0, catalog).Endb();
  ExpectRefused(short_block.Bytes(), "too few for the path");

  Blend wrong_struct(0, 8, true, 304);
  wrong_struct.Block("LI", 0, LibraryBytes(8, "//a.blend")).Block("DNA1", 0, catalog).Endb();
  ExpectRefused(wrong_struct.Bytes(), "not Library");

  Blend out_of_range(0, 8, true, 304);
  out_of_range.Block("LI", 7, LibraryBytes(8, "//a.blend")).Block("DNA1", 0, catalog).Endb();
  ExpectRefused(out_of_range.Bytes(), "does not have");

  Blend unterminated(0, 8, true, 304);
  unterminated.Block("LI", 1, LibraryBytes(8, std::string(64, 'p'))).Block("DNA1", 0, catalog).Endb();
  ExpectRefused(unterminated.Bytes(), "does not end within its field");

  const StructDef malformed = {"Library", {{"ID", "id"}, {"char", "pad[x]"}, {"char", "name[64]"}}};
  Blend bad_array(0, 8, true, 304);
  bad_array.Block("LI", 1, LibraryBytes(0, "//a.blend"))
      .Block("DNA1", 0, b.Dna(kTypes, {kId, malformed}))
      .Endb();
  ExpectRefused(bad_array.Bytes(), "malformed array size");
}

TEST(BlendHostileTest, RandomBytesAfterAValidHeader) {
  std::mt19937 random(42);
  for (int round = 0; round < 200; ++round) {
    std::string file = round % 2 == 0 ? "BLENDER-v304" : "BLENDER17-01v0502";
    const size_t n = random() % 4096;
    for (size_t i = 0; i < n; ++i) file += static_cast<char>(random() & 0xff);
    auto h = ReadHeaderFromBytes(file);
    ASSERT_TRUE(h.ok()) << h.error().message;
    auto paths = ReadLibraryPathsFromBytes(file);
    if (!paths.ok()) {
      EXPECT_FALSE(paths.error().message.empty());
    }
  }
}

TEST(BlendHostileTest, GzipTrailerClaimingHugeSize) {
  std::string gz = Gzip(ModernFile(0, 8, true, {"//a.blend"}));
  // The gzip trailer's size field (the last 4 bytes) says 4 GiB - 1; it is not trusted for anything.
  gz.replace(gz.size() - 4, 4, "\xff\xff\xff\xff");
  auto h = ReadHeaderFromBytes(gz);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->compression, Compression::kGzip);
  auto paths = ReadLibraryPathsFromBytes(gz);
  if (paths.ok()) {
    EXPECT_EQ(*paths, Paths{"//a.blend"});
  } else {
    EXPECT_EQ(paths.error().code, Errc::kInvalidArgument);
  }
}

TEST(BlendHostileTest, DamagedCompressedData) {
  const std::string file = ModernFile(1, 8, true, {"//a.blend"});
  for (const std::string& packed : {Gzip(file), Zstd(file, 64)}) {
    // Cut short: the head still reads, the rest is refused as truncated.
    const std::string cut = packed.substr(0, packed.size() / 2);
    EXPECT_TRUE(ReadHeaderFromBytes(cut).ok());
    auto paths = ReadLibraryPathsFromBytes(cut);
    ASSERT_FALSE(paths.ok());
    EXPECT_NE(paths.error().message.find("truncated"), std::string::npos) << paths.error().message;
    // Flipped bytes: an error or an answer, never a crash.
    std::mt19937 random(7);
    for (int round = 0; round < 100; ++round) {
      std::string damaged = packed;
      damaged[4 + random() % (damaged.size() - 4)] ^= static_cast<char>(1 + random() % 255);
      auto r = ReadLibraryPathsFromBytes(damaged);
      if (!r.ok()) {
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
}

// ---- The real scenes (made by other people with Blender 2.78 to 5.2; see their README). ----

fs::path ScenesDir() {
  const char* env = std::getenv("INFERIX_SCENES_DIR");
  return env != nullptr ? fs::path(env) : fs::path("/work/shared/scenes");
}

#define SKIP_WITHOUT_SCENES()                                                           \
  do {                                                                                  \
    if (!fs::is_directory(ScenesDir())) GTEST_SKIP() << "no scenes at " << ScenesDir(); \
  } while (false)

struct Scene {
  std::string file;
  int version;
  int format_version;
  std::optional<Paths> libraries;  // unset: whatever it links, without error
};

const std::vector<Scene>& Scenes() {
  static const std::vector<Scene> scenes = {
      {"gltf/01_cube.blend", 278, 0, Paths{"//..\\pbr_node\\glTF2.blend"}},  // saved on Windows: backslashes
      {"gltf/01_missing_textures.blend", 279, 0, Paths{}},
      {"gltf/08_clearcoat.blend", 281, 0, Paths{}},
      {"gltf/14_transmission.blend", 301, 0, Paths{}},
      {"gltf/21_scene.blend", 303, 0, Paths{"//C.blend"}},
      {"gltf/24_vertex_color_and_factor.blend", 402, 0, Paths{}},
      {"gltf/22_node_groups.blend", 502, 1, std::nullopt},
      {"project/shots/shot.blend", 304, 0, Paths{"//../lib/props.blend"}},
      {"project/lib/props.blend", 304, 0, Paths{}},
  };
  return scenes;
}

TEST(BlendCorpusTest, HeadersGiveTheSavingVersion) {
  SKIP_WITHOUT_SCENES();
  for (const Scene& s : Scenes()) {
    auto h = ReadHeader(ScenesDir() / s.file);
    ASSERT_TRUE(h.ok()) << s.file << ": " << h.error().message;
    EXPECT_EQ(h->version, s.version) << s.file;
    EXPECT_EQ(h->format_version, s.format_version) << s.file;
    EXPECT_EQ(h->pointer_size, 8) << s.file;
    EXPECT_TRUE(h->little_endian) << s.file;
    EXPECT_EQ(h->compression, Compression::kNone) << s.file;
  }
  auto h = ReadHeader(ScenesDir() / "gltf/22_node_groups.blend");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->VersionString(), "5.2");
  h = ReadHeader(ScenesDir() / "gltf/01_cube.blend");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->VersionString(), "2.78");
}

TEST(BlendCorpusTest, LibraryPaths) {
  SKIP_WITHOUT_SCENES();
  for (const Scene& s : Scenes()) {
    auto paths = ReadLibraryPaths(ScenesDir() / s.file);
    ASSERT_TRUE(paths.ok()) << s.file << ": " << paths.error().message;
    if (s.libraries) {
      EXPECT_EQ(*paths, *s.libraries) << s.file;
    }
  }
}

TEST_F(BlendFileTest, CompressedCopiesReadTheSame) {
  SKIP_WITHOUT_SCENES();
  for (const Scene& s : Scenes()) {
    SCOPED_TRACE(s.file);
    auto bytes = ReadFile(ScenesDir() / s.file);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    auto plain = ReadLibraryPathsFromBytes(*bytes);
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    const std::string name = fs::path(s.file).filename().string();
    for (const auto& [compression, packed] : std::vector<std::pair<Compression, std::string>>{
             {Compression::kGzip, Gzip(*bytes)}, {Compression::kZstd, Zstd(*bytes)}}) {
      const fs::path copy = Write(name + (compression == Compression::kGzip ? ".gz" : ".zst"), packed);
      auto h = ReadHeader(copy);
      ASSERT_TRUE(h.ok()) << h.error().message;
      EXPECT_EQ(h->compression, compression);
      EXPECT_EQ(h->version, s.version);
      EXPECT_EQ(h->format_version, s.format_version);
      auto paths = ReadLibraryPaths(copy);
      ASSERT_TRUE(paths.ok()) << paths.error().message;
      EXPECT_EQ(*paths, *plain);
    }
  }
}

TEST(BlendCorpusTest, CutOrDamagedSceneNeverCrashes) {
  SKIP_WITHOUT_SCENES();
  auto bytes = ReadFile(ScenesDir() / "project/shots/shot.blend");
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  std::mt19937 random(3);
  for (int round = 0; round < 40; ++round) {
    const std::string cut = bytes->substr(0, random() % (bytes->size() - 24));  // before ENDB
    auto paths = ReadLibraryPathsFromBytes(cut);
    EXPECT_FALSE(paths.ok()) << "cut at " << cut.size();  // the catalog and ENDB are at the end
    std::string damaged = *bytes;
    for (int i = 0; i < 8; ++i) damaged[12 + random() % (damaged.size() - 12)] = static_cast<char>(random());
    auto r = ReadLibraryPathsFromBytes(damaged);
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

}  // namespace
}  // namespace inferix::blend
