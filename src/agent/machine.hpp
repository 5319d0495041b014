#pragma once
// What a node tells the manager about its machine: processors, memory, GPUs and the Blender builds it lends
// (their versions and denoisers, probed once and kept in the user's cache). Device selection will live here.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferix::agent {

/// Machine description: CPU count, memory, GPUs (nvidia-smi when present), the first Blender's version
/// ("blender_version") and every Blender build's version, denoisers and engines ("blenders": [{"version",
/// "denoisers", "engines"}]), and the engines of the first ("engines"). The render device is the CPU
/// ("device": "cpu").
nlohmann::json DescribeMachine(const std::vector<std::string>& blenders);

/// One Blender build: {"version": "3.4.1", "denoisers": ["OPENIMAGEDENOISE", ...], "engines": ["CYCLES",
/// ...]} (kept in the user's cache like the version; "engines" left out when the probe could not run).
nlohmann::json DescribeBlender(const std::string& blender);

/// The render engines a Blender build renders on this machine without a display, as the sandbox runs it:
/// "CYCLES" when it has Cycles; "BLENDER_WORKBENCH", "BLENDER_EEVEE" (and 4.2's "BLENDER_EEVEE_NEXT") when an
/// 8x8 frame of the factory scene renders with them. Asked once and kept in the user's cache like the
/// version (a Mesa or driver upgrade is not seen until the build changes); empty when the probe could not
/// run.
std::vector<std::string> BlenderEngines(const std::string& blender);

/// The denoisers a Blender build has ("OPENIMAGEDENOISE", "OPTIX"), asked of its Cycles once and kept in the
/// user's cache like the version; empty when it has none or cannot say.
std::vector<std::string> BlenderDenoisers(const std::string& blender);

/// The version `blender --version` prints ("3.4.1"), empty when it prints none. The answer is kept in
/// $XDG_CACHE_HOME/inferix (or ~/.cache/inferix) under the executable's identity (path, inode, size, times).
std::string BlenderVersion(const std::string& blender);

/// The Blender build to start for a task: the one of `blenders` whose described version (`capabilities`'
/// "blenders", in the same order) is `build`; the default (first) one when `build` is empty or unknown.
std::string ChooseBlender(const std::vector<std::string>& blenders, const nlohmann::json& capabilities,
                          const std::string& build);

}  // namespace inferix::agent
