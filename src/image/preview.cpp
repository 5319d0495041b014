#include "image/preview.hpp"

#include <OpenImageIO/imagebuf.h>
#include <OpenImageIO/imagebufalgo.h>

#include <algorithm>
#include <cmath>

namespace inferix::image {

Result<void> WriteDisplayPng(const std::filesystem::path& input, const std::filesystem::path& output,
                             int max_size) {
  try {
    OIIO::ImageBuf src(input.string());
    if (!src.read(0, 0, true, OIIO::TypeDesc::FLOAT)) {
      return MakeError(Errc::kInvalidArgument, "cannot read " + input.string() + ": " + src.geterror());
    }
    const auto& spec = src.spec();
    const bool linear = spec.format == OIIO::TypeDesc::HALF || spec.format == OIIO::TypeDesc::FLOAT;
    OIIO::ImageBuf rgb;
    if (spec.nchannels >= 4) {
      // Premultiplied alpha over black is the colour channels themselves.
      rgb = OIIO::ImageBufAlgo::channels(src, 3, {});
    } else if (spec.nchannels == 3) {
      rgb = src;
    } else {
      int gray[] = {0, 0, 0};
      rgb = OIIO::ImageBufAlgo::channels(src, 3, gray);
    }
    if (linear) {
      rgb = OIIO::ImageBufAlgo::clamp(rgb, 0.0f, 1.0f);
      rgb = OIIO::ImageBufAlgo::colorconvert(rgb, "linear", "sRGB");
    }
    OIIO::ImageBuf out = rgb;
    const int w = spec.width;
    const int h = spec.height;
    if (max_size > 0 && (w > max_size || h > max_size)) {
      const double scale = std::min(static_cast<double>(max_size) / w, static_cast<double>(max_size) / h);
      const int nw = std::max(1, static_cast<int>(std::lround(w * scale)));
      const int nh = std::max(1, static_cast<int>(std::lround(h * scale)));
      out = OIIO::ImageBufAlgo::resize(rgb, "", 0.0f, OIIO::ROI(0, nw, 0, nh, 0, 1, 0, 3));
    }
    if (out.has_error())
      return MakeError(Errc::kInternal, "cannot convert " + input.string() + ": " + out.geterror());
    auto tmp = output;
    tmp += ".tmp.png";
    out.set_write_format(OIIO::TypeDesc::UINT8);
    if (!out.write(tmp.string(), OIIO::TypeDesc::UINT8, "png")) {
      return MakeError(Errc::kInternal, "cannot write " + output.string() + ": " + out.geterror());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, output, ec);
    if (ec) return MakeError(Errc::kInternal, "cannot write " + output.string() + ": " + ec.message());
    return Ok();
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("preview of ") + input.string() + ": " + e.what());
  }
}

}  // namespace inferix::image
