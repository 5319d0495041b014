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
#include "domain/capabilities.hpp"
#include "domain/model.hpp"
#include "net/node_client.hpp"
#include "render/driver_events.hpp"

namespace inferix::client {

/// The most bytes of one text from the manager (a name, a message) that the commands print.
inline constexpr size_t kShownTextBytes = 500;
/// The most bytes of an error message the commands print.
inline constexpr size_t kShownMessageBytes = 4000;
/// Text from the manager (what users and nodes named and said) as printed on a terminal: control
/// characters, escape sequences and bidi controls escaped, capped at kShownTextBytes (core/text.hpp).
std::string Shown(std::string_view text);

/// A scene ready to submit: its manifest, where each file is locally, and what the user should know.
struct ScenePlan {
  std::string root;  ///< the folder here that holds every file; `files` paths are relative to it
  std::vector<domain::SceneFile> files;                      ///< the main .blend first
  std::map<std::string, std::filesystem::path> local_paths;  ///< by SHA-256
  std::vector<render::PreflightProblem> problems;  ///< from preflight; fatal ones stop the submission
  render::SceneInfo info;                          ///< what Blender said of the scene (when `opened`)
  bool opened =
      false;  ///< false: a file was saved by a newer Blender than this computer's; no Blender opened it
  int blender_version = 0;  ///< the Blender that saved the scene (its header), major * 100 + minor
  /// What saved each .blend (the scene, then its libraries), from their headers.
  struct SavedBy {
    std::string what;  ///< "the scene a.blend", "library /p/lib/props.blend"
    int version = 0;
  };
  std::vector<SavedBy> saved;
  std::string local_blender;  ///< this computer's Blender version ("3.4.1"), which checked the scene
};

/// How to plan a scene.
struct PlanOptions {
  std::string blender = "blender";  ///< this computer's Blender, which lists the scene (sandboxed)
};

/// Reads the scene's and its libraries' headers, lists what it needs with a sandboxed Blender (unless a file
/// was saved by a newer Blender than this computer's), finds each file and hashes them (scene_plan.cpp).
/// Problems (fatal or not) are in the plan; an error only when the scene is not a readable .blend or
/// preflight itself failed.
Result<ScenePlan> PlanScene(const std::filesystem::path& scene, const PlanOptions& options);
/// Adds what the network's workers (`network`: their Blender builds) make of the plan: files saved by a newer
/// Blender than every worker's (or than this computer's), no worker registered yet, denoising no worker has
/// (fatal unless `without_denoiser`, which turns it into a warning).
void CheckNetwork(ScenePlan& plan, const std::vector<domain::BlenderBuild>& network, bool without_denoiser);
/// A path as Blender resolves it (BLI_path_abs): "//" relative to the .blend `owner` that holds it, a Windows
/// drive "C:\\x" as "/c/x", backslashes as slashes, normalised; a Windows network path stays as it is.
std::string BlenderAbsPath(const std::string& path, const std::filesystem::path& owner);
/// What a dependency names on this computer.
struct Expansion {
  std::vector<std::filesystem::path> files;  ///< the files that exist, sorted within a sequence or folder
  std::vector<std::string> missing;          ///< the path, or each missing UDIM tile
};
/// The files a scene dependency names here (scene_checks.expand's rules): a file; a sequence's files (its
/// name with any frame number in place of the number it ends with); each UDIM tile (<UDIM> or <UVTILE>
/// replaced); every file under a folder of baked caches.
Expansion ExpandDependency(const render::SceneDependency& dependency);
/// The Blender builds of the registered, unbanned workers, from GET /workers.
std::vector<domain::BlenderBuild> NetworkBuilds(const nlohmann::json& workers);
/// Prints the non-fatal problems as warnings; returns an error naming every fatal one.
Result<void> ReportProblems(const ScenePlan& plan, bool as_json);
/// Uploads one scene file where the manager says (upload.cpp): to the manager, or straight to its object
/// store (in parts when large); an older manager without POST /files/{sha256}/upload gets the old PUT.
Result<void> UploadSceneFile(net::ApiClient& api, const std::string& sha, const std::filesystem::path& path);

/// Uploads the files the manager lacks for this user and creates the job; returns its id.
/// `waiting_for`, when given, receives why no registered worker can render the job as required ("" when one
/// can).
Result<int64_t> UploadAndCreate(net::ApiClient& api, const ScenePlan& plan, const SubmitOptions& o,
                                std::string* waiting_for = nullptr);
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
