#include "worker/worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "net/node_client.hpp"
#include "render/blender_process.hpp"

namespace inferix::worker {
namespace {

using json = nlohmann::json;

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Sends heartbeats for one task on its own thread; remembers when the manager says cancel or abort.
class Heartbeater {
 public:
  Heartbeater(const WorkerOptions& options, const std::string& token, int64_t task_id, int64_t interval_ms)
      : thread_([this, options, token, task_id, interval_ms] {
          net::ApiClient api(options.manager_url, token, net::ClientOptions{options.ca_file, 20, 5});
          std::unique_lock lock(mu_);
          while (!done_) {
            cv_.wait_for(lock, std::chrono::milliseconds(interval_ms));
            if (done_) break;
            lock.unlock();
            auto r =
                api.Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/heartbeat", json::object());
            lock.lock();
            if (r && r->value("action", "continue") != "continue") {
              spdlog::warn("task {}: manager says {}", task_id, r->value("action", ""));
              stop_ = true;
            }
          }
        }) {}
  ~Heartbeater() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool ShouldStop() {
    std::lock_guard lock(mu_);
    return stop_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

class Worker {
 public:
  Worker(const WorkerOptions& options, const std::atomic<bool>& stop)
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
    const std::string name = options_.name.empty() ? HostName() : options_.name;
    int64_t backoff_ms = 500;
    while (!stop_) {
      auto creds = net::LoadOrEnroll(api_, options_.data_dir, options_.token, name, "worker", caps);
      if (creds) {
        creds_ = *creds;
        break;
      }
      if (creds.error().code != Errc::kUnavailable) return creds.error();
      spdlog::warn("manager unreachable ({}); retrying in {} ms", creds.error().message, backoff_ms);
      Sleep(backoff_ms);
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 30'000);
    }
    spdlog::info("worker {} (node {}) ready; Blender {}", name, creds_.node_id,
                 caps.value("blender_version", "?"));
    backoff_ms = 500;
    while (!stop_) {
      auto task = api_.Call("POST", "/api/v1/tasks/claim", {{"cached", net::CachedHashes(CacheDir())}}, 40);
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
      if (task->is_null()) {
        StopIdleBlender();
        continue;
      }
      RunTask(*task);
      last_task_end_ = std::chrono::steady_clock::now();
    }
    if (blender_) blender_->Kill();
    return Ok();
  }

 private:
  std::filesystem::path CacheDir() const { return options_.data_dir / "cache"; }

  void Sleep(int64_t ms) {
    for (int64_t waited = 0; waited < ms && !stop_; waited += 100) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void StopIdleBlender() {
    if (blender_ && std::chrono::steady_clock::now() - last_task_end_ >
                        std::chrono::milliseconds(options_.idle_blender_ms)) {
      spdlog::info("stopping idle Blender of job {}", blender_job_);
      blender_.reset();
      blender_job_ = 0;
    }
  }

  void Fail(int64_t task_id, const std::string& error) {
    spdlog::error("task {} failed: {}", task_id, error);
    auto r = api_.Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/fail", {{"error", error}});
    if (!r) spdlog::error("could not report the failure of task {}: {}", task_id, r.error().message);
  }

  // Keeps one Blender per job: reuses the warm one when the next task is from the same job.
  Result<void> EnsureBlender(int64_t job_id, const json& scene) {
    if (blender_ && blender_job_ == job_id && blender_->Alive()) return Ok();
    blender_.reset();
    const auto job_dir = options_.data_dir / "jobs" / std::to_string(job_id);
    auto main = net::FetchScene(api_, scene, CacheDir(), job_dir / "scene");
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
    spdlog::info("starting Blender for job {}", job_id);
    auto proc = render::BlenderProcess::Start(bo);
    if (!proc) return proc.error();
    blender_ = std::move(*proc);
    blender_job_ = job_id;
    return Ok();
  }

  Result<void> UploadFrame(int64_t task_id, const render::DriverEvent& ev) {
    const std::string base =
        "/api/v1/tasks/" + std::to_string(task_id) + "/frames/" + std::to_string(ev.frame);
    auto sha = Sha256File(ev.path);
    if (!sha) return sha.error();
    int64_t backoff_ms = 500;
    for (int attempt = 0;; ++attempt) {
      auto r = [&]() -> Result<void> {
        auto slot = api_.Call("POST", base + "/upload", json::object());
        if (!slot) return slot.error();
        const std::string key = slot->value("key", "");
        auto put = api_.PutFile(slot->value("url", ""), ev.path, false);
        if (!put) return put.error();
        auto sig = Ed25519Sign(creds_.private_key, domain::FrameReportMessage(task_id, ev.frame, *sha, key));
        if (!sig) return sig.error();
        auto rep = api_.Call(
            "POST", base,
            {{"sha256", *sha}, {"key", key}, {"render_seconds", ev.render_seconds}, {"signature", *sig}});
        if (!rep) return rep.error();
        return Ok();
      }();
      if (r || r.error().code != Errc::kUnavailable || attempt >= 8 || stop_) return r;
      Sleep(backoff_ms);
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000);
    }
  }

  void RunTask(const json& task) {
    const int64_t task_id = task.value("task_id", int64_t{0});
    const int64_t job_id = task.value("job_id", int64_t{0});
    const auto frames = task.value("frames", std::vector<int>{});
    spdlog::info("task {}: job {}, frames {}", task_id, job_id, json(frames).dump());
    Heartbeater heartbeat(options_, creds_.node_token, task_id, task.value("heartbeat_ms", int64_t{10'000}));
    auto ready = EnsureBlender(job_id, task.value("scene", json::object()));
    if (!ready) {
      Fail(task_id, ready.error().message);
      return;
    }
    render::RenderCommand cmd;
    cmd.frames = frames;
    const auto out_dir =
        options_.data_dir / "jobs" / std::to_string(job_id) / "work" / ("task-" + std::to_string(task_id));
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    cmd.output_dir = out_dir.string();
    cmd.format = task.value("format", "PNG");
    cmd.threads = options_.threads;
    std::string upload_error;
    bool canceled = false;
    auto rendered = blender_->Render(
        cmd,
        [&](const render::DriverEvent& ev) {
          if (ev.kind != render::DriverEvent::Kind::kFrameSaved || !upload_error.empty()) return;
          auto up = UploadFrame(task_id, ev);
          if (!up) {
            upload_error = "frame " + std::to_string(ev.frame) + ": " + up.error().message;
            spdlog::error("task {}: {}", task_id, upload_error);
          } else {
            spdlog::info("task {}: frame {} uploaded ({:.2f} s render)", task_id, ev.frame,
                         ev.render_seconds);
          }
          std::filesystem::remove(ev.path, ec);
        },
        [&] {
          canceled = heartbeat.ShouldStop() || stop_;
          return canceled || !upload_error.empty();
        });
    if (canceled) {
      spdlog::warn("task {} stopped (canceled or lease lost)", task_id);
      blender_.reset();
      return;
    }
    if (!upload_error.empty()) {
      blender_.reset();
      Fail(task_id, upload_error);
      return;
    }
    if (!rendered) {
      if (!blender_->Alive()) blender_.reset();
      Fail(task_id, rendered.error().message);
      return;
    }
    auto done = api_.Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/done", json::object());
    if (!done) spdlog::error("could not report task {} done: {}", task_id, done.error().message);
  }

  const WorkerOptions& options_;
  const std::atomic<bool>& stop_;
  net::ApiClient api_;
  net::NodeCredentials creds_;
  std::filesystem::path driver_;
  std::unique_ptr<render::BlenderProcess> blender_;
  int64_t blender_job_ = 0;
  std::chrono::steady_clock::time_point last_task_end_ = std::chrono::steady_clock::now();
};

}  // namespace

Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop) {
  Worker w(options, stop);
  return w.Run();
}

}  // namespace inferix::worker
