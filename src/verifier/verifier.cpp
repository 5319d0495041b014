#include "verifier/verifier.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/node_agent.hpp"
#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "verifier/check.hpp"

namespace inferix::verifier {
namespace {

using json = nlohmann::json;

class Verifier {
 public:
  Verifier(const VerifierOptions& options, const std::atomic<bool>& stop)
      : options_(options),
        stop_(stop),
        node_({options.manager_url, options.ca_file, options.data_dir, options.blender}, stop) {}

  Result<void> Run() {
    INFERIX_TRY(node_.Start(
        options_.token, options_.name.empty() ? agent::HostName() + "-verifier" : options_.name, "verifier"));
    while (!stop_) {
      auto task = node_.Claim();
      if (!task) return task.error();
      if (!task->is_null()) Verify(*task);
    }
    return Ok();
  }

 private:
  void Verify(const json& task) {
    const auto started = std::chrono::steady_clock::now();
    const int64_t task_id = task.value("task_id", int64_t{0});
    const int64_t job_id = task.value("job_id", int64_t{0});
    const auto frames = task.value("frames", std::vector<int>{});
    const json output = task.value("output", json::object());
    CheckResult result{"inconclusive", ""};
    auto blender = node_.BlenderFor(job_id, task.value("scene", json::object()));
    if (!blender || frames.empty()) {
      result.detail = "verifier could not load the scene: " +
                      (blender ? std::string("no frame") : blender.error().message);
    } else {
      const auto work = options_.data_dir / "jobs" / std::to_string(job_id) / "work" /
                        ("verify-" + std::to_string(task_id));
      std::error_code ec;
      std::filesystem::create_directories(work, ec);
      const auto file = work / "output";
      auto got = node_.api().Download(output.value("url", ""), file);
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
        result = CheckFrame(req, **blender, rng_);
      }
      std::filesystem::remove_all(work, ec);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("task {} (job {} frame {}): {} in {:.2f} s: {}", task_id, job_id,
                 frames.empty() ? 0 : frames.front(), result.verdict, seconds, result.detail);
    auto sig = Ed25519Sign(node_.credentials().private_key, domain::VerdictMessage(task_id, result.verdict));
    if (!sig) return;
    auto r = node_.api().Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/verdict",
                              {{"verdict", result.verdict},
                               {"detail", result.detail},
                               {"verify_seconds", seconds},
                               {"signature", *sig}});
    if (!r) spdlog::error("could not report verdict of task {}: {}", task_id, r.error().message);
  }

  const VerifierOptions& options_;
  const std::atomic<bool>& stop_;
  agent::NodeAgent node_;
  Random rng_;
};

}  // namespace

Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop) {
  Verifier v(options, stop);
  return v.Run();
}

}  // namespace inferix::verifier
