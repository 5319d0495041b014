#pragma once
// The image module's decoders and encoders live in a loadable module (libinferix_image_oiio.so, built from
// oiio_codec.cpp with OpenImageIO) so that processes that never touch pixels (the CLI, workers, admin
// commands) do not bind OpenImageIO's ~250 shared libraries at start. Internal to src/image.
#include <filesystem>

#include "core/result.hpp"
#include "image/image.hpp"

namespace inferix::image {

/// Bumped whenever Codec or the types it passes change, so a stale module is refused rather than misread.
inline constexpr int kCodecAbi = 1;

struct Codec {
  int abi = 0;
  Result<Image> (*read_image)(const std::filesystem::path& path) = nullptr;
  Result<ImageInfo> (*read_info)(const std::filesystem::path& path) = nullptr;
  Result<void> (*write_display_png)(const std::filesystem::path& input, const std::filesystem::path& output,
                                    int max_size) = nullptr;
};

/// The loaded module's entry points, loaded once per process (thread-safe). An error (kUnavailable: the
/// fault is this installation's, never the image's) names the paths tried.
Result<const Codec*> LoadCodec();

}  // namespace inferix::image
