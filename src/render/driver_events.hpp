#pragma once
// The driver's protocol: JSON command lines to Blender's stdin, JSON event lines back on file descriptor 3.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::render {

/// What Cycles will render on, read back from its preferences inside Blender once the driver set the device.
struct DeviceState {
  std::string type;                  ///< Cycles' compute device type: "NONE" (the CPU), "CUDA", "OPTIX", ...
  std::string assigned;              ///< what the driver was told: "CPU", "CUDA:<cycles id>"
  std::vector<std::string> enabled;  ///< the ids of the devices enabled (none for the CPU)
  std::string scene_device;          ///< the scene's Cycles device: "CPU" or "GPU"
  bool simulated = false;            ///< a recorded device (tests): rendered on the CPU
};

/// The scene facts the driver reports when it has loaded the file.
struct SceneInfo {
  std::string blender_version;  ///< of the running Blender, "3.4.1"
  std::string file_version;     ///< Blender version that saved the file, "3.4.1"
  int width = 0;                ///< output size in pixels (resolution x percentage)
  int height = 0;
  std::string file_format;  ///< Blender's name: "PNG", "OPEN_EXR", "JPEG", ...
  std::string color_mode;   ///< "BW", "RGB", "RGBA"
  std::string color_depth;  ///< "8", "16", "32" or ""
  double fps = 24.0;
  int frame_start = 1;
  int frame_end = 1;
  int frame_step = 1;
  bool has_camera = false;
  std::string engine;                  ///< "CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH", ...
  std::vector<std::string> denoisers;  ///< what its final render asks for: "OPENIMAGEDENOISE", "OPTIX"
  DeviceState device;                  ///< where it renders (an older driver: empty)
};

/// One thing a scene needs to render (scene_checks.dependencies()): a file, a linked library, a sequence,
/// UDIM tiles or a folder of baked caches, in the main file or in a linked library.
struct SceneDependency {
  std::string path;        ///< as written in its .blend: "//../tex/wood.png", "C:\\tex\\a.png", "/mnt/a.exr"
  std::string abs;         ///< where Blender looks for it on the machine that listed it
  std::string kind;        ///< "file", "library", "sequence", "udim" or "directory"
  std::string what;        ///< what uses it, for messages: "image wood.png", "library props.blend"
  std::vector<int> tiles;  ///< udim: the tile numbers (1001, ...)
  bool optional = false;   ///< the frames do not need it (a sound)
};

/// Something preflight found: `fatal` ones stop a submission, the others are shown as warnings.
struct PreflightProblem {
  std::string code;     ///< "no_camera", "missing_file", "unbaked_cache", "python_driver", ...
  std::string message;  ///< names the cause and what to do
  bool fatal = true;
};

/// One event line from the driver.
struct DriverEvent {
  enum class Kind { kReady, kFrameStarted, kFrameSaved, kFiles, kPreflight, kError, kDone };
  Kind kind = Kind::kDone;
  int frame = 0;                           ///< kFrameStarted, kFrameSaved
  std::string path;                        ///< kFrameSaved: the saved image
  double render_seconds = 0.0;             ///< kFrameSaved
  std::string message;                     ///< kError
  std::vector<SceneDependency> files;      ///< kFiles: what the scene needs
  std::optional<SceneInfo> scene;          ///< kReady (none from a spare, before "open")
  std::vector<PreflightProblem> problems;  ///< kPreflight
};

/// Parses one event line; malformed or unknown lines are an error naming the problem.
Result<DriverEvent> ParseDriverEvent(std::string_view line);

/// A pixel border of the full canvas, in Blender's normalised coordinates (origin bottom-left).
struct Border {
  double min_x = 0, max_x = 1, min_y = 0, max_y = 1;
};

/// A whole frame rendered smaller and with fewer samples: the verifier's cheap check of engines whose render
/// regions cost a whole frame (Eevee, Workbench).
struct Reduce {
  int width = 0;            ///< pixels
  int height = 0;           ///< pixels
  int samples_divisor = 1;  ///< Eevee renders 1/samples_divisor of the scene's samples
};

/// A command for the driver.
struct RenderCommand {
  std::vector<int> frames;
  std::string output_dir;        ///< inside the sandbox's writable job folder
  std::string format;            ///< "PNG", "OPEN_EXR", "JPEG"; empty: the scene's own
  int threads = 0;               ///< 0: Blender's automatic choice
  std::optional<Border> border;  ///< set: render only this region, on the full canvas (no crop)
  bool persistent_data = false;  ///< keep scene data between renders (verifier's warm re-renders)
  bool denoise = true;           ///< false: denoising off (the user accepted frames without a denoiser)
  std::optional<Reduce> reduce;  ///< set: the whole frame, reduced (never with a border)
};

/// The JSON line for a render command.
std::string EncodeRenderCommand(const RenderCommand& cmd);

/// The JSON line (no newline) for a spare's "open": the scene's path as Blender sees it, and the resolution
/// percentage (1-100; 0: the scene's own).
std::string EncodeOpenCommand(const std::string& scene, int resolution_percentage);

}  // namespace inferix::render
