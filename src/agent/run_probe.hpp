#pragma once
// Internal to the agent module: running a probe command of the machine (Blender without a scene, nvidia-smi)
// and reading what it prints.
#include <string>

namespace inferix::agent::internal {

/// What `/bin/sh -c cmd` prints on stdout ("" when it cannot run).
std::string RunAndRead(const std::string& cmd);
/// `s` quoted for /bin/sh.
std::string ShellQuote(const std::string& s);

}  // namespace inferix::agent::internal
