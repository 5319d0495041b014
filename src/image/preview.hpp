#pragma once
// Display-referred copies of delivered frames: thumbnails for people, and 8-bit frames for the video.
#include <filesystem>

#include "core/result.hpp"

namespace inferix::image {

/// Writes an 8-bit RGB PNG of `input` for display: scene-linear float formats (EXR) get the sRGB transfer,
/// alpha is composited over black, and the picture is scaled down to fit `max_size` x `max_size` (0: full
/// size).
Result<void> WriteDisplayPng(const std::filesystem::path& input, const std::filesystem::path& output,
                             int max_size);

}  // namespace inferix::image
