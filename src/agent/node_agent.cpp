#include "agent/node_agent.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "agent/machine.hpp"
#include "agent/scene_cache.hpp"
#include "domain/scene_layout.hpp"

namespace inferix::agent {

using json = nlohmann::json;

namespace {
constexpr int64_t kMaxBackoffMs = 30'000;
}

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

NodeAgent::NodeAgent(NodeOptions options, const std::atomic<bool>& stop, NodeServices services)
    : options_(std::move(options)), stop_(stop), services_(std::move(services)), manager_(services_.manager) {
  if (!manager_)
    manager_ = std::make_shared<net::HttpManagerClient>(options_.manager_url, options_.ca_file, &stop);
  if (!services_.start_blender) services_.start_blender = render::DefaultBlenderFactory();
  if (!services_.describe_machine) services_.describe_machine = DescribeMachine;
  if (!services_.sleep) {
    services_.sleep = [this](int64_t ms) {
      for (int64_t waited = 0; waited < ms && !stop_; waited += 100) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    };
  }
}

NodeAgent::~NodeAgent() {
  StopBlender();
  if (spare_.valid()) spare_.wait();  // its Blender, if it started, is stopped with the future
}

void NodeAgent::Sleep(int64_t ms) const {
  if (!stop_) services_.sleep(ms);
}

std::filesystem::path NodeAgent::JobDir(int64_t job_id) const {
  if (auto it = job_dirs_.find(job_id); it != job_dirs_.end()) return it->second;
  return WorkRoot() / "jobs" / std::to_string(job_id);
}

std::string NodeAgent::SlotId() const {
  return options_.slot < options_.slots.size() ? options_.slots[options_.slot].id : std::string();
}

std::filesystem::path NodeAgent::WorkRoot() const {
  if (options_.slots.size() <= 1) return options_.data_dir;
  std::string dir = SlotId();
  std::replace(dir.begin(), dir.end(), ':', '-');
  return options_.data_dir / "slots" / dir;
}

render::RenderDevice NodeAgent::SlotDevice() const {
  if (options_.slot >= options_.slots.size()) return {};
  return RenderDeviceOf(options_.slots[options_.slot], options_.simulated_devices);
}

void NodeAgent::StartSpare() {
  if (options_.warm_scene_root.empty() || spare_.valid()) return;
  options_.warm_scene_root = std::filesystem::absolute(options_.warm_scene_root).lexically_normal();
  const auto dir = WorkRoot() / "spare";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // a previous run's: its Blender died with that run
  std::filesystem::create_directories(dir / "scene", ec);
  std::filesystem::create_directories(dir / "work", ec);
  render::BlenderOptions bo;
  bo.blender = options_.blenders.front();
  bo.spare = true;
  bo.scene_dir = dir / "scene";
  bo.scene_root = options_.warm_scene_root;
  bo.work_dir = dir / "work";
  bo.driver = driver_;
  bo.log_file = dir / "blender.log";
  bo.device = SlotDevice();
  bo.max_memory_bytes = options_.max_memory_bytes;
  spdlog::info("starting a spare Blender for scenes in {}", options_.warm_scene_root.string());
  spare_ = std::async(std::launch::async, services_.start_blender, bo);
}

std::unique_ptr<render::BlenderProcess> NodeAgent::TakeSpare(int64_t job_id, const net::SceneRef& scene,
                                                             const std::string& build) {
  if (!spare_.valid()) return nullptr;
  const auto& spare_root = options_.warm_scene_root;  // absolute and normal (StartSpare)
  const std::filesystem::path root = std::filesystem::path(scene.root).lexically_normal();
  const bool fits = !scene.root.empty() && domain::PathIsUnder(root.string(), spare_root.string()) &&
                    ChooseBlender(options_.blenders, caps_, build) == options_.blenders.front();
  auto spare = spare_.get();  // waits for one still starting; destroyed (stopped) unless used
  if (!spare) {
    spdlog::warn("the spare Blender did not start: {}", spare.error().message);
    return nullptr;
  }
  if (!fits) {
    spdlog::info("the spare Blender was for scenes in {}; job {} starts its own", spare_root.string(),
                 job_id);
    return nullptr;
  }
  const auto dir = WorkRoot() / "spare";
  const auto rel = root.lexically_relative(spare_root);
  auto main = FetchScene(*manager_, scene, options_.data_dir / "cache",
                         rel == "." ? dir / "scene" : dir / "scene" / rel);
  if (!main) {
    spdlog::warn("job {}: cannot put the scene into the spare Blender's folder: {}", job_id,
                 main.error().message);
    return nullptr;
  }
  if (auto opened = (*spare)->Open(*main, scene.resolution_percentage); !opened) {
    spdlog::warn("job {}: the spare Blender could not open the scene: {}", job_id, opened.error().message);
    return nullptr;
  }
  job_dirs_[job_id] = dir;
  return std::move(*spare);
}

Result<void> LendEngines(nlohmann::json& caps, const std::vector<std::string>& lent) {
  using json = nlohmann::json;
  if (lent.empty() || !caps.is_object()) return Ok();
  // What the owner lends of `list` (of the owner's own list where the build's is not known); an error when
  // nothing is left: an empty list would read as a node that did not say, that is every engine.
  auto keep = [&](const json& list, const std::string& what) -> Result<json> {
    json kept = json::array();
    for (const auto& e : list.is_array() ? list : json(lent)) {
      if (e.is_string() && std::find(lent.begin(), lent.end(), e.get<std::string>()) != lent.end())
        kept.push_back(e);
    }
    if (kept.empty()) {
      return MakeError(Errc::kInvalidArgument, "--engines " + json(lent).dump() +
                                                   " lends none of the engines " + what + " renders here (" +
                                                   list.dump() + ")");
    }
    return kept;
  };
  json* builds = caps.contains("blenders") && caps["blenders"].is_array() ? &caps["blenders"] : nullptr;
  for (size_t i = 0; builds != nullptr && i < builds->size(); ++i) {
    json& b = (*builds)[i];
    if (!b.is_object()) continue;
    auto kept = keep(b.value("engines", json()), "Blender " + b.value("version", std::string("?")));
    if (!kept) return kept.error();
    b["engines"] = *kept;
  }
  // The node's own list is its default (first) build's.
  if (builds != nullptr && !builds->empty() && builds->front().is_object()) {
    caps["engines"] = builds->front()["engines"];
    return Ok();
  }
  auto kept = keep(caps.value("engines", json()), "its Blender");
  if (!kept) return kept.error();
  caps["engines"] = *kept;
  return Ok();
}

Result<void> NodeAgent::Start(const std::string& token, const std::string& name, const std::string& role) {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  auto driver = render::InstallDriverScript(options_.data_dir);
  if (!driver) return driver.error();
  driver_ = *driver;
  StartSpare();  // Blender's own start overlaps enrollment and the wait for the first task
  caps_ = services_.describe_machine(options_.blenders);
  INFERIX_TRY(LendEngines(caps_, options_.engines));
  if (!options_.slots.empty()) {
    // What the machine has and what its owner lends: each slot claims and renders on its own, and its
    // outputs are of its device's determinism class.
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : options_.devices) devices.push_back(DeviceJson(d));
    nlohmann::json slots = nlohmann::json::array();
    for (const auto& d : options_.slots) slots.push_back(DeviceJson(d));
    caps_["devices"] = devices;
    caps_["slots"] = slots;
  }
  int64_t backoff_ms = 500;
  // A node that enrolls now registers what it lends; one started again may lend other Blender builds than
  // when it enrolled, and tells the manager.
  const bool enrolled = std::filesystem::exists(options_.data_dir / "node.json", ec);
  while (!stop_) {
    auto creds = LoadOrEnroll(*manager_, options_.data_dir, token, name, role, caps_);
    if (creds) {
      creds_ = *creds;
      auto told = enrolled ? manager_->UpdateCapabilities(caps_) : Result<void>(Ok());
      if (!told && told.error().code == Errc::kUnavailable) {
        spdlog::warn("manager unreachable ({}); retrying in {} ms", told.error().message, backoff_ms);
        Sleep(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
        continue;
      }
      if (!told) return told.error();
      spdlog::info("{} {} (node {}) ready; Blender {}", role, name, creds_.node_id,
                   caps_.value("blender_version", "?"));
      return Ok();
    }
    if (creds.error().code != Errc::kUnavailable) return creds.error();
    spdlog::warn("manager unreachable ({}); retrying in {} ms", creds.error().message, backoff_ms);
    Sleep(backoff_ms);
    backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
  }
  return MakeError(Errc::kUnavailable, "stopped before the node could enroll");
}

Result<std::optional<net::ClaimedTask>> NodeAgent::Claim() {
  while (!stop_) {
    auto task = manager_->Claim({CachedHashes(options_.data_dir / "cache"), SlotId()});
    if (task) {
      claim_backoff_ms_ = 500;
      return task;
    }
    if (task.error().code == Errc::kUnauthenticated || task.error().code == Errc::kPermissionDenied) {
      return task.error();
    }
    spdlog::warn("claim failed ({}); retrying in {} ms", task.error().message, claim_backoff_ms_);
    Sleep(claim_backoff_ms_);
    claim_backoff_ms_ = std::min(claim_backoff_ms_ * 2, kMaxBackoffMs);
  }
  return std::optional<net::ClaimedTask>();
}

Result<render::BlenderOptions> NodeAgent::OptionsFor(int64_t job_id, const net::SceneRef& scene,
                                                     const std::string& build) {
  const auto job_dir = JobDir(job_id);
  auto main = FetchScene(*manager_, scene, options_.data_dir / "cache", job_dir / "scene");
  if (!main) return main.error();
  std::error_code ec;
  std::filesystem::create_directories(job_dir / "work", ec);
  render::BlenderOptions bo;
  bo.blender = ChooseBlender(options_.blenders, caps_, build);
  bo.scene = *main;
  bo.scene_dir = job_dir / "scene";
  bo.scene_root = scene.root;
  bo.resolution_percentage = scene.resolution_percentage;
  bo.work_dir = job_dir / "work";
  bo.driver = driver_;
  bo.log_file = job_dir / "blender.log";
  bo.device = SlotDevice();
  bo.max_memory_bytes = options_.max_memory_bytes;
  return bo;
}

Result<render::BlenderProcess*> NodeAgent::BlenderFor(int64_t job_id, const net::SceneRef& scene,
                                                      const std::string& build) {
  if (blender_ && blender_job_ == job_id && blender_build_ == build && blender_->Alive())
    return blender_.get();
  StopBlender();
  if (auto spare = TakeSpare(job_id, scene, build)) {
    spdlog::info("job {} opened in the spare Blender", job_id);
    blender_ = std::move(spare);
    blender_job_ = job_id;
    blender_build_ = build;
    LogDevice();
    return blender_.get();
  }
  job_dirs_.erase(job_id);  // a spare's folder serves only the spare's process
  auto bo = OptionsFor(job_id, scene, build);
  if (!bo) return bo.error();
  spdlog::info("starting Blender for job {}", job_id);
  auto proc = services_.start_blender(*bo);
  if (!proc) return proc.error();
  blender_ = std::move(*proc);
  blender_job_ = job_id;
  blender_build_ = build;
  LogDevice();
  return blender_.get();
}

void NodeAgent::LogDevice() const {
  // What Cycles' preferences say inside Blender, read back by the driver: the owner's check that a slot
  // renders on its own card and no other.
  const render::DeviceState& d = blender_->scene().device;
  std::string enabled;
  for (const auto& id : d.enabled) enabled += (enabled.empty() ? "" : ", ") + id;
  spdlog::info("job {}{}: Blender renders on {} (Cycles: {}, enabled: {}; scene on the {}{})", blender_job_,
               SlotId().empty() ? "" : " on slot " + SlotId(), d.assigned.empty() ? "?" : d.assigned, d.type,
               enabled.empty() ? "none" : enabled, d.scene_device,
               d.simulated ? "; simulated: recorded devices, rendered on the CPU" : "");
}

void NodeAgent::StopBlender() {
  blender_.reset();
  blender_job_ = 0;
  blender_build_.clear();
}

}  // namespace inferix::agent
