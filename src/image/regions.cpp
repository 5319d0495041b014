#include "image/regions.hpp"

#include <algorithm>

namespace inferix::image {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

}  // namespace

NormBorder ToBlenderBorder(const Rect& r, int width, int height) {
  const double w = width;
  const double h = height;
  return NormBorder{r.x0 / w, r.x1 / w, 1.0 - r.y1 / h, 1.0 - r.y0 / h};
}

Rect Inset(const Rect& r, int margin) {
  Rect out{r.x0 + margin, r.y0 + margin, r.x1 - margin, r.y1 - margin};
  out.x1 = std::max(out.x1, out.x0);
  out.y1 = std::max(out.y1, out.y0);
  return out;
}

std::vector<Rect> DrawRegions(int width, int height, int count, int size, int margin, int align,
                              Random& rng) {
  std::vector<Rect> out;
  if (width <= 0 || height <= 0 || count <= 0 || size <= 0 || margin < 0) return out;
  const int64_t a = std::max(align, 1);
  const int64_t m = margin;
  const int64_t full = std::min({size, width, height});
  // The interior [x0 + m, x0 + full - m) must start on the grid and be a whole number of blocks.
  int64_t interior = (full - 2 * m) / a * a;
  // Aligned interior starts k * a with the region inside the image: 0 <= k * a - m <= extent - (interior +
  // 2m).
  int64_t kx_lo = 0, kx_hi = -1, ky_lo = 0, ky_hi = -1;
  for (; interior > 0; interior -= a) {
    const int64_t region = interior + 2 * m;
    kx_lo = CeilDiv(m, a);
    kx_hi = FloorDiv(width - region + m, a);
    ky_lo = CeilDiv(m, a);
    ky_hi = FloorDiv(height - region + m, a);
    if (kx_lo <= kx_hi && ky_lo <= ky_hi) break;
  }
  if (interior <= 0) return out;
  const int64_t region = interior + 2 * m;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const int64_t x0 = rng.Uniform(kx_lo, kx_hi) * a - m;
    const int64_t y0 = rng.Uniform(ky_lo, ky_hi) * a - m;
    out.push_back(Rect{static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x0 + region),
                       static_cast<int>(y0 + region)});
  }
  return out;
}

}  // namespace inferix::image
