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

#include "blend_writer.hpp"

namespace inferix::blend {
namespace {

namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

using namespace blend_test;

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

// ---- Synthetic files: every stored form (hostile ones: blend_hostile_test.cpp). ----

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