#pragma once
// The bubblewrap sandbox around every Blender run: which of the node's and the scene's files it shows, where.
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "render/blender_process.hpp"

namespace inferix::render {

/// The module the driver imports from its own folder (InstallDriverScript writes it there).
inline constexpr const char* kSceneChecksFile = "scene_checks.py";

/// Blender's command line for `options` (before the sandbox wraps it): the scene, the driver, and the
/// driver's own options (resolution percentage, spare, device).
std::vector<std::string> BlenderArgv(const BlenderOptions& options);
/// The bubblewrap command line that wraps `argv` (exposed for tests of the sandbox's shape); an error when
/// the scene's files cannot be shown where they belong (a file that would land on the system's or the node's
/// own).
Result<std::vector<std::string>> SandboxArgv(const BlenderOptions& options,
                                             const std::vector<std::string>& argv);
/// A spare's scene folder (BlenderOptions::spare) must be shown whole at scene_root, so that files put into
/// it later appear inside: an error when the sandbox would have to split it (scene_root / or /tmp, or one
/// that holds a system folder or the work folder).
Result<void> CheckSpareSceneFolder(const BlenderOptions& options);
/// Where the scene file appears inside the sandbox.
std::filesystem::path SandboxScenePath(const BlenderOptions& options);
/// Where the driver appears inside the sandbox: under /run/inferix, a system folder no scene file may use.
std::filesystem::path SandboxDriverPath();
/// Where Blender's executable appears inside the sandbox: where it is when under /usr, else under
/// /run/inferix/blender/ with the rest of its folder.
std::filesystem::path SandboxBlenderPath(const BlenderOptions& options);

}  // namespace inferix::render
