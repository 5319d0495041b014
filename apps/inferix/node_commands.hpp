#pragma once
// The command lines of the nodes: `inferix worker` and `inferix verifier`.
#include <CLI/CLI.hpp>
#include <atomic>
#include <string>

#include "core/result.hpp"
#include "verifier/verifier.hpp"
#include "worker/worker.hpp"

/// What `inferix worker` was given.
struct WorkerCommandLine {
  inferix::worker::WorkerOptions options;
  std::string data;           ///< the data folder
  bool list_devices = false;  ///< --list-devices
  bool json = false;          ///< status --json
  CLI::App* worker = nullptr;
  CLI::App* pause = nullptr;   ///< inferix worker pause: hand the tasks in hand back and take no work
  CLI::App* resume = nullptr;  ///< inferix worker resume: take work again
  CLI::App* drain = nullptr;   ///< inferix worker drain: finish the tasks in hand, then take no more
  CLI::App* status = nullptr;  ///< inferix worker status: the owner's view
};

/// Adds `inferix worker` (and its pause, resume, drain and status) to `app`.
void AddWorkerCommand(CLI::App& app, WorkerCommandLine& cl);
/// Adds `inferix verifier` to `app`.
CLI::App* AddVerifierCommand(CLI::App& app, inferix::verifier::VerifierOptions& options, std::string& data);
/// Runs the parsed `inferix worker`: one of its commands, lists the machine's devices (--list-devices), or
/// runs the worker until `stop`.
inferix::Result<void> RunWorkerCommand(WorkerCommandLine& cl, const std::atomic<bool>& stop);
