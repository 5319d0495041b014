#pragma once
// The ports the domain needs; adapters (src/store, src/blob) implement them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "domain/ledger.hpp"
#include "domain/model.hpp"
#include "domain/object_store.hpp"  // the object-store port
#include "domain/state_machine.hpp"

namespace inferix::domain {

/// What counts against a user's limits (UserLimits): scene bytes stored, queued and active jobs, and the
/// frames of those jobs that are queued, rendering or verifying.
struct UserUsage {
  int64_t stored_bytes = 0;
  int64_t active_jobs = 0;
  int64_t frames_in_flight = 0;
};

/// What a claim can take (Store::ListClaimableTasks).
struct ClaimFilter {
  TaskKind kind = TaskKind::kRender;
  /// The claiming node; 0: any. Otherwise leaves out tasks that exclude it, render tasks of jobs it is
  /// blocklisted on, and checks of its own outputs.
  int64_t node_id = 0;
  /// Verify: the determinism classes the node's builds belong to; checks from level kRegions up of an
  /// output with a class are only of these classes. nullopt: any class.
  std::optional<std::vector<std::string>> classes;
};

/// The claims of one node in a day (Store::NodeClaimsInDay).
struct NodeClaims {
  int64_t count = 0;
  int64_t oldest_hour = 0;  ///< hours since the epoch (ms / kClaimHourMs); 0 when none
};
inline constexpr int64_t kClaimHourMs = 3'600'000;

/// Persistence of every entity: the contract every adapter keeps (SQLite today, PostgreSQL next). The
/// contract suite tests/unit/store/store_contract*.cpp checks it against each adapter; what it does not say
/// is not promised.
///
/// - Calls block; one caller at a time uses one Store (the manager's store thread, or an admin command).
/// - Every call is atomic on its own. `Transaction` groups calls: all or nothing, and no other connection to
///   the same database sees its writes before it commits.
/// - `Create*` store every field of the value except its id, which the store assigns (increasing) and
///   returns; they fail with kInternal when a reference (user, job) does not exist or a unique key repeats.
/// - `Update*` write only the fields named in their comment, by id; an unknown id changes nothing and is not
///   an error. The other fields are fixed at creation.
/// - `Get*`/`Find*` give nullopt for what does not exist; `List*` give an empty list. Lists are in the order
///   their comment says; where one says none, by id.
/// - Batch calls (`GetJobs`, `GetOutputs`, `GetFrames`, `PutFrames`, `CountFramesByJob`, `ListActiveTasks`)
///   exist so that a view or a claim costs one round trip to a database server, not one per row: prefer them
///   to a loop of single reads.
class Store {
 public:
  virtual ~Store() = default;
  /// Runs `fn` in one transaction: committed when it returns Ok, rolled back when it returns an error or
  /// throws (the exception propagates). A Transaction inside `fn` joins the outer one: it commits or rolls
  /// back with it, and its error rolls back everything only if the outer `fn` returns it.
  virtual Result<void> Transaction(const std::function<Result<void>()>& fn) = 0;

  // Users and credentials.
  /// Adds an API token (its hash) to the user of that name, creating the user the first time; the user's id.
  virtual Result<int64_t> CreateUser(const std::string& name, const std::string& token_hash) = 0;
  /// The user of a token that is not revoked (an expired one still finds its user: see FindUserToken).
  virtual Result<std::optional<User>> FindUserByTokenHash(const std::string& token_hash) = 0;
  /// Browser sessions (the dashboard's cookie), by the hash of their secret.
  virtual Result<void> CreateSession(const std::string& token_hash, int64_t user_id, int64_t expires_ms) = 0;
  /// The session's user while it has not expired (expires_ms > now_ms).
  virtual Result<std::optional<User>> FindUserBySession(const std::string& token_hash, int64_t now_ms) = 0;
  /// Ends a session, and removes every expired one.
  virtual Result<void> DeleteSession(const std::string& token_hash, int64_t now_ms) = 0;
  /// A one-time enrollment token for a node of `grant.role`, owned by `grant.owner_id`; a hash already stored
  /// is kInternal.
  virtual Result<void> CreateEnrollment(const std::string& token_hash, const EnrollmentGrant& grant,
                                        int64_t expires_ms) = 0;
  /// What a one-time enrollment token still good at `now_ms` grants, without using it; nullopt when unknown,
  /// used or expired.
  virtual Result<std::optional<EnrollmentGrant>> FindEnrollment(const std::string& token_hash,
                                                                int64_t now_ms) = 0;
  /// Marks a one-time enrollment token used and returns what it grants; nullopt when unknown, used or
  /// expired. Of two concurrent calls with one token, one gets the grant.
  virtual Result<std::optional<EnrollmentGrant>> ConsumeEnrollment(const std::string& token_hash,
                                                                   int64_t now_ms) = 0;

  // Accounts (issue #14): users' roles and limits, their API tokens, the audit log. The contract:
  // tests/unit/store/store_contract_accounts_test.cpp.
  /// The user of that name, or of that id.
  virtual Result<std::optional<User>> FindUserByName(const std::string& name) = 0;
  virtual Result<std::optional<User>> GetUser(int64_t id) = 0;
  /// Every user, by id.
  virtual Result<std::vector<User>> ListUsers() = 0;
  /// Creates a user (name, role, limits) without a token; kInternal when the name is taken.
  virtual Result<int64_t> AddUser(const User& user) = 0;
  /// Writes role and limits; the name is fixed.
  virtual Result<void> UpdateUser(const User& user) = 0;
  /// Adds an API token to `token.user_id` with every field of `token` and the hash of its secret; its id.
  virtual Result<int64_t> AddUserToken(const UserToken& token, const std::string& token_hash) = 0;
  /// The token of that hash with its user, whatever its state: the caller tells expired and revoked ones.
  virtual Result<std::optional<std::pair<User, UserToken>>> FindUserToken(const std::string& token_hash) = 0;
  /// A user's tokens (every user's when `user_id` is 0), by id.
  virtual Result<std::vector<UserToken>> ListUserTokens(int64_t user_id) = 0;
  /// Marks a token revoked at `now_ms`: true when it was not revoked before, false when unknown or revoked.
  virtual Result<bool> RevokeUserToken(int64_t token_id, int64_t now_ms) = 0;
  /// Records a token's use: last_used_ms becomes `now_ms` unless it is later already.
  virtual Result<void> TouchUserToken(int64_t token_id, int64_t now_ms) = 0;
  /// What counts against the user's limits now.
  virtual Result<UserUsage> GetUserUsage(int64_t user_id) = 0;
  /// Appends an entry to the audit log (created_ms as given); its id, increasing.
  virtual Result<int64_t> AppendAudit(const AuditEntry& entry) = 0;
  /// The newest `limit` entries of the audit log, newest first.
  virtual Result<std::vector<AuditEntry>> ListAudit(int limit) = 0;

  // Nodes.
  /// Stores every field of `node` (counters and ban included) with the hash of its token.
  virtual Result<int64_t> CreateNode(const Node& node, const std::string& token_hash) = 0;
  virtual Result<std::optional<Node>> FindNodeByTokenHash(const std::string& token_hash) = 0;
  virtual Result<std::optional<Node>> GetNode(int64_t id) = 0;
  virtual Result<std::vector<Node>> ListNodes() = 0;
  /// The nodes among `ids` that exist, by id (a repeated id gives one node).
  virtual Result<std::vector<Node>> GetNodes(const std::vector<int64_t>& ids) = 0;
  /// Writes name, capabilities_json, banned, ban_reason, det_class, last_seen_ms, accepted, rejected and
  /// streak; role and public_key are fixed.
  virtual Result<void> UpdateNode(const Node& node) = 0;
  /// Records that the node was heard from: last_seen_ms becomes `now_ms` unless it is later already (a late
  /// request never moves it back). Nothing else changes.
  virtual Result<void> TouchNode(int64_t id, int64_t now_ms) = 0;
  /// Records what the node said of its availability (Node::availability and its reason); nothing else
  /// changes.
  virtual Result<void> SetNodeAvailability(int64_t id, const std::string& availability,
                                           const std::string& reason) = 0;

  // Files a user uploaded (scenes are manifests of these).
  /// Idempotent: adding a file the user has already changes nothing.
  virtual Result<void> AddUserFile(int64_t user_id, const std::string& sha256, int64_t size) = 0;
  /// True only for the user who uploaded it: another user's file is not theirs to use.
  virtual Result<bool> UserHasFile(int64_t user_id, const std::string& sha256) = 0;

  // Jobs, frames, tasks, outputs.
  virtual Result<int64_t> CreateJob(const Job& job) = 0;
  virtual Result<std::optional<Job>> GetJob(int64_t id) = 0;
  /// The jobs among `ids` that exist, by id (a repeated id gives one job).
  virtual Result<std::vector<Job>> GetJobs(const std::vector<int64_t>& ids) = 0;
  virtual Result<std::vector<Job>> ListJobs(int64_t user_id) = 0;
  virtual Result<std::vector<Job>> ListJobsInState(JobState state) = 0;
  /// Writes state, message, priority, started_ms, finished_ms, video_state and video_key; what the user
  /// submitted (scene, frames, format, ...) is fixed.
  virtual Result<void> UpdateJob(const Job& job) = 0;

  /// Inserts the frame, or replaces every field of the frame with its job and number.
  virtual Result<void> PutFrame(const Frame& frame) = 0;
  /// PutFrame for each, atomically.
  virtual Result<void> PutFrames(const std::vector<Frame>& frames) = 0;
  virtual Result<std::optional<Frame>> GetFrame(int64_t job_id, int number) = 0;
  /// The job's frames among `numbers` that exist, by number.
  virtual Result<std::vector<Frame>> GetFrames(int64_t job_id, const std::vector<int>& numbers) = 0;
  /// The job's frames, by number.
  virtual Result<std::vector<Frame>> ListFrames(int64_t job_id) = 0;
  /// Frame counts by state of each of the user's jobs that has frames, by job id.
  virtual Result<std::map<int64_t, FrameCounts>> CountFramesByJob(int64_t user_id) = 0;
  /// The job's frames counted by state (all zero for an unknown job). Costs the same for any number of
  /// frames: the adapters keep the counts in the transactions that write frames.
  virtual Result<FrameCounts> CountJobFrames(int64_t job_id) = 0;

  virtual Result<int64_t> CreateTask(const Task& task) = 0;
  virtual Result<std::optional<Task>> GetTask(int64_t id) = 0;
  /// Writes state, frames, node_id, lease_expires_ms, excluded_nodes and message; kind, job, output and
  /// level are fixed.
  virtual Result<void> UpdateTask(const Task& task) = 0;
  // Claims (issue #14: a scheduler that cannot be starved).
  /// Queued tasks of `filter.kind` that may be handed out to `filter.node_id`, highest job priority first,
  /// then oldest: render tasks of queued or active jobs; verify tasks of queued, active or completed jobs (a
  /// delivered frame may be checked again after its job completed, when its worker was caught cheating),
  /// never of failed or canceled ones; filtered as ClaimFilter says, in the query, so that no number of tasks
  /// the node cannot take hides one it can. The `limit` tasks after the first `offset` of that order (a
  /// claim pages through them).
  virtual Result<std::vector<Task>> ListClaimableTasks(const ClaimFilter& filter, int limit,
                                                       int offset = 0) = 0;
  /// Counts one claim of a node in the hour of `now_ms` (hour = now_ms / kClaimHourMs), and forgets the
  /// node's counts of hours that left the day (hours before hour(now_ms) - 23).
  virtual Result<void> CountNodeClaim(int64_t node_id, int64_t now_ms) = 0;
  /// The node's claims counted in the day up to `now_ms` (its current hour and the 23 before), with the
  /// oldest of those hours.
  virtual Result<NodeClaims> NodeClaimsInDay(int64_t node_id, int64_t now_ms) = 0;
  /// Active tasks of banned (or revoked) nodes, by id.
  virtual Result<std::vector<Task>> ListBannedNodesTasks() = 0;
  /// Outputs of banned (or revoked) nodes still waiting for a verdict (pending), by id, at most `limit`.
  virtual Result<std::vector<Output>> ListBannedNodesPendingOutputs(int limit) = 0;
  /// Queued checks that only a verifier of the output's determinism class may take (level kRegions and up,
  /// of a claimable job), counted by the output's class (those of outputs with a class only).
  virtual Result<std::map<std::string, int64_t>> CountClassBoundChecks() = 0;
  /// Active tasks whose lease ended before `now_ms`, by id.
  virtual Result<std::vector<Task>> ListExpiredTasks(int64_t now_ms) = 0;
  /// Active tasks a node holds a lease on, by id.
  virtual Result<std::vector<Task>> ListNodeTasks(int64_t node_id) = 0;
  /// Every active task, by node, then id.
  virtual Result<std::vector<Task>> ListActiveTasks() = 0;
  /// The job's tasks in every state, by id.
  virtual Result<std::vector<Task>> ListJobTasks(int64_t job_id) = 0;

  /// Keeps a worker off a job; idempotent: adding a worker already on the job's list changes nothing (the
  /// first reason stays).
  virtual Result<void> AddToBlocklist(const BlocklistEntry& entry) = 0;
  /// The job's blocklist, oldest first (then by node).
  virtual Result<std::vector<BlocklistEntry>> ListBlocklist(int64_t job_id) = 0;
  /// The jobs a node is kept off, by id.
  virtual Result<std::vector<int64_t>> ListBlocklistedJobs(int64_t node_id) = 0;

  virtual Result<int64_t> CreateOutput(const Output& output) = 0;
  virtual Result<std::optional<Output>> GetOutput(int64_t id) = 0;
  /// The outputs among `ids` that exist, by id.
  virtual Result<std::vector<Output>> GetOutputs(const std::vector<int64_t>& ids) = 0;
  /// The output a task reported for a frame (a task reports each of its frames once).
  virtual Result<std::optional<Output>> FindOutput(int64_t task_id, int frame) = 0;
  /// The job's outputs, by frame, then id.
  virtual Result<std::vector<Output>> ListOutputs(int64_t job_id) = 0;
  /// Writes verdict, verdict_detail, verifier_node_id, verify_seconds, verify_cpu_seconds, preview_key,
  /// method and credited; what the worker reported is fixed.
  virtual Result<void> UpdateOutput(const Output& output) = 0;
  /// A node's outputs, newest first, at most `limit`.
  virtual Result<std::vector<Output>> ListNodeOutputs(int64_t node_id, int limit) = 0;
  /// Every output reported with this SHA-256, oldest first.
  virtual Result<std::vector<Output>> FindOutputsBySha(const std::string& sha256) = 0;

  // Events, kept so a client that reconnects with the last id it saw misses nothing, across restarts too.
  /// Appends an event; ids increase in the order events are appended (committed).
  virtual Result<int64_t> AppendEvent(const Event& event) = 0;
  /// The id of the latest event of the user or of the network (0 when none): where a new event stream starts.
  virtual Result<int64_t> LastEventId(int64_t user_id) = 0;
  /// The user's events after `after_id`, of one job when `job_id` is not 0, oldest first, at most `limit`;
  /// with `network` (and no job), the network's events (kNetworkUser) among them. Never another user's.
  virtual Result<std::vector<Event>> ListEvents(int64_t user_id, int64_t job_id, int64_t after_id, int limit,
                                                bool network) = 0;

  // Retention (issue #14): what the manager's chores remove. Each call does a bounded amount of work (at most
  // `limit` rows), so a chore calls it again on its next round until nothing is left; none of them touches a
  // job that has not ended or a task that is queued or active.
  /// Ended jobs (completed, failed, canceled) that finished before `before_ms` (created, when no finish is
  /// recorded) and have no queued or active task, oldest first, at most `limit`.
  virtual Result<std::vector<Job>> ListExpiredJobs(int64_t before_ms, int limit) = 0;
  /// Removes a job and every row of it: frames, tasks, outputs, events and blocklist entries. The objects
  /// those rows name are the caller's to delete first. kConflict for a job that has not ended or
  /// has a queued or active task; an unknown id changes nothing and is not an error.
  virtual Result<void> DeleteJob(int64_t job_id) = 0;
  /// Rejected outputs reported before `before_ms` whose objects are still recorded (blob_key not empty), that
  /// no frame delivers and no queued or active task works on, oldest first, at most `limit`.
  virtual Result<std::vector<Output>> ListExpiredRejectedOutputs(int64_t before_ms, int limit) = 0;
  /// Records that an output's objects are gone: blob_key and preview_key become empty; the row stays (it is
  /// the node's record and the verdict's evidence).
  virtual Result<void> ForgetOutputObjects(int64_t output_id) = 0;
  /// Removes up to `limit` of the oldest events created before `before_ms`; how many it removed.
  virtual Result<int64_t> DeleteEventsBefore(int64_t before_ms, int limit) = 0;
  /// The highest id of an event that retention removed (DeleteEventsBefore or DeleteJob), 0 when none: a
  /// client resuming after an older id may have missed events.
  virtual Result<int64_t> EventsRemovedThrough() = 0;
  /// Removes up to `limit` sessions that expired at or before `now_ms`; how many it removed.
  virtual Result<int64_t> DeleteExpiredSessions(int64_t now_ms, int limit) = 0;
  /// Removes the user's sessions beyond the `keep` that expire last (the newest); how many it removed.
  virtual Result<int64_t> TrimUserSessions(int64_t user_id, int keep) = 0;
  /// Those of `keys` that an output records as its blob_key or preview_key, in the order of `keys`.
  virtual Result<std::vector<std::string>> ReferencedOutputKeys(const std::vector<std::string>& keys) = 0;

  // Metrics (issue #16): what GET /metrics reads when it is scraped, one query each. The contract:
  // tests/unit/store/store_contract_metrics_test.cpp.
  /// Queued tasks a node could claim (of the jobs ListClaimableTasks takes them from), counted by kind and,
  /// for checks, by the determinism class of the output under check; the class is "" for render tasks and
  /// for outputs without one.
  virtual Result<std::map<std::pair<TaskKind, std::string>, int64_t>> CountQueuedTasks() = 0;
  /// The highest id an event was appended with, those retention removed included (EventsRemovedThrough);
  /// 0 when none: how many events were appended, as a number that never goes down.
  virtual Result<int64_t> MaxEventId() = 0;

  // The credits ledger (issue #18): append-only postings; balances are the sums of their entries. The
  // contract: tests/unit/store/store_contract_ledger_test.cpp.
  /// Books `posting` unless its key was booked before: true when booked, false when the key exists (nothing
  /// changes; the first posting under a key stands). Refused, with nothing booked: a posting that fails
  /// CheckPosting (kInvalidArgument), and one that would take an account other than `issued` below zero
  /// (kConflict naming the account, its balance and the amount), checked against the balances as they are
  /// inside the caller's transaction, so two managers cannot both spend the same credits. Call it in the
  /// transaction of the change that causes it.
  virtual Result<bool> AppendPosting(const Posting& posting) = 0;
  /// The balance of `account`: the sum of its entries (0 for an account never used).
  virtual Result<int64_t> AccountBalance(const Account& account) = 0;
  /// Every account that has entries, with its balance (Entry::amount), by kind then owner: the audit of the
  /// books (they sum to zero).
  virtual Result<std::vector<Entry>> ListBalances() = 0;
  /// The postings with an entry on an account of user `user_id` (0: every posting), of job `job_id` (0: any),
  /// newest first, at most `limit`; each with all its entries.
  virtual Result<std::vector<Posting>> ListPostings(int64_t user_id, int64_t job_id, int limit) = 0;
};

}  // namespace inferix::domain
