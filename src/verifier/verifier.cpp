#include "verifier/verifier.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "agent/node_agent.hpp"
#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "domain/trust.hpp"
#include "image/image.hpp"
#include "verifier/check.hpp"

namespace inferix::verifier {
namespace {

using json = nlohmann::json;

class Verifier {
 public:
  Verifier(const VerifierOptions& options, const std::atomic<bool>& stop)
      : options_(options),
        stop_(stop),
        node_({options.manager_url, options.ca_file, options.data_dir, options.blenders}, stop) {}

  Result<void> Run() {
    INFERIX_TRY(image::CheckAvailable());  // a verifier that cannot decode must not enroll and claim checks
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
    const double cpu_started = OwnCpuSeconds();
    double blender_cpu = 0.0;
    const int64_t task_id = task.value("task_id", int64_t{0});
    const int64_t job_id = task.value("job_id", int64_t{0});
    const auto frames = task.value("frames", std::vector<int>{});
    const json output = task.value("output", json::object());
    const json check = task.value("check", json::object());
    const json original = task.value("original", json::object());
    CheckResult result;
    result.verdict = "inconclusive";
    std::optional<bool> matches;
    auto blender = node_.BlenderFor(job_id, task.value("scene", json::object()), task.value("blender", ""));
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
        req.denoise = task.value("denoise", true);
        req.work_dir = work;
        req.layer2 = check.value("layer2", true);
        req.whole_frame = check.value("whole_frame", false);
        req.escalated = check.value("level", 0) == domain::kMoreRegions;
        req.exact_rate = check.value("exact_rate", req.exact_rate);
        req.regions = std::max(options_.regions, check.value("regions", 0));
        req.detail_regions = std::max(options_.detail_regions, check.value("detail_regions", 0));
        req.region_size = options_.region_size;
        req.margin = options_.margin;
        const double before = (*blender)->CpuSeconds();
        result = CheckFrame(req, **blender, rng_);
        blender_cpu = std::max(0.0, (*blender)->CpuSeconds() - before);
        if (result.verdict == "accepted" && original.contains("url")) {
          // A second worker's render, now checked: does the output under dispute equal it?
          auto compared = CompareWithOriginal(original, file, work / "original");
          if (!compared) {
            result.verdict = "inconclusive";
            result.detail += "; cannot compare with the original output: " + compared.error().message;
          } else {
            matches = compared->first;
            result.detail += "; original output: " + compared->second;
          }
        }
      }
      std::filesystem::remove_all(work, ec);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = blender_cpu + (OwnCpuSeconds() - cpu_started);
    spdlog::info("task {} (job {} frame {}): {} in {:.2f} s ({:.2f} s CPU): {}", task_id, job_id,
                 frames.empty() ? 0 : frames.front(), result.verdict, seconds, cpu, result.detail);
    auto sig = Ed25519Sign(node_.credentials().private_key, domain::VerdictMessage(task_id, result.verdict));
    if (!sig) return;
    json regions = json::array();
    for (const auto& r : result.regions) regions.push_back({r.x0, r.y0, r.x1, r.y1});
    json body = {{"verdict", result.verdict},
                 {"detail", result.detail},
                 {"verify_seconds", seconds},
                 {"verify_cpu_seconds", cpu},
                 {"method", {{"layers", result.layers}, {"regions", regions}}},
                 {"signature", *sig}};
    if (matches) body["matches_original"] = *matches;
    auto r = node_.api().Call("POST", "/api/v1/tasks/" + std::to_string(task_id) + "/verdict", body);
    if (!r) spdlog::error("could not report verdict of task {}: {}", task_id, r.error().message);
  }

  // Whole-frame comparison of the disputed output with a checked second render (DESIGN.md section 6's
  // tolerance): {equal, what was found}.
  Result<std::pair<bool, std::string>> CompareWithOriginal(const json& original,
                                                           const std::filesystem::path& second,
                                                           const std::filesystem::path& file) {
    INFERIX_TRY(node_.api().Download(original.value("url", ""), file));
    auto sha = Sha256File(file);
    if (!sha) return sha.error();
    if (*sha != original.value("sha256", ""))
      return std::pair<bool, std::string>{false, "its stored object's SHA-256 differs from the report"};
    auto a = image::ReadImage(file);
    if (!a) {
      if (a.error().code == Errc::kInvalidArgument)
        return std::pair<bool, std::string>{false, "does not decode"};
      return a.error();
    }
    auto b = image::ReadImage(second);
    if (!b) return b.error();
    if (a->info.width != b->info.width || a->info.height != b->info.height ||
        a->info.channels != b->info.channels)
      return std::pair<bool, std::string>{false, "differs in size or channels"};
    auto cmp =
        image::CompareRegion(*a, *b, image::Rect{0, 0, a->info.width, a->info.height}, image::Tolerance{});
    if (!cmp) return cmp.error();
    return std::pair<bool, std::string>{
        cmp->pass, fmt::format("{} of {} px off, max diff {:.5f}: {}", cmp->pixels_off, cmp->pixels,
                               cmp->max_diff, cmp->pass ? "equal" : "different")};
  }

  static double OwnCpuSeconds() {
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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
