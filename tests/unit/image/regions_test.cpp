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

Image FlatWithPatch(int w, int h, Rect patch) {
  Image img;
  img.info = ImageInfo{w, h, 4, "png", "uint8", {}};
  img.pixels.assign(static_cast<size_t>(w) * static_cast<size_t>(h) * 4, 0.5F);
  Random noise(3);
  for (int y = patch.y0; y < patch.y1; ++y) {
    for (int x = patch.x0; x < patch.x1; ++x) {
      for (int c = 0; c < 3; ++c)
        img.pixels[(static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 4 + c] =
            static_cast<float>(noise.Unit());
    }
  }
  return img;
}

bool Overlaps(const Rect& a, const Rect& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

TEST(DrawDetailedRegionsTest, GoesWhereTheDetailIs) {
  // A flat frame with a noisy patch of 6% of its area: uniform regions overlap the patch about a fifth of the
  // time, detail-weighted ones nearly always; the floor still sends some to the flat part.
  const Rect patch{300, 200, 380, 260};
  Image img = FlatWithPatch(400, 300, patch);
  Random rng(11);
  auto rs = DrawDetailedRegions(img, 1000, 36, 2, 1, rng);
  ASSERT_EQ(rs.size(), 1000u);
  ExpectInside(rs, 400, 300);
  int on_patch = 0;
  for (const Rect& r : rs) on_patch += Overlaps(Inset(r, 2), patch) ? 1 : 0;
  EXPECT_GT(on_patch, 850);
  EXPECT_LT(on_patch, 1000);
  int uniform_on_patch = 0;
  for (const Rect& r : DrawRegions(400, 300, 1000, 36, 2, 1, rng))
    uniform_on_patch += Overlaps(Inset(r, 2), patch) ? 1 : 0;
  EXPECT_LT(uniform_on_patch, 300);
}

TEST(DrawDetailedRegionsTest, FlatFrameIsUniformAndAlignmentHolds) {
  Image img = FlatWithPatch(1000, 563, Rect{0, 0, 0, 0});
  Random rng(5);
  auto rs = DrawDetailedRegions(img, 500, 64, 16, 16, rng);
  ASSERT_EQ(rs.size(), 500u);
  ExpectInside(rs, 1000, 563);
  int left = 0;
  for (const Rect& r : rs) {
    EXPECT_EQ(Inset(r, 16).x0 % 16, 0);
    EXPECT_EQ(Inset(r, 16).y0 % 16, 0);
    left += r.x0 < 500 - 32 ? 1 : 0;
  }
  EXPECT_GT(left, 200);
  EXPECT_LT(left, 300);
}

TEST(DrawDetailedRegionsTest, BigFramesUseACoarserLatticeAndStillCoverIt) {
  // 3840 x 2160 has about 8 million positions; the drawn regions still reach both far edges.
  Image img = FlatWithPatch(3840, 2160, Rect{0, 0, 0, 0});
  Random rng(9);
  auto rs = DrawDetailedRegions(img, 3000, 36, 2, 1, rng);
  ExpectInside(rs, 3840, 2160);
  int max_x1 = 0, min_x0 = 1 << 30;
  for (const Rect& r : rs) {
    max_x1 = std::max(max_x1, r.x1);
    min_x0 = std::min(min_x0, r.x0);
  }
  EXPECT_GT(max_x1, 3840 - 20);
  EXPECT_LT(min_x0, 20);
  EXPECT_TRUE(DrawDetailedRegions(FlatWithPatch(20, 20, Rect{}), 3, 64, 16, 16, rng).empty());
}

}  // namespace
}  // namespace inferix::image
