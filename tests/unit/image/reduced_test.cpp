// The reduced comparison of the verifier's Eevee and Workbench checks: a frame shrunk by area averaging
// against a smaller render, in display-referred tiles. Pure: images are made in memory.
#include "image/reduced.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "image/display.hpp"

namespace inferix::image {
namespace {

// An 8-bit RGBA image whose colour at (x, y) is `colour(x, y)`.
Image Make(int w, int h, const std::function<float(int, int, int)>& colour, const char* type = "uint8") {
  Image img;
  img.info.width = w;
  img.info.height = h;
  img.info.channels = 4;
  img.info.pixel_type = type;
  img.pixels.resize(static_cast<size_t>(w) * h * 4);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 4; ++c) {
        img.pixels[(static_cast<size_t>(y) * w + x) * 4 + c] = c == 3 ? 1.0f : colour(x, y, c);
      }
    }
  }
  return img;
}

// A smooth picture: what a reduced render of it looks like, shrunk exactly.
float Gradient(int x, int y, int c, int scale) {
  return std::fmod(0.2f + 0.6f * static_cast<float>(x + 2 * y) / (150.0f * scale) + 0.1f * c, 1.0f);
}

TEST(Shrink, AveragesByArea) {
  // 2x2 blocks of 0 and 1 shrink to their means; a 3 -> 2 shrink splits the middle pixel in half.
  std::vector<float> rgb = {0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1};  // 2x2, pixels 0, 1 / 0, 1
  auto one = Shrink(rgb, 2, 2, 1, 1);
  ASSERT_EQ(one.size(), 3u);
  EXPECT_FLOAT_EQ(one[0], 0.5f);
  std::vector<float> row = {0, 0, 0, 1, 1, 1, 0.5f, 0.5f, 0.5f};  // 3x1
  auto two = Shrink(row, 3, 1, 2, 1);
  EXPECT_FLOAT_EQ(two[0], (0.0f * 1.0f + 1.0f * 0.5f) / 1.5f);
  EXPECT_FLOAT_EQ(two[3], (1.0f * 0.5f + 0.5f * 1.0f) / 1.5f);
  EXPECT_EQ(Shrink(rgb, 2, 2, 2, 2), rgb) << "1:1 is exact";
}

TEST(DisplayRgb, LinearFormatsGetTheSrgbTransferAndAlphaOverBlack) {
  auto linear = Make(
      1, 1, [](int, int, int) { return 0.2140f; }, "half");
  EXPECT_NEAR(DisplayRgb(linear)[0], 0.5f, 0.001f);
  auto half_transparent = Make(1, 1, [](int, int, int) { return 1.0f; });
  half_transparent.pixels[3] = 0.5f;  // straight alpha in an 8-bit file
  EXPECT_FLOAT_EQ(DisplayRgb(half_transparent)[0], 0.5f);
}

TEST(CompareReduced, TheSamePictureSmallerPasses) {
  auto frame = Make(160, 96, [](int x, int y, int c) { return Gradient(x, y, c, 4); });
  // The reduced render: the same picture at a quarter of the size.
  auto reduced = Make(40, 24, [](int x, int y, int c) { return Gradient(4 * x + 2, 4 * y + 2, c, 4); });
  auto r = CompareReduced(frame, reduced, ReducedTolerance{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->tiles, 5 * 3);
  EXPECT_EQ(r->tiles_over_pass, 0);
  EXPECT_LT(r->worst_tile, 0.01);
  EXPECT_STREQ(r->Outcome(), "pass");
}

TEST(CompareReduced, APastedRectangleFailsWhereItIs) {
  auto frame = Make(160, 96, [](int x, int y, int c) {
    if (x >= 80 && x < 120 && y >= 32 && y < 64) return c == 1 ? 1.0f : 0.0f;  // a green rectangle
    return Gradient(x, y, c, 4);
  });
  auto reduced = Make(40, 24, [](int x, int y, int c) { return Gradient(4 * x + 2, 4 * y + 2, c, 4); });
  auto r = CompareReduced(frame, reduced, ReducedTolerance{});
  ASSERT_TRUE(r.ok());
  EXPECT_STREQ(r->Outcome(), "fail");
  EXPECT_GT(r->tiles_over_fail, 0);
  // The worst tile is reported in the full frame's pixels, inside the rectangle's reach.
  EXPECT_GE(r->worst.x1, 80);
  EXPECT_LE(r->worst.x0, 120);
  EXPECT_GE(r->worst.y1, 32);
  EXPECT_LE(r->worst.y0, 64);
}

TEST(CompareReduced, SmallDifferencesAreBorderlineNotAVerdict) {
  auto frame = Make(160, 96, [](int x, int y, int c) { return Gradient(x, y, c, 4); });
  // A whole tile off by 0.15 (between the pass and fail lines): escalate, never reject.
  auto reduced = Make(40, 24, [](int x, int y, int c) {
    const float v = Gradient(4 * x + 2, 4 * y + 2, c, 4);
    return x < 8 && y < 8 ? v + 0.15f : v;
  });
  auto r = CompareReduced(frame, reduced, ReducedTolerance{});
  ASSERT_TRUE(r.ok());
  EXPECT_STREQ(r->Outcome(), "borderline");
  EXPECT_EQ(r->tiles_over_pass, 1);
  EXPECT_EQ(r->tiles_over_fail, 0);
  EXPECT_NEAR(r->worst_tile, 0.15, 0.01);
}

TEST(CompareReduced, NonIntegerShrinkAndPartialTiles) {
  // 1920x1080 / 4 rounds to 480x270; a 67x37 reduced render of a 270x150 frame: tiles at the edges are
  // partial.
  auto frame = Make(270, 150, [](int, int, int c) { return 0.3f + 0.1f * c; });
  auto reduced = Make(67, 37, [](int, int, int c) { return 0.3f + 0.1f * c; });
  auto r = CompareReduced(frame, reduced, ReducedTolerance{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tiles, 9 * 5);
  EXPECT_LT(r->worst_tile, 1e-5);
}

TEST(CompareReduced, ImpossibleSizesAreErrorsNotVerdicts) {
  auto frame = Make(40, 24, [](int, int, int) { return 0.5f; });
  auto bigger = Make(80, 48, [](int, int, int) { return 0.5f; });
  EXPECT_FALSE(CompareReduced(frame, bigger, ReducedTolerance{}).ok());
  Image empty;
  EXPECT_FALSE(CompareReduced(frame, empty, ReducedTolerance{}).ok());
  ReducedTolerance no_tiles;
  no_tiles.tile = 0;
  EXPECT_FALSE(CompareReduced(frame, frame, no_tiles).ok());
}

}  // namespace
}  // namespace inferix::image
