#pragma once
// The verifier agent: checks each reported frame (layer 1: hash, decode, format, size, finite values;
// layer 2: re-renders regions it draws after the upload, in its own warm sandboxed Blender, and compares
// them).
#include <atomic>
#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace inferix::verifier {

/// How the verifier runs.
struct VerifierOptions {
  std::string manager_url;
  std::string token;  ///< enrollment token (first start only)
  std::filesystem::path data_dir;
  std::string blender = "blender";
  std::string name;
  std::string ca_file;
  int regions = 3;       ///< regions re-rendered per frame
  int region_size = 48;  ///< pixels, margin included
  int margin = 8;        ///< pixels left out at each region's edge (16 for JPEG)
};

/// Runs until `stop` becomes true.
Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::verifier
