// Display-referred pixels: what a person sees of a frame, for previews, video frames and the reduced
// comparison of the verifier's checks. No OpenImageIO here: both the image library and its OpenImageIO module
// compile this file.
#include "image/display.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace inferix::image {

float LinearToSrgb(float v) {
  v = std::clamp(v, 0.0f, 1.0f);
  return v <= 0.0031308f ? 12.92f * v : 1.055f * std::pow(v, 1.0f / 2.4f) - 0.055f;
}

namespace {

// For each target index, the source indices it covers and their weights: an area average, so that every
// source pixel counts by the share of it that falls in the target pixel (no aliasing when shrinking, exact at
// 1:1).
std::vector<std::vector<std::pair<int, float>>> AreaWeights(int src, int dst) {
  std::vector<std::vector<std::pair<int, float>>> out(static_cast<size_t>(dst));
  const double scale = static_cast<double>(src) / dst;
  for (int d = 0; d < dst; ++d) {
    const double lo = d * scale;
    const double hi = std::min<double>((d + 1) * scale, src);
    for (int s = static_cast<int>(lo); s < hi; ++s) {
      const double w = std::min<double>(hi, s + 1) - std::max<double>(lo, s);
      if (w > 0) out[static_cast<size_t>(d)].emplace_back(s, static_cast<float>(w / (hi - lo)));
    }
  }
  return out;
}

}  // namespace

// Display-referred RGB of the image, row-major: alpha composited over black (8/16-bit files hold straight
// alpha, EXR premultiplied), gray repeated into RGB, linear (half/float) values clamped and encoded as sRGB.
std::vector<float> DisplayRgb(const Image& img) {
  const auto& i = img.info;
  const bool linear = i.pixel_type == "half" || i.pixel_type == "float";
  const int alpha = i.channels == 2 ? 1 : (i.channels >= 4 ? 3 : -1);
  std::vector<float> rgb(static_cast<size_t>(i.width) * static_cast<size_t>(i.height) * 3);
  size_t o = 0;
  for (int y = 0; y < i.height; ++y) {
    for (int x = 0; x < i.width; ++x) {
      const float a = alpha >= 0 && !linear ? img.At(x, y, alpha) : 1.0f;
      for (int c = 0; c < 3; ++c) {
        const float v = img.At(x, y, i.channels >= 3 ? c : 0) * a;
        rgb[o++] = linear ? LinearToSrgb(v) : std::clamp(v, 0.0f, 1.0f);
      }
    }
  }
  return rgb;
}

// Shrinks row-major RGB from w x h to nw x nh, columns first, then rows.
std::vector<float> Shrink(const std::vector<float>& rgb, int w, int h, int nw, int nh) {
  const auto cols = AreaWeights(w, nw);
  const auto rows = AreaWeights(h, nh);
  std::vector<float> narrow(static_cast<size_t>(nw) * static_cast<size_t>(h) * 3, 0.0f);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < nw; ++x) {
      float* dst = &narrow[(static_cast<size_t>(y) * nw + x) * 3];
      for (const auto& [sx, wt] : cols[static_cast<size_t>(x)]) {
        const float* src = &rgb[(static_cast<size_t>(y) * w + sx) * 3];
        for (int c = 0; c < 3; ++c) dst[c] += wt * src[c];
      }
    }
  }
  std::vector<float> out(static_cast<size_t>(nw) * static_cast<size_t>(nh) * 3, 0.0f);
  for (int y = 0; y < nh; ++y) {
    for (const auto& [sy, wt] : rows[static_cast<size_t>(y)]) {
      const float* src = &narrow[static_cast<size_t>(sy) * nw * 3];
      float* dst = &out[static_cast<size_t>(y) * nw * 3];
      for (size_t k = 0; k < static_cast<size_t>(nw) * 3; ++k) dst[k] += wt * src[k];
    }
  }
  return out;
}

}  // namespace inferix::image
