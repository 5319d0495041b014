#include "image/reduced.hpp"

#include <algorithm>
#include <cmath>

#include "image/display.hpp"

namespace inferix::image {

Result<ReducedResult> CompareReduced(const Image& frame, const Image& reduced, const ReducedTolerance& tol) {
  const int w = reduced.info.width;
  const int h = reduced.info.height;
  if (w <= 0 || h <= 0 || w > frame.info.width || h > frame.info.height || tol.tile <= 0) {
    return MakeError(Errc::kInvalidArgument, "a reduced re-render of " + std::to_string(w) + "x" +
                                                 std::to_string(h) + " cannot be compared with a frame of " +
                                                 std::to_string(frame.info.width) + "x" +
                                                 std::to_string(frame.info.height));
  }
  const auto a = Shrink(DisplayRgb(frame), frame.info.width, frame.info.height, w, h);
  const auto b = DisplayRgb(reduced);
  ReducedResult r;
  double total = 0.0;
  for (int ty = 0; ty < h; ty += tol.tile) {
    for (int tx = 0; tx < w; tx += tol.tile) {
      const int x1 = std::min(w, tx + tol.tile);
      const int y1 = std::min(h, ty + tol.tile);
      double sum = 0.0;
      for (int y = ty; y < y1; ++y) {
        for (int x = tx; x < x1; ++x) {
          const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 3;
          for (size_t c = 0; c < 3; ++c) sum += std::fabs(static_cast<double>(a[i + c]) - b[i + c]);
        }
      }
      total += sum;
      const double diff = sum / (3.0 * (x1 - tx) * (y1 - ty));
      ++r.tiles;
      if (diff > tol.tile_pass) ++r.tiles_over_pass;
      if (diff > tol.tile_fail) ++r.tiles_over_fail;
      if (diff > r.worst_tile || r.tiles == 1) {
        r.worst_tile = diff;
        // The tile in the full frame's pixels.
        const double sx = static_cast<double>(frame.info.width) / w;
        const double sy = static_cast<double>(frame.info.height) / h;
        r.worst = Rect{static_cast<int>(tx * sx), static_cast<int>(ty * sy),
                       static_cast<int>(std::ceil(x1 * sx)), static_cast<int>(std::ceil(y1 * sy))};
      }
    }
  }
  r.mean = total / (3.0 * w * h);
  return r;
}

}  // namespace inferix::image
