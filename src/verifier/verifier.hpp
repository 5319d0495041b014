#pragma once
// The verifier agent: checks each reported frame (layer 1: hash, decode, format, size, finite values;
// layer 2: re-renders regions it draws after the upload, in its own warm sandboxed Blender, and compares
// them).
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/node_agent.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "net/node_protocol.hpp"

namespace inferix::verifier {

/// How the verifier runs.
struct VerifierOptions {
  std::string manager_url;
  std::string token;  ///< enrollment token (first start only)
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends (--blender, repeatable)
  std::string name;
  std::string ca_file;
  std::filesystem::path warm_scene_root;  ///< agent::NodeOptions::warm_scene_root (--warm-scene-root)
  /// The one device it checks on (--device, agent::ChooseSlots): "auto" (the first GPU, else the CPU), "cpu",
  /// or a device id; it checks the outputs of that device's class. One verifier per device to check several.
  std::string device = "auto";
  std::filesystem::path
      device_answers;  ///< tests only: recorded device answers (WorkerOptions::device_answers)
  /// The render engines it checks (--engines; WorkerOptions::engines); empty: every engine its Blender
  /// renders.
  std::vector<std::string> engines = {};
  // A task may ask for more regions (the manager escalates an inconclusive check); these are the least.
  int regions = 2;         ///< regions drawn uniformly, re-rendered per frame
  int detail_regions = 1;  ///< regions drawn where the output shows detail
  int region_size = 28;    ///< pixels, margin included (at least 64 for JPEG)
  int margin = 2;          ///< pixels left out at each region's edge (at least 16 for JPEG)
};

/// A verifier's session: Start, then Step until stopped (Run checks that images decode, then does both).
class Verifier {
 public:
  /// `services` are the node's manager client, Blender factory and probes (production ones when empty).
  /// `slot`: the device it checks on (none: the CPU, unnamed); `devices`: every device of the machine.
  Verifier(VerifierOptions options, const std::atomic<bool>& stop, agent::NodeServices services = {},
           std::optional<agent::Device> slot = std::nullopt, std::vector<agent::Device> devices = {});
  /// Enrolls, or loads the node's credentials (retrying while the manager is unreachable).
  Result<void> Start();
  /// One turn of the loop: claims a verify task and reports its verdict. An error only when the manager
  /// refuses the node.
  Result<void> Step();
  /// Checks that images decode, Start, then Step until `stop` becomes true.
  Result<void> Run();

 private:
  void Verify(const net::ClaimedTask& task);
  Result<std::pair<bool, std::string>> CompareWithOriginal(const net::OriginalRef& original,
                                                           const std::filesystem::path& second,
                                                           const std::filesystem::path& file);

  VerifierOptions options_;
  const std::atomic<bool>& stop_;
  agent::NodeAgent node_;
  Random rng_;
};

/// Runs until `stop` becomes true.
Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::verifier
