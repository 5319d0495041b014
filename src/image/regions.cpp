#include "image/regions.hpp"

#include <algorithm>
#include <cmath>

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

namespace {

constexpr double kMaxCandidates = 250000.0;

/// The positions a region may take: its size, and the grid of start positions that keep its interior aligned.
struct Lattice {
  int64_t region = 0;  ///< side, margin included; 0 when nothing fits
  int64_t a = 1, m = 0;
  int64_t kx_lo = 0, kx_hi = -1, ky_lo = 0, ky_hi = -1;
  int64_t X(int64_t kx) const { return kx * a - m; }
  int64_t Y(int64_t ky) const { return ky * a - m; }
  Rect At(int64_t kx, int64_t ky) const {
    return Rect{static_cast<int>(X(kx)), static_cast<int>(Y(ky)), static_cast<int>(X(kx) + region),
                static_cast<int>(Y(ky) + region)};
  }
};

Lattice MakeLattice(int width, int height, int size, int margin, int align) {
  Lattice l;
  if (width <= 0 || height <= 0 || size <= 0 || margin < 0) return l;
  l.a = std::max(align, 1);
  l.m = margin;
  const int64_t full = std::min({size, width, height});
  // The interior [x0 + m, x0 + full - m) must start on the grid and be a whole number of blocks.
  // Aligned interior starts k * a with the region inside the image: 0 <= k * a - m <= extent - (interior +
  // 2m).
  for (int64_t interior = (full - 2 * l.m) / l.a * l.a; interior > 0; interior -= l.a) {
    const int64_t region = interior + 2 * l.m;
    l.kx_lo = CeilDiv(l.m, l.a);
    l.kx_hi = FloorDiv(width - region + l.m, l.a);
    l.ky_lo = CeilDiv(l.m, l.a);
    l.ky_hi = FloorDiv(height - region + l.m, l.a);
    if (l.kx_lo <= l.kx_hi && l.ky_lo <= l.ky_hi) {
      l.region = region;
      return l;
    }
  }
  return l;
}

}  // namespace

std::vector<Rect> DrawRegions(int width, int height, int count, int size, int margin, int align,
                              Random& rng) {
  std::vector<Rect> out;
  const Lattice l = MakeLattice(width, height, size, margin, align);
  if (l.region == 0 || count <= 0) return out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i)
    out.push_back(l.At(rng.Uniform(l.kx_lo, l.kx_hi), rng.Uniform(l.ky_lo, l.ky_hi)));
  return out;
}

std::vector<Rect> DrawDetailedRegions(const Image& img, int count, int size, int margin, int align,
                                      Random& rng, double floor) {
  std::vector<Rect> out;
  const int w = img.info.width;
  const int h = img.info.height;
  const Lattice l = MakeLattice(w, h, size, margin, align);
  if (l.region == 0 || count <= 0 ||
      img.pixels.size() !=
          static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(img.info.channels))
    return out;
  // Summed-area table of each pixel's detail: |right neighbour - pixel| + |lower neighbour - pixel|.
  const int colour = std::min(img.info.channels, 3);
  const size_t stride = static_cast<size_t>(w) + 1;
  std::vector<double> sat(stride * (static_cast<size_t>(h) + 1), 0.0);
  for (int y = 0; y < h; ++y) {
    double row = 0.0;
    for (int x = 0; x < w; ++x) {
      double d = 0.0;
      for (int c = 0; c < colour; ++c) {
        const double v = img.At(x, y, c);
        if (x + 1 < w) d += std::abs(static_cast<double>(img.At(x + 1, y, c)) - v);
        if (y + 1 < h) d += std::abs(static_cast<double>(img.At(x, y + 1, c)) - v);
      }
      if (!std::isfinite(d)) d = 0.0;
      row += d;
      sat[(static_cast<size_t>(y) + 1) * stride + static_cast<size_t>(x) + 1] =
          sat[static_cast<size_t>(y) * stride + static_cast<size_t>(x) + 1] + row;
    }
  }
  auto sum = [&](const Rect& r) {
    auto at = [&](int x, int y) { return sat[static_cast<size_t>(y) * stride + static_cast<size_t>(x)]; };
    return at(r.x1, r.y1) - at(r.x0, r.y1) - at(r.x1, r.y0) + at(r.x0, r.y0);
  };
  // Candidates on every `step`-th lattice position (a coarser lattice for big frames keeps this small); the
  // drawn region then moves uniformly within its step.
  const int64_t nx_all = l.kx_hi - l.kx_lo + 1;
  const int64_t ny_all = l.ky_hi - l.ky_lo + 1;
  const int64_t step = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(nx_all * ny_all) / kMaxCandidates))));
  const int64_t nx = (nx_all + step - 1) / step;
  const int64_t ny = (ny_all + step - 1) / step;
  std::vector<double> weight(static_cast<size_t>(nx * ny));
  for (int64_t j = 0; j < ny; ++j) {
    for (int64_t i = 0; i < nx; ++i)
      weight[static_cast<size_t>(j * nx + i)] =
          sum(Inset(l.At(l.kx_lo + i * step, l.ky_lo + j * step), static_cast<int>(l.m)));
  }
  double total = 0.0;
  for (double v : weight) total += v;
  const double extra = floor * total / static_cast<double>(weight.size()) + 1e-12;
  for (double& v : weight) v += extra;
  for (size_t i = 1; i < weight.size(); ++i) weight[i] += weight[i - 1];
  out.reserve(static_cast<size_t>(count));
  for (int n = 0; n < count; ++n) {
    const double pick = rng.Unit() * weight.back();
    const auto it = std::upper_bound(weight.begin(), weight.end(), pick);
    const auto index =
        static_cast<int64_t>(std::min(static_cast<size_t>(it - weight.begin()), weight.size() - 1));
    const int64_t kx = std::min(l.kx_hi, l.kx_lo + (index % nx) * step + rng.Uniform(0, step - 1));
    const int64_t ky = std::min(l.ky_hi, l.ky_lo + (index / nx) * step + rng.Uniform(0, step - 1));
    out.push_back(l.At(kx, ky));
  }
  return out;
}

}  // namespace inferix::image
