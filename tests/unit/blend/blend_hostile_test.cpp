#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "blend/blend_file.hpp"
#include "blend_writer.hpp"
#include "core/result.hpp"

// .blend files that must be refused with a message, never read past their data nor crash the reader.

namespace inferix::blend {
namespace {

using namespace blend_test;
using Paths = std::vector<std::string>;

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

}  // namespace
}  // namespace inferix::blend
