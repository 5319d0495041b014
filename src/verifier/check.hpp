#pragma once
// One frame's check, separate from the agent's network loop.
#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "image/image.hpp"
#include "image/reduced.hpp"
#include "render/blender_process.hpp"

namespace inferix::verifier {

/// What was asked of the output.
struct CheckRequest {
  std::filesystem::path output;  ///< the downloaded output
  std::string reported_sha256;
  int frame = 0;
  std::string format;              ///< Blender's name: "PNG", "OPEN_EXR", "JPEG"
  bool denoise = true;             ///< false: render with denoising off, as the worker did (the job's choice)
  std::filesystem::path work_dir;  ///< where the region renders go (inside the sandbox's writable folder)
  bool layer2 = true;        ///< false: layer 1 only (a trusted worker's output not drawn for a spot check)
  bool whole_frame = false;  ///< layer 2 re-renders the whole frame (a caught worker's delivered frames)
  int regions = 2;           ///< regions drawn uniformly over the frame
  int detail_regions = 1;    ///< regions drawn where the output shows detail (image::DrawDetailedRegions)
  int region_size = 28;      ///< pixels, margin included (at least 64 for JPEG)
  int margin = 2;            ///< pixels left out at each region's edge (at least 16 for JPEG)
  /// Scenes whose render regions cost a whole frame (Eevee, Workbench; denoised frames, whose denoiser sees
  /// the whole frame) are checked by a reduced whole-frame render instead (image/reduced.hpp), and exactly,
  /// the whole frame, with this chance, drawn at check time; an escalated check is always exact.
  double exact_rate = 0.05;
  bool escalated = false;   ///< the check of an output whose first check was inconclusive
  int reduce_factor = 4;    ///< the reduced render is 1/reduce_factor as wide and high as the frame
  int samples_divisor = 4;  ///< and renders 1/samples_divisor of Eevee's samples
  image::ReducedTolerance reduced;
  bool force_regions = false;  ///< regions whatever the engine (benchmarks compare the two)
};

/// A verdict and how it was reached.
struct CheckResult {
  std::string verdict;               ///< "accepted", "rejected" or "inconclusive"
  std::string detail;                ///< layers and regions, with their findings
  int layers = 0;                    ///< the last layer reached (1 or 2)
  std::vector<image::Rect> regions;  ///< the interiors compared, in the frame's pixels (origin top-left)
};

/// Runs layer 1 and layer 2 on one output with a warm Blender of the task's scene.
CheckResult CheckFrame(const CheckRequest& request, render::BlenderProcess& blender, Random& rng);

}  // namespace inferix::verifier
