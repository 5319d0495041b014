// bench_check: runs the verifier's check (src/verifier/check.cpp, the same code as `inferix verifier`) on
// prepared output files, many times each, in one warm sandboxed Blender. Benchmarks only
// (bench/detection.py): it measures what a check catches and costs, without a network around it.
//
//   bench_check --scene S.blend --work DIR [--trials N] [--regions R] [--detail-regions D] [--region-size Z]
//               [--margin M] [--seed X] [--exact-rate P] [--reduce-factor K] [--samples-divisor D]
//               [--tile-pass T] [--tile-fail T] [--force-regions] [--details]
//   stdin, one per line:  LABEL <tab> FRAME <tab> FORMAT <tab> PATH [<tab> REPORTED_SHA256]
//   stdout, one JSON object per line: label, file, trials, accepted, rejected, inconclusive, cpu_seconds
//   (Blender's CPU over all trials), first_reason (the first rejection's finding).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/crypto.hpp"
#include "render/blender_process.hpp"
#include "verifier/check.hpp"

int main(int argc, char** argv) {
  using namespace inferix;
  CLI::App app{"bench_check: run the verifier's check on prepared files"};
  std::filesystem::path scene;
  std::filesystem::path work;
  std::string blender = "blender";
  int trials = 100;
  verifier::CheckRequest policy;
  uint64_t seed = 1;
  app.add_option("--scene", scene)->required();
  app.add_option("--work", work)->required();
  app.add_option("--blender", blender);
  app.add_option("--trials", trials);
  app.add_option("--regions", policy.regions);
  app.add_option("--detail-regions", policy.detail_regions);
  app.add_option("--region-size", policy.region_size);
  app.add_option("--margin", policy.margin);
  app.add_option("--seed", seed);
  app.add_option("--exact-rate", policy.exact_rate);
  app.add_option("--reduce-factor", policy.reduce_factor);
  app.add_option("--samples-divisor", policy.samples_divisor);
  app.add_option("--tile-pass", policy.reduced.tile_pass);
  app.add_option("--tile-fail", policy.reduced.tile_fail);
  app.add_flag("--force-regions", policy.force_regions);
  bool details = false;
  app.add_flag("--details", details, "every trial's finding in the output (\"details\")");
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  std::filesystem::create_directories(work / "work", ec);
  auto driver = render::InstallDriverScript(work);
  if (!driver) {
    std::cerr << driver.error().message << "\n";
    return 1;
  }
  render::BlenderOptions bo;
  bo.blender = blender;
  bo.scene = std::filesystem::absolute(scene);
  bo.scene_dir = bo.scene.parent_path();
  bo.work_dir = std::filesystem::absolute(work / "work");
  bo.driver = *driver;
  bo.log_file = work / "blender.log";
  auto proc = render::BlenderProcess::Start(bo);
  if (!proc) {
    std::cerr << proc.error().message << "\n";
    return 1;
  }
  Random rng(seed);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string label, frame, format, path, reported;
    if (!std::getline(in, label, '\t') || !std::getline(in, frame, '\t') || !std::getline(in, format, '\t') ||
        !std::getline(in, path, '\t'))
      continue;
    std::getline(in, reported, '\t');
    verifier::CheckRequest req = policy;
    req.output = path;
    req.frame = std::stoi(frame);
    req.format = format;
    req.work_dir = bo.work_dir / "check";
    if (reported.empty()) {
      auto sha = Sha256File(path);
      reported = sha ? *sha : "";
    }
    req.reported_sha256 = reported;
    int accepted = 0, rejected = 0, inconclusive = 0;
    std::string first_reason;
    nlohmann::json all = nlohmann::json::array();
    const double cpu_before = (*proc)->CpuSeconds();
    for (int t = 0; t < trials; ++t) {
      auto r = verifier::CheckFrame(req, **proc, rng);
      if (details) all.push_back(r.verdict + ": " + r.detail.substr(0, 600));
      if (r.verdict == "accepted") ++accepted;
      if (r.verdict == "rejected") ++rejected;
      if (r.verdict == "inconclusive") ++inconclusive;
      if (r.verdict != "accepted" && first_reason.empty()) first_reason = r.detail;
    }
    const double cpu = (*proc)->CpuSeconds() - cpu_before;
    nlohmann::json out = {{"label", label},       {"file", path},
                          {"trials", trials},     {"accepted", accepted},
                          {"rejected", rejected}, {"inconclusive", inconclusive},
                          {"cpu_seconds", cpu},   {"first_reason", first_reason.substr(0, 300)}};
    if (details) out["details"] = all;
    std::cout << out.dump() << std::endl;
  }
  (*proc)->Kill();
  return 0;
}
