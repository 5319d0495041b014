#pragma once
// Image reading and comparison (OpenImageIO stays inside src/image).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace inferix::image {

/// What a file holds.
struct ImageInfo {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::string format;      ///< OIIO's format name: "png", "openexr", "jpeg"
  std::string pixel_type;  ///< "uint8", "uint16", "half", "float"
  /// What Blender records of the render in the file where the format carries it (PNG text chunks, EXR
  /// header): "Frame", "Scene", "Camera" and the sample counts ("cycles.<view layer>.samples").
  std::map<std::string, std::string> render_metadata;
};

/// Decoded pixels as float, row-major from the top row, channels interleaved.
struct Image {
  ImageInfo info;
  std::vector<float> pixels;
  /// Value of channel `c` at (x, y), y from the top.
  float At(int x, int y, int c) const {
    return pixels[(static_cast<size_t>(y) * static_cast<size_t>(info.width) + static_cast<size_t>(x)) *
                      static_cast<size_t>(info.channels) +
                  static_cast<size_t>(c)];
  }
};

/// Reads and decodes a whole image; an undecodable file is kInvalidArgument, a missing one kNotFound.
Result<Image> ReadImage(const std::filesystem::path& path);
/// Reads only the header.
Result<ImageInfo> ReadInfo(const std::filesystem::path& path);

/// Loads the decoders now (they load on first use otherwise), so that a process that will need them (manager,
/// verifier) refuses to start without them rather than failing its first frame.
Result<void> CheckAvailable();

/// A pixel rectangle, origin top-left, end exclusive.
struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int Width() const { return x1 - x0; }
  int Height() const { return y1 - y0; }
};

/// DESIGN.md section 6: no pixel off by more than `hard_fail`; at most `fail_fraction` of pixels (or
/// `fail_pixels_floor`, whichever is larger) off by more than `fail`.
struct Tolerance {
  double fail = 1e-6;
  double hard_fail = 0.004;
  double fail_fraction = 0.001;
  int64_t fail_pixels_floor = 2;
};

/// What a comparison found.
struct CompareResult {
  int64_t pixels = 0;      ///< pixels compared
  int64_t pixels_off = 0;  ///< pixels with some channel off by more than `fail`
  double max_diff = 0.0;   ///< largest channel difference
  bool pass = false;
};

/// Compares the same rectangle of two images channel by channel. Both must have the same size and channel
/// count and contain the rectangle; otherwise an error (a caller's fault, never a verdict).
Result<CompareResult> CompareRegion(const Image& a, const Image& b, const Rect& rect, const Tolerance& tol);
/// True when any channel value is NaN or infinite.
bool HasNonFinite(const Image& img);
/// True when every pixel equals the first one (a blank or constant frame).
bool IsConstant(const Image& img);

}  // namespace inferix::image
