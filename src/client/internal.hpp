#pragma once
// Pieces shared by the client's commands and the local network.
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "client/progress.hpp"
#include "domain/model.hpp"
#include "net/node_client.hpp"
#include "render/driver_events.hpp"

namespace inferix::client {

/// A scene ready to submit: its manifest, where each file is locally, and what the user should know.
struct ScenePlan {
  std::vector<domain::SceneFile> files;                      ///< the main .blend first
  std::map<std::string, std::filesystem::path> local_paths;  ///< by SHA-256
  std::vector<render::PreflightProblem> problems;  ///< from preflight; fatal ones stop the submission
  render::SceneInfo info;
};

/// Lists a scene's files with a sandboxed Blender and hashes them.
Result<ScenePlan> PlanScene(const std::filesystem::path& scene, const std::string& blender);
/// Adds a problem when the scene was saved by a newer Blender (major.minor) than every one of `versions`
/// ("3.4.1", ...); Blender would open it without error and render it wrong.
void CheckBlenderVersions(ScenePlan& plan, const std::vector<std::string>& versions);
/// Prints the non-fatal problems as warnings; returns an error naming every fatal one.
Result<void> ReportProblems(const ScenePlan& plan, bool as_json);
/// Uploads the files the manager lacks for this user and creates the job; returns its id.
Result<int64_t> UploadAndCreate(net::ApiClient& api, const ScenePlan& plan, const SubmitOptions& o);
/// One server-sent event.
struct StreamEvent {
  int64_t id = 0;
  std::string type;
  nlohmann::json data;
};
/// Parses a text/event-stream body.
std::vector<StreamEvent> ParseEventStream(const std::string& body);
/// Follows the job's event stream (resuming after the last event seen) until it ends, showing its progress
/// and notable events on `display`, which it finishes (the bar ends with a newline) before returning;
/// `on_event` sees every event.
Result<nlohmann::json> FollowJob(net::ApiClient& api, int64_t job_id, ProgressDisplay& display,
                                 const std::function<void(const StreamEvent&)>& on_event = nullptr);
/// What a download wrote.
struct Downloaded {
  std::vector<std::filesystem::path> frames;
  std::filesystem::path video;  ///< empty when the job has no video
};
/// Downloads the delivered frames into `dir`, checking each hash, then the video once it is made.
Result<Downloaded> DownloadOutputs(net::ApiClient& api, const nlohmann::json& job,
                                   const std::filesystem::path& dir);

}  // namespace inferix::client
