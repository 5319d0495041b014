// The sandbox's command line: what bubblewrap shows a job's Blender, and what it never shows.
#include "render/sandbox.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "render_test_util.hpp"

namespace inferix::render {
namespace {

namespace fs = std::filesystem;
using test::Contains;
using test::FindTriple;
using test::TempDir;
using test::WriteExecutable;

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

TEST(SandboxArgv, ShowsOnlyTheSlotsDeviceFilesThatExist) {
  BlenderOptions o;
  o.blender = "/usr/bin/blender";
  o.work_dir = "/tmp/w";
  o.driver = "/tmp/d/driver.py";
  auto count = [](const std::vector<std::string>& a, const std::string& what) {
    int n = 0;
    for (size_t i = 0; i + 2 < a.size(); ++i) n += a[i] == "--dev-bind" && a[i + 1] == what ? 1 : 0;
    return n;
  };
  auto cpu = SandboxArgv(o, {"blender"});
  ASSERT_TRUE(cpu.ok());
  // "/dev/full" stands for a GPU's device file: one that exists on every machine.
  o.device.device_files = {"/dev/full", "/dev/nvidia7-absent", "/etc/passwd", "relative"};
  auto gpu = SandboxArgv(o, {"blender"});
  ASSERT_TRUE(gpu.ok());
  EXPECT_EQ(count(*gpu, "/dev/full"), count(*cpu, "/dev/full") + 1);
  EXPECT_EQ(count(*gpu, "/dev/nvidia7-absent"), 0) << "a missing device is left out";
  EXPECT_EQ(count(*gpu, "/etc/passwd"), 0) << "only device files under /dev";
  EXPECT_EQ(count(*gpu, "relative"), 0);
}

TEST(BlenderArgv, TellsTheDriverItsDevice) {
  BlenderOptions o;
  o.blender = "/usr/bin/blender";
  o.scene = "/s/a.blend";
  o.driver = "/d/driver.py";
  o.sandbox = false;
  auto cpu = BlenderArgv(o);
  const std::vector<std::string> cpu_tail(cpu.end() - 3, cpu.end());
  EXPECT_EQ(cpu_tail, (std::vector<std::string>{"--", "--device", "CPU"}));
  o.device = {"OPTIX", "OPTIX_X_0000:01:00", {}, true};
  auto gpu = BlenderArgv(o);
  const std::vector<std::string> gpu_tail(gpu.end() - 5, gpu.end());
  EXPECT_EQ(gpu_tail, (std::vector<std::string>{"--device", "OPTIX", "--device-id", "OPTIX_X_0000:01:00",
                                                "--device-simulated"}));
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

// A spare's folder is empty when Blender starts: it must be shown whole, so that the files put into it later
// appear inside; a root the sandbox would split into entries cannot have a spare.
TEST_F(SceneRootBinds, ASpareShowsItsFolderWholeOrNotAtAll) {
  o_.spare = true;
  for (const char* root : {"/home/artist", "/srv/film/shots", ""}) {
    SCOPED_TRACE(root);
    o_.scene_root = root;
    EXPECT_TRUE(CheckSpareSceneFolder(o_).ok());
  }
  // Over /tmp (the sandbox's own), over the work folder, over a system folder, or inside one.
  for (const fs::path& root : {fs::path("/"), fs::path("/tmp"), t_.path(), fs::path("/usr/share")}) {
    SCOPED_TRACE(root);
    o_.scene_root = root;
    EXPECT_FALSE(CheckSpareSceneFolder(o_).ok());
  }
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

}  // namespace
}  // namespace inferix::render
