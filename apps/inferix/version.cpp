#include "version.hpp"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/machine.hpp"
#include "core/files.hpp"

namespace inferix::app {

extern const char* const kCommit;  // commit.cpp

std::string VersionText() {
  std::string text = std::string("inferix ") + INFERIX_VERSION + " (commit " + kCommit + ")\n";
  const auto blender = ResolveExecutable("blender");
  if (!blender.is_absolute())
    return text + "blender: not found on PATH (render, worker and verifier take --blender)";
  const auto described = agent::DescribeBlender(blender.string());
  const std::string version = described.value("version", "");
  std::string denoisers;
  for (const auto& d : described.value("denoisers", std::vector<std::string>{}))
    denoisers += (denoisers.empty() ? "" : ", ") + d;
  // The render engines a worker with it advertises (issue #17).
  std::string engines;
  for (const auto& e : described.value("engines", std::vector<std::string>{}))
    engines += (engines.empty() ? "" : ", ") + e;
  return text + "blender: " + blender.string() + ", " +
         (version.empty() ? std::string("version unknown (blender --version printed none)")
                          : "Blender " + version) +
         ", denoisers: " + (denoisers.empty() ? std::string("none") : denoisers) +
         ", engines: " + (engines.empty() ? std::string("unknown") : engines);
}

}  // namespace inferix::app
