#pragma once
// The node protocol's wire types: what crosses the wire between the manager and its nodes (workers and
// verifiers), each with its exact JSON (docs/api/openapi.yaml). The manager encodes a claimed task with
// ToJson; the nodes decode it with FromJson and encode their reports with ToJson. Only nlohmann/json is
// needed, so that both sides may depend on these types without the HTTP client.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace inferix::net {

/// One file of a claimed task's scene, with the signed URL it is fetched from.
struct SceneFileRef {
  std::string path;  ///< relative to the scene's root
  std::string sha256;
  int64_t size = 0;
  std::string url;  ///< signed GET path ("/api/v1/blob/...?...")
};

/// The scene a claimed task renders.
struct SceneRef {
  std::string main;  ///< the main .blend, relative to the root
  std::vector<SceneFileRef> files;
  std::string root;               ///< the artist's project folder; empty: not sent
  int resolution_percentage = 0;  ///< 1-100; 0: the scene's own (not sent)
};

/// The output a verify task checks.
struct OutputRef {
  int64_t output_id = 0;
  std::string sha256;
  int64_t node_id = 0;  ///< the worker that rendered it
  std::string url;      ///< signed GET path
};

/// A second worker's render of the frame under dispute (a replica check's original output).
struct OriginalRef {
  int64_t output_id = 0;
  std::string sha256;
  std::string url;
};

/// How far a verify task checks (the manager's escalation level and the policy's region counts).
struct CheckSpec {
  int level = 0;
  bool layer2 = true;
  bool whole_frame = false;
  int regions = 0;
  int detail_regions = 0;
  double exact_rate = 0.05;
};

/// A task the manager hands a node (the answer of POST /tasks/claim).
struct ClaimedTask {
  int64_t task_id = 0;
  std::string kind;  ///< "render" or "verify"
  int64_t job_id = 0;
  std::vector<int> frames;
  std::string format = "PNG";  ///< Blender's name
  SceneRef scene;
  bool denoise = true;
  std::string blender;  ///< the version of the node's build the manager chose; empty: the default
  int64_t lease_ms = 0;
  int64_t heartbeat_ms = 10'000;
  std::optional<OutputRef> output;      ///< verify tasks
  std::optional<CheckSpec> check;       ///< verify tasks
  std::optional<OriginalRef> original;  ///< replica checks
};

/// The body of POST /tasks/claim: the scene files the node has cached.
struct ClaimRequest {
  std::vector<std::string> cached;
  std::string slot = {};  ///< which of the node's slots (devices) asks; "": its first (nodes of one slot)
};

/// The body of POST /tasks/{id}/heartbeat: how far the node got with the task. `progress` counts what the
/// render showed so far (the driver's events: frames started and saved); the manager renews a render task's
/// lease only while it rises or frames are reported. Absent (older nodes send `{}`): no progress shown.
struct HeartbeatRequest {
  std::optional<int64_t> progress;
};

/// The answer of POST /tasks/{id}/heartbeat.
struct HeartbeatAnswer {
  std::string action = "continue";  ///< "continue", "cancel" or "abort"
};

/// The body of POST /tasks/{id}/frames/{frame}/upload: the frame the node will upload, so that the URL can
/// sign its digest and size (an object store then refuses any other body). Older nodes send `{}`.
struct UploadRequest {
  std::string sha256;  ///< lower-case hex; empty: not given
  int64_t size = -1;   ///< bytes; -1: not given
};

/// The answer of POST /tasks/{id}/frames/{frame}/upload: where to PUT the frame.
struct UploadSlot {
  std::string key;
  std::string url;  ///< signed PUT URL: a path on the manager, or an absolute URL of the object store
  /// Headers the PUT must carry as given (the URL signs them); none for the manager's own URLs.
  std::map<std::string, std::string> headers;
};

/// The body of POST /tasks/{id}/frames/{frame}: a rendered frame, signed by the node.
struct FrameReport {
  std::string sha256;
  std::string key;
  double render_seconds = 0.0;
  double render_cpu_seconds = 0.0;
  std::string signature;  ///< over domain::FrameReportMessage
};

/// A region a verifier compared, in the frame's pixels: [x0, x1) x [y0, y1).
struct RegionRef {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;
};

/// How a verifier reached its verdict (the verdict's "method").
struct CheckMethod {
  int layers = 0;
  std::vector<RegionRef> regions;
};

/// The body of POST /tasks/{id}/verdict, signed by the verifier.
struct VerdictReport {
  std::string verdict;  ///< "accepted", "rejected" or "inconclusive"
  std::string detail;
  double verify_seconds = 0.0;
  double verify_cpu_seconds = 0.0;
  CheckMethod method;
  std::optional<bool> matches_original;  ///< set when the task carried an original output
  std::string signature;                 ///< over domain::VerdictMessage
};

/// The body of POST /nodes/register.
struct RegisterRequest {
  std::string enrollment_token;
  std::string name;
  std::string role;  ///< "worker" or "verifier"
  std::string public_key;
  nlohmann::json capabilities = nlohmann::json::object();
};

/// The answer of POST /nodes/register.
struct RegisterAnswer {
  int64_t node_id = 0;
  std::string node_token;
};

nlohmann::json ToJson(const SceneRef& scene);
nlohmann::json ToJson(const ClaimedTask& task);
nlohmann::json ToJson(const ClaimRequest& request);
nlohmann::json ToJson(const HeartbeatRequest& request);
nlohmann::json ToJson(const HeartbeatAnswer& answer);
nlohmann::json ToJson(const UploadSlot& slot);
nlohmann::json ToJson(const UploadRequest& request);
nlohmann::json ToJson(const FrameReport& report);
nlohmann::json ToJson(const CheckMethod& method);
nlohmann::json ToJson(const VerdictReport& report);
nlohmann::json ToJson(const RegisterRequest& request);
nlohmann::json ToJson(const RegisterAnswer& answer);

/// Decoders for what the manager answers a node. They read as the nodes always have: a missing field takes
/// its default; a field of the wrong type, or an answer that is not an object, is kInvalidArgument.
Result<SceneRef> SceneFromJson(const nlohmann::json& j);
Result<ClaimedTask> ClaimedTaskFromJson(const nlohmann::json& j);
Result<HeartbeatAnswer> HeartbeatAnswerFromJson(const nlohmann::json& j);
Result<UploadSlot> UploadSlotFromJson(const nlohmann::json& j);
/// The manager's decoder of an upload request's body: an object whose "sha256", when present, is 64
/// lower-case hex digits and whose "size", when present, is an integer from 0 to 2^53; `{}` is the request
/// of an older node. Anything else is kInvalidArgument naming what was wrong.
Result<UploadRequest> UploadRequestFromJson(const nlohmann::json& j);
Result<RegisterAnswer> RegisterAnswerFromJson(const nlohmann::json& j);
/// The manager's decoder of a heartbeat's body: an object whose "progress", when present and not null, is
/// an integer from 0 to 2^53; anything else (another field too) is kInvalidArgument naming what was wrong.
Result<HeartbeatRequest> HeartbeatRequestFromJson(const nlohmann::json& j);

}  // namespace inferix::net
