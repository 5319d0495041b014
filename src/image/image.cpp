#include "image/image.hpp"

#include <OpenImageIO/imageio.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string_view>
#include <system_error>

namespace inferix::image {
namespace {

// A hostile header can claim any size; cap what one decode may allocate (2^30 floats = 4 GiB), far above
// any frame a job renders (8K RGBA is 2^27).
constexpr int64_t kMaxValues = int64_t{1} << 30;

std::string PixelTypeName(OIIO::TypeDesc t) {
  if (t == OIIO::TypeDesc::UINT8) return "uint8";
  if (t == OIIO::TypeDesc::UINT16) return "uint16";
  if (t == OIIO::TypeDesc::HALF) return "half";
  if (t == OIIO::TypeDesc::FLOAT) return "float";
  return t.c_str();  // uncommon ("uint32", "double"): the name lets a caller reject it
}

// OIIO's error text may hold several lines; a message is one line.
std::string Trim(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out.empty() ? std::string("no details from the decoder") : out;
}

// Distinguishes "not there" and "can't read it here" (a verifier-side fault, never the file's fault) from a
// file OIIO then fails to decode.
Result<void> CheckReadable(const std::filesystem::path& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    if (!ec || ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
      return MakeError(Errc::kNotFound, "image " + path.string() + " does not exist");
    }
    return MakeError(Errc::kUnavailable, "cannot stat image " + path.string() + ": " + ec.message() +
                                             "; check the disk and retry");
  }
  if (std::filesystem::is_directory(st)) {
    return MakeError(Errc::kInvalidArgument, "image " + path.string() + " is a directory, not a file");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return MakeError(Errc::kUnavailable, "cannot open image " + path.string() + ": " + std::strerror(errno) +
                                             "; check permissions and retry");
  }
  std::fclose(f);
  return Ok();
}

struct Opened {
  std::unique_ptr<OIIO::ImageInput> in;
  ImageInfo info;
};

Result<Opened> Open(const std::filesystem::path& path) {
  INFERIX_TRY(CheckReadable(path));
  // By default OIIO premultiplies an 8/16-bit PNG's (or TIFF's) RGB by alpha on read, which rounds the stored
  // values differently; verification compares what the file holds.
  OIIO::ImageSpec config;
  config.attribute("oiio:UnassociatedAlpha", 1);
  auto in = OIIO::ImageInput::open(path.string(), &config);
  if (!in) {
    return MakeError(Errc::kInvalidArgument,
                     "cannot decode image " + path.string() + ": " + Trim(OIIO::geterror()));
  }
  const OIIO::ImageSpec& spec = in->spec();
  if (spec.width <= 0 || spec.height <= 0 || spec.nchannels <= 0 || spec.depth != 1) {
    return MakeError(Errc::kInvalidArgument,
                     "image " + path.string() + " has an unusable size " + std::to_string(spec.width) + "x" +
                         std::to_string(spec.height) + "x" + std::to_string(spec.depth) + " with " +
                         std::to_string(spec.nchannels) + " channels");
  }
  Opened o;
  o.info.width = spec.width;
  o.info.height = spec.height;
  o.info.channels = spec.nchannels;
  o.info.format = in->format_name();
  o.info.pixel_type = PixelTypeName(spec.format);
  for (const auto& attr : spec.extra_attribs) {
    const std::string name = attr.name().string();
    const bool samples =
        name.size() > 8 && name.rfind("cycles.", 0) == 0 && name.compare(name.size() - 8, 8, ".samples") == 0;
    if ((name == "Frame" || name == "Scene" || name == "Camera" || samples) &&
        attr.type() == OIIO::TypeString)
      o.info.render_metadata[name] = attr.get_string();
  }
  o.in = std::move(in);
  return o;
}

Result<Image> ReadImageImpl(const std::filesystem::path& path) {
  auto opened = Open(path);
  if (!opened) return opened.error();
  Opened& o = *opened;
  // width * height fits in int64 (each < 2^31); multiplying by channels too might not, so divide instead.
  const int64_t area = int64_t{o.info.width} * int64_t{o.info.height};
  if (area > kMaxValues / o.info.channels) {
    o.in->close();
    return MakeError(Errc::kInvalidArgument, "image " + path.string() + " is too large to decode (" +
                                                 std::to_string(o.info.width) + "x" +
                                                 std::to_string(o.info.height) + " with " +
                                                 std::to_string(o.info.channels) + " channels)");
  }
  Image img;
  img.info = o.info;
  img.pixels.resize(static_cast<size_t>(area) * static_cast<size_t>(o.info.channels));
  bool ok = o.in->read_image(0, 0, 0, o.info.channels, OIIO::TypeDesc::FLOAT, img.pixels.data());
  // Some decoders (libjpeg on a truncated stream) only warn and fill the rest; a pending error still counts.
  std::string err = o.in->geterror();
  o.in->close();
  err += o.in->geterror();
  if (!ok || !err.empty()) {
    return MakeError(Errc::kInvalidArgument, "cannot decode image " + path.string() + ": " + Trim(err));
  }
  return img;
}

// OIIO and std::vector may throw (bad_alloc, a decoder's exception); the callers expect values.
template <class F>
auto NoThrow(const std::filesystem::path& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return MakeError(Errc::kUnavailable, "out of memory decoding image " + path.string() + "; retry later");
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, "cannot decode image " + path.string() + ": " + e.what());
  }
}

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
  return NoThrow(path, [&]() -> Result<Image> { return ReadImageImpl(path); });
}

Result<ImageInfo> ReadInfo(const std::filesystem::path& path) {
  return NoThrow(path, [&]() -> Result<ImageInfo> {
    auto opened = Open(path);
    if (!opened) return opened.error();
    opened->in->close();
    return opened->info;
  });
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
