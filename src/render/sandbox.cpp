// The bubblewrap sandbox every Blender runs in (docs/decisions.md, docs/scenes.md): the system read-only, the
// scene's files read-only at the artist's paths, the node's own files under /run/inferix, only the work
// folder writable, no network, no terminal, no environment.
#include "render/sandbox.hpp"

#include <algorithm>
#include <system_error>

#include "core/files.hpp"
#include "domain/scene_layout.hpp"

namespace inferix::render {
namespace {

namespace fs = std::filesystem;

bool IsUnder(const fs::path& p, const fs::path& dir) {
  auto [d, _] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end();
}

size_t Depth(const fs::path& p) { return static_cast<size_t>(std::distance(p.begin(), p.end())); }

bool IsStrictlyUnder(const fs::path& p, const fs::path& dir) { return p != dir && IsUnder(p, dir); }

// One read-only or writable bind: `source` on the node, shown at `target` in the sandbox.
struct Bind {
  fs::path source;
  fs::path target;
  bool writable = false;
};

// True when a folder shown whole at `target` would hide /tmp (the sandbox's own empty folder: scene files may
// appear inside it, never replace it), a system folder or one of `own`.
bool Covers(const fs::path& target, const std::vector<fs::path>& own) {
  bool covers = IsUnder(fs::path("/tmp"), target);
  for (auto system : domain::kSystemFolders) covers = covers || IsStrictlyUnder(fs::path(system), target);
  for (const auto& p : own) covers = covers || IsStrictlyUnder(p, target);
  return covers;
}

// Binds scene_dir's contents at `target` (the artist's folder), splitting a folder into its entries wherever
// showing it whole would cover one of the sandbox's own paths (`own`: the work folder), /tmp or a system
// folder: those stay the node's. A scene file that would land on or inside one of them is an error. A folder
// shown at its own path needs no such care: it is only made read-only.
Result<void> BindSceneAt(const fs::path& source, const fs::path& target, const std::vector<fs::path>& own,
                         std::vector<Bind>& out, int depth = 0) {
  if (source == target) {  // shown where it is: read-only over itself, whatever it is inside
    out.push_back({source, target, false});
    return Ok();
  }
  for (auto system : domain::kSystemFolders) {
    if (IsUnder(target, fs::path(system))) {
      return MakeError(Errc::kInvalidArgument, "the scene's file " + target.string() +
                                                   " would land in the system folder " + std::string(system) +
                                                   ", which the sandbox shows from this node");
    }
  }
  for (const auto& p : own) {
    if (IsUnder(target, p)) {
      return MakeError(Errc::kInvalidArgument, "the scene's file " + target.string() + " would land on " +
                                                   p.string() + ", the sandbox's own");
    }
  }
  if (!Covers(target, own)) {
    out.push_back({source, target, false});
    return Ok();
  }
  std::error_code ec;
  if (!fs::is_directory(source, ec) || depth > 64) {
    return MakeError(Errc::kInvalidArgument,
                     "the scene's file " + target.string() + " would cover the sandbox's own folders");
  }
  for (fs::directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    INFERIX_TRY(BindSceneAt(it->path(), target / it->path().filename(), own, out, depth + 1));
  }
  if (ec) return MakeError(Errc::kInternal, "cannot list " + source.string() + ": " + ec.message());
  return Ok();
}

}  // namespace

Result<void> CheckSpareSceneFolder(const BlenderOptions& options) {
  const fs::path source = Absolute(options.scene_dir);
  const fs::path target = options.scene_root.empty() ? source : options.scene_root;
  const std::vector<fs::path> own = {Absolute(options.work_dir)};
  std::vector<Bind> binds;
  INFERIX_TRY(BindSceneAt(source, target, own, binds));
  if (binds.size() != 1 || binds[0].source != source) {
    return MakeError(Errc::kInvalidArgument, "a spare Blender cannot show its scene folder at " +
                                                 target.string() +
                                                 ": it would cover the sandbox's own folders");
  }
  return Ok();
}

fs::path SandboxDriverPath() { return "/run/inferix/driver.py"; }

fs::path SandboxBlenderPath(const BlenderOptions& options) {
  fs::path blender = ResolveExecutable(options.blender);
  if (!blender.is_absolute() || IsUnder(blender, "/usr")) return blender;
  return fs::path("/run/inferix/blender") / blender.filename();
}

fs::path SandboxScenePath(const BlenderOptions& options) {
  if (options.scene_root.empty()) return options.scene;
  return options.scene_root / options.scene.lexically_relative(options.scene_dir);
}

std::vector<std::string> BlenderArgv(const BlenderOptions& options) {
  std::vector<std::string> argv = {(options.sandbox ? SandboxBlenderPath(options) : options.blender).string(),
                                   "-b"};
  if (!options.spare) argv.push_back((options.sandbox ? SandboxScenePath(options) : options.scene).string());
  argv.insert(argv.end(), {"-Y", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                           (options.sandbox ? SandboxDriverPath() : options.driver).string(), "--"});
  if (options.spare) {
    argv.emplace_back("--spare");
  } else if (options.resolution_percentage >= 1 && options.resolution_percentage <= 100) {
    argv.insert(argv.end(), {"--resolution-percentage", std::to_string(options.resolution_percentage)});
  }
  argv.insert(argv.end(), {"--device", options.device.type});
  if (!options.device.cycles_id.empty()) argv.insert(argv.end(), {"--device-id", options.device.cycles_id});
  if (options.device.simulated) argv.emplace_back("--device-simulated");
  return argv;
}

Result<std::vector<std::string>> SandboxArgv(const BlenderOptions& options,
                                             const std::vector<std::string>& argv) {
  std::vector<std::string> a = {"bwrap", "--ro-bind", "/usr", "/usr"};
  // Merged /usr (Debian 12): /bin, /lib, ... are links into /usr; elsewhere they are bound read-only.
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    auto st = fs::symlink_status(top, ec);
    if (ec) continue;
    if (fs::is_symlink(st)) {
      fs::path target = fs::read_symlink(top, ec);
      if (!ec) a.insert(a.end(), {"--symlink", target.string(), top});
    } else if (fs::is_directory(st)) {
      a.insert(a.end(), {"--ro-bind", top, top});
    }
  }
  a.insert(a.end(), {"--ro-bind", "/etc", "/etc", "--proc", "/proc", "--tmpfs", "/tmp"});
  // A /dev of its own with only the harmless devices and no tty, and (below) a new session: Blender can
  // reach no terminal to push input into (TIOCSTI).
  a.insert(a.end(), {"--tmpfs", "/dev"});
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
    a.insert(a.end(), {"--dev-bind", dev, dev});
  }
  a.insert(a.end(), {"--tmpfs", "/dev/shm"});
  // The slot's GPU and its driver's control files, and no other GPU (another slot's, or one not lent).
  for (const auto& dev : options.device.device_files) {
    std::error_code ec;
    if (dev.is_absolute() && IsUnder(dev, "/dev") && fs::exists(dev, ec))
      a.insert(a.end(), {"--dev-bind", dev.string(), dev.string()});
  }

  // The node's own files appear under /run/inferix (a system folder: no scene file can land there), wherever
  // they are on the node: the driver, its module, and a Blender installed outside /usr.
  std::vector<Bind> binds = {{Absolute(options.work_dir), Absolute(options.work_dir), true},
                             {Absolute(options.driver), SandboxDriverPath(), false}};
  // Only the driver's own modules, never its whole folder: on a worker that is the data folder with its keys.
  std::error_code checks_ec;
  if (fs::path checks = Absolute(options.driver).parent_path() / kSceneChecksFile;
      fs::is_regular_file(checks, checks_ec)) {
    binds.push_back({checks, SandboxDriverPath().parent_path() / kSceneChecksFile, false});
  }
  fs::path blender = ResolveExecutable(options.blender);
  if (blender.is_absolute() && !IsUnder(blender, "/usr")) {
    binds.push_back({blender.parent_path(), SandboxBlenderPath(options).parent_path(), false});
  }
  const std::vector<fs::path> own = {Absolute(options.work_dir)};
  if (!options.scene_dir.empty()) {
    const fs::path source = Absolute(options.scene_dir);
    INFERIX_TRY(BindSceneAt(source, options.scene_root.empty() ? source : options.scene_root, own, binds));
  }
  for (const auto& file : options.read_only_files) {
    INFERIX_TRY(BindSceneAt(Absolute(file), Absolute(file), own, binds));
  }
  // A folder bound inside another must come after it, or the outer bind would hide it.
  std::stable_sort(binds.begin(), binds.end(),
                   [](const Bind& x, const Bind& y) { return Depth(x.target) < Depth(y.target); });
  for (const auto& b : binds) {
    if (b.source.empty()) continue;
    a.insert(a.end(), {b.writable ? "--bind" : "--ro-bind", b.source.string(), b.target.string()});
  }

  std::string home = Absolute(options.work_dir).string();
  a.insert(
      a.end(),
      {"--unshare-all", "--hostname", "inferix", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
       // The worker's environment may hold its credentials (INFERIX_TOKEN): Blender gets none of it.
       "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", home, "--setenv", "TMPDIR",
       "/tmp", "--setenv", "LANG", "C.UTF-8", "--chdir", home, "--"});
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

}  // namespace inferix::render
