#include "verifier/verifier.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "net/node_client.hpp"
#include "verifier/check.hpp"

namespace inferix::verifier {
namespace {

using json = nlohmann::json;

class Verifier {
 public:
  Verifier(const VerifierOptions& options, const std::atomic<bool>& stop)
      : options_(options),
        stop_(stop),
        api_(options.manager_url, "", net::ClientOptions{options.ca_file, 60, 10, &stop}) {}

  Result<void> Run() {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    auto driver = render::InstallDriverScript(options_.data_dir);
    if (!driver) return driver.error();
    driver_ = *driver;
    json caps = net::DescribeMachine(options_.blender);
    std::string name = options_.name;
    if (name.empty()) {
      char buf[256] = {};
      ::gethostname(buf, sizeof buf - 1);
      name = std::string(buf) + "-verifier";
    }
    int64_t backoff_ms = 500;
    while (!stop_) {
      auto creds = net::LoadOrEnroll(api_, options_.data_dir, options_.token, name, "verifier", caps);
      if (creds) {
        creds_ = *creds;
        break;
      }
      if (creds.error().code != Errc::kUnavailable) return creds.error();
      spdlog::warn("manager unreachable ({}); retrying in {} ms", creds.error().message, backoff_ms);
      Sleep(backoff_ms);
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 30'000);
    }
    spdlog::info("verifier {} (node {}) ready", name, creds_.node_id);
    backoff_ms = 500;
    while (!stop_) {
      auto task = api_.Call("POST", "/api/v1/tasks/claim",
                            {{"cached", net::CachedHashes(options_.data_dir / "cache")}}, 40);
      if (!task) {
        if (task.error().code == Errc::kUnauthenticated || task.error().code == Errc::kPermissionDenied) {
          return task.error();
        }
        spdlog::warn("claim failed ({}); retrying in {} ms", task.error().message, backoff_ms);
        Sleep(backoff_ms);
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 30'000);
        continue;
      }
      backoff_ms = 500;
      if (task->is_null()) continue;
      Verify(*task);
    }
    return Ok();
  }

 private:
  void Sleep(int64_t ms) {
    for (int64_t waited = 0; waited < ms && !stop_; waited += 100) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Result<void> EnsureBlender(int64_t job_id, const json& scene) {
    if (blender_ && blender_job_ == job_id && blender_->Alive()) return Ok();
    blender_.reset();
    const auto job_dir = options_.data_dir / "jobs" / std::to_string(job_id);
    auto main = net::FetchScene(api_, scene, options_.data_dir / "cache", job_dir / "scene");
    if (!main) return main.error();
    std::error_code ec;
    std::filesystem::create_directories(job_dir / "work", ec);
    render::BlenderOptions bo;
    bo.blender = options_.blender;
    bo.scene = *main;
    bo.scene_dir = job_dir / "scene";
    bo.work_dir = job_dir / "work";
    bo.driver = driver_;
    bo.log_file = job_dir / "blender.log";
    auto proc = render::BlenderProcess::Start(bo);
    if (!proc) return proc.error();
    blender_ = std::move(*proc);
    blender_job_ = job_id;
    return Ok();
  }

  void Verify(const json& task) {
    const auto started = std::chrono::steady_clock::now();
    const int64_t task_id = task.value("task_id", int64_t{0});
    const int64_t job_id = task.value("job_id", int64_t{0});
    const auto frames = task.value("frames", std::vector<int>{});
    const json output = task.value("output", json::object());
    CheckResult result{"inconclusive", ""};
    auto ready = EnsureBlender(job_id, task.value("scene", json::object()));
    if (!ready || frames.empty()) {
      result.detail =
          "verifier could not load the scene: " + (ready ? std::string("no frame") : ready.error().message);
    } else {
      const auto work = options_.data_dir / "jobs" / std::to_string(job_id) / "work" /
                        ("verify-" + std::to_string(task_id));
      std::error_code ec;
      std::filesystem::create_directories(work, ec);
      const auto file = work / "output";
      auto got = api_.Download(output.value("url", ""), file);
      if (!got) {
        result.detail = "cannot download the output: " + got.error().message;
      } else {
        CheckRequest req;
        req.output = file;
        req.reported_sha256 = output.value("sha256", "");
        req.frame = frames.front();
        req.format = task.value("format", "PNG");
        req.work_dir = work;
        req.regions = options_.regions;
        req.region_size = options_.region_size;
        req.margin = options_.margin;
        result = CheckFrame(req, *blender_, rng_);
      }
      std::filesystem::remove_all(work, ec);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("task {} (job {} frame {}): {} in {:.2f} s: {}", task_id, job_id,
                 frames.empty() ? 0 : frames.front(), result.verdict, seconds, result.detail);
    auto sig = Ed25519Sign(creds_.private_key, domain::VerdictMessage(task_id, result.verdict));
    if (!sig) return;
    auto r = api_.Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/verdict",
                       {{"verdict", result.verdict},
                        {"detail", result.detail},
                        {"verify_seconds", seconds},
                        {"signature", *sig}});
    if (!r) spdlog::error("could not report verdict of task {}: {}", task_id, r.error().message);
  }

  const VerifierOptions& options_;
  const std::atomic<bool>& stop_;
  net::ApiClient api_;
  net::NodeCredentials creds_;
  std::filesystem::path driver_;
  std::unique_ptr<render::BlenderProcess> blender_;
  int64_t blender_job_ = 0;
  Random rng_;
};

}  // namespace

Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop) {
  Verifier v(options, stop);
  return v.Run();
}

}  // namespace inferix::verifier
