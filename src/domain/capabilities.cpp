#include "domain/capabilities.hpp"

#include <algorithm>
#include <cctype>

namespace inferix::domain {

namespace {

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool HasAll(const BlenderBuild& build, const std::vector<std::string>& denoisers) {
  return std::all_of(denoisers.begin(), denoisers.end(),
                     [&](const std::string& d) { return Has(build.denoisers, d); });
}

}  // namespace

int VersionNumber(std::string_view version) {
  size_t i = 0;
  while (i < version.size() && version[i] == ' ') ++i;
  auto number = [&](int& out) {
    const size_t start = i;
    out = 0;
    while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i])) != 0 && i - start < 4) {
      out = out * 10 + (version[i] - '0');
      ++i;
    }
    return i > start;
  };
  int major = 0;
  int minor = 0;
  if (!number(major) || i >= version.size() || version[i] != '.') return 0;
  ++i;
  if (!number(minor) || minor > 99) return 0;
  return major * 100 + minor;
}

std::string VersionName(int version_number) {
  return std::to_string(version_number / 100) + "." + std::to_string(version_number % 100);
}

namespace {

// A build that did not say its version (a node of an older release, a failed `--version`) is not held back:
// it ranks as the newest.
int Rank(const BlenderBuild& build) {
  const int v = VersionNumber(build.version);
  return v == 0 ? 1'000'000 : v;
}

}  // namespace

bool CanRender(const RenderNeeds& needs, const BlenderBuild& build) {
  return Rank(build) >= needs.blender_version && HasAll(build, needs.denoisers);
}

std::optional<size_t> ChooseBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds) {
  std::optional<size_t> best;
  for (size_t i = 0; i < builds.size(); ++i) {
    if (!CanRender(needs, builds[i])) continue;
    // A job from before versions were read (0): the node's first build that can; else the oldest.
    if (needs.blender_version == 0) return i;
    if (!best || Rank(builds[i]) < Rank(builds[*best])) best = i;
  }
  return best;
}

RenderNeeds NeedsOf(const Job& job) {
  RenderNeeds needs;
  needs.blender_version = job.blender_version;
  if (!job.without_denoiser) needs.denoisers = job.denoisers;
  return needs;
}

std::string DenoiserName(std::string_view denoiser) {
  if (denoiser == "OPENIMAGEDENOISE") return "OpenImageDenoise";
  if (denoiser == "OPTIX") return "OptiX";
  return std::string(denoiser);
}

std::string WhyNoBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds) {
  std::string have;
  for (const auto& b : builds)
    have += (have.empty() ? "" : ", ") + (b.version.empty() ? "unknown" : b.version);
  if (have.empty()) have = "no Blender";
  const bool new_enough = std::any_of(
      builds.begin(), builds.end(), [&](const BlenderBuild& b) { return Rank(b) >= needs.blender_version; });
  if (!new_enough) {
    return "needs Blender " + VersionName(needs.blender_version) + " or newer (the scene was saved by it); " +
           "this node has " + have;
  }
  std::string wanted;
  for (const auto& d : needs.denoisers) wanted += (wanted.empty() ? "" : " and ") + DenoiserName(d);
  return "needs a Blender with " + wanted + " for the scene's denoising; this node's (" + have + ") lack it";
}

}  // namespace inferix::domain
