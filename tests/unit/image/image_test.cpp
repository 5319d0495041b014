#include "image/image.hpp"

#include <OpenImageIO/imageio.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>
#include "image_files.hpp"

namespace inferix::image {
namespace {

namespace fs = std::filesystem;

class ImageTest : public testing::ImageFilesTest {
 protected:
  fs::path WriteBytes(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static std::vector<float> Noise(int w, int h, int nch, int levels, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> d(0, levels);
    std::vector<float> v(static_cast<size_t>(w) * h * nch);
    for (auto& x : v) x = static_cast<float>(d(gen)) / static_cast<float>(levels);
    return v;
  }
};

Image Make(int w, int h, int nch, float value) {
  Image img;
  img.info = ImageInfo{w, h, nch, "png", "uint8", {}};
  img.pixels.assign(static_cast<size_t>(w) * h * nch, value);
  return img;
}

float& Px(Image& img, int x, int y, int c) {
  return img.pixels[(static_cast<size_t>(y) * img.info.width + x) * img.info.channels + c];
}

// --- reading
// -------------------------------------------------------------------------------------------------

TEST_F(ImageTest, ReadsTheRenderMetadataBlenderWrites) {
  for (const char* name : {"m.png", "m.exr"}) {
    fs::path p = dir_ / name;
    auto out = OIIO::ImageOutput::create(p.string());
    ASSERT_TRUE(out) << OIIO::geterror();
    OIIO::ImageSpec spec(4, 3, 4, OIIO::TypeDesc::UINT8);
    spec.attribute("Frame", "07");
    spec.attribute("Scene", "Scene");
    spec.attribute("Camera", "Camera");
    spec.attribute("cycles.ViewLayer.samples", "24");
    spec.attribute("Date", "2026/11/27 03:06:41");
    spec.attribute("RenderTime", "00:03.15");
    ASSERT_TRUE(out->open(p.string(), spec)) << out->geterror();
    std::vector<float> px(4 * 3 * 4, 0.5F);
    ASSERT_TRUE(out->write_image(OIIO::TypeDesc::FLOAT, px.data()));
    ASSERT_TRUE(out->close());
    auto info = ReadInfo(p);
    ASSERT_TRUE(info) << info.error().message;
    const std::map<std::string, std::string> want = {
        {"Frame", "07"}, {"Scene", "Scene"}, {"Camera", "Camera"}, {"cycles.ViewLayer.samples", "24"}};
    EXPECT_EQ(info->render_metadata, want) << name;  // times and dates vary between renders: left out
  }
}

TEST_F(ImageTest, ReadsPng8BitRgba) {
  auto px = Noise(7, 5, 4, 255, 1);
  auto p = Write("a.png", 7, 5, 4, OIIO::TypeDesc::UINT8, px);
  auto info = ReadInfo(p);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->width, 7);
  EXPECT_EQ(info->height, 5);
  EXPECT_EQ(info->channels, 4);
  EXPECT_EQ(info->format, "png");
  EXPECT_EQ(info->pixel_type, "uint8");

  auto img = ReadImage(p);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->info.format, "png");
  ASSERT_EQ(img->pixels.size(), px.size());
  for (size_t i = 0; i < px.size(); ++i) ASSERT_FLOAT_EQ(img->pixels[i], px[i]) << i;
  // Stored values, not premultiplied by alpha.
  EXPECT_LT(px[3], 1.0f);
  // Row-major from the top row: (x=6, y=4) is the last pixel.
  EXPECT_FLOAT_EQ(img->At(6, 4, 3), px.back());
  EXPECT_FLOAT_EQ(img->At(1, 2, 0), px[(2 * 7 + 1) * 4]);
}

TEST_F(ImageTest, ReadsPng16Bit) {
  auto px = Noise(4, 3, 3, 65535, 2);
  auto p = Write("b.png", 4, 3, 3, OIIO::TypeDesc::UINT16, px);
  auto img = ReadImage(p);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->info.pixel_type, "uint16");
  EXPECT_EQ(img->info.channels, 3);
  for (size_t i = 0; i < px.size(); ++i) ASSERT_NEAR(img->pixels[i], px[i], 1e-7) << i;
}

TEST_F(ImageTest, ReadsExrHalfWithNaN) {
  std::vector<float> px(8 * 8 * 4, 0.5f);
  auto p_clean = Write("clean.exr", 8, 8, 4, OIIO::TypeDesc::HALF, px);
  px[(3 * 8 + 2) * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  auto p = Write("nan.exr", 8, 8, 4, OIIO::TypeDesc::HALF, px);

  auto img = ReadImage(p);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->info.format, "openexr");
  EXPECT_EQ(img->info.pixel_type, "half");
  EXPECT_EQ(img->info.channels, 4);
  EXPECT_TRUE(std::isnan(img->At(2, 3, 1)));
  EXPECT_TRUE(HasNonFinite(*img));

  auto clean = ReadImage(p_clean);
  ASSERT_TRUE(clean) << clean.error().message;
  EXPECT_FALSE(HasNonFinite(*clean));
  EXPECT_TRUE(IsConstant(*clean));
}

TEST_F(ImageTest, ReadsExrFloat) {
  std::vector<float> px(4 * 2 * 3, 0.25f);
  px[5] = 1e20f;
  auto p = Write("f.exr", 4, 2, 3, OIIO::TypeDesc::FLOAT, px);
  auto img = ReadImage(p);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->info.pixel_type, "float");
  EXPECT_FLOAT_EQ(img->pixels[5], 1e20f);
}

TEST_F(ImageTest, ReadsJpeg) {
  std::vector<float> px(32 * 16 * 3, 0.5f);
  auto p = Write("c.jpg", 32, 16, 3, OIIO::TypeDesc::UINT8, px, 95);
  auto info = ReadInfo(p);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format, "jpeg");
  EXPECT_EQ(info->pixel_type, "uint8");
  EXPECT_EQ(info->channels, 3);
  auto img = ReadImage(p);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->info.width, 32);
  EXPECT_EQ(img->info.height, 16);
  EXPECT_NEAR(img->At(10, 10, 1), 0.5f, 2.0 / 255.0);
}

TEST_F(ImageTest, MissingFileIsNotFound) {
  auto img = ReadImage(dir_ / "nope.png");
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kNotFound);
  auto info = ReadInfo(dir_ / "nope" / "deeper.exr");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::kNotFound);
}

TEST_F(ImageTest, DirectoryIsInvalid) {
  auto img = ReadImage(dir_);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument);
}

TEST_F(ImageTest, TruncatedPngIsInvalid) {
  auto good = Write("good.png", 64, 64, 3, OIIO::TypeDesc::UINT8, Noise(64, 64, 3, 255, 3));
  std::string bytes = Slurp(good);
  ASSERT_GT(bytes.size(), 1000u);
  auto p = WriteBytes("trunc.png", bytes.substr(0, bytes.size() / 2));
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument);
  EXPECT_NE(img.error().message.find("trunc.png"), std::string::npos) << img.error().message;
}

TEST_F(ImageTest, TruncatedJpegIsInvalid) {
  auto good = Write("good.jpg", 64, 64, 3, OIIO::TypeDesc::UINT8, Noise(64, 64, 3, 255, 4), 90);
  std::string bytes = Slurp(good);
  auto p = WriteBytes("trunc.jpg", bytes.substr(0, bytes.size() / 2));
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument) << img.error().message;
}

TEST_F(ImageTest, TruncatedExrIsInvalid) {
  auto good = Write("good.exr", 64, 64, 3, OIIO::TypeDesc::HALF, Noise(64, 64, 3, 1000, 5));
  std::string bytes = Slurp(good);
  auto p = WriteBytes("trunc.exr", bytes.substr(0, bytes.size() / 2));
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument) << img.error().message;
}

TEST_F(ImageTest, RandomBytesAreInvalid) {
  std::mt19937 gen(6);
  std::string bytes(4096, '\0');
  for (auto& c : bytes) c = static_cast<char>(gen());
  for (const char* name : {"r.png", "r.exr", "r.jpg", "r.bin"}) {
    auto p = WriteBytes(name, bytes);
    auto img = ReadImage(p);
    ASSERT_FALSE(img) << name;
    EXPECT_EQ(img.error().code, Errc::kInvalidArgument) << name;
    auto info = ReadInfo(p);
    ASSERT_FALSE(info) << name;
    EXPECT_EQ(info.error().code, Errc::kInvalidArgument) << name;
  }
}

TEST_F(ImageTest, PngSignatureWithGarbageIsInvalid) {
  std::string bytes = "\x89PNG\r\n\x1a\n";
  bytes += std::string(200, '\x7f');
  auto img = ReadImage(WriteBytes("sig.png", bytes));
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument);
}

TEST_F(ImageTest, EmptyFileIsInvalid) {
  auto p = WriteBytes("empty.png", "");
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument);
  auto info = ReadInfo(p);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::kInvalidArgument);
}

TEST_F(ImageTest, UnreadableFileIsNotAVerdict) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  auto p = Write("locked.png", 2, 2, 3, OIIO::TypeDesc::UINT8, std::vector<float>(12, 0.0f));
  fs::permissions(p, fs::perms::none);
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kUnavailable);
}

// A header that claims 50000 x 50000 x 4 (2^33 values) is refused before any allocation.
TEST_F(ImageTest, AbsurdSizeIsInvalid) {
  auto good = Write("big.png", 1, 1, 4, OIIO::TypeDesc::UINT8, std::vector<float>(4, 1.0f));
  std::string bytes = Slurp(good);
  // IHDR starts at byte 8: length(4) "IHDR"(4) width(4) height(4) depth type ... crc(4).
  ASSERT_EQ(bytes.substr(12, 4), "IHDR");
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put32(16, 50000);
  put32(20, 50000);
  // Fix the CRC so the header itself is valid.
  uint32_t crc = 0xffffffffu;
  for (size_t i = 12; i < 12 + 4 + 13; ++i) {
    crc ^= static_cast<unsigned char>(bytes[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  put32(29, crc ^ 0xffffffffu);
  auto p = WriteBytes("huge.png", bytes);
  auto info = ReadInfo(p);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->width, 50000);
  auto img = ReadImage(p);
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::kInvalidArgument);
  EXPECT_NE(img.error().message.find("too large"), std::string::npos) << img.error().message;
}

// --- comparing
// -----------------------------------------------------------------------------------------------

constexpr float kStep = 1.0f / 255.0f;

TEST(CompareRegionTest, IdenticalPasses) {
  auto a = Make(32, 32, 4, 0.3f);
  auto r = CompareRegion(a, a, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->pass);
  EXPECT_EQ(r->pixels, 1024);
  EXPECT_EQ(r->pixels_off, 0);
  EXPECT_EQ(r->max_diff, 0.0);
}

TEST(CompareRegionTest, OnePixelOneStepPasses) {
  auto a = Make(32, 32, 3, 0.5f);
  auto b = a;
  Px(b, 5, 7, 2) += kStep;
  auto r = CompareRegion(a, b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pass);
  EXPECT_EQ(r->pixels_off, 1);
  EXPECT_NEAR(r->max_diff, kStep, 1e-6);
}

TEST(CompareRegionTest, TwoPixelsOneStepPassThreeFail) {
  // 1024 pixels: floor(0.001 * 1024) = 1, the floor of 2 allows 2.
  auto a = Make(32, 32, 3, 0.5f);
  auto b = a;
  Px(b, 0, 0, 0) -= kStep;
  Px(b, 31, 31, 1) += kStep;
  auto r = CompareRegion(a, b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels_off, 2);
  EXPECT_TRUE(r->pass);

  Px(b, 16, 3, 2) += kStep;
  r = CompareRegion(a, b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels_off, 3);
  EXPECT_FALSE(r->pass);
}

TEST(CompareRegionTest, SeveralChannelsOffInOnePixelCountOnce) {
  auto a = Make(32, 32, 4, 0.5f);
  auto b = a;
  for (int c = 0; c < 4; ++c) Px(b, 9, 9, c) += kStep;
  auto r = CompareRegion(a, b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels_off, 1);
  EXPECT_TRUE(r->pass);
}

TEST(CompareRegionTest, FractionAllowsMoreInLargeRegions) {
  // 100 x 100 = 10000 pixels: floor(0.001 * 10000) = 10 allowed.
  auto a = Make(100, 100, 3, 0.5f);
  auto b = a;
  for (int i = 0; i < 10; ++i) Px(b, i, i, 0) += kStep;
  auto r = CompareRegion(a, b, Rect{0, 0, 100, 100}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels_off, 10);
  EXPECT_TRUE(r->pass);
  Px(b, 50, 10, 0) += kStep;
  r = CompareRegion(a, b, Rect{0, 0, 100, 100}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->pass);
}

TEST(CompareRegionTest, OnePixelTwoStepsFailsHard) {
  auto a = Make(32, 32, 3, 0.5f);
  auto b = a;
  Px(b, 4, 4, 1) += 2 * kStep;
  auto r = CompareRegion(a, b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels_off, 1);
  EXPECT_NEAR(r->max_diff, 2 * kStep, 1e-6);
  EXPECT_FALSE(r->pass);
}

TEST(CompareRegionTest, OnlyTheRectCounts) {
  auto a = Make(32, 32, 3, 0.5f);
  auto b = a;
  Px(b, 0, 0, 0) = 1.0f;  // far off, but outside the rect
  auto r = CompareRegion(a, b, Rect{8, 8, 24, 24}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pixels, 256);
  EXPECT_TRUE(r->pass);
  r = CompareRegion(a, b, Rect{0, 0, 1, 1}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->pass);
}

TEST(CompareRegionTest, NaNNeverMatches) {
  auto a = Make(8, 8, 3, 0.5f);
  auto b = a;
  Px(b, 2, 2, 0) = std::numeric_limits<float>::quiet_NaN();
  auto r = CompareRegion(a, b, Rect{0, 0, 8, 8}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->pass);
  EXPECT_EQ(r->pixels_off, 1);
  Px(a, 2, 2, 0) = std::numeric_limits<float>::quiet_NaN();
  r = CompareRegion(a, b, Rect{0, 0, 8, 8}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->pass);
  // Equal infinities are equal.
  auto c = Make(8, 8, 3, std::numeric_limits<float>::infinity());
  r = CompareRegion(c, c, Rect{0, 0, 8, 8}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pass);
}

TEST(CompareRegionTest, MismatchedShapesAreErrors) {
  auto a = Make(32, 32, 3, 0.5f);
  for (const Image& b : {Make(32, 31, 3, 0.5f), Make(31, 32, 3, 0.5f), Make(32, 32, 4, 0.5f)}) {
    auto r = CompareRegion(a, b, Rect{0, 0, 8, 8}, Tolerance{});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
  auto broken = a;
  broken.pixels.pop_back();
  auto r = CompareRegion(a, broken, Rect{0, 0, 8, 8}, Tolerance{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

TEST(CompareRegionTest, BadRectsAreErrors) {
  auto a = Make(32, 16, 3, 0.5f);
  for (const Rect& rect : {Rect{0, 0, 33, 16}, Rect{0, 0, 32, 17}, Rect{-1, 0, 8, 8}, Rect{0, -1, 8, 8},
                           Rect{40, 0, 48, 8}, Rect{4, 4, 4, 8}, Rect{4, 4, 8, 4}, Rect{8, 8, 4, 4}}) {
    auto r = CompareRegion(a, a, rect, Tolerance{});
    ASSERT_FALSE(r) << rect.x0 << "," << rect.y0 << "," << rect.x1 << "," << rect.y1;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
}

// Through real 8-bit files: one step of an 8-bit PNG is within hard_fail, two are not.
TEST_F(ImageTest, CompareDecodedPngSteps) {
  std::vector<float> base(32 * 32 * 3, 100.0f / 255.0f);
  auto one = base;
  one[(7 * 32 + 3) * 3 + 1] = 101.0f / 255.0f;
  auto two = base;
  two[(7 * 32 + 3) * 3 + 1] = 102.0f / 255.0f;
  auto a = ReadImage(Write("base.png", 32, 32, 3, OIIO::TypeDesc::UINT8, base));
  auto b = ReadImage(Write("one.png", 32, 32, 3, OIIO::TypeDesc::UINT8, one));
  auto c = ReadImage(Write("two.png", 32, 32, 3, OIIO::TypeDesc::UINT8, two));
  ASSERT_TRUE(a && b && c);
  auto r = CompareRegion(*a, *b, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pass);
  r = CompareRegion(*a, *c, Rect{0, 0, 32, 32}, Tolerance{});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->pass);
}

// --- frame checks
// --------------------------------------------------------------------------------------------

TEST(FrameChecksTest, HasNonFinite) {
  auto a = Make(4, 4, 3, 0.0f);
  EXPECT_FALSE(HasNonFinite(a));
  Px(a, 3, 3, 2) = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(HasNonFinite(a));
  Px(a, 3, 3, 2) = -std::numeric_limits<float>::infinity();
  EXPECT_TRUE(HasNonFinite(a));
  Px(a, 3, 3, 2) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(HasNonFinite(a));
}

TEST(FrameChecksTest, IsConstant) {
  auto a = Make(4, 4, 3, 0.0f);
  EXPECT_TRUE(IsConstant(a));
  // Different channels of one colour are still one constant colour.
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) Px(a, x, y, 1) = 0.7f;
  EXPECT_TRUE(IsConstant(a));
  Px(a, 2, 3, 0) = 1e-6f;
  EXPECT_FALSE(IsConstant(a));
  EXPECT_TRUE(IsConstant(Make(1, 1, 4, 0.2f)));
}

}  // namespace
}  // namespace inferix::image
