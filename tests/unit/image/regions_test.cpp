#include "image/regions.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace inferix::image {
namespace {

TEST(ToBlenderBorderTest, FlipsYToBottomLeftOrigin) {
  // 1920 x 1080, pixels x in [480, 960), y in [270, 540) from the top.
  NormBorder b = ToBlenderBorder(Rect{480, 270, 960, 540}, 1920, 1080);
  EXPECT_DOUBLE_EQ(b.min_x, 0.25);
  EXPECT_DOUBLE_EQ(b.max_x, 0.5);
  EXPECT_DOUBLE_EQ(b.min_y, 0.5);   // 1 - 540 / 1080
  EXPECT_DOUBLE_EQ(b.max_y, 0.75);  // 1 - 270 / 1080
}

TEST(ToBlenderBorderTest, WholeFrameAndCorners) {
  NormBorder b = ToBlenderBorder(Rect{0, 0, 200, 100}, 200, 100);
  EXPECT_DOUBLE_EQ(b.min_x, 0.0);
  EXPECT_DOUBLE_EQ(b.max_x, 1.0);
  EXPECT_DOUBLE_EQ(b.min_y, 0.0);
  EXPECT_DOUBLE_EQ(b.max_y, 1.0);
  // Top-left corner of the picture is the top of Blender's frame.
  b = ToBlenderBorder(Rect{0, 0, 50, 20}, 200, 100);
  EXPECT_DOUBLE_EQ(b.min_y, 0.8);
  EXPECT_DOUBLE_EQ(b.max_y, 1.0);
  EXPECT_DOUBLE_EQ(b.max_x, 0.25);
}

TEST(InsetTest, ShrinksEverySide) {
  Rect r = Inset(Rect{10, 20, 74, 84}, 8);
  EXPECT_EQ(r.x0, 18);
  EXPECT_EQ(r.y0, 28);
  EXPECT_EQ(r.x1, 66);
  EXPECT_EQ(r.y1, 76);
  r = Inset(Rect{0, 0, 10, 40}, 8);
  EXPECT_EQ(r.Width(), 0);
  EXPECT_EQ(r.Height(), 24);
}

void ExpectInside(const std::vector<Rect>& rs, int w, int h) {
  for (const Rect& r : rs) {
    EXPECT_GE(r.x0, 0);
    EXPECT_GE(r.y0, 0);
    EXPECT_LE(r.x1, w);
    EXPECT_LE(r.y1, h);
    EXPECT_GT(r.Width(), 0);
    EXPECT_EQ(r.Width(), r.Height());
  }
}

TEST(DrawRegionsTest, StaysInsideAndCoversTheFrame) {
  Random rng(42);
  auto rs = DrawRegions(320, 240, 2000, 48, 8, 1, rng);
  ASSERT_EQ(rs.size(), 2000u);
  ExpectInside(rs, 320, 240);
  int min_x = 1 << 30, max_x1 = 0, min_y = 1 << 30, max_y1 = 0;
  for (const Rect& r : rs) {
    EXPECT_EQ(r.Width(), 48);
    min_x = std::min(min_x, r.x0);
    max_x1 = std::max(max_x1, r.x1);
    min_y = std::min(min_y, r.y0);
    max_y1 = std::max(max_y1, r.y1);
  }
  // Positions are uniform over the whole frame, edges included.
  EXPECT_EQ(min_x, 0);
  EXPECT_EQ(max_x1, 320);
  EXPECT_EQ(min_y, 0);
  EXPECT_EQ(max_y1, 240);
}

TEST(DrawRegionsTest, JpegInteriorOnTheBlockGrid) {
  Random rng(7);
  for (int margin : {16, 8}) {
    auto rs = DrawRegions(1000, 563, 500, 64, margin, 16, rng);
    ASSERT_EQ(rs.size(), 500u);
    ExpectInside(rs, 1000, 563);
    for (const Rect& r : rs) {
      Rect in = Inset(r, margin);
      EXPECT_EQ(in.x0 % 16, 0) << margin;
      EXPECT_EQ(in.y0 % 16, 0) << margin;
      EXPECT_EQ(in.x1 % 16, 0) << margin;
      EXPECT_EQ(in.y1 % 16, 0) << margin;
      EXPECT_GT(in.Width(), 0);
    }
  }
  // With margin 16 and size 64 nothing shrinks: the region itself is on the grid.
  auto rs = DrawRegions(1000, 563, 50, 64, 16, 16, rng);
  for (const Rect& r : rs) {
    EXPECT_EQ(r.Width(), 64);
    EXPECT_EQ(r.x0 % 16, 0);
    EXPECT_EQ(r.y0 % 16, 0);
  }
}

TEST(DrawRegionsTest, SizeIsClampedToTheImage) {
  Random rng(1);
  auto rs = DrawRegions(40, 30, 5, 64, 4, 1, rng);
  ASSERT_EQ(rs.size(), 5u);
  for (const Rect& r : rs) {
    EXPECT_EQ(r.Width(), 30);
    EXPECT_EQ(r.y0, 0);
    EXPECT_EQ(r.y1, 30);
  }
  ExpectInside(rs, 40, 30);
  // 40 x 40 with a 16 px margin leaves 8 px inside: no whole 16 px block fits, so no region.
  EXPECT_TRUE(DrawRegions(40, 40, 3, 64, 16, 16, rng).empty());
  // 48 x 48 fits exactly one 16 px interior block with a 16 px margin.
  rs = DrawRegions(48, 48, 3, 64, 16, 16, rng);
  ASSERT_EQ(rs.size(), 3u);
  for (const Rect& r : rs) {
    EXPECT_EQ(r.x0, 0);
    EXPECT_EQ(r.Width(), 48);
  }
}

TEST(DrawRegionsTest, ShrinksByWholeBlocksWhenTheGridNeedsIt) {
  // 40 px wide, margin 8, align 16: a 40 px region would start its interior at 8; a 32 px region with a
  // 16 px interior can start at x0 = 8 (interior at 16).
  Random rng(3);
  auto rs = DrawRegions(40, 40, 20, 64, 8, 16, rng);
  ASSERT_EQ(rs.size(), 20u);
  ExpectInside(rs, 40, 40);
  for (const Rect& r : rs) {
    Rect in = Inset(r, 8);
    EXPECT_EQ(in.x0 % 16, 0);
    EXPECT_EQ(in.Width() % 16, 0);
    EXPECT_GT(in.Width(), 0);
  }
}

TEST(DrawRegionsTest, DeterministicWithASeed) {
  Random a(1234), b(1234), c(99);
  auto ra = DrawRegions(1920, 1080, 8, 64, 8, 1, a);
  auto rb = DrawRegions(1920, 1080, 8, 64, 8, 1, b);
  auto rc = DrawRegions(1920, 1080, 8, 64, 8, 1, c);
  auto key = [](const std::vector<Rect>& v) {
    std::vector<std::pair<int, int>> k;
    for (const Rect& r : v) k.emplace_back(r.x0, r.y0);
    return k;
  };
  EXPECT_EQ(key(ra), key(rb));
  EXPECT_NE(key(ra), key(rc));
}

TEST(DrawRegionsTest, DegenerateInputsGiveNothing) {
  Random rng(5);
  EXPECT_TRUE(DrawRegions(0, 100, 3, 32, 8, 1, rng).empty());
  EXPECT_TRUE(DrawRegions(100, 100, 0, 32, 8, 1, rng).empty());
  EXPECT_TRUE(DrawRegions(100, 100, 3, 0, 8, 1, rng).empty());
  EXPECT_TRUE(DrawRegions(100, 100, 3, 16, 8, 1, rng).empty());   // interior would be empty
  EXPECT_EQ(DrawRegions(100, 100, 3, 17, 8, 0, rng).size(), 3u);  // align < 1 acts as 1
}

}  // namespace
}  // namespace inferix::image
