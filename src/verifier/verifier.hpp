#pragma once
// The verifier agent: checks each reported frame (layer 1: hash, decode, format, size, finite values;
// layer 2: re-renders regions it draws after the upload, in its own warm sandboxed Blender, and compares
// them).
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace inferix::verifier {

/// How the verifier runs.
struct VerifierOptions {
  std::string manager_url;
  std::string token;  ///< enrollment token (first start only)
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends (--blender, repeatable)
  std::string name;
  std::string ca_file;
  // A task may ask for more regions (the manager escalates an inconclusive check); these are the least.
  int regions = 2;         ///< regions drawn uniformly, re-rendered per frame
  int detail_regions = 1;  ///< regions drawn where the output shows detail
  int region_size = 28;    ///< pixels, margin included (at least 64 for JPEG)
  int margin = 2;          ///< pixels left out at each region's edge (at least 16 for JPEG)
};

/// Runs until `stop` becomes true.
Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::verifier
