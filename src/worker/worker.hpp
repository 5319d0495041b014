#pragma once
// The worker agent: claims render tasks, renders them in a warm sandboxed Blender, uploads and reports each
// frame as soon as it is saved.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/node_agent.hpp"
#include "agent/owner.hpp"
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
  // The machine stays the owner's (agent::OwnerRules; docs/operations.md, "The owner's machine").
  std::string schedule;      ///< --schedule "Mon-Fri 19:00-08:00; Sat-Sun": when work is taken ("": always)
  int busy_cpu_percent = 0;  ///< --busy-cpu: other programs' CPU use that pauses it (0: not watched)
  int busy_gpu_percent = 0;  ///< --busy-gpu: a lent NVIDIA card's use by others that pauses it (0: off)
  int busy_seconds = 10;     ///< --busy-seconds: for this long
  int quiet_seconds = 60;    ///< --quiet-seconds: and below for this long before it takes work again
  /// The render engines the owner lends (--engines; agent::NodeOptions::engines); empty: every engine its
  /// Blender renders here.
  std::vector<std::string> engines = {};
  /// --max-memory: the most memory Blender may hold; above it Blender is stopped and the task fails here, to
  /// be rendered by another worker (0: no cap).
  int64_t max_memory_bytes = 0;
};

class StatusBoard;  // worker/status.hpp

/// A worker's session: Start, then Step until stopped (Run does both).
class Worker {
 public:
  /// `services` are the node's manager client, Blender factory and probes (production ones when empty).
  /// `slots` are every slot the node lends (empty: the CPU, unnamed); this worker renders for slots[slot].
  /// `gate` decides whether work may be taken (null: always) and `board` keeps the owner's status file (null:
  /// none); both are shared by the node's slots.
  Worker(WorkerOptions options, const std::atomic<bool>& stop, agent::NodeServices services = {},
         std::vector<agent::Device> slots = {}, size_t slot = 0, std::vector<agent::Device> devices = {},
         std::shared_ptr<agent::OwnerGate> gate = nullptr, std::shared_ptr<StatusBoard> board = nullptr);
  /// Enrolls, or loads the node's credentials (retrying while the manager is unreachable).
  Result<void> Start();
  /// One turn of the loop: claims a task and runs it, or, with none to do, stops a Blender idle for too long.
  /// An error only when the manager refuses the node.
  Result<void> Step();
  /// Start, then Step until `stop` becomes true.
  Result<void> Run();
  /// The node's session (its warm Blender, its credentials).
  agent::NodeAgent& node() { return node_; }
  /// The machine description it sent (once started).
  const nlohmann::json& capabilities() const { return node_.capabilities(); }

 private:
  void StopIdleBlender();
  void Fail(int64_t task_id, const std::string& error);
  Result<void> UploadFrame(int64_t task_id, const render::DriverEvent& ev, double cpu_seconds);
  void RunTask(const net::ClaimedTask& task);
  // Tells the manager why the node takes no work (or that it takes work again) when that changed; true when
  // work may be taken now.
  bool MayTakeWork();
  // Hands a task back to the manager unfinished (not a failure).
  void HandBack(int64_t task_id, const std::string& reason);

  WorkerOptions options_;
  const std::atomic<bool>& stop_;
  agent::NodeAgent node_;
  size_t slot_ = 0;
  std::shared_ptr<agent::OwnerGate> gate_;
  std::shared_ptr<StatusBoard> board_;
  std::chrono::steady_clock::time_point last_task_end_ = std::chrono::steady_clock::now();
};

/// The owner's rules from the options (a schedule that does not parse is an error naming the mistake).
Result<agent::OwnerRules> OwnerRulesOf(const WorkerOptions& options);

/// The machine's devices (asked of it, or read from WorkerOptions::device_answers) and the slots the owner
/// lends of them (WorkerOptions::device).
Result<agent::FoundDevices> FindDevices(const WorkerOptions& options);

/// Runs a worker for each slot the owner lends until `stop` becomes true (the first enrolls, the others share
/// its credentials); each reconnects with backoff while the manager is unreachable.
Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::worker
