#pragma once
// One sandboxed Blender process running the driver, kept warm across the render commands of one scene.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "render/driver_events.hpp"
#include "render/process_tree.hpp"

namespace inferix::render {

/// The one device a Blender renders on (its node's slot): Cycles' compute device type and one GPU by its
/// Cycles id, or the CPU. The driver enables exactly that device and no other; the sandbox shows only its
/// device files.
struct RenderDevice {
  std::string type = "CPU";  ///< "CPU", "CUDA", "OPTIX", "HIP", "ONEAPI"
  std::string
      cycles_id;  ///< Cycles' id of the GPU ("CUDA_NVIDIA GeForce RTX 4090_0000:01:00"); "" for the CPU
  /// The device files the sandbox shows (/dev/nvidia0, /dev/nvidiactl, /dev/dri/renderD128, /dev/kfd); those
  /// missing on the machine are left out.
  std::vector<std::filesystem::path> device_files;
  /// Tests only (a worker given recorded GPU answers): the driver renders on the CPU but reports this device.
  bool simulated = false;
};

/// How to start Blender.
struct BlenderOptions {
  std::filesystem::path blender = "blender";  ///< executable (a wrapper script is fine); resolved via PATH
  std::filesystem::path scene;      ///< the .blend to open (inside scene_dir, or one of read_only_files)
  std::filesystem::path scene_dir;  ///< read-only inside the sandbox (holds the scene's files)
  /// Where scene_dir appears inside the sandbox: the artist's project folder, so that every path the scene
  /// and its libraries hold (relative or absolute) resolves as on the artist's computer, and the images'
  /// metadata name the artist's file. Empty: at scene_dir's own path.
  std::filesystem::path scene_root;
  /// More files shown read-only at their own paths (the client's preflight: the scene and its linked
  /// libraries).
  std::vector<std::filesystem::path> read_only_files;
  std::filesystem::path work_dir;  ///< the only writable folder inside the sandbox
  std::filesystem::path driver;    ///< the driver script (InstallDriverScript); read-only inside
  std::filesystem::path log_file;  ///< Blender's own stdout and stderr are appended here
  int resolution_percentage =
      0;                ///< 1-100: render at that share of the scene's resolution; 0: the scene's own
  bool sandbox = true;  ///< false only in unit tests of the runner itself
  /// A spare: Blender starts with no scene (`scene` empty) so that its own start overlaps other work, and
  /// BlenderProcess::Open loads the scene later. `scene_dir` is then an empty folder, shown whole at
  /// `scene_root` (or its own path), into which the scene's files are put before Open.
  bool spare = false;
  RenderDevice device;  ///< where it renders (default: the CPU)
  /// The most memory Blender may hold (its owner's cap, `inferix worker --max-memory`): above it, Blender is
  /// stopped and the command fails saying so (ProcessTreeMemoryBytes, read every kMemoryCheckMs). 0: no cap.
  int64_t max_memory_bytes = 0;
};

/// A running Blender with the driver loaded.
class BlenderProcess {
 public:
  /// Starts Blender in the bubblewrap sandbox and waits for the driver's "ready" event (scene loaded).
  static Result<std::unique_ptr<BlenderProcess>> Start(const BlenderOptions& options);
  virtual ~BlenderProcess() = default;
  /// The scene facts from the "ready" event (empty for a spare until Open).
  virtual const SceneInfo& scene() const = 0;
  /// A spare's one and only scene: `scene` is a .blend on the node inside BlenderOptions::scene_dir, shown to
  /// Blender at the same place under scene_root as a Start with it would; `resolution_percentage` as in
  /// BlenderOptions. Waits for the scene's "ready". An error for a process that is not a spare or has a
  /// scene.
  virtual Result<void> Open(const std::filesystem::path& scene, int resolution_percentage) {
    (void)scene;
    (void)resolution_percentage;
    return MakeError(Errc::kInvalidArgument, "this Blender was started with its scene");
  }
  /// Runs one render command; calls `on_event` for each event until the command's "done". `cancel` is polled
  /// about every 100 ms: when it returns true, Blender is killed and an error says so. When Blender dies, the
  /// error carries the last lines of its log (Blender's own error text).
  virtual Result<void> Render(const RenderCommand& cmd,
                              const std::function<void(const DriverEvent&)>& on_event,
                              const std::function<bool()>& cancel) = 0;
  /// Asks the driver for everything the scene needs (scene_checks.dependencies()).
  virtual Result<std::vector<SceneDependency>> ListFiles() = 0;
  /// Asks the driver what would stop the scene rendering on a worker (camera, missing files, unbaked
  /// simulations, Python drivers).
  virtual Result<std::vector<PreflightProblem>> Preflight() = 0;
  /// True while the process runs.
  virtual bool Alive() = 0;
  /// CPU time (user and system) used so far by the process and every live descendant (the sandbox and the
  /// Blender in it), in seconds: what a render or a check cost, whatever else runs on the machine.
  virtual double CpuSeconds() = 0;
  /// Kills the process (SIGKILL to its process group) and reaps it.
  virtual void Kill() = 0;
};

/// Starts a Blender for a scene and waits until it is ready: BlenderProcess::Start in production; unit tests
/// of the nodes give one that starts a fake (which renders a given image, crashes or hangs).
using BlenderFactory = std::function<Result<std::unique_ptr<BlenderProcess>>(const BlenderOptions&)>;

/// The real factory: BlenderProcess::Start.
inline BlenderFactory DefaultBlenderFactory() { return &BlenderProcess::Start; }

/// Writes the driver script embedded in the binary, and the scene_checks.py it imports, into `dir`
/// (atomically) and returns the driver's path.
Result<std::filesystem::path> InstallDriverScript(const std::filesystem::path& dir);

}  // namespace inferix::render
