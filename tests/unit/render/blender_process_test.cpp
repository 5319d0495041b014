// The process runner, with stand-in "blender" scripts: fast, and no Blender needed.
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
#include "render_test_util.hpp"

namespace inferix::render {
namespace {

namespace fs = std::filesystem;

using test::Contains;
using test::TempDir;
using test::WriteExecutable;

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

// The owner's memory cap (inferix worker --max-memory): a Blender whose process tree holds more is stopped,
// and the render fails saying so; under the cap nothing happens.
TEST(BlenderProcess, MemoryAboveTheOwnersCapStopsIt) {
  // Frame 98 starts a helper that holds 256 MiB, as Blender's own threads would, and never answers.
  const std::string hog = R"(
while IFS= read -r line; do
  case "$line" in
    *quit*) exit 0 ;;
    *'"frames":[98]'*) python3 -c 'import time; b = b"x" * (256 << 20); time.sleep(60)' & wait ;;
    *render*) printf '{"event":"frame_started","frame":7}\n{"event":"frame_saved","frame":7,"path":"%s/f.png","render_seconds":0.5}\n{"event":"done"}\n' "$PWD" >&3 ;;
  esac
done
)";
  FakeBlender fake(std::string(kReady) + hog, /*sandbox=*/false);
  fake.options.max_memory_bytes = int64_t{128} << 20;
  auto p = BlenderProcess::Start(fake.options);
  ASSERT_TRUE(p.ok()) << p.error().message;
  RenderCommand cmd;
  cmd.output_dir = fake.options.work_dir.string();
  cmd.frames = {7};
  ASSERT_TRUE((*p)->Render(cmd, nullptr, nullptr).ok()) << "a render within the cap is not disturbed";
  cmd.frames = {98};
  auto started = std::chrono::steady_clock::now();
  auto r = (*p)->Render(cmd, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than the 128 MiB its owner lends"), std::string::npos)
      << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_FALSE((*p)->Alive());
}

TEST(ProcessTree, MemoryOfALiveTreeAndOfNone) {
  EXPECT_GT(ProcessTreeMemoryBytes(static_cast<int>(::getpid())), 0);
  EXPECT_EQ(ProcessTreeMemoryBytes(-7), 0);  // no such process
  EXPECT_GT(ProcessTreeCpuSeconds(static_cast<int>(::getpid())), -1.0);
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
