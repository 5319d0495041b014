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

double OwnCpuSeconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

Verifier::Verifier(VerifierOptions options, const std::atomic<bool>& stop, agent::NodeServices services,
                   std::optional<agent::Device> slot, std::vector<agent::Device> devices)
    : options_(std::move(options)),
      stop_(stop),
      node_(
          {options_.manager_url, options_.ca_file, options_.data_dir, options_.blenders,
           options_.warm_scene_root, slot ? std::vector<agent::Device>{*slot} : std::vector<agent::Device>{},
           0, std::move(devices), !options_.device_answers.empty(), options_.engines},
          stop, std::move(services)) {}

Result<void> Verifier::Start() {
  return node_.Start(options_.token, options_.name.empty() ? agent::HostName() + "-verifier" : options_.name,
                     "verifier");
}

Result<void> Verifier::Step() {
  auto task = node_.Claim();
  if (!task) return task.error();
  if (task->has_value()) Verify(**task);
  return Ok();
}

Result<void> Verifier::Run() {
  INFERIX_TRY(image::CheckAvailable());  // a verifier that cannot decode must not enroll and claim checks
  INFERIX_TRY(Start());
  while (!stop_) INFERIX_TRY(Step());
  return Ok();
}

void Verifier::Verify(const net::ClaimedTask& task) {
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = OwnCpuSeconds();
  double blender_cpu = 0.0;
  const int64_t task_id = task.task_id;
  const int64_t job_id = task.job_id;
  const auto& frames = task.frames;
  const net::CheckSpec check = task.check.value_or(net::CheckSpec{});
  CheckResult result;
  result.verdict = "inconclusive";
  std::optional<bool> matches;
  auto blender = node_.BlenderFor(job_id, task.scene, task.blender);
  if (!blender || frames.empty()) {
    result.detail =
        "verifier could not load the scene: " + (blender ? std::string("no frame") : blender.error().message);
  } else {
    const auto work = node_.JobDir(job_id) / "work" / ("verify-" + std::to_string(task_id));
    std::error_code ec;
    std::filesystem::create_directories(work, ec);
    const auto file = work / "output";
    auto got = node_.manager().Download(task.output ? task.output->url : std::string(), file);
    if (!got) {
      result.detail = "cannot download the output: " + got.error().message;
    } else {
      CheckRequest req;
      req.output = file;
      req.reported_sha256 = task.output ? task.output->sha256 : std::string();
      req.frame = frames.front();
      req.format = task.format;
      req.denoise = task.denoise;
      req.work_dir = work;
      req.layer2 = check.layer2;
      req.whole_frame = check.whole_frame;
      req.escalated = check.level == domain::kMoreRegions;
      req.exact_rate = check.exact_rate;
      req.regions = std::max(options_.regions, check.regions);
      req.detail_regions = std::max(options_.detail_regions, check.detail_regions);
      req.region_size = options_.region_size;
      req.margin = options_.margin;
      const double before = (*blender)->CpuSeconds();
      result = CheckFrame(req, **blender, rng_);
      blender_cpu = std::max(0.0, (*blender)->CpuSeconds() - before);
      if (result.verdict == "accepted" && task.original) {
        // A second worker's render, now checked: does the output under dispute equal it?
        auto compared = CompareWithOriginal(*task.original, file, work / "original");
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
  net::VerdictReport report;
  report.verdict = result.verdict;
  report.detail = result.detail;
  report.verify_seconds = seconds;
  report.verify_cpu_seconds = cpu;
  report.method.layers = result.layers;
  for (const auto& r : result.regions) report.method.regions.push_back({r.x0, r.y0, r.x1, r.y1});
  report.matches_original = matches;
  report.signature = *sig;
  auto r = node_.manager().ReportVerdict(task_id, report);
  if (!r) spdlog::error("could not report verdict of task {}: {}", task_id, r.error().message);
}

// Whole-frame comparison of the disputed output with a checked second render (DESIGN.md section 6's
// tolerance): {equal, what was found}.
Result<std::pair<bool, std::string>> Verifier::CompareWithOriginal(const net::OriginalRef& original,
                                                                   const std::filesystem::path& second,
                                                                   const std::filesystem::path& file) {
  INFERIX_TRY(node_.manager().Download(original.url, file));
  auto sha = Sha256File(file);
  if (!sha) return sha.error();
  if (*sha != original.sha256)
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

Result<void> RunVerifier(const VerifierOptions& options, const std::atomic<bool>& stop) {
  auto found =
      agent::FindDevices(options.blenders.empty() ? std::string("blender") : options.blenders.front(),
                         options.device, options.device_answers);
  if (!found) return found.error();
  if (found->slots.size() > 1 && options.device != "auto") {
    return MakeError(
        Errc::kInvalidArgument,
        "--device " + options.device + ": a verifier checks on one device; start one verifier for each");
  }
  const agent::Device& slot = found->slots.front();  // "auto": the first GPU, else the CPU
  spdlog::info("verifier checks on {} ({}){}", slot.id, slot.name,
               found->simulated ? " (recorded answers: GPU renders are simulated on the CPU)" : "");
  Verifier v(options, stop, {}, slot, found->devices);
  return v.Run();
}

}  // namespace inferix::verifier
