#pragma once
// The CLI's commands for users: submit, status, download, cancel, and the embedded local network (render).
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace inferix::client {

/// Where the manager is and who the user is.
struct Connection {
  std::string manager_url;
  std::string token;
  std::string ca_file;
};

/// `inferix submit`.
struct SubmitOptions {
  std::filesystem::path scene;
  std::string frames;
  std::string format;  ///< empty: the scene's own when PNG, EXR or JPEG, else PNG
  int chunk_size = 4;
  int priority = 0;
  std::string name;                 ///< defaults to the scene's file name
  std::string blender = "blender";  ///< used (sandboxed) to list the scene's referenced files
  bool without_denoiser = false;    ///< accept frames rendered with denoising off when no worker has it
  int resolution_percentage = 0;    ///< 1-100: render at that share of the scene's resolution; 0: its own
  /// What the job requires of the slots that render it (the API's "requirements"): a device ("cpu", "gpu",
  /// "cuda", "optix", "hip", "oneapi"; "" any), a GPU's memory in GiB (0: any), a Blender range ("3.6").
  std::string require_device;
  double min_gpu_memory_gib = 0;
  std::string blender_min;
  std::string blender_max;
  bool wait = false;
  std::filesystem::path download_dir;
  bool json = false;
};

/// Uploads what the manager lacks, creates the job, prints its id; with `wait`, follows it to the end.
/// Returns the process exit code (0 only when the job was created, and completed when waiting).
int Submit(const Connection& c, const SubmitOptions& o);
/// Prints one job, or all of the user's jobs when `job_id` is 0; with `follow`, follows the job's event
/// stream until it ends (exit 0 only when it completed).
int Status(const Connection& c, int64_t job_id, bool json, bool follow = false);
/// `inferix credits`: the user's available and held credits and the statement (of job `job_id` only, when
/// not 0); `csv`: the statement as CSV, amounts in micro-credits.
int Credits(const Connection& c, int64_t job_id, bool json, bool csv);
/// Writes a job's delivered frames to `dir` as <stem>_<frame>.<ext>; with `wait`, first waits for the job's
/// end.
int Download(const Connection& c, int64_t job_id, const std::filesystem::path& dir, bool wait, bool json);
/// Cancels a job.
int Cancel(const Connection& c, int64_t job_id, bool json);

/// Prints an error, as {"error":{"code","message"}} on stdout with `as_json`, else as a line on stderr;
/// returns the exit code for it (2: bad input or not found, 1: anything else).
int PrintError(const Error& e, bool as_json);

/// `inferix render`: the embedded local network.
struct RenderOptions {
  std::filesystem::path scene;
  std::string frames;
  std::filesystem::path output_dir;
  int workers = 1;
  std::string format;  ///< empty: the scene's format if PNG/EXR/JPEG, else PNG
  std::string blender = "blender";
  std::filesystem::path state_dir;  ///< empty: a new temporary folder, removed afterwards
  int chunk_size = 4;
  int threads = 0;  ///< per worker; 0: cores / workers
  /// What the local workers lend (worker --device): "cpu", "auto", or device ids ("cuda:0"); the verifier
  /// checks on the first one named (its class).
  std::string device = "cpu";
  bool without_denoiser =
      false;  ///< accept frames rendered with denoising off (this Blender has no denoiser)
  int resolution_percentage = 0;  ///< 1-100: render at that share of the scene's resolution; 0: its own
  bool json = false;
  std::vector<std::string> manager_options;  ///< passed on to `inferix manager` (verification policy)
};

/// Starts a manager, workers and a verifier as child processes of `self_exe`, renders, delivers, stops them.
int RenderLocal(const std::filesystem::path& self_exe, const RenderOptions& o);

}  // namespace inferix::client
