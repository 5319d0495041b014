#include "node_commands.hpp"

#include <iostream>

#include "core/files.hpp"

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

CLI::App* AddWorkerCommand(CLI::App& app, inferix::worker::WorkerOptions& wo, std::string& data,
                           bool& list_devices) {
  auto* worker = app.add_subcommand("worker", "run a worker: render tasks for the network");
  worker->add_option("--manager", wo.manager_url, "manager URL")->envname("INFERIX_MANAGER");
  worker->add_option("--token", wo.token, "enrollment token (first start only)")->envname("INFERIX_TOKEN");
  worker->add_option("--data", data, "data folder (credentials, scene cache)");
  worker->add_option("--blender", wo.blenders,
                     "Blender executable; repeat it to lend several builds (the first is the default)");
  worker->add_option("--name", wo.name, "name shown to users and operators");
  worker->add_option("--threads", wo.threads, "render threads (0: automatic)");
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
  worker->add_flag("--list-devices", list_devices, "print the render devices this machine has, and exit");
  return worker;
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

inferix::Result<void> RunWorkerCommand(bool list_devices, inferix::worker::WorkerOptions& wo,
                                       const std::string& data, const std::atomic<bool>& stop) {
  if (list_devices) {
    auto found = inferix::worker::FindDevices(wo);
    if (!found) return found.error();
    std::cout << "devices:\n"
              << inferix::agent::DescribeDevices(found->devices) << "lent by --device " << wo.device << ":\n"
              << inferix::agent::DescribeDevices(found->slots);
    return inferix::Ok();
  }
  if (wo.manager_url.empty() || data.empty())
    return inferix::MakeError(inferix::Errc::kInvalidArgument, "inferix worker needs --manager and --data");
  wo.data_dir = inferix::Absolute(data);
  return inferix::worker::RunWorker(wo, stop);
}
