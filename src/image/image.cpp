#include "image/image.hpp"

#include <algorithm>
#include <cmath>

#include "image/codec.hpp"

namespace inferix::image {
namespace {

// NaN matches nothing and equal infinities match: a non-finite value on one side is an unbounded difference.
double ChannelDiff(float a, float b) {
  if (a == b) return 0.0;
  if (!std::isfinite(a) || !std::isfinite(b)) return HUGE_VAL;
  return std::fabs(static_cast<double>(a) - static_cast<double>(b));
}

bool WellFormed(const Image& img) {
  const auto& i = img.info;
  return i.width > 0 && i.height > 0 && i.channels > 0 &&
         img.pixels.size() ==
             static_cast<size_t>(i.width) * static_cast<size_t>(i.height) * static_cast<size_t>(i.channels);
}

std::string Describe(const ImageInfo& i) {
  return std::to_string(i.width) + "x" + std::to_string(i.height) + "x" + std::to_string(i.channels);
}

}  // namespace

Result<Image> ReadImage(const std::filesystem::path& path) {
  auto codec = LoadCodec();
  if (!codec) return codec.error();
  return (*codec)->read_image(path);
}

Result<ImageInfo> ReadInfo(const std::filesystem::path& path) {
  auto codec = LoadCodec();
  if (!codec) return codec.error();
  return (*codec)->read_info(path);
}

Result<CompareResult> CompareRegion(const Image& a, const Image& b, const Rect& rect, const Tolerance& tol) {
  if (!WellFormed(a) || !WellFormed(b)) {
    return MakeError(Errc::kInvalidArgument,
                     "cannot compare: an image's pixel buffer does not match its size");
  }
  if (a.info.width != b.info.width || a.info.height != b.info.height || a.info.channels != b.info.channels) {
    return MakeError(Errc::kInvalidArgument, "cannot compare images of different shapes: " +
                                                 Describe(a.info) + " and " + Describe(b.info));
  }
  if (rect.x0 < 0 || rect.y0 < 0 || rect.x1 > a.info.width || rect.y1 > a.info.height || rect.Width() <= 0 ||
      rect.Height() <= 0) {
    return MakeError(Errc::kInvalidArgument, "cannot compare region [" + std::to_string(rect.x0) + "," +
                                                 std::to_string(rect.x1) + ")x[" + std::to_string(rect.y0) +
                                                 "," + std::to_string(rect.y1) +
                                                 ") : empty or outside the image " + Describe(a.info));
  }
  CompareResult r;
  const int channels = a.info.channels;
  for (int y = rect.y0; y < rect.y1; ++y) {
    for (int x = rect.x0; x < rect.x1; ++x) {
      bool off = false;
      for (int c = 0; c < channels; ++c) {
        const double d = ChannelDiff(a.At(x, y, c), b.At(x, y, c));
        r.max_diff = std::max(r.max_diff, d);
        if (d > tol.fail) off = true;
      }
      if (off) ++r.pixels_off;
    }
  }
  r.pixels = int64_t{rect.Width()} * int64_t{rect.Height()};
  const auto by_fraction =
      static_cast<int64_t>(std::floor(tol.fail_fraction * static_cast<double>(r.pixels)));
  const int64_t allowed = std::max(tol.fail_pixels_floor, by_fraction);
  r.pass = r.pixels_off <= allowed && r.max_diff <= tol.hard_fail;
  return r;
}

bool HasNonFinite(const Image& img) {
  return std::any_of(img.pixels.begin(), img.pixels.end(), [](float v) { return !std::isfinite(v); });
}

bool IsConstant(const Image& img) {
  const auto channels = static_cast<size_t>(std::max(img.info.channels, 1));
  const auto same = [](float u, float v) { return u == v || (std::isnan(u) && std::isnan(v)); };
  for (size_t i = channels; i < img.pixels.size(); ++i) {
    if (!same(img.pixels[i], img.pixels[i % channels])) return false;
  }
  return true;
}

}  // namespace inferix::image
