// The driver in a real, sandboxed Blender, on a tiny generated scene (64x48 px, 4 samples).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/files.hpp"
#include "render/blender_process.hpp"

namespace inferix::render {
namespace {

namespace fs = std::filesystem;
using Kind = DriverEvent::Kind;

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string BlenderExecutable() {
  const char* env = std::getenv("INFERIX_BLENDER");
  return env != nullptr && *env != '\0' ? env : "blender";
}

// Width and height from a PNG's IHDR chunk.
std::pair<int, int> PngSize(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (!in || h[1] != 'P' || h[2] != 'N' || h[3] != 'G') return {-1, -1};
  auto be = [&](int at) { return (h[at] << 24) | (h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3]; };
  return {be(16), be(20)};
}

std::string Magic(const fs::path& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  return s;
}

class BlenderRender : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device rd;
    root_ = fs::temp_directory_path() /
            ("inferix_blender_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(root_ / "scene");
    fs::create_directories(root_ / "work");
    marker_ = root_ / "work" / "scene_python_ran";
    escape_ = root_ / "escaped";
    scene_ = root_ / "scene" / "test.blend";
    // The example scene plus traps: scene Python that would write `marker_`, a File Output node aimed at
    // `escape_`, an external and a packed image.
    std::string src = INFERIX_SOURCE_DIR;
    std::string cmd = "INFERIX_TRAP_MARKER=" + Quote(marker_.string()) +
                      " INFERIX_TRAP_ESCAPE=" + Quote(escape_.string() + "/") + " " +
                      Quote(BlenderExecutable()) + " -b --factory-startup -noaudio --python " +
                      Quote(src + "/examples/make_scene.py") + " --python " +
                      Quote(src + "/tests/data/render/add_traps.py") + " -- " + Quote(scene_.string()) +
                      " --width 64 --height 48 --samples 4 --frames 3 > " +
                      Quote((root_ / "make_scene.log").string()) + " 2>&1";
    if (std::system(cmd.c_str()) != 0 || !fs::exists(scene_)) {
      setup_error_ = "could not generate the test scene with Blender: " + cmd;
      return;
    }
    auto driver = InstallDriverScript(root_ / "driver");
    if (!driver.ok()) {
      setup_error_ = driver.error().message;
      return;
    }
    driver_ = *driver;
    auto p = BlenderProcess::Start(Options());
    if (!p.ok()) {
      setup_error_ = p.error().message;
      return;
    }
    warm_ = std::move(*p).release();
  }

  static void TearDownTestSuite() {
    delete warm_;
    warm_ = nullptr;
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static BlenderOptions Options() {
    BlenderOptions o;
    o.blender = BlenderExecutable();
    o.scene = scene_;
    o.scene_dir = scene_.parent_path();
    o.work_dir = root_ / "work";
    o.driver = driver_;
    o.log_file = root_ / "blender.log";
    return o;
  }

  static RenderCommand Command(std::vector<int> frames, const std::string& out) {
    RenderCommand cmd;
    cmd.frames = std::move(frames);
    cmd.output_dir = (root_ / "work" / out).string();
    return cmd;
  }

  static inline fs::path root_, scene_, marker_, escape_, driver_;
  static inline std::string setup_error_;
  static inline BlenderProcess* warm_ = nullptr;
};

// One warm process serves every command below in turn, as a worker's does across the tasks of a job; each
// step is traced so that a failure names it. (One test, not nine: under ctest each test is a process of its
// own, and generating the scene and starting Blender is most of the time.)
TEST_F(BlenderRender, WarmProcessServesCommands) {
  {
    SCOPED_TRACE("scene facts, and no scene Python");
    const SceneInfo& s = warm_->scene();
    EXPECT_FALSE(s.blender_version.empty());
    EXPECT_FALSE(s.file_version.empty());
    EXPECT_EQ(s.width, 64);
    EXPECT_EQ(s.height, 48);
    EXPECT_EQ(s.file_format, "PNG");
    EXPECT_EQ(s.color_mode, "RGBA");
    EXPECT_EQ(s.color_depth, "8");
    EXPECT_DOUBLE_EQ(s.fps, 24.0);
    EXPECT_EQ(s.frame_start, 1);
    EXPECT_EQ(s.frame_end, 3);
    EXPECT_EQ(s.frame_step, 1);
    EXPECT_TRUE(s.has_camera);
    EXPECT_FALSE(fs::exists(marker_)) << "the scene's registered text block ran: -Y was not honoured";
    auto log = ReadFile(root_ / "blender.log");
    ASSERT_TRUE(log.ok());
    EXPECT_NE(log->find("skipping 'autorun.py'"), std::string::npos) << "Blender should say it skipped it";
  }

  std::vector<DriverEvent> events;
  auto collect = [&](const DriverEvent& ev) { events.push_back(ev); };
  std::vector<std::string> saved;
  auto collect_saved = [&](const DriverEvent& ev) {
    if (ev.kind == Kind::kFrameSaved) saved.push_back(ev.path);
  };
  {
    SCOPED_TRACE("frames 1-2, then frame 3 in the same process");
    auto r = warm_->Render(Command({1, 2}, "frames"), collect, [] { return false; });
    ASSERT_TRUE(r.ok()) << r.error().message;
    fs::path out = fs::canonical(root_ / "work" / "frames");
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].kind, Kind::kFrameStarted);
    EXPECT_EQ(events[0].frame, 1);
    EXPECT_EQ(events[1].kind, Kind::kFrameSaved);
    EXPECT_EQ(events[1].frame, 1);
    EXPECT_EQ(events[1].path, (out / "frame_0001.png").string());
    EXPECT_GT(events[1].render_seconds, 0.0);
    EXPECT_EQ(events[3].kind, Kind::kFrameSaved);
    EXPECT_EQ(events[3].path, (out / "frame_0002.png").string());
    EXPECT_EQ(events[4].kind, Kind::kDone);
    EXPECT_EQ(PngSize(out / "frame_0001.png"), std::make_pair(64, 48));
    EXPECT_EQ(PngSize(out / "frame_0002.png"), std::make_pair(64, 48));

    events.clear();
    r = warm_->Render(Command({3}, "frames"), collect, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[1].path, (out / "frame_0003.png").string());
    EXPECT_EQ(PngSize(out / "frame_0003.png"), std::make_pair(64, 48));
    EXPECT_TRUE(warm_->Alive());

    // The File Output node wrote into the job folder, not where the scene pointed it.
    EXPECT_FALSE(fs::exists(escape_)) << "a File Output node wrote outside the job folder";
    ASSERT_TRUE(fs::is_directory(out / "file_output"));
    int written = 0;
    for (const auto& entry : fs::recursive_directory_iterator(out / "file_output")) {
      written += entry.is_regular_file();
    }
    EXPECT_EQ(written, 3) << "one File Output image per frame";
    EXPECT_FALSE(fs::exists(root_ / "work" / "escaped_0001.png")) << "'..' in the slot path climbed out";
  }
  {
    SCOPED_TRACE("a negative frame");
    saved.clear();
    auto r = warm_->Render(Command({-5}, "negative"), collect_saved, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(fs::path(saved[0]).filename(), "frame_-0005.png");
    EXPECT_TRUE(fs::exists(saved[0]));
  }
  {
    SCOPED_TRACE("a border region on the full canvas, with persistent data");
    RenderCommand cmd = Command({1}, "border");
    cmd.border = Border{0.25, 0.75, 0.25, 0.75};
    cmd.persistent_data = true;
    saved.clear();
    auto r = warm_->Render(cmd, collect_saved, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(PngSize(saved[0]), std::make_pair(64, 48)) << "not cropped to the border";
  }
  {
    SCOPED_TRACE("formats and thread counts, then the scene's own format again");
    RenderCommand cmd = Command({2}, "formats");
    cmd.format = "OPEN_EXR";
    cmd.threads = 1;
    saved.clear();
    auto r = warm_->Render(cmd, collect_saved, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    cmd.format = "JPEG";
    cmd.threads = 2;
    r = warm_->Render(cmd, collect_saved, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    r = warm_->Render(Command({2}, "formats"), collect_saved, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(saved.size(), 3u);
    EXPECT_EQ(fs::path(saved[0]).filename(), "frame_0002.exr");
    EXPECT_EQ(Magic(saved[0], 4), std::string("\x76\x2f\x31\x01", 4));
    EXPECT_EQ(fs::path(saved[1]).filename(), "frame_0002.jpg");
    EXPECT_EQ(Magic(saved[1], 2), "\xff\xd8");
    EXPECT_EQ(fs::path(saved[2]).filename(), "frame_0002.png");
  }
  {
    SCOPED_TRACE("a failing command leaves the process serving");
    RenderCommand cmd = Command({1}, "errors");
    cmd.format = "TIFF";
    events.clear();
    auto r = warm_->Render(cmd, collect, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("unsupported output format"), std::string::npos) << r.error().message;
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().kind, Kind::kDone);
    EXPECT_TRUE(warm_->Alive());
    r = warm_->Render(Command({1}, "errors"), nullptr, nullptr);
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  {
    SCOPED_TRACE("list_files names the external file, not the packed one");
    auto files = warm_->ListFiles();
    ASSERT_TRUE(files.ok()) << files.error().message;
    ASSERT_EQ(files->size(), 1u);
    EXPECT_EQ((*files)[0].path, "//textures/wood.png");
    EXPECT_EQ((*files)[0].abs, (scene_.parent_path() / "textures" / "wood.png").string());
    EXPECT_EQ((*files)[0].kind, "file");
  }
  {
    SCOPED_TRACE("cancel stops Blender in the middle of a command");
    bool started = false;
    saved.clear();
    auto r = warm_->Render(
        Command({1, 2, 3}, "cancel"),
        [&](const DriverEvent& ev) {
          if (ev.kind == Kind::kFrameStarted) started = true;
          collect_saved(ev);
        },
        [&] { return started; });
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("cancel"), std::string::npos) << r.error().message;
    EXPECT_TRUE(saved.empty());
    EXPECT_FALSE(warm_->Alive());
    EXPECT_FALSE(fs::exists(root_ / "work" / "cancel" / "frame_0003.png"));
    r = warm_->Render(Command({1}, "after_cancel"), nullptr, nullptr);
    EXPECT_FALSE(r.ok()) << "a stopped process refuses commands";
  }
}

// A spare: Blender started before its scene is known (the worker's, while the client's preflight runs), then
// given the scene to open. It renders like a process started with the scene, at the resolution Open asks for,
// and the scene's Python stays off (use_scripts=False, -Y).
TEST_F(BlenderRender, ASpareOpensItsSceneLaterWithoutTheScenesPython) {
  const fs::path spare_dir = root_ / "spare";
  fs::create_directories(spare_dir);
  BlenderOptions o = Options();
  o.spare = true;
  o.scene.clear();
  o.scene_dir = spare_dir;
  o.scene_root = root_ / "project";  // the artist's folder, where the sandbox shows the spare's
  o.log_file = root_ / "spare.log";
  auto started = BlenderProcess::Start(o);
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto& spare = **started;
  EXPECT_EQ(spare.scene().width, 0) << "no scene yet";
  auto early = spare.Render(Command({1}, "spare_early"), nullptr, nullptr);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("no scene is open"), std::string::npos) << early.error().message;

  // The scene's files arrive in the spare's folder after it started.
  fs::copy(scene_.parent_path(), spare_dir, fs::copy_options::recursive);
  auto outside = spare.Open(scene_, 50);
  ASSERT_FALSE(outside.ok()) << "a scene outside the spare's folder would be hidden by the sandbox";
  EXPECT_EQ(outside.error().code, Errc::kInvalidArgument);
  auto opened = spare.Open(spare_dir / scene_.filename(), 50);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(spare.scene().width, 32);
  EXPECT_EQ(spare.scene().height, 24);
  EXPECT_EQ(spare.scene().frame_end, 3);
  std::vector<std::string> saved;
  auto r = spare.Render(
      Command({2}, "spare"),
      [&](const DriverEvent& ev) {
        if (ev.kind == Kind::kFrameSaved) saved.push_back(ev.path);
      },
      nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(PngSize(saved[0]), std::make_pair(32, 24));
  EXPECT_FALSE(fs::exists(marker_)) << "the scene's registered text block ran in a spare";
  EXPECT_FALSE(fs::exists(escape_)) << "a File Output node wrote outside the job folder";

  // One scene per process: a second Open is refused, and the process serves on.
  auto again = spare.Open(spare_dir / scene_.filename(), 100);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(spare.Alive());
  // A process started with its scene opens no other.
  EXPECT_FALSE(warm_->Open(scene_, 100).ok());
}

// The driver enables exactly the slot's device, and says so from Cycles' own preferences read back inside
// Blender: the CPU (the warm process of the tests above: nothing enabled, the scene on the CPU); a GPU this
// Blender does not list (none here) is refused before "ready"; a recorded GPU (tests) renders on the CPU.
TEST_F(BlenderRender, TheDriverEnablesExactlyTheSlotsDevice) {
  const DeviceState& cpu = warm_->scene().device;
  EXPECT_EQ(cpu.type, "NONE");
  EXPECT_EQ(cpu.assigned, "CPU");
  EXPECT_TRUE(cpu.enabled.empty());
  EXPECT_EQ(cpu.scene_device, "CPU");
  EXPECT_FALSE(cpu.simulated);

  BlenderOptions o = Options();
  o.log_file = root_ / "gpu.log";
  o.device.type = "CUDA";
  o.device.cycles_id = "CUDA_NVIDIA GeForce RTX 4090_0000:01:00";
  auto absent = BlenderProcess::Start(o);
  ASSERT_FALSE(absent.ok()) << "this machine has no GPU: Cycles cannot list one";
  EXPECT_NE(
      absent.error().message.find("does not list the CUDA device CUDA_NVIDIA GeForce RTX 4090_0000:01:00"),
      std::string::npos)
      << absent.error().message;

  o.device.simulated = true;
  o.log_file = root_ / "simulated.log";
  auto simulated = BlenderProcess::Start(o);
  ASSERT_TRUE(simulated.ok()) << simulated.error().message;
  const DeviceState& sim = (*simulated)->scene().device;
  EXPECT_TRUE(sim.simulated);
  EXPECT_EQ(sim.assigned, "CUDA:CUDA_NVIDIA GeForce RTX 4090_0000:01:00");
  EXPECT_EQ(sim.type, "NONE");
  EXPECT_EQ(sim.scene_device, "CPU");
}

// A file Blender cannot open fails Start with Blender's own words (no scene to generate: these are quick).
class BlenderCorruptScene : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() /
            ("inferix_blender_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(root_ / "scene");
    fs::create_directories(root_ / "work");
    auto driver = InstallDriverScript(root_ / "driver");
    ASSERT_TRUE(driver.ok()) << driver.error().message;
    options_.blender = BlenderExecutable();
    options_.scene = root_ / "scene" / "broken.blend";
    options_.scene_dir = root_ / "scene";
    options_.work_dir = root_ / "work";
    options_.driver = *driver;
    options_.log_file = root_ / "blender.log";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path root_;
  BlenderOptions options_;
};

TEST_F(BlenderCorruptScene, NotABlendFile) {
  std::ofstream(options_.scene) << "this is not a blend file\n";
  auto p = BlenderProcess::Start(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("File format is not supported"), std::string::npos) << p.error().message;
}

TEST_F(BlenderCorruptScene, TruncatedBlendFile) {
  std::ofstream(options_.scene) << "BLENDER-v304";  // a .blend's header, and nothing after it
  auto p = BlenderProcess::Start(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("Failed to read blend file"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace inferix::render
