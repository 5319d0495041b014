#include "domain/capabilities.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <utility>

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
  return Rank(build) >= needs.blender_version && HasAll(build, needs.denoisers) &&
         BuildMeets(needs.requirements, build) && RendersEngine(build, needs.engine);
}

bool RendersEngine(const BlenderBuild& build, std::string_view engine) {
  return engine.empty() || build.engines.empty() ||
         std::find(build.engines.begin(), build.engines.end(), engine) != build.engines.end();
}

std::string EngineName(std::string_view engine) {
  if (engine == "CYCLES") return "Cycles";
  if (engine == "BLENDER_EEVEE") return "Eevee";
  if (engine == "BLENDER_EEVEE_NEXT") return "Eevee Next";
  if (engine == "BLENDER_WORKBENCH") return "Workbench";
  return std::string(engine);
}

std::string EnginesText(const std::vector<BlenderBuild>& builds) {
  std::vector<std::string> names;
  for (const auto& b : builds) {
    if (b.engines.empty()) return "every engine";
    for (const auto& e : b.engines) {
      if (!Has(names, EngineName(e))) names.push_back(EngineName(e));
    }
  }
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "no engine" : text;
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
  needs.requirements = job.requirements;
  needs.engine = job.engine;
  return needs;
}

namespace {

std::string LowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

constexpr std::array<std::string_view, 7> kDeviceRequirements = {"",      "cpu", "gpu",   "cuda",
                                                                 "optix", "hip", "oneapi"};

std::string GiB(int64_t bytes) {
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, gib == static_cast<double>(static_cast<int64_t>(gib)) ? "%.0f" : "%.1f",
                gib);
  return std::string(buf) + " GiB";
}

}  // namespace

bool SlotMeets(const JobRequirements& req, const SlotOffer& slot) {
  const std::string type = LowerCase(slot.type);
  const bool gpu = type != "cpu";
  if (req.device == "cpu" && gpu) return false;
  if (req.device == "gpu" && !gpu) return false;
  if (req.device != "" && req.device != "cpu" && req.device != "gpu" && req.device != type) return false;
  if (req.min_gpu_memory_bytes > 0 && (!gpu || slot.memory_bytes < req.min_gpu_memory_bytes)) return false;
  return true;
}

bool BuildMeets(const JobRequirements& req, const BlenderBuild& build) {
  if (req.blender_min == 0 && req.blender_max == 0) return true;
  const int v = VersionNumber(build.version);
  if (v == 0) return false;
  return (req.blender_min == 0 || v >= req.blender_min) && (req.blender_max == 0 || v <= req.blender_max);
}

std::string RequirementsText(const JobRequirements& req) {
  static const std::array<std::pair<std::string_view, std::string_view>, 6> kNames = {
      {{"cpu", "the CPU"},
       {"gpu", "a GPU"},
       {"cuda", "a CUDA GPU"},
       {"optix", "an OptiX GPU"},
       {"hip", "a HIP GPU"},
       {"oneapi", "a oneAPI GPU"}}};
  std::string device;
  for (const auto& [key, name] : kNames) {
    if (req.device == key) device = name;
  }
  if (req.min_gpu_memory_bytes > 0) {
    if (device.empty() || device == "the CPU") device = "a GPU";
    device += " with at least " + GiB(req.min_gpu_memory_bytes) + " of memory";
  }
  std::string blender;
  if (req.blender_min > 0 && req.blender_max > 0) {
    blender = "Blender " + VersionName(req.blender_min) + " to " + VersionName(req.blender_max);
  } else if (req.blender_min > 0) {
    blender = "Blender " + VersionName(req.blender_min) + " or newer";
  } else if (req.blender_max > 0) {
    blender = "Blender " + VersionName(req.blender_max) + " or older";
  }
  if (device.empty()) return blender;
  return blender.empty() ? device : device + ", " + blender;
}

Result<void> CheckRequirements(const JobRequirements& req) {
  if (std::find(kDeviceRequirements.begin(), kDeviceRequirements.end(), req.device) ==
      kDeviceRequirements.end())
    return MakeError(Errc::kInvalidArgument,
                     "the required device must be cpu, gpu, cuda, optix, hip or oneapi, not " + req.device);
  if (req.device == "cpu" && req.min_gpu_memory_bytes > 0)
    return MakeError(Errc::kInvalidArgument, "a job on the CPU cannot also require GPU memory");
  if (req.min_gpu_memory_bytes < 0 || req.blender_min < 0 || req.blender_max < 0)
    return MakeError(Errc::kInvalidArgument, "requirements cannot be negative");
  if (req.blender_min > 0 && req.blender_max > 0 && req.blender_min > req.blender_max)
    return MakeError(Errc::kInvalidArgument, "the Blender range is empty: " + VersionName(req.blender_min) +
                                                 " is newer than " + VersionName(req.blender_max));
  return Ok();
}

std::string EncodeRequirements(const JobRequirements& req) {
  if (req == JobRequirements{}) return "";
  return "device=" + req.device + ";min_gpu_memory_bytes=" + std::to_string(req.min_gpu_memory_bytes) +
         ";blender_min=" + std::to_string(req.blender_min) +
         ";blender_max=" + std::to_string(req.blender_max);
}

JobRequirements DecodeRequirements(std::string_view text) {
  JobRequirements req;
  while (!text.empty()) {
    const size_t end = std::min(text.find(';'), text.size());
    const std::string_view item = text.substr(0, end);
    text = end < text.size() ? text.substr(end + 1) : std::string_view();
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key(item.substr(0, eq));
    const std::string value(item.substr(eq + 1));
    int64_t number = 0;
    std::from_chars(value.data(), value.data() + value.size(), number);
    if (key == "device") {
      req.device = value;
    } else if (key == "min_gpu_memory_bytes") {
      req.min_gpu_memory_bytes = number;
    } else if (key == "blender_min") {
      req.blender_min = static_cast<int>(number);
    } else if (key == "blender_max") {
      req.blender_max = static_cast<int>(number);
    }
  }
  return req;
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
  if (std::none_of(builds.begin(), builds.end(),
                   [&](const BlenderBuild& b) { return BuildMeets(needs.requirements, b); })) {
    return "its user requires " +
           RequirementsText({"", 0, needs.requirements.blender_min, needs.requirements.blender_max}) +
           "; this node has " + have;
  }
  if (std::none_of(builds.begin(), builds.end(),
                   [&](const BlenderBuild& b) { return RendersEngine(b, needs.engine); })) {
    return "the scene renders with " + EngineName(needs.engine) + ", which this node does not render (it " +
           "renders " + EnginesText(builds) + ")";
  }
  std::string wanted;
  for (const auto& d : needs.denoisers) wanted += (wanted.empty() ? "" : " and ") + DenoiserName(d);
  return "needs a Blender with " + wanted + " for the scene's denoising; this node's (" + have + ") lack it";
}

}  // namespace inferix::domain
