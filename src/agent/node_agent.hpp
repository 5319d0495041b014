#pragma once
// What a worker and a verifier share: the data folder, enrollment and credentials, the claim loop's retries,
// and one warm sandboxed Blender for the job at hand.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/node_client.hpp"
#include "render/blender_process.hpp"

namespace inferix::agent {

/// Where a node runs and what it talks to.
struct NodeOptions {
  std::string manager_url;
  std::string ca_file;
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends, the default first
};

/// A node's session with the manager.
class NodeAgent {
 public:
  NodeAgent(NodeOptions options, const std::atomic<bool>& stop);
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  /// Installs the driver, describes the machine, and loads the node's credentials or enrolls with `token`,
  /// retrying with backoff while the manager is unreachable.
  Result<void> Start(const std::string& token, const std::string& name, const std::string& role);
  /// Claims a task (long-poll), retrying with backoff while the manager is unreachable. A null JSON value
  /// when there is none (or the node is stopping); an error when the manager refuses the node's credentials.
  Result<nlohmann::json> Claim();
  /// The warm Blender of `job_id`'s scene; fetches the scene and starts Blender when the job changed or it
  /// died. `build` is the version of the Blender build the manager chose for the task (the claim's
  /// "blender"); empty: the default build.
  Result<render::BlenderProcess*> BlenderFor(int64_t job_id, const nlohmann::json& scene,
                                             const std::string& build = "");
  /// Stops the warm Blender.
  void StopBlender();
  /// The job the warm Blender serves (0: none).
  int64_t blender_job() const { return blender_job_; }
  /// Sleeps up to `ms`, waking early when the node stops.
  void Sleep(int64_t ms) const;
  /// The folder of a job's scene and work.
  std::filesystem::path JobDir(int64_t job_id) const;

  net::ApiClient& api() { return api_; }
  const net::NodeCredentials& credentials() const { return creds_; }
  const nlohmann::json& capabilities() const { return caps_; }

 private:
  // Fetches the scene and says how to start its Blender (the build chosen by version).
  Result<render::BlenderOptions> OptionsFor(int64_t job_id, const nlohmann::json& scene,
                                            const std::string& build);

  NodeOptions options_;
  const std::atomic<bool>& stop_;
  net::ApiClient api_;
  net::NodeCredentials creds_;
  nlohmann::json caps_;
  std::filesystem::path driver_;
  std::unique_ptr<render::BlenderProcess> blender_;
  int64_t blender_job_ = 0;
  std::string blender_build_;
  int64_t claim_backoff_ms_ = 500;
};

/// This machine's host name.
std::string HostName();

}  // namespace inferix::agent
