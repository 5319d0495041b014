#pragma once
// What a worker and a verifier share: the data folder, enrollment and credentials, the claim loop's retries,
// and one warm sandboxed Blender for the job at hand. The manager client, the Blender factory, the machine
// probe and the backoff's sleep are injected (NodeServices), so that unit tests give fakes.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/credentials.hpp"
#include "agent/devices.hpp"
#include "core/result.hpp"
#include "net/manager_client.hpp"
#include "net/node_protocol.hpp"
#include "render/blender_process.hpp"

namespace inferix::agent {

/// Where a node runs and what it talks to.
struct NodeOptions {
  std::string manager_url;
  std::string ca_file;
  std::filesystem::path data_dir;
  std::vector<std::string> blenders = {"blender"};  ///< the Blender builds it lends, the default first
  /// Non-empty: start a spare Blender (render::BlenderOptions::spare) of the default build at once, before
  /// any task, for scenes whose project folder (SceneRef::root) lies in this folder; the first such job's
  /// Blender is then ready without Blender's own start (about 1.4 s). Any other job's first task discards
  /// it. `inferix render` passes the folder of the scene it renders.
  std::filesystem::path warm_scene_root;
  /// Every render slot the node lends (each lent GPU; the CPU where its owner said so), listed in its machine
  /// description; this agent claims and renders for slots[slot]. Empty: the CPU, unnamed (a node of one
  /// slot). A node of several slots keeps each slot's jobs in a folder of its own (data_dir/slots/<id>).
  std::vector<Device> slots;
  size_t slot = 0;
  /// Every device the machine has (the description lists them, lent or not).
  std::vector<Device> devices;
  /// The devices are recorded answers (tests): a GPU slot's renders run on the CPU (RenderDevice::simulated).
  bool simulated_devices = false;
  /// The render engines its owner lends (--engines: "CYCLES", "BLENDER_EEVEE", ...); the node advertises
  /// those of them its builds render (BlenderEngines). Empty: every engine they render.
  std::vector<std::string> engines = {};
  /// The most memory a Blender of this node may hold (render::BlenderOptions::max_memory_bytes); 0: no cap.
  int64_t max_memory_bytes = 0;
};

/// What a node advertises of `caps` (its machine description) when its owner lends only `lent` of the render
/// engines: each list of engines ("engines", each build's) keeps only those; a build whose engines are not
/// known (its probe could not run) gets the owner's list. Unchanged when `lent` is empty. kInvalidArgument
/// when a build would be left with none (the owner named only engines it does not render here).
Result<void> LendEngines(nlohmann::json& caps, const std::vector<std::string>& lent);

/// What a node's session works with; an empty member takes the production default.
struct NodeServices {
  /// The manager; default: an HttpManagerClient for NodeOptions::manager_url whose transfers end on stop.
  std::shared_ptr<net::ManagerClient> manager;
  /// Starts Blender; default: render::DefaultBlenderFactory().
  render::BlenderFactory start_blender;
  /// Describes the machine and its Blender builds; default: DescribeMachine.
  std::function<nlohmann::json(const std::vector<std::string>&)> describe_machine;
  /// Waits `ms` between retries; default: sleeps, waking early when the node stops.
  std::function<void(int64_t ms)> sleep;
};

/// A node's session with the manager.
class NodeAgent {
 public:
  NodeAgent(NodeOptions options, const std::atomic<bool>& stop, NodeServices services = {});
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  /// Installs the driver, describes the machine, and loads the node's credentials or enrolls with `token`,
  /// retrying with backoff while the manager is unreachable.
  Result<void> Start(const std::string& token, const std::string& name, const std::string& role);
  /// Claims a task (long-poll), retrying with backoff while the manager is unreachable. nullopt when there is
  /// none (or the node is stopping); an error when the manager refuses the node's credentials.
  Result<std::optional<net::ClaimedTask>> Claim();
  /// The warm Blender of `job_id`'s scene; fetches the scene and starts Blender when the job changed or it
  /// died. `build` is the version of the Blender build the manager chose for the task (the claim's
  /// "blender"); empty: the default build.
  Result<render::BlenderProcess*> BlenderFor(int64_t job_id, const net::SceneRef& scene,
                                             const std::string& build = "");
  /// Stops the warm Blender.
  void StopBlender();
  /// The job the warm Blender serves (0: none).
  int64_t blender_job() const { return blender_job_; }
  /// Waits up to `ms` (the injected sleep), waking early when the node stops.
  void Sleep(int64_t ms) const;
  /// The folder of a job's scene and work (the spare's, for the job it served).
  std::filesystem::path JobDir(int64_t job_id) const;
  /// The slot this agent renders for ("" for a node of one unnamed slot).
  std::string SlotId() const;

  net::ManagerClient& manager() { return *manager_; }
  const NodeCredentials& credentials() const { return creds_; }
  const nlohmann::json& capabilities() const { return caps_; }

 private:
  // Fetches the scene and says how to start its Blender (the build chosen by version).
  Result<render::BlenderOptions> OptionsFor(int64_t job_id, const net::SceneRef& scene,
                                            const std::string& build);
  // The folder of this slot's jobs and spare: the data folder, or data_dir/slots/<id> for a node of several.
  std::filesystem::path WorkRoot() const;
  // The device this agent's Blenders render on.
  render::RenderDevice SlotDevice() const;
  // Logs the device the warm Blender renders on, as its driver read it back from Cycles.
  void LogDevice() const;
  // Starts the spare Blender in the background (NodeOptions::warm_scene_root).
  void StartSpare();
  // The spare, with `scene` fetched into its folder and opened, when it suits the job; null otherwise (the
  // spare is then gone: it serves the first job or none).
  std::unique_ptr<render::BlenderProcess> TakeSpare(int64_t job_id, const net::SceneRef& scene,
                                                    const std::string& build);

  NodeOptions options_;
  const std::atomic<bool>& stop_;
  NodeServices services_;
  std::shared_ptr<net::ManagerClient> manager_;
  NodeCredentials creds_;
  nlohmann::json caps_;
  std::filesystem::path driver_;
  std::unique_ptr<render::BlenderProcess> blender_;
  int64_t blender_job_ = 0;
  std::string blender_build_;
  int64_t claim_backoff_ms_ = 500;
  std::future<Result<std::unique_ptr<render::BlenderProcess>>> spare_;  // starting or started; invalid: none
  std::map<int64_t, std::filesystem::path> job_dirs_;  // the job a spare served, and the spare's folder
};

/// This machine's host name.
std::string HostName();

}  // namespace inferix::agent
