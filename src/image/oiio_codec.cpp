// The OpenImageIO half of the image module, built as a loadable module (libinferix_image_oiio.so) that
// codec_loader.cpp opens on first use. OpenImageIO as Debian builds it pulls in some 250 shared libraries,
// and binding them costs every process that links them about 0.3 s of CPU at start; only the manager
// (previews, video frames) and the verifier decode images, so only they pay it, once. Nothing here may throw:
// every entry point returns a Result.
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
#include <utility>
#include <vector>

#include "image/codec.hpp"
#include "image/display.hpp"

namespace inferix::image {
namespace {

// A hostile header can claim any size; cap what one decode may allocate (2^30 floats = 4 GiB), far above
// any frame a job renders (8K RGBA is 2^27).
constexpr int64_t kMaxValues = int64_t{1} << 30;

std::string PixelTypeName(const OIIO::TypeDesc& t) {
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

Result<Image> ReadImageEntry(const std::filesystem::path& path) {
  return NoThrow(path, [&]() -> Result<Image> { return ReadImageImpl(path); });
}

Result<ImageInfo> ReadInfoEntry(const std::filesystem::path& path) {
  return NoThrow(path, [&]() -> Result<ImageInfo> {
    auto opened = Open(path);
    if (!opened) return opened.error();
    opened->in->close();
    return opened->info;
  });
}

Result<void> WritePng(const std::filesystem::path& output, const std::vector<float>& rgb, int w, int h) {
  std::vector<unsigned char> bytes(rgb.size());
  for (size_t k = 0; k < rgb.size(); ++k) {
    bytes[k] = static_cast<unsigned char>(std::lround(std::clamp(rgb[k], 0.0f, 1.0f) * 255.0f));
  }
  auto tmp = output;
  tmp += ".tmp.png";
  auto out = OIIO::ImageOutput::create("png");
  OIIO::ImageSpec spec(w, h, 3, OIIO::TypeDesc::UINT8);
  if (!out || !out->open(tmp.string(), spec) || !out->write_image(OIIO::TypeDesc::UINT8, bytes.data()) ||
      !out->close()) {
    const std::string why = out ? out->geterror() : OIIO::geterror();
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return MakeError(Errc::kInternal, "cannot write " + output.string() + ": " + Trim(why));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, output, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot write " + output.string() + ": " + ec.message());
  return Ok();
}

Result<void> WriteDisplayPngEntry(const std::filesystem::path& input, const std::filesystem::path& output,
                                  int max_size) {
  return NoThrow(input, [&]() -> Result<void> {
    auto img = ReadImageImpl(input);
    if (!img) return img.error();
    const int w = img->info.width;
    const int h = img->info.height;
    auto rgb = DisplayRgb(*img);
    if (max_size <= 0 || (w <= max_size && h <= max_size)) return WritePng(output, rgb, w, h);
    const double scale = std::min(static_cast<double>(max_size) / w, static_cast<double>(max_size) / h);
    const int nw = std::max(1, static_cast<int>(std::lround(w * scale)));
    const int nh = std::max(1, static_cast<int>(std::lround(h * scale)));
    return WritePng(output, Shrink(rgb, w, h, nw, nh), nw, nh);
  });
}

constexpr Codec kCodec{kCodecAbi, &ReadImageEntry, &ReadInfoEntry, &WriteDisplayPngEntry};

}  // namespace
}  // namespace inferix::image

extern "C" __attribute__((visibility("default"))) const inferix::image::Codec* inferix_image_codec() {
  return &inferix::image::kCodec;
}
