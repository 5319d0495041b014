#include "agent/machine.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "agent/run_probe.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"

namespace inferix::agent {

using json = nlohmann::json;

namespace internal {

std::string RunAndRead(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace internal

namespace {

using internal::RunAndRead;
using internal::ShellQuote;

// The cache key: which file the executable is and when it last changed, so that an upgrade (a new file or new
// contents) is never answered from the cache. Empty when the file cannot be examined.
std::string ExecutableIdentity(const std::filesystem::path& exe) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(exe, ec);
  struct stat st {};
  if (ec || ::stat(real.c_str(), &st) != 0) return {};
  return fmt::format("{}\t{}:{}:{}:{}.{:09}:{}.{:09}", real.string(), st.st_dev, st.st_ino, st.st_size,
                     st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

std::filesystem::path VersionCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "inferix";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    return std::filesystem::path(home) / ".cache" / "inferix";
  }
  return {};
}

}  // namespace

namespace {

// An answer about a Blender executable, kept in the user's cache under the executable's identity: `compute`
// runs only the first time, or after the executable changed. An empty answer is not kept.
std::string CachedProbe(const std::string& blender, const std::string& what,
                        const std::function<std::string()>& compute) {
  const auto identity = ExecutableIdentity(ResolveExecutable(blender));
  const auto dir = VersionCacheDir();
  const auto cache = dir.empty() || identity.empty()
                         ? std::filesystem::path()
                         : dir / ("blender-" + what + "-" + Sha256Hex(identity).substr(0, 16));
  if (!cache.empty()) {
    if (auto kept = ReadFile(cache); kept && kept->starts_with(identity + "\n")) {
      return kept->substr(identity.size() + 1);
    }
  }
  std::string answer = compute();
  if (!cache.empty() && !answer.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    (void)WriteFileAtomic(cache, identity + "\n" + answer);  // a cache: failing to keep it costs a rerun
  }
  return answer;
}

// Asks Cycles which denoisers this build has (scene_checks.available_denoisers, inlined: no scene is opened,
// so nothing untrusted runs). The answer line is marked, among Blender's own output.
constexpr const char* kDenoiserProbe =
    "import bpy, json\n"
    "found = []\n"
    "try:\n"
    "    import _cycles\n"
    "    if getattr(_cycles, 'with_openimagedenoise', False): found.append('OPENIMAGEDENOISE')\n"
    "    if bpy.context.preferences.addons['cycles'].preferences.get_devices_for_type('OPTIX'):\n"
    "        found.append('OPTIX')\n"
    "except Exception:\n"
    "    pass\n"
    "print('INFERIX-DENOISERS ' + json.dumps(found))\n";

// Which render engines this build renders here (issue #17): Cycles when it has it; Workbench and Eevee when a
// tiny frame of the factory scene renders (they need OpenGL: a display, or Mesa's headless EGL as in Debian's
// Blender). Run without a display, as the sandbox runs Blender (it passes no environment), so that an engine
// that renders here only with a display is not advertised. One line per engine that rendered, printed at
// once: a Blender that crashes on the next still told what worked.
constexpr const char* kEngineProbe =
    "import bpy\n"
    "scene = bpy.context.scene\n"
    "r = scene.render\n"
    "r.resolution_x = 8\n"
    "r.resolution_y = 8\n"
    "r.resolution_percentage = 100\n"
    "for engine in ('CYCLES', 'BLENDER_WORKBENCH', 'BLENDER_EEVEE', 'BLENDER_EEVEE_NEXT'):\n"
    "    try:\n"
    "        r.engine = engine\n"
    "    except TypeError:\n"
    "        continue\n"
    "    if engine != 'CYCLES':\n"
    "        if hasattr(scene, 'eevee'): scene.eevee.taa_render_samples = 1\n"
    "        try:\n"
    "            if 'FINISHED' not in bpy.ops.render.render(write_still=False): continue\n"
    "        except Exception:\n"
    "            continue\n"
    "    print('INFERIX-ENGINE ' + engine, flush=True)\n";

}  // namespace

std::string BlenderVersion(const std::string& blender) {
  // `blender --version` costs about 0.4 s of CPU (Blender's start), once per node start; a node started again
  // with the same Blender (the local network of `inferix render` starts two each run) reads the answer kept
  // in the user's cache, keyed by the executable's identity.
  return CachedProbe(blender, "version", [&] {
    // Only the version banner: no scene is opened, so nothing untrusted runs here.
    std::string version = RunAndRead(ShellQuote(blender) + " --version 2>/dev/null | head -n 1");
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (version.starts_with("Blender ")) version = version.substr(8);
    return version;
  });
}

std::vector<std::string> BlenderDenoisers(const std::string& blender) {
  const std::string answer = CachedProbe(blender, "denoisers", [&] {
    const std::string out = RunAndRead(ShellQuote(blender) +
                                       " -b --factory-startup -noaudio --python-exit-code 1 --python-expr " +
                                       ShellQuote(kDenoiserProbe) + " 2>/dev/null");
    const std::string mark = "INFERIX-DENOISERS ";
    const size_t at = out.find(mark);
    if (at == std::string::npos) return std::string();
    const size_t end = out.find('\n', at);
    return out.substr(at + mark.size(),
                      end == std::string::npos ? std::string::npos : end - at - mark.size());
  });
  std::vector<std::string> found;
  json list = json::parse(answer, nullptr, false);
  if (!list.is_array()) return found;
  for (const auto& d : list) {
    if (d.is_string() && (d == "OPENIMAGEDENOISE" || d == "OPTIX")) found.push_back(d.get<std::string>());
  }
  return found;
}

std::vector<std::string> BlenderEngines(const std::string& blender) {
  // Eevee's first frame compiles its shaders: about 7 s of CPU on llvmpipe, once per build (the cache).
  const std::string answer = CachedProbe(blender, "engines", [&] {
    const std::string out = RunAndRead("env -u DISPLAY -u WAYLAND_DISPLAY timeout 300 " +
                                       ShellQuote(blender) + " -b --factory-startup -noaudio --python-expr " +
                                       ShellQuote(kEngineProbe) + " 2>/dev/null");
    const std::string mark = "INFERIX-ENGINE ";
    std::string found;
    for (size_t at = out.find(mark); at != std::string::npos; at = out.find(mark, at + 1)) {
      if (at > 0 && out[at - 1] != '\n') continue;
      const size_t end = out.find('\n', at);
      const std::string engine =
          out.substr(at + mark.size(), end == std::string::npos ? std::string::npos : end - at - mark.size());
      found += (found.empty() ? "" : ",") + engine;
    }
    return found;
  });
  std::vector<std::string> engines;
  for (size_t start = 0; start < answer.size();) {
    size_t end = answer.find(',', start);
    if (end == std::string::npos) end = answer.size();
    std::string engine = answer.substr(start, end - start);
    if (!engine.empty() && std::all_of(engine.begin(), engine.end(),
                                       [](unsigned char c) { return std::isupper(c) != 0 || c == '_'; }))
      engines.push_back(std::move(engine));
    start = end + 1;
  }
  return engines;
}

json DescribeBlender(const std::string& blender) {
  json build = {{"version", BlenderVersion(blender)}, {"denoisers", BlenderDenoisers(blender)}};
  // A build whose probe found nothing (it could not run) says nothing, rather than that it renders nothing.
  if (auto engines = BlenderEngines(blender); !engines.empty()) build["engines"] = engines;
  return build;
}

json DescribeMachine(const std::vector<std::string>& blenders) {
  const std::string blender = blenders.empty() ? std::string("blender") : blenders.front();
  json caps;
  caps["cpu_threads"] = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::string model = RunAndRead("grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2-");
  while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.pop_back();
  while (!model.empty() && model.front() == ' ') model.erase(0, 1);
  caps["cpu_model"] = model;
  caps["memory_bytes"] = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE);
  json gpus = json::array();
  std::string smi = RunAndRead(
      "command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total "
      "--format=csv,noheader 2>/dev/null");
  size_t start = 0;
  while (start < smi.size()) {
    size_t end = smi.find('\n', start);
    if (end == std::string::npos) end = smi.size();
    std::string line = smi.substr(start, end - start);
    if (!line.empty()) {
      auto comma = line.find(',');
      gpus.push_back({{"name", line.substr(0, comma)},
                      {"memory", comma == std::string::npos ? "" : line.substr(comma + 2)}});
    }
    start = end + 1;
  }
  caps["gpus"] = gpus;
  caps["blender"] = blender;
  struct utsname uts {};
  caps["arch"] = ::uname(&uts) == 0 ? std::string(uts.machine) : std::string();
  caps["device"] = "cpu";  // workers render with Cycles on the CPU (DESIGN.md section 5)
  caps["blender_version"] = BlenderVersion(blender);
  // Every build the owner lends (--blender given several times), the first the default: their versions and
  // denoisers, never their paths.
  json builds = json::array();
  for (const auto& b : blenders.empty() ? std::vector<std::string>{blender} : blenders) {
    builds.push_back(DescribeBlender(b));
  }
  caps["blenders"] = builds;
  // What the default build renders (issue #17); each build says its own.
  if (builds.front().contains("engines")) caps["engines"] = builds.front()["engines"];
  return caps;
}

std::string ChooseBlender(const std::vector<std::string>& blenders, const json& capabilities,
                          const std::string& build) {
  std::string blender = blenders.empty() ? std::string("blender") : blenders.front();
  const json builds =
      capabilities.is_object() ? capabilities.value("blenders", json::array()) : json::array();
  for (size_t i = 0; !build.empty() && i < builds.size() && i < blenders.size(); ++i) {
    if (builds[i].is_object() && builds[i].value("version", "") == build) return blenders[i];
  }
  return blender;
}

}  // namespace inferix::agent
