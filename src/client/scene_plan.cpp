// What a scene needs and where its files lie: the client's preflight (DESIGN.md sections 4 and 5, issue #12).
//
// Before any Blender opens the scene, the headers of the .blend and of every library it links (read from the
// files, recursively) say which Blender saved them: a file newer than the workers' Blender is refused, and
// one newer than the Blender that would check it is never opened (Blender 3.4 crashes loading some 4.x
// files). Then a sandboxed Blender that sees only those .blend files lists everything the scene needs
// (scene_checks.dependencies()), and this file finds each one on disk: sequences, UDIM tiles and baked cache
// folders are expanded, missing files named (Windows paths called what they are), private and system files
// refused. The files are uploaded relative to their deepest common folder, the root: workers show them at the
// artist's own paths (render::BlenderOptions::scene_root), so nothing is moved, packed or rewritten.
// The Blender add-on does the same in Python (scene_checks.plan_files); keep the two alike.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <set>

#include "agent/machine.hpp"
#include "blend/blend_file.hpp"
#include "client/internal.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "domain/scene_layout.hpp"
#include "net/node_client.hpp"
#include "render/blender_process.hpp"

namespace inferix::client {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxFiles = 10000;  // the manager's limit for one job (domain::CompileJob)

bool IsWindowsDrivePath(const std::string& p) {
  return p.size() >= 3 && std::isalpha(static_cast<unsigned char>(p[0])) != 0 && p[1] == ':' &&
         (p[2] == '\\' || p[2] == '/');
}

bool IsWindowsNetworkPath(const std::string& p) { return p.starts_with("\\\\"); }

bool IsUnderFolder(const fs::path& p, const fs::path& dir) {
  return domain::PathIsUnder(p.string(), dir.string());
}

// A folder or file name starting with a dot: hidden, often private (~/.ssh, ~/.config).
bool HasHiddenPart(const fs::path& p) {
  for (const auto& part : p) {
    const std::string s = part.string();
    if (s.size() > 1 && s.front() == '.' && s != "..") return true;
  }
  return false;
}

std::string Plural(size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

std::string NewestVersion(const std::vector<domain::BlenderBuild>& builds) {
  int newest = 0;
  std::string name;
  for (const auto& b : builds) {
    if (domain::VersionNumber(b.version) > newest) {
      newest = domain::VersionNumber(b.version);
      name = b.version;
    }
  }
  return name;
}

std::string VersionList(const std::vector<domain::BlenderBuild>& builds) {
  std::set<std::string> seen;
  std::string out;
  for (const auto& b : builds) {
    if (b.version.empty() || !seen.insert(b.version).second) continue;
    out += (out.empty() ? "" : ", ") + b.version;
  }
  return out.empty() ? std::string("none") : out;
}

}  // namespace

Expansion ExpandDependency(const render::SceneDependency& d) {
  Expansion out;
  std::error_code ec;
  const fs::path where = d.abs;
  if (d.kind == "udim") {
    const std::vector<int> tiles = d.tiles.empty() ? std::vector<int>{1001} : d.tiles;
    for (int number : tiles) {
      std::string path = d.abs;
      const int u = (number - 1001) % 10 + 1;
      const int v = (number - 1001) / 10 + 1;
      for (auto [token, value] :
           {std::pair<std::string, std::string>{"<UDIM>", fmt::format("{:04}", number)},
            std::pair<std::string, std::string>{"<UVTILE>", fmt::format("u{}_v{}", u, v)}}) {
        for (size_t at = path.find(token); at != std::string::npos;
             at = path.find(token, at + value.size())) {
          path.replace(at, token.size(), value);
        }
      }
      if (fs::is_regular_file(path, ec)) {
        out.files.emplace_back(path);
      } else {
        out.missing.push_back(path);
      }
    }
    return out;
  }
  if (d.kind == "directory") {
    if (!fs::is_directory(where, ec)) {
      out.missing.push_back(d.abs);
      return out;
    }
    for (fs::recursive_directory_iterator it(where, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) out.files.push_back(it->path());
      if (out.files.size() > kMaxFiles) break;
    }
    std::sort(out.files.begin(), out.files.end());
    return out;
  }
  if (d.kind == "sequence") {
    const std::string name = where.filename().string();
    const std::string ext = where.extension().string();
    const std::string stem = name.substr(0, name.size() - ext.size());
    size_t digits = 0;
    while (digits < stem.size() &&
           std::isdigit(static_cast<unsigned char>(stem[stem.size() - 1 - digits])) != 0)
      ++digits;
    if (digits > 0) {
      const std::string prefix = stem.substr(0, stem.size() - digits);
      for (fs::directory_iterator it(where.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string n = it->path().filename().string();
        if (n.size() <= prefix.size() + ext.size() || !n.starts_with(prefix) || !n.ends_with(ext)) continue;
        const std::string middle = n.substr(prefix.size(), n.size() - prefix.size() - ext.size());
        if (!std::all_of(middle.begin(), middle.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
        if (it->is_regular_file(ec)) out.files.push_back(it->path());
      }
      std::sort(out.files.begin(), out.files.end());
      if (out.files.empty()) out.missing.push_back(d.abs);
      return out;
    }
  }
  if (fs::is_regular_file(where, ec)) {
    out.files.push_back(where);
  } else {
    out.missing.push_back(d.abs);
  }
  return out;
}

namespace {

std::string MissingMessage(const render::SceneDependency& d, const std::string& path) {
  const std::string what = d.what.empty() ? std::string("referenced file") : d.what;
  if (IsWindowsNetworkPath(d.path)) {
    return what + " refers to " + d.path +
           ", a Windows network path that no Linux computer can open; relink it to a file on this computer "
           "(File > External Data > Find Missing Files), or pack it (File > External Data > Pack Resources)";
  }
  if (IsWindowsDrivePath(d.path)) {
    return what + " refers to " + d.path +
           ", a Windows path from the computer the scene was made on (here it "
           "would be " +
           path +
           ", which does not exist); relink it (File > External Data > Find Missing Files), "
           "or pack it on that computer (File > External Data > Pack Resources)";
  }
  const std::string shown = d.path == path ? path : d.path + " (" + path + ")";
  return what + ": " + shown +
         " is missing; put it back, relink it (File > External Data > Find Missing Files), or pack it (File "
         "> "
         "External Data > Pack Resources)";
}

// The .blend files a scene links, read from the files themselves (their Library blocks), recursively: the
// sandboxed Blender that lists the scene must see them, and each one's header says which Blender saved it.
struct Library {
  fs::path path;
  int version = 0;
};

}  // namespace

std::string BlenderAbsPath(const std::string& path, const fs::path& owner) {
  std::string p = path;
  if (p.starts_with("//")) {
    p = owner.parent_path().string() + "/" + p.substr(2);
  } else if (IsWindowsDrivePath(p)) {
    p = "/" + std::string(1, static_cast<char>(std::tolower(static_cast<unsigned char>(p[0])))) + p.substr(2);
  }
  if (IsWindowsNetworkPath(p)) return p;
  std::replace(p.begin(), p.end(), '\\', '/');
  if (p.empty() || p.front() != '/') return p;
  std::string normal = fs::path(p).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::vector<domain::BlenderBuild> NetworkBuilds(const json& workers) {
  std::vector<domain::BlenderBuild> builds;
  for (const auto& n : workers.value("nodes", json::array())) {
    const json caps = n.value("capabilities", json());
    if (n.value("role", "") != "worker" || n.value("banned", false) || !caps.is_object()) continue;
    bool listed = false;
    // The engines it renders (a build's own list, else the node's; none: a worker from before engines were
    // advertised, taken as every engine).
    auto names = [](const json& list) {
      std::vector<std::string> out;
      for (const auto& e : list.is_array() ? list : json::array()) {
        if (e.is_string()) out.push_back(e.get<std::string>());
      }
      return out;
    };
    const std::vector<std::string> engines = names(caps.value("engines", json::array()));
    for (const auto& b : caps.value("blenders", json::array())) {
      if (!b.is_object() || !b.value("version", json()).is_string()) continue;
      domain::BlenderBuild build{b.value("version", ""), names(b.value("denoisers", json::array())),
                                 b.contains("engines") ? names(b["engines"]) : engines};
      builds.push_back(std::move(build));
      listed = true;
    }
    if (!listed && caps.value("blender_version", json()).is_string())
      builds.push_back({caps.value("blender_version", ""), {}, engines});
  }
  return builds;
}

Result<ScenePlan> PlanScene(const fs::path& scene_path, const PlanOptions& o) {
  std::error_code ec;
  const fs::path scene = fs::absolute(scene_path, ec).lexically_normal();
  if (!fs::is_regular_file(scene, ec)) {
    return MakeError(Errc::kNotFound, "scene " + scene_path.string() + " does not exist or is not a file");
  }
  auto header = blend::ReadHeader(scene);
  if (!header) {
    if (header.error().code != Errc::kInvalidArgument) return header.error();
    return MakeError(Errc::kInvalidArgument,
                     "preflight failed: [not_blend] " + scene.string() +
                         " is not a .blend file (plain, gzip or zstd): " + header.error().message +
                         ". Save the scene from Blender and submit that file");
  }
  ScenePlan plan;
  plan.blender_version = header->version;
  auto problem = [&](std::string code, std::string message, bool fatal = true) {
    plan.problems.push_back({std::move(code), std::move(message), fatal});
  };

  // The libraries, from the files' own Library blocks, before any Blender opens anything.
  std::vector<Library> libraries;
  std::set<fs::path> seen = {scene};
  std::deque<fs::path> todo = {scene};
  while (!todo.empty()) {
    const fs::path file = todo.front();
    todo.pop_front();
    auto linked = blend::ReadLibraryPaths(file);
    if (!linked && file == scene) {
      // Damaged or cut short: Blender would fail on it (or worse), so it is never handed one.
      return MakeError(Errc::kInvalidArgument, "preflight failed: [unreadable] " + scene.string() +
                                                   " cannot be read: " + linked.error().message +
                                                   ". Open and save it again in Blender");
    }
    if (!linked) {
      problem("unreadable", "library " + file.string() + " cannot be read: " + linked.error().message +
                                ". Open and save it again in Blender");
      continue;
    }
    for (const auto& written : *linked) {
      const fs::path where = BlenderAbsPath(written, file);
      if (!where.is_absolute() || !fs::is_regular_file(where, ec) || !seen.insert(where).second) continue;
      auto lib_header = blend::ReadHeader(where);
      if (!lib_header) {
        problem("not_blend", "library " + written + " (" + where.string() +
                                 ") is not a .blend file: " + lib_header.error().message);
        continue;
      }
      libraries.push_back({where, lib_header->version});
      todo.push_back(where);
    }
  }

  // The Blender on this computer must not open a file saved by a newer one: it could crash (3.4 does on
  // some 4.x files) or misread it. CheckNetwork says so, naming the versions, with the workers' too.
  plan.local_blender = agent::BlenderVersion(o.blender);
  plan.saved.push_back({"the scene " + scene.filename().string(), header->version});
  for (const auto& lib : libraries) plan.saved.push_back({"library " + lib.path.string(), lib.version});
  const int local = domain::VersionNumber(plan.local_blender);
  for (const auto& saved : plan.saved) {
    if (local > 0 && saved.version > local) return plan;
  }

  // Blender lists what the scene needs; it runs sandboxed with the scene's Python disabled and sees only the
  // .blend files, at their own paths, so that relative paths resolve as they do here.
  char tmpl[] = "/tmp/inferix-list-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return MakeError(Errc::kInternal, "cannot create a temporary folder");
  const fs::path tmp = tmpl;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{tmp};
  auto driver = render::InstallDriverScript(tmp);
  if (!driver) return driver.error();
  fs::create_directories(tmp / "work", ec);
  render::BlenderOptions bo;
  bo.blender = o.blender;
  bo.scene = scene;
  bo.read_only_files = {scene};
  for (const auto& lib : libraries) bo.read_only_files.push_back(lib.path);
  bo.work_dir = tmp / "work";
  bo.driver = *driver;
  bo.log_file = tmp / "blender.log";
  auto proc = render::BlenderProcess::Start(bo);
  if (!proc) {
    return MakeError(Errc::kInvalidArgument, "preflight failed: [unreadable] Blender cannot open " +
                                                 scene.string() + "; open and save it again in Blender. " +
                                                 proc.error().message);
  }
  auto listed = (*proc)->ListFiles();
  if (!listed) return listed.error();
  auto problems = (*proc)->Preflight();
  if (!problems) return problems.error();
  plan.info = (*proc)->scene();
  plan.opened = true;
  for (auto& p : *problems) plan.problems.push_back(std::move(p));
  (*proc)->Kill();

  // Each file, found here.
  std::vector<fs::path> found = {scene};
  std::set<fs::path> taken = {scene};
  for (const auto& d : *listed) {
    auto expanded = ExpandDependency(d);
    for (const auto& path : expanded.missing) {
      if (d.optional) {
        problem("missing_file", MissingMessage(d, path) + "; the frames do not need it, so it is left out",
                false);
      } else {
        problem("missing_file", MissingMessage(d, path));
      }
    }
    const std::string what = d.what.empty() ? std::string("the scene") : d.what;
    for (const auto& file : expanded.files) {
      const fs::path path = file.lexically_normal();
      bool system = false;
      for (auto folder : domain::kSystemFolders) system = system || IsUnderFolder(path, fs::path(folder));
      if (system) {
        problem("system_file", what + " uses " + path.string() +
                                   ", a file of this computer's system folders, which workers cannot present "
                                   "at that path; pack it (File > External Data > Pack Resources) or copy it "
                                   "into the project and relink it");
      } else if (HasHiddenPart(path)) {
        problem("private_file",
                what + " uses " + path.string() +
                    ", which lies in a hidden folder or is a hidden file: Inferix does not "
                    "upload such files (they are often private: keys, settings). Copy it into "
                    "the project and relink it, or pack it");
      } else if (taken.insert(path).second) {
        found.push_back(path);
      }
    }
  }
  if (found.size() > kMaxFiles) {
    problem("too_many_files",
            fmt::format("the scene needs {}, more than the {} one job may hold; bake caches "
                        "into fewer files or split the job",
                        Plural(found.size(), "file"), kMaxFiles));
  }

  // The root: the deepest folder that holds every file. Paths are uploaded relative to it.
  fs::path root = scene.parent_path();
  for (const auto& path : found) {
    while (!IsUnderFolder(path, root) && root.has_parent_path() && root != root.root_path()) {
      root = root.parent_path();
    }
  }
  plan.root = root.string();
  for (const auto& path : found) {
    const std::string rel = path.lexically_relative(root).string();
    if (!IsSafeRelativePath(rel)) {
      problem("bad_file_name", path.string() +
                                   " cannot be uploaded: its name holds a backslash or a control character; "
                                   "rename it and relink it");
      continue;
    }
    auto sha = Sha256File(path);
    if (!sha) return sha.error();
    plan.files.push_back({rel, *sha, static_cast<int64_t>(fs::file_size(path, ec))});
    plan.local_paths[*sha] = path;
  }
  return plan;
}

void CheckNetwork(ScenePlan& plan, const std::vector<domain::BlenderBuild>& network, bool without_denoiser) {
  auto problem = [&](std::string code, std::string message, bool fatal = true) {
    plan.problems.push_back({std::move(code), std::move(message), fatal});
  };
  // Versions, from the headers: a file newer than every worker's Blender would open without complaint and
  // render wrong; one newer than the Blender that checks it here was never opened.
  const std::string newest = NewestVersion(network);
  if (newest.empty()) {
    problem("no_workers",
            "no worker has registered yet, so the scene's Blender version could not be compared with theirs",
            false);
  }
  const int local = domain::VersionNumber(plan.local_blender);
  for (const auto& [what, version] : plan.saved) {
    const std::string saved = domain::VersionName(version);
    if (!newest.empty() && version > domain::VersionNumber(newest)) {
      problem(
          "newer_blender",
          fmt::format("{} was saved by Blender {}, newer than any worker's Blender (this network has {}); "
                      "Blender would open it without complaint and may render it wrong. Save it with "
                      "Blender {} or older, or wait for workers with Blender {} or newer",
                      what, saved, VersionList(network), domain::VersionName(domain::VersionNumber(newest)),
                      saved));
    } else if (local > 0 && version > local) {
      problem("newer_blender",
              fmt::format("{} was saved by Blender {}, newer than this computer's Blender ({}) that checks "
                          "scenes before they are sent: it could crash or misread the file. Check it with a "
                          "newer Blender (--blender PATH)",
                          what, saved, plan.local_blender));
    }
  }
  if (!plan.opened) return;
  // The render engine: never a Blender error after the upload (issue #17).
  const std::string& engine = plan.info.engine;
  if (!newest.empty() && !engine.empty() &&
      std::none_of(network.begin(), network.end(),
                   [&](const domain::BlenderBuild& b) { return domain::RendersEngine(b, engine); })) {
    problem("engine", fmt::format("the scene renders with {} ({}), which no worker of this network renders "
                                  "(they render {}). Render it with an engine they have (Render Properties > "
                                  "Render Engine), or wait for a worker that renders {}: one whose Blender "
                                  "renders it without a display (docs/operations.md, \"Render engines\")",
                                  domain::EngineName(engine), engine, domain::EnginesText(network),
                                  domain::EngineName(engine)));
  }
  // Denoising: what the scene asks for against what the workers have.
  if (!plan.info.denoisers.empty()) {
    std::string wanted;
    for (const auto& d : plan.info.denoisers)
      wanted += (wanted.empty() ? "" : " and ") + domain::DenoiserName(d);
    domain::RenderNeeds needs{plan.blender_version, plan.info.denoisers};
    const bool someone_has = domain::ChooseBuild(needs, network).has_value();
    if (without_denoiser) {
      problem("denoiser",
              "the scene asks for denoising (" + wanted +
                  "); as you chose (--without-denoiser), every frame is "
                  "rendered with denoising off" +
                  (someone_has ? ", though some workers have it" : std::string()),
              false);
    } else if (!someone_has && !newest.empty()) {
      problem("denoiser", "the scene asks for denoising (" + wanted +
                              "), which no worker of this network has " +
                              "(their Blender: " + VersionList(network) +
                              "); its frames would be delivered "
                              "without denoising. Submit with --without-denoiser to accept that (the add-on: "
                              "\"Render without denoiser\"), or turn denoising off in the scene (Render "
                              "Properties > Sampling > Denoise)");
    }
  }
}

Result<void> ReportProblems(const ScenePlan& plan, bool as_json) {
  std::string fatal;
  for (const auto& p : plan.problems) {
    if (p.fatal) {
      fatal += "\n  [" + p.code + "] " + p.message;
    } else if (!as_json) {
      std::cerr << "warning: [" << Shown(p.code) << "] " << SafeLines(p.message, kShownMessageBytes) << "\n";
    }
  }
  if (!fatal.empty()) return MakeError(Errc::kInvalidArgument, "preflight failed:" + fatal);
  return Ok();
}

}  // namespace inferix::client
