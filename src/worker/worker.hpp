#pragma once
// The worker agent: claims render tasks, renders them in a warm sandboxed Blender, uploads and reports each
// frame as soon as it is saved.
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace inferix::worker {

/// How the worker runs.
struct WorkerOptions {
  std::string manager_url;
  std::string token;  ///< enrollment token (first start only)
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends (--blender, repeatable)
  std::string name;                                 ///< defaults to the host name
  int threads = 0;                                  ///< Blender render threads; 0: automatic
  std::string ca_file;
  int64_t idle_blender_ms = 120'000;  ///< a warm Blender with no task for this long is stopped
};

/// Runs until `stop` becomes true; reconnects with backoff while the manager is unreachable.
Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop);

}  // namespace inferix::worker
