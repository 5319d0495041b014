#pragma once
// Pure geometry for sampled re-renders (DESIGN.md sections 5 and 6): where the verifier renders, in Blender's
// terms, and which pixels it compares. No OpenImageIO here.
#include <vector>

#include "core/clock.hpp"
#include "image/image.hpp"

namespace inferix::image {

/// A render border as Blender takes it (`render.border_*`): fractions of the frame, origin bottom-left.
struct NormBorder {
  double min_x = 0.0, max_x = 1.0, min_y = 0.0, max_y = 1.0;
};

/// Converts a pixel rectangle (origin top-left) of a `width` x `height` frame into Blender's border
/// fractions.
NormBorder ToBlenderBorder(const Rect& r, int width, int height);

/// Shrinks `r` by `margin` pixels on every side; a rectangle too small for that becomes empty (zero width
/// and/or height), never inverted.
Rect Inset(const Rect& r, int margin);

/// Draws `count` square regions of `size` px (shrunk to fit the image) at uniform positions; they may
/// overlap. The interior `Inset(region, margin)` starts on the `align` px grid and spans whole `align` px
/// blocks (align 16 for JPEG, 1 otherwise); the region shrinks by whole blocks where the grid needs it.
/// Returns no regions when none with a non-empty interior fits.
std::vector<Rect> DrawRegions(int width, int height, int count, int size, int margin, int align, Random& rng);

/// Draws `count` regions on the same positions as DrawRegions, each with probability proportional to the
/// detail `img` shows inside the region's interior (the sum of absolute differences between neighbouring
/// pixels, colour channels only) plus a floor of `floor` times the mean over all positions, so that flat
/// areas are still drawn now and then. A region on a flat background (a sky, a studio backdrop) cannot tell a
/// frame rendered with fewer samples from the right one; these regions go where the samples show.
std::vector<Rect> DrawDetailedRegions(const Image& img, int count, int size, int margin, int align,
                                      Random& rng, double floor = 0.05);

}  // namespace inferix::image
