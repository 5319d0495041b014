#include "agent/node_agent.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

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

NodeAgent::NodeAgent(NodeOptions options, const std::atomic<bool>& stop)
    : options_(std::move(options)),
      stop_(stop),
      api_(options_.manager_url, "", net::ClientOptions{options_.ca_file, 60, 10, &stop}) {}

NodeAgent::~NodeAgent() { StopBlender(); }

void NodeAgent::Sleep(int64_t ms) const {
  for (int64_t waited = 0; waited < ms && !stop_; waited += 100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::filesystem::path NodeAgent::JobDir(int64_t job_id) const {
  return options_.data_dir / "jobs" / std::to_string(job_id);
}

Result<void> NodeAgent::Start(const std::string& token, const std::string& name, const std::string& role) {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  auto driver = render::InstallDriverScript(options_.data_dir);
  if (!driver) return driver.error();
  driver_ = *driver;
  caps_ = net::DescribeMachine(options_.blenders);
  int64_t backoff_ms = 500;
  // A node that enrolls now registers what it lends; one started again may lend other Blender builds than
  // when it enrolled, and tells the manager.
  const bool enrolled = std::filesystem::exists(options_.data_dir / "node.json", ec);
  while (!stop_) {
    auto creds = net::LoadOrEnroll(api_, options_.data_dir, token, name, role, caps_);
    if (creds) {
      creds_ = *creds;
      auto told = enrolled ? api_.Call("POST", "/api/v1/nodes/capabilities", {{"capabilities", caps_}})
                           : Result<json>(json(nullptr));
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

Result<json> NodeAgent::Claim() {
  while (!stop_) {
    auto task = api_.Call("POST", "/api/v1/tasks/claim",
                          {{"cached", net::CachedHashes(options_.data_dir / "cache")}}, 40);
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
  return json(nullptr);
}

Result<render::BlenderOptions> NodeAgent::OptionsFor(int64_t job_id, const json& scene,
                                                     const std::string& build) {
  // The build the manager chose, by its version; the default (first) one otherwise.
  std::string blender = options_.blenders.empty() ? std::string("blender") : options_.blenders.front();
  const json builds = caps_.value("blenders", json::array());
  for (size_t i = 0; !build.empty() && i < builds.size() && i < options_.blenders.size(); ++i) {
    if (builds[i].value("version", "") == build) {
      blender = options_.blenders[i];
      break;
    }
  }
  const auto job_dir = JobDir(job_id);
  auto main = net::FetchScene(api_, scene, options_.data_dir / "cache", job_dir / "scene");
  if (!main) return main.error();
  std::error_code ec;
  std::filesystem::create_directories(job_dir / "work", ec);
  render::BlenderOptions bo;
  bo.blender = blender;
  bo.scene = *main;
  bo.scene_dir = job_dir / "scene";
  bo.scene_root = scene.value("root", "");
  bo.resolution_percentage = scene.value("resolution_percentage", 0);
  bo.work_dir = job_dir / "work";
  bo.driver = driver_;
  bo.log_file = job_dir / "blender.log";
  return bo;
}

Result<render::BlenderProcess*> NodeAgent::BlenderFor(int64_t job_id, const json& scene,
                                                      const std::string& build) {
  if (blender_ && blender_job_ == job_id && blender_build_ == build && blender_->Alive())
    return blender_.get();
  StopBlender();
  auto bo = OptionsFor(job_id, scene, build);
  if (!bo) return bo.error();
  spdlog::info("starting Blender for job {}", job_id);
  auto proc = render::BlenderProcess::Start(*bo);
  if (!proc) return proc.error();
  blender_ = std::move(*proc);
  blender_job_ = job_id;
  blender_build_ = build;
  return blender_.get();
}

void NodeAgent::StopBlender() {
  blender_.reset();
  blender_job_ = 0;
  blender_build_.clear();
}

}  // namespace inferix::agent
