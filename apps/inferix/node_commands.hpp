#pragma once
// The command lines of the nodes: `inferix worker` and `inferix verifier`.
#include <CLI/CLI.hpp>
#include <atomic>
#include <string>

#include "core/result.hpp"
#include "verifier/verifier.hpp"
#include "worker/worker.hpp"

/// Adds `inferix worker` to `app`, filling `options` and `data` (the data folder) when parsed.
/// `list_devices`: --list-devices was given.
CLI::App* AddWorkerCommand(CLI::App& app, inferix::worker::WorkerOptions& options, std::string& data,
                           bool& list_devices);
/// Adds `inferix verifier` to `app`.
CLI::App* AddVerifierCommand(CLI::App& app, inferix::verifier::VerifierOptions& options, std::string& data);
/// Runs the parsed `inferix worker`: lists the machine's devices (--list-devices), or runs until `stop`.
inferix::Result<void> RunWorkerCommand(bool list_devices, inferix::worker::WorkerOptions& options,
                                       const std::string& data, const std::atomic<bool>& stop);
