#pragma once
// The network's entities. Plain values: the store persists them, the state machines change them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inferix::domain {

/// A job's life: queued until a frame starts, active while frames render, then one of the final states.
enum class JobState { kQueued, kActive, kCompleted, kFailed, kCanceled };
/// A task's life: queued, held by one node under a lease, then done, failed (incl. lease expired) or
/// canceled.
enum class TaskState { kQueued, kActive, kDone, kFailed, kCanceled };
/// Render tasks go to workers, verify tasks to verifiers.
enum class TaskKind { kRender, kVerify };
/// A frame's life: queued -> rendering -> verifying -> delivered (or back to queued when rejected or lost).
enum class FrameState { kQueued, kRendering, kVerifying, kDelivered, kFailed, kCanceled };
/// DESIGN.md section 6 verdicts.
enum class Verdict { kPending, kAccepted, kTrusted, kRejected };
/// What a node does.
enum class NodeRole { kWorker, kVerifier };
/// Output image formats.
enum class OutputFormat { kPng, kExr, kJpeg };

/// One file of a scene's manifest, stored by content hash.
struct SceneFile {
  std::string path;  ///< relative to the job's scene root, e.g. "shots/a.blend", "textures/wood.png"
  std::string sha256;
  int64_t size = 0;
};

/// What a user may do beyond their own jobs: an operator also sees every node's details (host name,
/// hardware, online times, ban reasons, check rates) and may give any job priority.
enum class UserRole { kUser, kOperator };

/// A user's own limits, each set by the operator (`inferix admin user set`); std::nullopt: the manager's
/// default (its flags). For the sizes and counts, 0 means no limit.
struct UserLimits {
  std::optional<int> max_priority;          ///< highest priority the user may give a job
  std::optional<int64_t> stored_bytes;      ///< bytes of scene files the user has uploaded
  std::optional<int64_t> active_jobs;       ///< the user's queued and active jobs
  std::optional<int64_t> frames_per_job;    ///< frames of one job
  std::optional<int64_t> frames_in_flight;  ///< frames of the user's jobs not yet delivered or ended
};

/// A person who submits jobs.
struct User {
  int64_t id = 0;
  std::string name;
  UserRole role = UserRole::kUser;
  UserLimits limits;
};

/// One of a user's API tokens; the store keeps the hash of its secret, never the secret.
struct UserToken {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string label;         ///< what the operator called it ("laptop", "ci")
  int64_t created_ms = 0;    ///< 0 for tokens made before tokens had times
  int64_t expires_ms = 0;    ///< 0: never
  int64_t last_used_ms = 0;  ///< last request with it (recorded at most once a minute); 0: never
  int64_t revoked_ms = 0;    ///< 0: not revoked
};

/// One line of the audit log: an operator's action on users, tokens, quotas or nodes.
struct AuditEntry {
  int64_t id = 0;
  int64_t created_ms = 0;
  std::string actor;   ///< who: "admin:<login name>" for the admin commands
  std::string action;  ///< what: "user.created", "user.role", "user.limits", "token.created", ...
  std::string target;  ///< on what: "user alice", "token 3 of alice", "node 7 (gpu-box)"
  std::string detail;  ///< the new values, the reason
};

inline std::string_view ToString(UserRole r) { return r == UserRole::kOperator ? "operator" : "user"; }
/// "user" or "operator"; std::nullopt for another name.
inline std::optional<UserRole> ParseUserRole(std::string_view s) {
  if (s == "user") return UserRole::kUser;
  if (s == "operator") return UserRole::kOperator;
  return std::nullopt;
}

/// What a job requires of the slot that renders it, beyond what its scene needs (RenderNeeds): set by its
/// user. A render task goes only to a slot that meets them all.
struct JobRequirements {
  /// "" (any), "cpu", "gpu" (any GPU), or a Cycles device type in lower case: "cuda", "optix", "hip",
  /// "oneapi".
  std::string device;
  int64_t min_gpu_memory_bytes = 0;  ///< a GPU with at least this much memory (0: no minimum)
  int blender_min = 0;               ///< a Blender build at least this version, major * 100 + minor (0: any)
  int blender_max = 0;               ///< at most this version, major * 100 + minor (0: any)
  bool operator==(const JobRequirements&) const = default;
};

/// A render job: one scene, a set of frames, one output format.
struct Job {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string main_file;  ///< path of the .blend within `files`
  std::vector<SceneFile> files;
  /// The folder on the artist's computer that `files` are relative to (their project, or higher when files
  /// lie outside it); workers show the files there, so every path in the scene resolves as on the artist's
  /// computer. Empty (jobs of older clients): relative to the main file's folder, shown where the worker
  /// keeps it.
  std::string scene_root;
  int blender_version =
      0;  ///< the Blender that saved the main file (its header), major * 100 + minor; 0: unknown
  std::vector<std::string> denoisers;  ///< what the scene's render asks for ("OPENIMAGEDENOISE", "OPTIX")
  bool without_denoiser = false;       ///< the user accepted frames rendered with denoising off
  JobRequirements requirements;        ///< what its user requires of the slot that renders it
  /// The scene's render engine as preflight read it ("CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH", an
  /// add-on's); "" when unknown (jobs of older clients): then any worker renders it.
  std::string engine;
  int resolution_percentage = 0;  ///< 1-100: rendered at that share of the scene's resolution; 0: its own
  std::string frames_spec;
  OutputFormat format = OutputFormat::kPng;
  int chunk_size = 1;
  int priority = 0;
  double fps = 24.0;  ///< the scene's frame rate, for the video
  JobState state = JobState::kQueued;
  std::string message;      ///< why it failed or was canceled
  std::string video_state;  ///< "", "pending", "ready" or "failed"
  std::string video_key;    ///< blob of the assembled MP4 when ready
  int64_t created_ms = 0;
  int64_t started_ms = 0;  ///< when its first frame began rendering; 0 before
  int64_t finished_ms = 0;
};

/// A unit of work held by one node at a time under a lease.
struct Task {
  int64_t id = 0;
  int64_t job_id = 0;
  TaskKind kind = TaskKind::kRender;
  TaskState state = TaskState::kQueued;
  std::vector<int> frames;  ///< render: the chunk; verify: the one frame
  int64_t output_id = 0;    ///< verify: the output under check
  int64_t node_id = 0;      ///< lease holder (0: none)
  int64_t lease_expires_ms = 0;
  std::vector<int64_t>
      excluded_nodes;  ///< nodes that may not take this task (e.g. rejected for these frames)
  /// Verify: how far the check of the output is escalated (CheckLevel). Render: kReplica when the task
  /// renders a frame again to settle the check of output `output_id`, 0 otherwise.
  int level = 0;
  std::string message;  ///< why it failed
  int64_t created_ms = 0;
  /// Render: the highest progress counter its node reported (heartbeats), and when the task last showed
  /// progress (claimed, a frame reported, the counter rose): its lease is not renewed long after that.
  int64_t progress = 0;
  int64_t progress_ms = 0;
  /// Render and verify: the slot of its node that holds it (the device it runs on: "cpu", "cuda:0"); its
  /// outputs' determinism class follows that device. "" for a node that has one slot and did not name it.
  std::string slot;
};

/// One frame of a job.
struct Frame {
  int64_t job_id = 0;
  int number = 0;
  FrameState state = FrameState::kQueued;
  int64_t task_id = 0;                  ///< the render task it belongs to now
  int64_t output_id = 0;                ///< the output under verification or delivered
  int failures = 0;                     ///< failed render attempts
  std::string errors;                   ///< every failed attempt's error, one per line
  std::vector<int64_t> excluded_nodes;  ///< nodes whose output for this frame was rejected
};

/// One rendered image a worker reported, with its verification.
struct Output {
  int64_t id = 0;
  int64_t job_id = 0;
  int frame = 0;
  int64_t task_id = 0;
  int64_t node_id = 0;
  std::string blob_key;
  std::string sha256;
  double render_seconds = 0.0;
  Verdict verdict = Verdict::kPending;
  std::string verdict_detail;  ///< method and findings: layers, regions, differences
  int64_t verifier_node_id = 0;
  double verify_seconds = 0.0;
  std::string preview_key;          ///< blob of the display-referred thumbnail, once made
  double render_cpu_seconds = 0.0;  ///< CPU the worker's Blender spent on it, as the worker reported
  double verify_cpu_seconds = 0.0;  ///< CPU the verifiers' checks of it spent, as they reported
  std::string det_class;            ///< determinism class of the worker that rendered it
  std::string method;               ///< JSON: how the verdict was reached (level, layers, regions, verifier)
  bool credited = false;            ///< the worker earns for it (accepted or trusted, and delivered)
  int64_t replica_of = 0;           ///< a second worker's render made to settle the check of that output
  int64_t created_ms = 0;
};

/// A worker kept off one job after failing several of its tasks (Flamenco's job blocklist).
struct BlocklistEntry {
  int64_t job_id = 0;
  int64_t node_id = 0;
  std::string reason;  ///< shown to the job's owner
  int64_t created_ms = 0;
};

/// The user id of the network's events, which every user may follow: workers joining, taking and ending
/// work, their counts changing (`worker`). They name no job and no user.
inline constexpr int64_t kNetworkUser = 0;

/// Something users are told about (job and frame changes, verdicts, the video), in order of `id`.
struct Event {
  int64_t id = 0;
  int64_t user_id = 0;  ///< kNetworkUser for the network's events
  int64_t job_id = 0;
  std::string type;  ///< "job", "frame", "preview", "video", "blocklist"; "worker" for the network's
  std::string data;  ///< JSON object
  int64_t created_ms = 0;
};

/// A worker or verifier machine.
struct Node {
  int64_t id = 0;
  std::string name;
  NodeRole role = NodeRole::kWorker;
  std::string public_key;         ///< Ed25519, hex: signs the node's reports
  std::string capabilities_json;  ///< CPU, memory, GPUs, Blender version, as the node described itself
  bool banned = false;
  std::string ban_reason;  ///< told to the node and to operators
  std::string det_class;   ///< determinism class: Blender version and build, CPU architecture, device
  int64_t last_seen_ms = 0;
  int accepted = 0;
  int rejected = 0;
  int streak = 0;  ///< consecutive accepted checks since the last rejection (adaptive trust)
  /// Why the node takes no work now, as it last said (issue #17): "" (it takes work), "paused", "draining",
  /// "outside hours" or "owner busy"; with its reason in words.
  std::string availability;
  std::string availability_reason;
  /// The user who owns the machine (`inferix admin enroll create --owner`): sees it on the dashboard's
  /// "My nodes" page and, with issue #18, earns for its verified work. 0: nobody's.
  int64_t owner_id = 0;
};

/// What a one-time enrollment token grants: a node of `role`, owned by user `owner_id` (0: nobody's).
struct EnrollmentGrant {
  NodeRole role = NodeRole::kWorker;
  int64_t owner_id = 0;
};

/// Names used in the API and the database.
std::string_view ToString(JobState s);
std::string_view ToString(TaskState s);
std::string_view ToString(TaskKind k);
std::string_view ToString(FrameState s);
std::string_view ToString(Verdict v);
std::string_view ToString(NodeRole r);
std::string_view ToString(OutputFormat f);
/// Parses the names above; std::nullopt for an unknown name.
std::optional<JobState> ParseJobState(std::string_view s);
std::optional<TaskState> ParseTaskState(std::string_view s);
std::optional<TaskKind> ParseTaskKind(std::string_view s);
std::optional<FrameState> ParseFrameState(std::string_view s);
std::optional<Verdict> ParseVerdict(std::string_view s);
std::optional<NodeRole> ParseNodeRole(std::string_view s);
/// Accepts "PNG", "EXR"/"OPEN_EXR", "JPEG"/"JPG" in any case.
std::optional<OutputFormat> ParseOutputFormat(std::string_view s);
/// Blender's name for the format ("PNG", "OPEN_EXR", "JPEG").
std::string_view BlenderFormatName(OutputFormat f);
/// File extension without the dot ("png", "exr", "jpg").
std::string_view FileExtension(OutputFormat f);
/// Output file name of a frame: "<stem>_0005.png", "<stem>_-0005.png".
std::string FrameFileName(std::string_view stem, int frame, OutputFormat f);

}  // namespace inferix::domain
