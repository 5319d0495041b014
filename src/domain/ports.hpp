#pragma once
// The ports the domain needs; adapters (src/store, src/blob) implement them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "domain/object_store.hpp"  // the object-store port

namespace inferix::domain {

/// Persistence of every entity. Calls block; the manager makes them from its single store thread.
class Store {
 public:
  virtual ~Store() = default;
  /// Runs `fn` in one transaction: committed when it returns Ok, rolled back otherwise.
  virtual Result<void> Transaction(const std::function<Result<void>()>& fn) = 0;

  // Users and credentials.
  virtual Result<int64_t> CreateUser(const std::string& name, const std::string& token_hash) = 0;
  virtual Result<std::optional<User>> FindUserByTokenHash(const std::string& token_hash) = 0;
  /// Browser sessions (the dashboard's cookie), by the hash of their secret.
  virtual Result<void> CreateSession(const std::string& token_hash, int64_t user_id, int64_t expires_ms) = 0;
  /// The session's user while it has not expired.
  virtual Result<std::optional<User>> FindUserBySession(const std::string& token_hash, int64_t now_ms) = 0;
  /// Ends a session, and removes every expired one.
  virtual Result<void> DeleteSession(const std::string& token_hash, int64_t now_ms) = 0;
  virtual Result<void> CreateEnrollment(const std::string& token_hash, NodeRole role, int64_t expires_ms) = 0;
  /// The role of a one-time enrollment token still good at `now_ms`, without using it; nullopt when unknown,
  /// used or expired.
  virtual Result<std::optional<NodeRole>> FindEnrollment(const std::string& token_hash, int64_t now_ms) = 0;
  /// Marks a one-time enrollment token used and returns its role; nullopt when unknown, used or expired.
  virtual Result<std::optional<NodeRole>> ConsumeEnrollment(const std::string& token_hash,
                                                            int64_t now_ms) = 0;

  // Nodes.
  virtual Result<int64_t> CreateNode(const Node& node, const std::string& token_hash) = 0;
  virtual Result<std::optional<Node>> FindNodeByTokenHash(const std::string& token_hash) = 0;
  virtual Result<std::optional<Node>> GetNode(int64_t id) = 0;
  virtual Result<std::vector<Node>> ListNodes() = 0;
  virtual Result<void> UpdateNode(const Node& node) = 0;
  /// Records that the node was heard from (its last_seen_ms), and nothing else.
  virtual Result<void> TouchNode(int64_t id, int64_t now_ms) = 0;

  // Files a user uploaded (scenes are manifests of these).
  virtual Result<void> AddUserFile(int64_t user_id, const std::string& sha256, int64_t size) = 0;
  virtual Result<bool> UserHasFile(int64_t user_id, const std::string& sha256) = 0;

  // Jobs, frames, tasks, outputs.
  virtual Result<int64_t> CreateJob(const Job& job) = 0;
  virtual Result<std::optional<Job>> GetJob(int64_t id) = 0;
  virtual Result<std::vector<Job>> ListJobs(int64_t user_id) = 0;
  virtual Result<std::vector<Job>> ListJobsInState(JobState state) = 0;
  virtual Result<void> UpdateJob(const Job& job) = 0;

  virtual Result<void> PutFrame(const Frame& frame) = 0;  ///< insert or replace
  virtual Result<std::optional<Frame>> GetFrame(int64_t job_id, int number) = 0;
  virtual Result<std::vector<Frame>> ListFrames(int64_t job_id) = 0;

  virtual Result<int64_t> CreateTask(const Task& task) = 0;
  virtual Result<std::optional<Task>> GetTask(int64_t id) = 0;
  virtual Result<void> UpdateTask(const Task& task) = 0;
  /// Queued tasks of `kind` whose job is queued or active, highest job priority first, then oldest.
  virtual Result<std::vector<Task>> ListClaimableTasks(TaskKind kind, int limit) = 0;
  /// Active tasks whose lease ended before `now_ms`.
  virtual Result<std::vector<Task>> ListExpiredTasks(int64_t now_ms) = 0;
  /// Tasks a node holds a lease on now.
  virtual Result<std::vector<Task>> ListNodeTasks(int64_t node_id) = 0;
  virtual Result<std::vector<Task>> ListJobTasks(int64_t job_id) = 0;

  /// Keeps a worker off a job; adding a worker already on the job's list changes nothing.
  virtual Result<void> AddToBlocklist(const BlocklistEntry& entry) = 0;
  /// The job's blocklist, oldest first.
  virtual Result<std::vector<BlocklistEntry>> ListBlocklist(int64_t job_id) = 0;

  virtual Result<int64_t> CreateOutput(const Output& output) = 0;
  virtual Result<std::optional<Output>> GetOutput(int64_t id) = 0;
  virtual Result<std::optional<Output>> FindOutput(int64_t task_id, int frame) = 0;
  virtual Result<std::vector<Output>> ListOutputs(int64_t job_id) = 0;
  virtual Result<void> UpdateOutput(const Output& output) = 0;
  /// A node's outputs, newest first.
  virtual Result<std::vector<Output>> ListNodeOutputs(int64_t node_id, int limit) = 0;
  /// Every output reported with this SHA-256, oldest first.
  virtual Result<std::vector<Output>> FindOutputsBySha(const std::string& sha256) = 0;

  // Events, kept so a client that reconnects with the last id it saw misses nothing, across restarts too.
  virtual Result<int64_t> AppendEvent(const Event& event) = 0;
  /// The id of the latest event of the user or of the network (0 when none): where a new event stream starts.
  virtual Result<int64_t> LastEventId(int64_t user_id) = 0;
  /// The user's events after `after_id`, of one job when `job_id` is not 0, oldest first; with `network` (and
  /// no job), the network's events (kNetworkUser) among them.
  virtual Result<std::vector<Event>> ListEvents(int64_t user_id, int64_t job_id, int64_t after_id, int limit,
                                                bool network) = 0;
};

}  // namespace inferix::domain
