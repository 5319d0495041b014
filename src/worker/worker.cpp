#include "worker/worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/node_agent.hpp"
#include "core/crypto.hpp"
#include "domain/tokens.hpp"

namespace inferix::worker {
namespace {

using json = nlohmann::json;

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
        node_({options.manager_url, options.ca_file, options.data_dir, options.blenders}, stop) {}

  Result<void> Run() {
    INFERIX_TRY(
        node_.Start(options_.token, options_.name.empty() ? agent::HostName() : options_.name, "worker"));
    while (!stop_) {
      auto task = node_.Claim();
      if (!task) return task.error();
      if (task->is_null()) {
        StopIdleBlender();
        continue;
      }
      RunTask(*task);
      last_task_end_ = std::chrono::steady_clock::now();
    }
    return Ok();
  }

 private:
  net::ApiClient& api() { return node_.api(); }

  void StopIdleBlender() {
    if (node_.blender_job() != 0 && std::chrono::steady_clock::now() - last_task_end_ >
                                        std::chrono::milliseconds(options_.idle_blender_ms)) {
      spdlog::info("stopping idle Blender of job {}", node_.blender_job());
      node_.StopBlender();
    }
  }

  void Fail(int64_t task_id, const std::string& error) {
    spdlog::error("task {} failed: {}", task_id, error);
    auto r = api().Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/fail", {{"error", error}});
    if (!r) spdlog::error("could not report the failure of task {}: {}", task_id, r.error().message);
  }

  Result<void> UploadFrame(int64_t task_id, const render::DriverEvent& ev, double cpu_seconds) {
    const std::string base =
        "/api/v1/tasks/" + std::to_string(task_id) + "/frames/" + std::to_string(ev.frame);
    auto sha = Sha256File(ev.path);
    if (!sha) return sha.error();
    int64_t backoff_ms = 500;
    for (int attempt = 0;; ++attempt) {
      auto r = [&]() -> Result<void> {
        auto slot = api().Call("POST", base + "/upload", json::object());
        if (!slot) return slot.error();
        const std::string key = slot->value("key", "");
        auto put = api().PutFile(slot->value("url", ""), ev.path, false);
        if (!put) return put.error();
        auto sig = Ed25519Sign(node_.credentials().private_key,
                               domain::FrameReportMessage(task_id, ev.frame, *sha, key));
        if (!sig) return sig.error();
        auto rep = api().Call("POST", base,
                              {{"sha256", *sha},
                               {"key", key},
                               {"render_seconds", ev.render_seconds},
                               {"render_cpu_seconds", cpu_seconds},
                               {"signature", *sig}});
        if (!rep) return rep.error();
        return Ok();
      }();
      if (r || r.error().code != Errc::kUnavailable || attempt >= 8 || stop_) return r;
      node_.Sleep(backoff_ms);
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000);
    }
  }

  void RunTask(const json& task) {
    const int64_t task_id = task.value("task_id", int64_t{0});
    const int64_t job_id = task.value("job_id", int64_t{0});
    const auto frames = task.value("frames", std::vector<int>{});
    spdlog::info("task {}: job {}, frames {}", task_id, job_id, json(frames).dump());
    Heartbeater heartbeat(options_, node_.credentials().node_token, task_id,
                          task.value("heartbeat_ms", int64_t{10'000}));
    auto blender = node_.BlenderFor(job_id, task.value("scene", json::object()), task.value("blender", ""));
    if (!blender) {
      Fail(task_id, blender.error().message);
      return;
    }
    render::RenderCommand cmd;
    cmd.frames = frames;
    const auto out_dir = node_.JobDir(job_id) / "work" / ("task-" + std::to_string(task_id));
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    cmd.output_dir = out_dir.string();
    cmd.format = task.value("format", "PNG");
    cmd.threads = options_.threads;
    cmd.denoise = task.value("denoise", true);
    std::string upload_error;
    bool canceled = false;
    // What each frame cost in CPU: the Blender process tree's CPU time between frames.
    double cpu_mark = (*blender)->CpuSeconds();
    auto rendered = (*blender)->Render(
        cmd,
        [&](const render::DriverEvent& ev) {
          if (ev.kind != render::DriverEvent::Kind::kFrameSaved || !upload_error.empty()) return;
          const double cpu_now = (*blender)->CpuSeconds();
          const double cpu = std::max(0.0, cpu_now - cpu_mark);
          cpu_mark = cpu_now;
          auto up = UploadFrame(task_id, ev, cpu);
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
      node_.StopBlender();
      return;
    }
    if (!upload_error.empty()) {
      node_.StopBlender();
      Fail(task_id, upload_error);
      return;
    }
    if (!rendered) {
      if (!(*blender)->Alive()) node_.StopBlender();
      Fail(task_id, rendered.error().message);
      return;
    }
    auto done = api().Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/done", json::object());
    if (!done) spdlog::error("could not report task {} done: {}", task_id, done.error().message);
  }

  const WorkerOptions& options_;
  const std::atomic<bool>& stop_;
  agent::NodeAgent node_;
  std::chrono::steady_clock::time_point last_task_end_ = std::chrono::steady_clock::now();
};

}  // namespace

Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop) {
  Worker w(options, stop);
  return w.Run();
}

}  // namespace inferix::worker
