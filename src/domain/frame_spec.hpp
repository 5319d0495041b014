#pragma once
// Frame SPECs as render farms write them: "1-250", "1,5,10-20", "1-100x5", and Blender's "1..10".
#include <cstddef>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::domain {

/// Blender's own frame limit (MAXFRAME).
inline constexpr int kMaxFrameNumber = 1048574;
/// The most frames one job may hold.
inline constexpr size_t kMaxFramesPerJob = 100000;

/// Parses a SPEC into sorted, distinct frame numbers; absurd specs (reversed ranges, step 0, too many frames,
/// frames beyond Blender's limit) are a kInvalidArgument error that says what to write instead.
Result<std::vector<int>> ParseFrameSpec(std::string_view spec, size_t max_frames = kMaxFramesPerJob);

}  // namespace inferix::domain
