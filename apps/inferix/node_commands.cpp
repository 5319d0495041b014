#include "node_commands.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "agent/owner.hpp"
#include "core/files.hpp"
#include "worker/status.hpp"

namespace {

// --engines (issue #17): the render engines an owner lends, of those the node's Blender renders here.
void AddEnginesOption(CLI::App& command, std::vector<std::string>& engines, const std::string& verb) {
  command
      .add_option("--engines", engines,
                  "render engines to " + verb +
                      ", comma-separated (default: every engine its Blender renders here without a display, "
                      "which it tries at its first start)")
      ->delimiter(',')
      ->check(CLI::IsMember({"CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH"}));
}

}  // namespace

void AddWorkerCommand(CLI::App& app, WorkerCommandLine& cl) {
  inferix::worker::WorkerOptions& wo = cl.options;
  auto* worker = app.add_subcommand("worker", "run a worker: render tasks for the network");
  cl.worker = worker;
  worker->add_option("--manager", wo.manager_url, "manager URL")->envname("INFERIX_MANAGER");
  worker->add_option("--token", wo.token, "enrollment token (first start only)")->envname("INFERIX_TOKEN");
  worker->add_option("--data", cl.data, "data folder (credentials, scene cache)")->envname("INFERIX_DATA");
  worker->add_option("--blender", wo.blenders,
                     "Blender executable; repeat it to lend several builds (the first is the default)");
  worker->add_option("--name", wo.name, "name shown to users and operators");
  worker->add_option("--threads", wo.threads, "render threads (0: automatic)");
  worker
      ->add_option("--max-memory", wo.max_memory_bytes,
                   "the most memory Blender may hold, such as 8GiB or 512MiB (default: no cap); a task that "
                   "needs more fails here and is rendered by another worker")
      ->transform(CLI::AsSizeValue(false));
  worker->add_option("--ca", wo.ca_file, "certificate authority to trust for HTTPS");
  worker->add_option("--warm-scene-root", wo.warm_scene_root, "start a spare Blender for scenes there");
  worker
      ->add_option("--device", wo.device,
                   "what to lend: auto (every GPU, else the CPU), cpu, or device ids such as cuda:0,cuda:1 "
                   "(--list-devices shows them); each is a slot rendering a task of its own")
      ->capture_default_str();
  worker->add_option("--device-answers", wo.device_answers,
                     "tests only: read the machine's devices from this recorded answer (GPU renders are then "
                     "simulated on the CPU)");
  AddEnginesOption(*worker, wo.engines, "lend");
  worker->add_flag("--list-devices", cl.list_devices, "print the render devices this machine has, and exit");
  worker->add_option("--schedule", wo.schedule,
                     "when it takes work, local time: \"Mon-Fri 19:00-08:00; Sat-Sun\" (default: always); "
                     "outside it, it finishes the tasks in hand and takes no more");
  worker
      ->add_option("--busy-cpu", wo.busy_cpu_percent,
                   "pause while other programs use more than this percentage of the machine's CPU (0: off); "
                   "the task in hand is handed back")
      ->check(CLI::Range(0, 100));
  worker
      ->add_option(
          "--busy-gpu", wo.busy_gpu_percent,
          "pause while a lent NVIDIA card is busier than this percentage with other programs (0: off)")
      ->check(CLI::Range(0, 100));
  worker->add_option("--busy-seconds", wo.busy_seconds, "for this long before it pauses")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  worker
      ->add_option("--quiet-seconds", wo.quiet_seconds, "and below for this long before it takes work again")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  // Against a running worker, through its data folder (--data before or after the command).
  cl.pause = worker->add_subcommand("pause", "hand the tasks in hand back and take no work until resumed");
  cl.resume = worker->add_subcommand("resume", "take work again (ends pause and drain)");
  cl.drain = worker->add_subcommand("drain", "finish the tasks in hand, then take no more until resumed");
  cl.status =
      worker->add_subcommand("status", "the owner's view: state, slots, devices, latest frames and verdicts");
  cl.status->add_flag("--json", cl.json, "print the worker's and the manager's view as JSON");
  for (auto* sub : {cl.pause, cl.resume, cl.drain, cl.status}) sub->fallthrough();
}

CLI::App* AddVerifierCommand(CLI::App& app, inferix::verifier::VerifierOptions& vo, std::string& data) {
  auto* verifier = app.add_subcommand("verifier", "run a verifier: check workers' frames");
  verifier->add_option("--manager", vo.manager_url, "manager URL")->envname("INFERIX_MANAGER")->required();
  verifier->add_option("--token", vo.token, "enrollment token (first start only)")->envname("INFERIX_TOKEN");
  verifier->add_option("--data", data, "data folder")->required();
  verifier->add_option(
      "--blender", vo.blenders,
      "Blender executable; repeat it to check with several builds (the first is the default)");
  verifier->add_option("--name", vo.name, "name shown to operators");
  verifier->add_option("--warm-scene-root", vo.warm_scene_root, "start a spare Blender for scenes there");
  verifier
      ->add_option("--regions", vo.regions, "regions drawn uniformly and re-rendered per frame (at least)")
      ->check(CLI::Range(0, 64));
  verifier
      ->add_option("--detail-regions", vo.detail_regions,
                   "regions drawn where the frame shows detail (at least)")
      ->check(CLI::Range(0, 64));
  verifier->add_option("--region-size", vo.region_size, "region side in pixels, margin included")
      ->check(CLI::Range(8, 4096));
  verifier->add_option("--margin", vo.margin, "pixels left out at each region's edge")
      ->check(CLI::Range(0, 64));
  verifier->add_option("--ca", vo.ca_file, "certificate authority to trust for HTTPS");
  verifier
      ->add_option(
          "--device", vo.device,
          "the one device it checks on: auto (the first GPU, else the CPU), cpu, or a device id such "
          "as cuda:0; it checks outputs of that device's class")
      ->capture_default_str();
  verifier->add_option("--device-answers", vo.device_answers,
                       "tests only: read the machine's devices from this recorded answer");
  AddEnginesOption(*verifier, vo.engines, "check with");
  return verifier;
}

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Writes what the owner set and waits up to a few seconds for the running worker to show it.
inferix::Result<void> SetControl(const fs::path& data, bool paused, bool drain, const std::string& expect) {
  INFERIX_TRY(inferix::agent::WriteOwnerControl(data, {paused, drain}));
  auto status = inferix::worker::ReadStatus(data);
  if (!status) return status.error();
  if (!status->has_value() || !inferix::worker::StatusIsLive(**status)) {
    std::cout << "no worker is running with " << data.string() << "; it will start "
              << (expect.empty() ? "taking work" : expect) << "\n";
    return inferix::Ok();
  }
  for (int i = 0; i < 50; ++i) {  // the worker reads the file every second
    auto now = inferix::worker::ReadStatus(data);
    if (now && now->has_value() && (**now).value("availability", "") == expect) {
      const json back = (**now).value("handed_back", json());
      std::cout << "worker: " << (expect.empty() ? "taking work" : expect);
      if (paused && back.is_object())
        std::cout << " (last task handed back: " << back.value("task_id", 0) << ")";
      std::cout << "\n";
      return inferix::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "set; the worker has not shown it yet (inferix worker status --data " << data.string()
            << " tells when it does)\n";
  return inferix::Ok();
}

inferix::Result<void> PrintStatus(const fs::path& data, const std::string& ca_file, bool as_json) {
  auto local = inferix::worker::ReadStatus(data);
  if (!local) return local.error();
  auto manager = inferix::worker::ManagerView(data, ca_file);
  const json local_json = local->has_value() ? **local : json();
  const json manager_json = manager ? *manager : json();
  if (as_json) {
    json out = {{"worker", local_json},
                {"running", local_json.is_object() && inferix::worker::StatusIsLive(local_json)},
                {"manager", manager_json}};
    if (!manager) out["manager_error"] = manager.error().message;
    std::cout << out.dump(2) << "\n";
    return inferix::Ok();
  }
  std::cout << inferix::worker::DescribeStatus(local_json, manager_json,
                                               manager ? "" : manager.error().message);
  return inferix::Ok();
}

}  // namespace

inferix::Result<void> RunWorkerCommand(WorkerCommandLine& cl, const std::atomic<bool>& stop) {
  inferix::worker::WorkerOptions& wo = cl.options;
  const bool command = cl.pause->parsed() || cl.resume->parsed() || cl.drain->parsed() || cl.status->parsed();
  if (command && cl.data.empty()) {
    return inferix::MakeError(inferix::Errc::kInvalidArgument,
                              "this command needs the worker's --data folder");
  }
  if (cl.pause->parsed()) return SetControl(inferix::Absolute(cl.data), true, false, "paused");
  if (cl.resume->parsed()) return SetControl(inferix::Absolute(cl.data), false, false, "");
  if (cl.drain->parsed()) return SetControl(inferix::Absolute(cl.data), false, true, "draining");
  if (cl.status->parsed()) return PrintStatus(inferix::Absolute(cl.data), wo.ca_file, cl.json);
  if (cl.list_devices) {
    auto found = inferix::worker::FindDevices(wo);
    if (!found) return found.error();
    std::cout << "devices:\n"
              << inferix::agent::DescribeDevices(found->devices) << "lent by --device " << wo.device << ":\n"
              << inferix::agent::DescribeDevices(found->slots);
    return inferix::Ok();
  }
  if (wo.manager_url.empty() || cl.data.empty())
    return inferix::MakeError(inferix::Errc::kInvalidArgument, "inferix worker needs --manager and --data");
  wo.data_dir = inferix::Absolute(cl.data);
  return inferix::worker::RunWorker(wo, stop);
}
