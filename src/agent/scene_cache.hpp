#pragma once
// The node's content-addressed cache of scene files, and each job's scene laid out from it.
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/manager_client.hpp"
#include "net/node_protocol.hpp"

namespace inferix::agent {

/// Downloads the scene's files (the claim's "scene") into a content-addressed cache, verifying each SHA-256,
/// and lays them out under `scene_dir` at their relative paths. Returns the main .blend's path.
Result<std::filesystem::path> FetchScene(net::ManagerClient& manager, const net::SceneRef& scene,
                                         const std::filesystem::path& cache_dir,
                                         const std::filesystem::path& scene_dir);
/// Hashes of the files in the cache (for the claim's "cached" list).
std::vector<std::string> CachedHashes(const std::filesystem::path& cache_dir);

}  // namespace inferix::agent
