#pragma once
// What a running worker tells its owner (`inferix worker status`): a status file in its data folder
// (status.json), rewritten as its state changes: whether it takes work and why not, what each slot renders,
// and its latest frames. The command adds what the manager knows (GET /nodes/me: verdicts, trust).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/devices.hpp"
#include "agent/owner.hpp"
#include "core/result.hpp"

namespace inferix::worker {

/// The status file of a running worker, shared by its slots.
class StatusBoard {
 public:
  StatusBoard(const std::filesystem::path& data_dir, const std::vector<agent::Device>& devices,
              const std::vector<agent::Device>& slots, std::string manager_url);
  void SetState(const agent::OwnerState& state);
  /// Slot `slot` claimed `task_id` (job, frames); 0: it holds none.
  void SlotTask(size_t slot, int64_t task_id, int64_t job_id, const std::vector<int>& frames);
  /// A frame was uploaded and reported.
  void FrameDone(int64_t task_id, int64_t job_id, int frame, double render_seconds);
  /// A task was handed back, with why.
  void HandedBack(int64_t task_id, const std::string& reason);
  /// Rewrites the file when it is older than a few seconds (it shows the worker alive).
  void Touch();

 private:
  void WriteLocked();

  std::filesystem::path file_;
  std::mutex mu_;
  nlohmann::json status_;
  std::deque<nlohmann::json> recent_;
  int64_t written_ms_ = 0;
};

/// The status file of the worker with this data folder; nullopt when there is none.
Result<std::optional<nlohmann::json>> ReadStatus(const std::filesystem::path& data_dir);
/// Whether the status file's worker still runs (its process exists and it wrote the file lately).
bool StatusIsLive(const nlohmann::json& status);
/// What the manager knows of this data folder's node (GET /nodes/me with its credentials, node.json).
Result<nlohmann::json> ManagerView(const std::filesystem::path& data_dir, const std::string& ca_file);
/// The owner's view in words: the local status (may be null: no status file) and the manager's (GET
/// /nodes/me; may be null: not reachable, with `manager_error` saying why).
std::string DescribeStatus(const nlohmann::json& local, const nlohmann::json& manager,
                           const std::string& manager_error);

}  // namespace inferix::worker
