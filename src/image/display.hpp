#pragma once
// Display-referred pixels: what a person sees of a frame (sRGB, alpha over black), and area-averaged
// shrinking.
#include <vector>

#include "image/image.hpp"

namespace inferix::image {

/// sRGB's transfer function (IEC 61966-2-1) of a linear value, clamped to [0, 1] first.
float LinearToSrgb(float v);

/// Display-referred RGB of the image, row-major, 3 values a pixel in [0, 1]: alpha composited over black
/// (8/16-bit files hold straight alpha, EXR premultiplied), gray repeated into RGB, linear (half/float)
/// values clamped and encoded as sRGB.
std::vector<float> DisplayRgb(const Image& img);

/// Shrinks row-major RGB from w x h to nw x nh by area averaging: every source pixel counts by the share of
/// it that falls in the target pixel (no aliasing when shrinking, exact at 1:1).
std::vector<float> Shrink(const std::vector<float>& rgb, int w, int h, int nw, int nh);

}  // namespace inferix::image
