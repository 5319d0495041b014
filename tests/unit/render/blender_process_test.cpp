// The process runner and its sandbox, with stand-in "blender" scripts: fast, and no Blender needed.
#include "render/blender_process.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/files.hpp"
#include "render/sandbox.hpp"

namespace inferix::render {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("inferix_render_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteExecutable(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all);
}

// Index of `flag` followed by `a` and `b` in argv, or -1.
int FindTriple(const std::vector<std::string>& argv, const std::string& flag, const std::string& a,
               const std::string& b) {
  for (size_t i = 0; i + 2 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == a && argv[i + 2] == b) return static_cast<int>(i);
  }
  return -1;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(SandboxArgv, Shape) {
  TempDir t;
  BlenderOptions o;
  o.blender = "/usr/bin/blender";
  o.scene_dir = t.path() / "scene";
  o.scene = o.scene_dir / "a.blend";
  o.work_dir = t.path() / "work";
  o.driver = t.path() / "drv" / "driver.py";
  fs::create_directories(o.scene_dir);
  fs::create_directories(o.work_dir);
  std::vector<std::string> inner = {"/usr/bin/blender", "-b", o.scene.string(), "-Y"};
  auto wrapped = SandboxArgv(o, inner);
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  const auto& argv = *wrapped;

  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "bwrap");
  auto dashdash = std::find(argv.begin(), argv.end(), "--");
  ASSERT_NE(dashdash, argv.end());
  EXPECT_EQ(std::vector<std::string>(dashdash + 1, argv.end()), inner) << "the wrapped command comes last";
  std::vector<std::string> opts(argv.begin(), dashdash);

  EXPECT_TRUE(Contains(opts, "--unshare-all"));
  EXPECT_TRUE(Contains(opts, "--die-with-parent"));
  // No terminal reachable inside: a new session and no /dev/tty node.
  EXPECT_TRUE(Contains(opts, "--new-session"));
  // Its own host name: the images' metadata (a Hostname stamp) never carry the worker's.
  EXPECT_GE(FindTriple(opts, "--unshare-all", "--hostname", "inferix"), 0);
  EXPECT_FALSE(Contains(opts, "/dev/tty"));
  EXPECT_FALSE(Contains(opts, "--dev"));
  EXPECT_GE(FindTriple(opts, "--dev-bind", "/dev/null", "/dev/null"), 0);
  EXPECT_TRUE(Contains(opts, "--clearenv"));
  auto cap = std::find(opts.begin(), opts.end(), "--cap-drop");
  ASSERT_NE(cap, opts.end());
  EXPECT_EQ(*(cap + 1), "ALL");
  EXPECT_GE(FindTriple(opts, "--ro-bind", "/usr", "/usr"), 0);
  EXPECT_GE(FindTriple(opts, "--ro-bind", "/etc", "/etc"), 0);
  auto tmpfs = std::find(opts.begin(), opts.end(), "--tmpfs");
  ASSERT_NE(tmpfs, opts.end());
  EXPECT_EQ(*(tmpfs + 1), "/tmp");

  std::string scene_dir = fs::canonical(o.scene_dir).string();
  std::string work_dir = fs::canonical(o.work_dir).string();
  EXPECT_GE(FindTriple(opts, "--ro-bind", scene_dir, scene_dir), 0) << "scene folder is read-only";
  EXPECT_GE(FindTriple(opts, "--bind", work_dir, work_dir), 0) << "work folder is writable";
  EXPECT_GE(FindTriple(opts, "--ro-bind", o.driver.string(), "/run/inferix/driver.py"), 0)
      << "driver is read-only, under /run/inferix whatever the node's folders";
  EXPECT_GE(FindTriple(opts, "--setenv", "HOME", work_dir), 0);
  auto chdir = std::find(opts.begin(), opts.end(), "--chdir");
  ASSERT_NE(chdir, opts.end());
  EXPECT_EQ(*(chdir + 1), work_dir);

  // Only these folders are writable: exactly one --bind, the work folder.
  EXPECT_EQ(std::count(opts.begin(), opts.end(), "--bind"), 1);
  // --dev-bind only for the harmless character devices.
  for (size_t i = 0; i + 1 < opts.size(); ++i) {
    if (opts[i] == "--dev-bind") {
      EXPECT_TRUE(opts[i + 1] == "/dev/null" || opts[i + 1] == "/dev/zero" || opts[i + 1] == "/dev/full" ||
                  opts[i + 1] == "/dev/random" || opts[i + 1] == "/dev/urandom")
          << opts[i + 1];
    }
  }
  EXPECT_FALSE(Contains(opts, "--share-net"));
  for (size_t i = 0; i + 1 < opts.size(); ++i) {
    if (opts[i] == "--bind" || opts[i] == "--ro-bind") {
      const std::string& src = opts[i + 1];
      EXPECT_NE(src, "/") << "the whole file system must not be bound";
      EXPECT_NE(src.rfind("/root", 0), 0u) << src;
      EXPECT_NE(src.rfind("/home", 0), 0u) << src;
    }
  }
  // Merged /usr: the top-level links are recreated as links, not bound.
  std::error_code ec;
  if (fs::is_symlink("/lib64", ec)) {
    EXPECT_GE(FindTriple(opts, "--symlink", "usr/lib64", "/lib64"), 0);
  }
}

TEST(SandboxArgv, NestedFoldersAreBoundOuterFirst) {
  TempDir t;
  BlenderOptions o;
  o.blender = "/usr/bin/blender";
  o.work_dir = t.path() / "work";
  o.scene_dir = t.path() / "work" / "scene";  // inside the writable folder: must stay read-only
  o.driver = t.path() / "work" / "driver.py";
  fs::create_directories(o.scene_dir);
  auto wrapped = SandboxArgv(o, {"true"});
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  const auto& argv = *wrapped;
  std::string work = fs::canonical(o.work_dir).string();
  std::string scene = fs::canonical(o.scene_dir).string();
  int work_at = FindTriple(argv, "--bind", work, work);
  int scene_at = FindTriple(argv, "--ro-bind", scene, scene);
  ASSERT_GE(work_at, 0);
  ASSERT_GE(scene_at, 0);
  EXPECT_LT(work_at, scene_at);
}

TEST(SandboxArgv, BindsTheDriversModuleButNotItsFolder) {
  TempDir t;
  BlenderOptions o;
  o.blender = "/usr/bin/blender";
  o.work_dir = t.path() / "work";
  o.scene_dir = t.path() / "scene";
  auto driver = InstallDriverScript(t.path() / "data");
  ASSERT_TRUE(driver.ok()) << driver.error().message;
  o.driver = *driver;
  auto wrapped = SandboxArgv(o, {"x"});
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  const auto& argv = *wrapped;
  std::string checks = (driver->parent_path() / "scene_checks.py").string();
  std::string folder = driver->parent_path().string();
  EXPECT_GE(FindTriple(argv, "--ro-bind", checks, "/run/inferix/scene_checks.py"), 0);
  EXPECT_GE(FindTriple(argv, "--ro-bind", driver->string(), "/run/inferix/driver.py"), 0);
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    EXPECT_FALSE(argv[i] == "--ro-bind" && argv[i + 1] == folder) << "a worker's data folder holds its keys";
  }
}

TEST(SandboxArgv, BindsTheFolderOfABlenderOutsideUsr) {
  TempDir t;
  fs::path exe = t.path() / "blender-4.1" / "blender";
  WriteExecutable(exe, "#!/bin/sh\n");
  fs::create_directories(t.path() / "bin");
  fs::create_symlink(exe, t.path() / "bin" / "blender");  // a link, as an install in /usr/local/bin would be
  BlenderOptions o;
  o.blender = t.path() / "bin" / "blender";
  o.work_dir = t.path() / "work";
  o.scene_dir = t.path() / "scene";
  o.driver = t.path() / "driver.py";
  auto argv = SandboxArgv(o, {"x"});
  ASSERT_TRUE(argv.ok()) << argv.error().message;
  std::string dir = fs::canonical(exe.parent_path()).string();
  EXPECT_GE(FindTriple(*argv, "--ro-bind", dir, "/run/inferix/blender"), 0);
  EXPECT_EQ(SandboxBlenderPath(o), fs::path("/run/inferix/blender/blender"));
  o.blender = "/usr/bin/blender";
  EXPECT_EQ(SandboxBlenderPath(o), fs::path("/usr/bin/blender")) << "the system's Blender is where it is";
}

// A job's files appear where they lay on the artist's computer (its scene root), so that relative paths out
// of the scene's folder and absolute ones resolve unchanged; the node's own paths and the system stay its
// own.
class SceneRootBinds : public ::testing::Test {
 protected:
  void SetUp() override {
    o_.blender = "/usr/bin/blender";
    o_.scene_dir = t_.path() / "jobs" / "1" / "scene";
    o_.work_dir = t_.path() / "jobs" / "1" / "work";
    o_.driver = t_.path() / "driver.py";
    fs::create_directories(o_.work_dir);
    Put("shots/a.blend");
    Put("tex/wood.png");
    o_.scene = o_.scene_dir / "shots" / "a.blend";
  }
  void Put(const std::string& rel) {
    fs::create_directories((o_.scene_dir / rel).parent_path());
    std::ofstream(o_.scene_dir / rel) << "x";
  }
  std::vector<std::string> Argv() {
    auto argv = SandboxArgv(o_, {"x"});
    EXPECT_TRUE(argv.ok()) << argv.error().message;
    return argv.ok() ? *argv : std::vector<std::string>{};
  }
  std::string Scene() const { return fs::canonical(o_.scene_dir).string(); }
  TempDir t_;
  BlenderOptions o_;
};

TEST_F(SceneRootBinds, TheSceneFolderAppearsAtTheArtistsPath) {
  o_.scene_root = "/home/artist/project";
  auto argv = Argv();
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene(), "/home/artist/project"), 0);
  EXPECT_LT(FindTriple(argv, "--ro-bind", Scene(), Scene()), 0) << "not also at the node's own path";
  EXPECT_EQ(SandboxScenePath(o_), fs::path("/home/artist/project/shots/a.blend"));
  o_.scene_root.clear();
  EXPECT_EQ(SandboxScenePath(o_), o_.scene) << "older jobs: where the node keeps it";
}

TEST_F(SceneRootBinds, ARootOverTheNodesOwnFoldersIsSplitIntoItsEntries) {
  // The artist's files lay in the very folder that holds this node's work folder: only their own entries are
  // shown there, and the work folder stays the node's.
  o_.scene_root = fs::canonical(t_.path()).string();
  auto argv = Argv();
  const std::string root = o_.scene_root.string();
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene() + "/shots", root + "/shots"), 0);
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene() + "/tex", root + "/tex"), 0);
  EXPECT_LT(FindTriple(argv, "--ro-bind", Scene(), root), 0);
  const std::string work = fs::canonical(o_.work_dir).string();
  EXPECT_GE(FindTriple(argv, "--bind", work, work), 0);
  // A scene file that would land on the node's own work folder is refused.
  Put("jobs/1/work/evil.png");
  auto refused = SandboxArgv(o_, {"x"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("would land on"), std::string::npos) << refused.error().message;
}

TEST_F(SceneRootBinds, TheTopFolderShowsEachTopEntryAndNeverTheSystem) {
  // Files from /home and /mnt (an absolute path to a studio's share): the root is /, shown entry by entry.
  fs::remove_all(o_.scene_dir);
  Put("home/artist/shot.blend");
  Put("mnt/share/sky.exr");
  o_.scene = o_.scene_dir / "home" / "artist" / "shot.blend";
  o_.scene_root = "/";
  auto argv = Argv();
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene() + "/home", "/home"), 0);
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene() + "/mnt", "/mnt"), 0);
  EXPECT_GE(FindTriple(argv, "--ro-bind", "/usr", "/usr"), 0);
  EXPECT_EQ(SandboxScenePath(o_), fs::path("/home/artist/shot.blend"));
  for (const char* system : {"usr/lib/evil.so", "etc/passwd", "proc/x", "dev/x"}) {
    SCOPED_TRACE(system);
    fs::remove_all(o_.scene_dir);
    Put(system);
    Put("home/artist/shot.blend");
    auto refused = SandboxArgv(o_, {"x"});
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("system folder"), std::string::npos) << refused.error().message;
  }
}

TEST_F(SceneRootBinds, RootsInSystemFoldersOrNotNormalAreRefusedBeforeStarting) {
  o_.log_file = t_.path() / "log";
  for (const char* root : {"/usr/share/x", "/etc", "relative/x", "/a/../b", "/a//b", "/a/"}) {
    SCOPED_TRACE(root);
    o_.scene_root = root;
    auto p = BlenderProcess::Start(o_);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::kInvalidArgument) << p.error().message;
  }
}

TEST_F(SceneRootBinds, TheNodesBlenderAndDriverNeverCollideWithTheArtistsFolders) {
  // A Blender kept in the very folder the artist's files lay in (a worker on the artist's machine): it
  // appears under /run/inferix, and the artist's files where they were.
  const fs::path exe = t_.path() / "blender";
  WriteExecutable(exe, "#!/bin/sh\n");
  o_.blender = exe;
  o_.driver = t_.path() / "driver.py";
  o_.scene_root = fs::canonical(t_.path()).string();
  auto argv = Argv();
  const std::string root = o_.scene_root.string();
  EXPECT_GE(FindTriple(argv, "--ro-bind", fs::canonical(t_.path()).string(), "/run/inferix/blender"), 0);
  EXPECT_GE(FindTriple(argv, "--ro-bind", Scene() + "/shots", root + "/shots"), 0);
}

// A stand-in for Blender: answers the driver protocol from a shell script, optionally probing its sandbox
// first.
struct FakeBlender {
  TempDir t;
  BlenderOptions options;

  explicit FakeBlender(const std::string& body, bool sandbox) {
    options.blender = t.path() / "bin" / "blender";
    options.scene_dir = t.path() / "scene";
    options.scene = options.scene_dir / "scene.blend";
    options.work_dir = t.path() / "work";
    options.driver = t.path() / "drv" / "driver.py";
    options.log_file = t.path() / "blender.log";
    options.sandbox = sandbox;
    fs::create_directories(options.scene_dir);
    fs::create_directories(options.work_dir);
    fs::create_directories(options.driver.parent_path());
    std::ofstream(options.scene) << "BLENDER-v304";
    std::ofstream(options.driver) << "# not used by the stand-in\n";
    WriteExecutable(options.blender, "#!/bin/sh\n" + body);
  }
};

constexpr const char* kReady =
    R"(printf '%s\n' '{"event":"ready","scene":{"blender_version":"9.9.9","file_version":"9.9.1","width":64,)"
    R"("height":48,"file_format":"PNG","color_mode":"RGBA","color_depth":"8","fps":24,"frame_start":1,)"
    R"("frame_end":3,"frame_step":1,"has_camera":true}}' >&3)"
    "\n";

// Serves commands: render answers frame 7 (path in the work folder), list_files two names, "die" exits 3.
constexpr const char* kServe = R"(
while IFS= read -r line; do
  case "$line" in
    *quit*) exit 0 ;;
    *list_files*) printf '%s\n' '{"event":"files","files":[{"path":"//a.png","abs":"/s/a.png","kind":"file"},{"path":"//b/<UDIM>.exr","abs":"/s/b/<UDIM>.exr","kind":"udim","tiles":[1001,1002],"what":"image b"}]}' '{"event":"done"}' >&3 ;;
    *'"output_dir":"/'*) ;;
    *) printf '%s\n' '{"event":"error","message":"output_dir is not absolute"}' '{"event":"done"}' >&3 ;;
  esac
  case "$line" in
    *list_files*|*'"output_dir":"/'*) ;;
    *) continue ;;
  esac
  case "$line" in
    *'"frames":[666]'*) echo "Error: boom, the stand-in died" >&2; exit 3 ;;
    *'"frames":[13]'*) printf '%s\n' '{"event":"error","message":"bad frame"}' '{"event":"done"}' >&3 ;;
    *'"frames":[99]'*) printf '%s\n' '{"event":"frame_started","frame":99}' >&3; sleep 30 ;;
    *render*) printf '{"event":"frame_started","frame":7}\n{"event":"frame_saved","frame":7,"path":"%s/f.png","render_seconds":0.5}\n{"event":"done"}\n' "$PWD" >&3 ;;
  esac
done
)";

TEST(BlenderProcess, ProtocolWithoutSandbox) {
  FakeBlender fake(std::string(kReady) + kServe, /*sandbox=*/false);
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto& proc = **p;
  EXPECT_EQ(proc.scene().blender_version, "9.9.9");
  EXPECT_EQ(proc.scene().width, 64);
  EXPECT_TRUE(proc.Alive());

  std::vector<DriverEvent> events;
  RenderCommand cmd;
  cmd.frames = {7};
  cmd.output_dir = (fake.options.work_dir / "out").string();
  auto r = proc.Render(
      cmd, [&](const DriverEvent& ev) { events.push_back(ev); }, [] { return false; });
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, DriverEvent::Kind::kFrameStarted);
  EXPECT_EQ(events[1].kind, DriverEvent::Kind::kFrameSaved);
  EXPECT_EQ(events[1].path, fs::canonical(fake.options.work_dir).string() + "/f.png") << "runs in work_dir";

  // A relative output folder is sent as the absolute path the worker meant, not one under Blender's cwd.
  {
    std::error_code ec;
    fs::path cwd = fs::current_path();
    fs::current_path(fake.t.path());
    RenderCommand rel = cmd;
    rel.output_dir = "work/rel";
    auto rr = proc.Render(rel, nullptr, nullptr);
    fs::current_path(cwd, ec);
    EXPECT_TRUE(rr.ok()) << rr.error().message;
  }
  EXPECT_EQ(events[2].kind, DriverEvent::Kind::kDone);

  auto files = proc.ListFiles();
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, "//a.png");
  EXPECT_EQ((*files)[0].kind, "file");
  EXPECT_EQ((*files)[1].abs, "/s/b/<UDIM>.exr");
  EXPECT_EQ((*files)[1].tiles, (std::vector<int>{1001, 1002}));
  EXPECT_EQ((*files)[1].what, "image b");

  // Output goes to the work folder only: anything else is refused before Blender sees it.
  RenderCommand outside = cmd;
  outside.output_dir = (fake.t.path() / "elsewhere").string();
  r = proc.Render(outside, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  outside.output_dir = (fake.options.work_dir / ".." / "elsewhere").string();
  EXPECT_FALSE(proc.Render(outside, nullptr, nullptr).ok());
  EXPECT_TRUE(proc.Alive());

  // An error event fails the command, after its "done", and the process serves on.
  cmd.frames = {13};
  events.clear();
  r = proc.Render(
      cmd, [&](const DriverEvent& ev) { events.push_back(ev); }, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad frame"), std::string::npos) << r.error().message;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events.back().kind, DriverEvent::Kind::kDone);
  EXPECT_TRUE(proc.Alive());

  // Death mid-command: the error says how it ended and carries the log's tail.
  cmd.frames = {666};
  r = proc.Render(cmd, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("status 3"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("boom, the stand-in died"), std::string::npos) << r.error().message;
  EXPECT_FALSE(proc.Alive());
  cmd.frames = {7};
  r = proc.Render(cmd, nullptr, nullptr);
  EXPECT_FALSE(r.ok()) << "a dead process refuses commands";
}

TEST(BlenderProcess, CancelKillsPromptly) {
  FakeBlender fake(std::string(kReady) + kServe, /*sandbox=*/false);
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_TRUE(p.ok()) << p.error().message;
  RenderCommand cmd;
  cmd.frames = {99};  // starts, then hangs
  cmd.output_dir = fake.options.work_dir.string();
  auto cancel_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  auto r = (*p)->Render(cmd, nullptr, [&] { return std::chrono::steady_clock::now() > cancel_at; });
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cancel"), std::string::npos) << r.error().message;
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_FALSE((*p)->Alive());
}

TEST(BlenderProcess, ExitBeforeReadyReportsTheLog) {
  FakeBlender fake("echo 'Error: Failed to read blend file: Missing DNA block'\nexit 1\n", /*sandbox=*/false);
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("Missing DNA block"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("status 1"), std::string::npos) << p.error().message;
}

TEST(BlenderProcess, GarbageOnTheEventPipeIsAProtocolError) {
  FakeBlender fake("echo 'Fra:1 Mem:1M' >&3\nsleep 30\n", /*sandbox=*/false);
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("protocol"), std::string::npos) << p.error().message;
}

TEST(BlenderProcess, DestructorStopsAHungProcess) {
  FakeBlender fake(std::string(kReady) + "trap '' TERM\nsleep 60\n", /*sandbox=*/false);
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto started = std::chrono::steady_clock::now();
  p.value().reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(BlenderProcess, MissingFilesAreReportedBeforeStarting) {
  FakeBlender fake(kReady, /*sandbox=*/false);
  BlenderOptions o = fake.options;
  o.scene = fake.t.path() / "nope.blend";
  auto p = BlenderProcess::Start(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Errc::kNotFound);
  o = fake.options;
  o.blender = fake.t.path() / "no-blender";
  p = BlenderProcess::Start(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("no-blender"), std::string::npos) << p.error().message;
}

// The sandbox, for real: the stand-in tries to get out and reports what it could do.
TEST(BlenderProcess, SandboxConfinesWritesNetworkAndEnvironment) {
  TempDir outside;  // a folder of the host that the sandbox does not bind
  std::string host_tmp_probe = "/tmp/inferix_escape_" + std::to_string(::getpid());
  ::setenv("INFERIX_TOKEN", "secret-token-must-not-leak", 1);
  FakeBlender fake("", /*sandbox=*/true);
  std::string probe = R"sh(
w() { if ( : > "$1" ) 2>/dev/null; then echo "$2=yes"; else echo "$2=no"; fi; }
{
  w "$HOME/probe_ok" work
  w "@SCENE_DIR@/x" scene_dir
  w "@OUTSIDE@/x" outside
  w "/root/x" root
  w "/usr/x" usr
  w "/etc/x" etc
  w "@HOST_TMP@" tmp
  echo "token=${INFERIX_TOKEN:-none}"
  echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ',')"
  echo "cwd=$PWD"
} > "$HOME/probe.txt"
)sh";
  auto substitute = [&](const std::string& key, const std::string& value) {
    probe.replace(probe.find(key), key.size(), value);
  };
  substitute("@SCENE_DIR@", fs::canonical(fake.options.scene_dir).string());
  substitute("@OUTSIDE@", outside.path().string());
  substitute("@HOST_TMP@", host_tmp_probe);
  WriteExecutable(fake.options.blender, "#!/bin/sh\n" + probe + kReady + kServe);

  auto p = BlenderProcess::Start(fake.options);
  ::unsetenv("INFERIX_TOKEN");
  ASSERT_TRUE(p.ok()) << p.error().message;

  // Events come through fd 3 across bubblewrap, and the process serves commands.
  RenderCommand cmd;
  cmd.frames = {7};
  cmd.output_dir = fake.options.work_dir.string();
  std::string saved;
  auto r = (*p)->Render(
      cmd,
      [&](const DriverEvent& ev) {
        if (ev.kind == DriverEvent::Kind::kFrameSaved) saved = ev.path;
      },
      nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string work = fs::canonical(fake.options.work_dir).string();
  EXPECT_EQ(saved, work + "/f.png");

  auto text = ReadFile(fake.options.work_dir / "probe.txt");
  ASSERT_TRUE(text.ok()) << "the sandboxed process could not write its work folder";
  const std::string& s = *text;
  EXPECT_NE(s.find("work=yes"), std::string::npos) << s;
  EXPECT_NE(s.find("scene_dir=no"), std::string::npos) << s;
  EXPECT_NE(s.find("outside=no"), std::string::npos) << s;
  EXPECT_NE(s.find("root=no"), std::string::npos) << s;
  EXPECT_NE(s.find("usr=no"), std::string::npos) << s;
  EXPECT_NE(s.find("etc=no"), std::string::npos) << s;
  EXPECT_NE(s.find("token=none"), std::string::npos) << s;
  EXPECT_NE(s.find("ifaces=lo,\n"), std::string::npos) << "only loopback in the sandbox's network: " << s;
  EXPECT_NE(s.find("cwd=" + work), std::string::npos) << s;
  // Nothing reached the host outside the work folder.
  EXPECT_FALSE(fs::exists(fake.options.scene_dir / "x"));
  EXPECT_FALSE(fs::exists(outside.path() / "x"));
  EXPECT_FALSE(fs::exists(host_tmp_probe)) << "/tmp inside is a private tmpfs";
  EXPECT_FALSE(fs::exists("/root/x"));
}

// bwrap --die-with-parent follows the thread that started it: a worker that starts Blender from a thread that
// then ends must still have its Blender.
TEST(BlenderProcess, OutlivesTheThreadThatStartedIt) {
  FakeBlender fake(std::string(kReady) + kServe, /*sandbox=*/true);
  std::unique_ptr<BlenderProcess> proc;
  std::string error;
  std::thread([&] {
    auto p = BlenderProcess::Start(fake.options);
    if (p.ok()) {
      proc = std::move(*p);
    } else {
      error = p.error().message;
    }
  }).join();
  ASSERT_TRUE(proc) << error;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(proc->Alive());
  RenderCommand cmd;
  cmd.frames = {7};
  cmd.output_dir = fake.options.work_dir.string();
  auto r = proc->Render(cmd, nullptr, nullptr);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(InstallDriverScript, WritesTheEmbeddedDriver) {
  TempDir t;
  auto path = InstallDriverScript(t.path() / "sub");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(path->filename(), "driver.py");
  auto installed = ReadFile(*path);
  auto source = ReadFile(fs::path(INFERIX_SOURCE_DIR) / "src/render/blender/driver.py");
  ASSERT_TRUE(installed.ok());
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(*installed, *source) << "the embedded copy is the source file, byte for byte (rebuild?)";
  // The module the driver imports from its own folder, also byte for byte.
  auto checks = ReadFile(t.path() / "sub" / "scene_checks.py");
  auto checks_source = ReadFile(fs::path(INFERIX_SOURCE_DIR) / "src/render/blender/scene_checks.py");
  ASSERT_TRUE(checks.ok());
  ASSERT_TRUE(checks_source.ok());
  EXPECT_EQ(*checks, *checks_source);
  // Installing again replaces it in place.
  auto again = InstallDriverScript(t.path() / "sub");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *path);
}

}  // namespace
}  // namespace inferix::render
