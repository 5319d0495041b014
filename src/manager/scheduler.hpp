#pragma once
// The manager's core: jobs, claims and leases, per-frame reports, verification tasks and verdicts.
// Runs on the store thread only; every operation is one store transaction.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/model.hpp"
#include "domain/ports.hpp"
#include "domain/settlement.hpp"
#include "domain/trust.hpp"
#include "domain/verification.hpp"
#include "manager/census.hpp"

namespace inferix::manager {

/// Timing policy; short values in tests.
struct SchedulerOptions {
  int64_t lease_ms = 60'000;      ///< a task's lease, renewed by heartbeats and reports
  int64_t heartbeat_ms = 10'000;  ///< how often nodes are asked to heartbeat
  domain::TrustPolicy trust;      ///< which outputs are checked, escalation, bans
  uint64_t seed = 0;              ///< spot-check draws; 0: from the system's random device
  int max_frame_failures =
      3;                    ///< failed renders of a frame (on different workers where there are) that fail it
  int blocklist_after = 3;  ///< failed tasks of one job that keep a worker off that job
  int max_node_tasks =
      2;  ///< tasks one node may hold at once (a worker renders one; a restart may leave one)
  int64_t max_node_claims_per_day = 50'000;  ///< claims of one node in a day (a rolling 24 hours)
  /// A render task's lease is renewed only while it shows progress (a frame reported, its node's progress
  /// counter rising); this long after the last progress, heartbeats no longer keep it and it expires.
  int64_t stall_ms = 600'000;
  /// A verifier counts for the classes it checks while heard from within this long (the manager: a long
  /// poll and a lease, when the workers page calls it offline); 0: whenever it was last heard from. Render
  /// work whose outputs no counted verifier could check is held back (ClaimTask).
  int64_t verifier_seen_ms = 0;
};

/// Why a node gets no task whatever waits: one of its caps (SchedulerOptions).
struct ClaimRefusal {
  std::string code;           ///< "tasks_in_flight" or "daily_claims"
  std::string reason;         ///< for the node's log: what, the cap, what to do
  int64_t retry_after_s = 0;  ///< when asking again may succeed
};

/// A verifier's report on one verify task.
struct VerdictReport {
  std::string verdict;  ///< "accepted", "rejected" or "inconclusive"
  std::string detail;
  double verify_seconds = 0.0;
  double verify_cpu_seconds = 0.0;
  std::string method_json = "{}";        ///< the verifier's account: layers, regions compared
  std::optional<bool> matches_original;  ///< replica checks: does the original output equal this render
};

/// Classes of outputs whose checks wait with no verifier that may take them (ClassesWithoutVerifier).
struct WaitingClass {
  std::string det_class;
  int64_t checks = 0;   ///< queued checks only a verifier of this class may take
  int64_t workers = 0;  ///< workers (not banned) that render in this class: their renders of it are held back
};

/// The determinism classes with checks waiting, or workers rendering in them, and no registered verifier
/// (not banned) of that class: the operator's view of outputs no one can verify and of work held back for
/// want of a verifier (`inferix admin checks`). By class.
Result<std::vector<WaitingClass>> ClassesWithoutVerifier(domain::Store& store);

/// A claimed task with everything a node needs.
struct Claim {
  domain::Task task;
  domain::Job job;
  std::optional<domain::Output> output;    ///< verify tasks: the output under check
  std::optional<domain::Output> original;  ///< replica checks: the output the second render settles
  std::string build;  ///< the version of the node's Blender build that renders or checks it ("3.4.1")
};

/// Heartbeat answers.
enum class HeartbeatAction { kContinue, kCancel, kAbort };

/// What a frame report changed.
/// What became of a frame report: recorded (its check queued), a repeat of one recorded, or recorded and
/// rejected at once because the stored bytes are not those its signed report names (`forged`).
enum class ReportOutcome { kAccepted, kDuplicate, kForged };

/// Records the network's event that a worker or verifier changed (joined, took or ended work, its counts or
/// ban): `worker` {"worker_id"}, for every user who follows the network (GET /events?workers=1).
Result<void> AppendWorkerEvent(domain::Store& store, int64_t node_id, int64_t now_ms);

/// The job and task state machines applied to the store.
class Scheduler {
 public:
  Scheduler(domain::Store& store, const Clock& clock, SchedulerOptions options)
      : store_(store),
        clock_(clock),
        options_(options),
        rng_(options.seed != 0 ? Random(options.seed) : Random()) {}

  /// Creates a job for `user_id` from a request (checked; files must be the user's own uploads).
  Result<domain::Job> CreateJob(int64_t user_id, domain::Job job);
  /// Cancels a job and its unfinished tasks and frames.
  Result<domain::Job> CancelJob(const domain::Job& job, const std::string& why);

  /// Gives `node` the best queued task for its role, or nullopt. `cached_files` are scene file hashes the
  /// node already holds: jobs whose main file is among them come first.
  /// A node at one of its caps (ClaimCaps) gets nothing. The tasks it cannot take (another class's checks, a
  /// job it is kept off) are left out by the store's query, however many wait ahead of one it can.
  /// `slot` is the node's slot (device) that asks ("": its first, or its only one): the task records it, a
  /// check is one of that slot's class, and the outputs it renders are of that slot's class. A slot the node
  /// did not register is kInvalidArgument. A render whose outputs no verifier could check now (Unverifiable)
  /// is held back: the worker gets nothing for it, as when no work waits, until such a verifier joins.
  Result<std::optional<Claim>> ClaimTask(const domain::Node& node,
                                         const std::vector<std::string>& cached_files,
                                         const std::string& slot = "");
  /// The cap that keeps `node` from claiming now, if any: its tasks in flight (max_node_tasks, plus one for
  /// each slot it lends beyond the first) or its claims in the last day (max_node_claims_per_day).
  Result<std::optional<ClaimRefusal>> ClaimCaps(const domain::Node& node);
  /// Renews the lease of a task the node holds while it shows progress: `progress` is the node's counter
  /// for the task (render events seen); a value above the last one counts as progress. Without progress for
  /// stall_ms the lease is no longer renewed, and it expires.
  Result<HeartbeatAction> Heartbeat(const domain::Node& node, int64_t task_id,
                                    std::optional<int64_t> progress = std::nullopt);
  /// Records a rendered frame (already uploaded under `blob_key`) and queues its verification.
  /// Decides how it is checked: every output of a new worker, spot checks of trusted ones (CheckRate), the
  /// rest layer 1 only. A non-empty `forged` says why the bytes stored under `blob_key` are not those the
  /// node's signed report names (their SHA-256 differs): the output is recorded and rejected at once, as a
  /// check would (the frame goes to another worker, the rejection counts towards a ban); a replica check's
  /// forged report is refused (kConflict) without being recorded.
  Result<ReportOutcome> ReportFrame(const domain::Node& node, int64_t task_id, int frame,
                                    const std::string& sha256, const std::string& blob_key,
                                    double render_seconds, double render_cpu_seconds = 0.0,
                                    const std::string& forged = "");
  /// Ends a render task; frames it did not report go back to the queue.
  Result<void> CompleteTask(const domain::Node& node, int64_t task_id);
  /// Records a failed render task with the renderer's error (retries.cpp). Its frames go back to the queue,
  /// kept off this worker while another live worker can take them; after `max_frame_failures` a frame fails
  /// the job with every attempt's error. A worker that failed `blocklist_after` tasks of the job is kept off
  /// the job (its owner is told why); when no live worker is left for the job, the job fails.
  Result<void> FailTask(const domain::Node& node, int64_t task_id, const std::string& error);
  /// A node hands back a task it holds, unfinished and not failed (its owner needs the machine, or it is
  /// stopping): the task ends canceled with `reason`; a render task's frames not reported yet are queued
  /// again with no failure counted (neither retries nor the blocklist see it); a verify task or second render
  /// is offered again. A task already handed back is answered as the first time.
  Result<void> ReleaseTask(const domain::Node& node, int64_t task_id, const std::string& reason);
  /// Records what a node says of its availability (domain::Node::availability) and tells the workers page.
  Result<void> SetAvailability(const domain::Node& node, const std::string& availability,
                               const std::string& reason);
  /// Records a verifier's verdict on the output of a verify task: "accepted", "rejected" or "inconclusive".
  /// Accepted outputs are delivered and credited; a rejection re-renders the frame elsewhere, discards the
  /// worker's other undelivered outputs, tells users which delivered frames came from it, resets its trust
  /// and bans it after repeated rejections; an inconclusive check escalates (more regions, then a second
  /// worker's render), never guesses.
  Result<void> RecordVerdict(const domain::Node& verifier, int64_t task_id, const VerdictReport& report);
  Result<void> RecordVerdict(const domain::Node& verifier, int64_t task_id, const std::string& verdict,
                             const std::string& detail, double verify_seconds) {
    return RecordVerdict(verifier, task_id, VerdictReport{verdict, detail, verify_seconds, 0.0, "{}", {}});
  }
  /// Expires leases: render frames not reported go back to the queue; verify tasks are offered again. Also
  /// ends the work of nodes banned or revoked since (ReleaseBannedWork).
  Result<int> ExpireLeases();
  /// Ends the work of banned or revoked nodes (scheduler_banned.cpp): their leases end now, and their outputs
  /// still waiting for a check are discarded (their checks canceled) and their frames rendered elsewhere, so
  /// that no frame waits on a check no verifier may take. Returns the tasks and outputs it ended.
  Result<int> ReleaseBannedWork();

  /// Records an event for the job's owner.
  Result<void> Emit(const domain::Job& job, const std::string& type, const std::string& data_json);
  /// Records the network's event that a node changed (AppendWorkerEvent).
  Result<void> WorkerChanged(int64_t node_id);
  /// Called (on the store thread, inside the transaction) when a frame is delivered and when a job completes;
  /// the manager hands the work (previews, video) to its post-processing thread.
  void SetHooks(std::function<void(const domain::Job&, const domain::Output&)> on_frame_delivered,
                std::function<void(const domain::Job&)> on_job_completed) {
    on_frame_delivered_ = std::move(on_frame_delivered);
    on_job_completed_ = std::move(on_job_completed);
  }

  /// Called after the transaction that queued tasks (new, or handed back) commits, with how many of each kind
  /// (or right after the write, outside a transaction): the manager wakes as many waiting claims.
  void OnTasksQueued(std::function<void(domain::TaskKind, int)> fn) { on_tasks_queued_ = std::move(fn); }

  /// Why no registered worker (not banned) can render `job` now (scheduler_census.cpp): what its user
  /// requires and what the workers lend; the scene's engine, which none renders; or the classes of the
  /// workers that could, which no verifier checks (their renders are held back). "" when one can, or no
  /// worker is registered and the job requires nothing.
  Result<std::string> NoWorkerFor(const domain::Job& job);
  /// Why the outputs `worker` would render in class `det_class` of a scene of `engine` could not be checked
  /// now (census.hpp): no verifier of the class (for a worker whose outputs may get regions re-rendered:
  /// CheckRate above 0; else any verifier), or none that renders the engine, heard from within
  /// verifier_seen_ms. "" when they could.
  std::string Unverifiable(const domain::Node& worker, const std::string& det_class,
                           const std::string& engine, const Census& census) const;
  /// The farm as last read (census.hpp): read again after kCensusMs, or after NodesChanged. Called outside a
  /// transaction (a read inside one would lock every node's row on PostgreSQL).
  Result<std::shared_ptr<const Census>> FarmCensus();
  /// A node of `role` joined, changed what it lends, or was banned: the census is read again at the next
  /// claim. A verifier's change also wakes the waiting render claims (work held back for its class may
  /// flow), after the running transaction commits.
  void NodesChanged(domain::NodeRole role);

  /// Checks that the node holds an active lease on the task.
  Result<domain::Task> HeldTask(const domain::Node& node, int64_t task_id);
  /// The task a node reports the end of: nullopt when the node already ended it in state `ended` (a repeated
  /// report, answered as the first was); kNotFound, or kConflict when the node does not hold its lease.
  Result<std::optional<domain::Task>> EndingTask(const domain::Node& node, int64_t task_id,
                                                 domain::TaskState ended);
  const SchedulerOptions& options() const { return options_; }

 private:
  /// Runs `fn` in one store transaction and appends the events it recorded at its end, after its row locks
  /// (scheduler_events.cpp). Nested calls join the outer one.
  Result<void> Atomically(const std::function<Result<void>()>& fn);
  /// Appends `event` now, or at the end of the running Atomically.
  Result<void> Record(domain::Event event);
  /// store_.CreateTask and store_.UpdateTask, counting the tasks they leave queued for OnTasksQueued.
  Result<int64_t> InsertTask(const domain::Task& task);
  Result<void> WriteTask(const domain::Task& task);
  /// Tells OnTasksQueued what was queued (after the commit), and forgets it.
  void TellQueued();
  /// Saves a node's counts, trust or ban, and tells the network.
  Result<void> SaveNode(const domain::Node& node);
  Result<void> RequeueFrames(const domain::Job& job, const std::vector<int>& frames,
                             const std::vector<int64_t>& excluded);
  Result<void> UpdateJobState(int64_t job_id);
  Result<void> QueueCheck(const domain::Output& out, int level);
  /// Ends a render task in state `end` (done, or failed when its node will not finish it: lease expired, node
  /// banned): its unreported frames go back to the queue, kept away from `excluded`.
  Result<void> ReleaseRenderTask(domain::Task& task, domain::TaskState end, const std::string& why,
                                 const std::vector<int64_t>& excluded);
  /// Settles an output (domain::Settle): the one place the manager changes a verdict or a credit, where the
  /// credits ledger will book what changed.
  Result<void> Settled(const domain::Job& job, domain::Output& out, domain::Settlement settlement,
                       std::string_view reason);
  /// Accepts or trusts an output (`settlement`) and delivers its frame when the frame waits for it.
  Result<void> Deliver(const domain::Job& job, domain::Output& out, domain::Settlement settlement);
  Result<void> Reject(const domain::Job& job, domain::Output& out, const std::string& why, bool requeue);
  Result<void> Discard(domain::Node& worker, const domain::Output& caught);
  /// Discards a banned node's output still waiting for its check, cancels its checks, and renders its frame
  /// elsewhere (scheduler_banned.cpp).
  Result<void> DiscardOfBanned(domain::Output& out, const std::string& why);
  Result<void> CountRejection(domain::Node& worker, const domain::Job& job, const domain::Output& out,
                              const std::string& why);
  Result<void> Escalate(const domain::Job& job, const domain::Task& task, domain::Output& out);
  Result<void> NewReplica(const domain::Job& job, const domain::Output& original);
  Result<void> ReplicaEnded(const domain::Task& task);
  Result<void> SettleReplica(const domain::Job& job, domain::Output& replica, domain::CheckVerdict verdict,
                             const VerdictReport& report);
  Result<void> FailFrame(const domain::Job& job, int frame, int64_t output_id, const std::string& why);
  Result<void> CancelOpenTasks(int64_t job_id, const std::string& why);
  /// Live workers (seen within a lease) that may still render for `job`: not banned, not on its blocklist,
  /// not in `excluded`.
  Result<std::vector<domain::Node>> EligibleWorkers(const domain::Job& job,
                                                    const std::vector<int64_t>& excluded);
  Result<void> MaybeBlocklist(const domain::Node& node, domain::Job& job, const std::string& error);

  domain::Store& store_;
  const Clock& clock_;
  SchedulerOptions options_;
  Random rng_;
  std::function<void(const domain::Job&, const domain::Output&)> on_frame_delivered_;
  std::function<void(const domain::Job&)> on_job_completed_;
  std::function<void(domain::TaskKind, int)> on_tasks_queued_;
  std::map<domain::TaskKind, int> queued_;     ///< tasks queued in the running Atomically
  int depth_ = 0;                              ///< Atomically calls running
  std::vector<domain::Event> pending_events_;  ///< recorded in the running Atomically, appended at its end
  std::shared_ptr<const Census> census_;       ///< FarmCensus; null: to be read
};

}  // namespace inferix::manager
