// WriteDisplayPng: the thumbnails and video frames the manager makes, display-referred 8-bit RGB PNG.
#include "image/preview.hpp"

#include <OpenImageIO/imageio.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "image/image.hpp"
#include "image_files.hpp"

namespace inferix::image {
namespace {

namespace fs = std::filesystem;

class PreviewTest : public testing::ImageFilesTest {
 protected:
  // Writes a preview of `input` and reads it back.
  Image Preview(const fs::path& input, int max_size) {
    const auto out = dir_ / (input.stem().string() + "-preview.png");
    auto r = WriteDisplayPng(input, out, max_size);
    EXPECT_TRUE(r) << r.error().message;
    auto img = ReadImage(out);
    EXPECT_TRUE(img) << img.error().message;
    EXPECT_FALSE(fs::exists(dir_ / (out.filename().string() + ".tmp.png")));
    return img ? *img : Image{};
  }
};

TEST_F(PreviewTest, ShrinksToTheLongerSideKeepingTheAspect) {
  std::vector<float> px(640 * 360 * 3, 0.25f);
  auto img = Preview(Write("wide.png", 640, 360, 3, OIIO::TypeDesc::UINT8, px), 320);
  EXPECT_EQ(img.info.width, 320);
  EXPECT_EQ(img.info.height, 180);
  EXPECT_EQ(img.info.channels, 3);
  EXPECT_EQ(img.info.pixel_type, "uint8");
  EXPECT_NEAR(img.At(100, 100, 1), 64.0f / 255.0f, 0.5f / 255.0f);
}

TEST_F(PreviewTest, AveragesWhatEachThumbnailPixelCovers) {
  // Vertical stripes one pixel wide, black and white: halved, every pixel is mid-gray, not a stripe.
  const int w = 64, h = 8;
  std::vector<float> px(w * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) px[(y * w + x) * 3 + c] = x % 2 == 0 ? 0.0f : 1.0f;
  auto img = Preview(Write("stripes.png", w, h, 3, OIIO::TypeDesc::UINT8, px), 32);
  ASSERT_EQ(img.info.width, 32);
  for (int x = 0; x < 32; ++x) EXPECT_NEAR(img.At(x, 2, 0), 128.0f / 255.0f, 1.0f / 255.0f) << x;
}

TEST_F(PreviewTest, LinearExrBecomesSrgbClamped) {
  // 0.5 linear is 0.7354 in sRGB (188/255); 4.0 clamps to white; -1 to black.
  std::vector<float> px = {0.5f, 4.0f, -1.0f, 1.0f};
  auto img = Preview(Write("linear.exr", 1, 1, 4, OIIO::TypeDesc::HALF, px), 320);
  ASSERT_EQ(img.info.width, 1);
  EXPECT_NEAR(img.At(0, 0, 0), 188.0f / 255.0f, 0.5f / 255.0f);
  EXPECT_EQ(img.At(0, 0, 1), 1.0f);
  EXPECT_EQ(img.At(0, 0, 2), 0.0f);
}

TEST_F(PreviewTest, TransparentPngIsShownOverBlack) {
  std::vector<float> px = {1.0f, 1.0f, 1.0f, 0.5f, 0.2f, 0.4f, 0.6f, 0.0f};
  auto img = Preview(Write("alpha.png", 2, 1, 4, OIIO::TypeDesc::UINT8, px), 0);
  ASSERT_EQ(img.info.width, 2);
  EXPECT_NEAR(img.At(0, 0, 0), 128.0f / 255.0f, 1.0f / 255.0f);
  EXPECT_EQ(img.At(1, 0, 2), 0.0f);
}

TEST_F(PreviewTest, AnUndecodableFileIsAClearErrorAndWritesNothing) {
  const auto bad = dir_ / "bad.png";
  {
    std::FILE* f = std::fopen(bad.c_str(), "wb");
    std::fputs("not a png", f);
    std::fclose(f);
  }
  auto r = WriteDisplayPng(bad, dir_ / "out.png", 320);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad.png"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "out.png"));
}

}  // namespace
}  // namespace inferix::image
