#pragma once
// What a node tells the manager about its machine: processors, memory, GPUs and the Blender builds it lends
// (their versions and denoisers, probed once and kept in the user's cache). Device selection will live here.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferix::agent {

/// Machine description: CPU count, memory, GPUs (nvidia-smi when present), the first Blender's version
/// ("blender_version") and every Blender build's version and denoisers ("blenders": [{"version",
/// "denoisers"}]). The render device is the CPU ("device": "cpu").
nlohmann::json DescribeMachine(const std::vector<std::string>& blenders);

/// One Blender build: {"version": "3.4.1", "denoisers": ["OPENIMAGEDENOISE", ...]} (kept in the user's cache
/// like the version).
nlohmann::json DescribeBlender(const std::string& blender);

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
