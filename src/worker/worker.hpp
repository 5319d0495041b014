#pragma once
// The worker agent: claims render tasks, renders them in a warm sandboxed Blender, uploads and reports each
// frame as soon as it is saved.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/node_agent.hpp"
#include "core/result.hpp"
#include "net/node_protocol.hpp"

namespace inferix::worker {

/// How the worker runs.
struct WorkerOptions {
  std::string manager_url;
  std::string token;  ///< enrollment token (first start only)
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends (--blender, repeatable)
  std::string name;                                 ///< defaults to the host name
  int threads = 0;                                  ///< Blender render threads; 0: automatic
  std::string ca_file;
  int64_t idle_blender_ms = 120'000;      ///< a warm Blender with no task for this long is stopped
  std::filesystem::path warm_scene_root;  ///< agent::NodeOptions::warm_scene_root (--warm-scene-root)
  int upload_attempts = 9;  ///< tries of each frame's upload and report while the manager is unreachable
  /// What the owner lends (--device, agent::ChooseSlots): "auto" (every GPU, else the CPU), "cpu", or device
  /// ids ("cuda:0,cuda:1"). Each lent device is a slot that renders a task of its own.
  std::string device = "auto";
  /// Tests only (--device-answers): the machine's devices from a recorded answer (agent::ReadDeviceProbe)
  /// instead of asking this machine; renders of its GPUs are simulated on the CPU.
  std::filesystem::path device_answers;
  /// The render engines the owner lends (--engines; agent::NodeOptions::engines); empty: every engine its
  /// Blender renders here.
  std::vector<std::string> engines = {};
};

/// A worker's session: Start, then Step until stopped (Run does both).
class Worker {
 public:
  /// `services` are the node's manager client, Blender factory and probes (production ones when empty).
  /// `slots` are every slot the node lends (empty: the CPU, unnamed); this worker renders for slots[slot].
  Worker(WorkerOptions options, const std::atomic<bool>& stop, agent::NodeServices services = {},
         std::vector<agent::Device> slots = {}, size_t slot = 0, std::vector<agent::Device> devices = {});
  /// Enrolls, or loads the node's credentials (retrying while the manager is unreachable).
  Result<void> Start();
  /// One turn of the loop: claims a task and runs it, or, with none to do, stops a Blender idle for too long.
  /// An error only when the manager refuses the node.
  Result<void> Step();
  /// Start, then Step until `stop` becomes true.
  Result<void> Run();
  /// The node's session (its warm Blender, its credentials).
  agent::NodeAgent& node() { return node_; }

 private:
  void StopIdleBlender();
  void Fail(int64_t task_id, const std::string& error);
  Result<void> UploadFrame(int64_t task_id, const render::DriverEvent& ev, double cpu_seconds);
  void RunTask(const net::ClaimedTask& task);

  WorkerOptions options_;
  const std::atomic<bool>& stop_;
  agent::NodeAgent node_;
  std::chrono::steady_clock::time_point last_task_end_ = std::chrono::steady_clock::now();
};

/// The machine's devices (asked of it, or read from WorkerOptions::device_answers) and the slots the owner
/// lends of them (WorkerOptions::device).
Result<agent::FoundDevices> FindDevices(const WorkerOptions& options);

/// Runs a worker for each slot the owner lends until `stop` becomes true (the first enrolls, the others share
/// its credentials); each reconnects with backoff while the manager is unreachable.
Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::worker
