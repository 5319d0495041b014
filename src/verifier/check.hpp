#pragma once
// One frame's check, separate from the agent's network loop.
#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "image/image.hpp"
#include "render/blender_process.hpp"

namespace inferix::verifier {

/// What was asked of the output.
struct CheckRequest {
  std::filesystem::path output;  ///< the downloaded output
  std::string reported_sha256;
  int frame = 0;
  std::string format;              ///< Blender's name: "PNG", "OPEN_EXR", "JPEG"
  std::filesystem::path work_dir;  ///< where the region renders go (inside the sandbox's writable folder)
  int regions = 3;
  int region_size = 48;
  int margin = 8;
};

/// A verdict and how it was reached.
struct CheckResult {
  std::string verdict;  ///< "accepted", "rejected" or "inconclusive"
  std::string detail;   ///< layers and regions, with their findings
};

/// Runs layer 1 and layer 2 on one output with a warm Blender of the task's scene.
CheckResult CheckFrame(const CheckRequest& request, render::BlenderProcess& blender, Random& rng);

}  // namespace inferix::verifier
