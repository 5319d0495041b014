#include "render/driver_events.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace inferix::render {
namespace {

using Kind = DriverEvent::Kind;

TEST(ParseDriverEvent, Ready) {
  auto ev = ParseDriverEvent(
      R"({"event": "ready", "scene": {"blender_version": "3.4.1", "file_version": "3.4.6", "width": 64,)"
      R"( "height": 48, "file_format": "PNG", "color_mode": "RGBA", "color_depth": "8", "fps": 23.976,)"
      R"( "frame_start": -3, "frame_end": 250, "frame_step": 2, "has_camera": true}})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, Kind::kReady);
  ASSERT_TRUE(ev->scene.has_value());
  const SceneInfo& s = *ev->scene;
  EXPECT_EQ(s.blender_version, "3.4.1");
  EXPECT_EQ(s.file_version, "3.4.6");
  EXPECT_EQ(s.width, 64);
  EXPECT_EQ(s.height, 48);
  EXPECT_EQ(s.file_format, "PNG");
  EXPECT_EQ(s.color_mode, "RGBA");
  EXPECT_EQ(s.color_depth, "8");
  EXPECT_DOUBLE_EQ(s.fps, 23.976);
  EXPECT_EQ(s.frame_start, -3);
  EXPECT_EQ(s.frame_end, 250);
  EXPECT_EQ(s.frame_step, 2);
  EXPECT_TRUE(s.has_camera);
}

TEST(ParseDriverEvent, ReadyWithIntegerFpsAndEmptyDepth) {
  auto ev =
      ParseDriverEvent(R"({"event":"ready","scene":{"blender_version":"4.1.0","width":1920,"height":1080,)"
                       R"("file_format":"FFMPEG","color_depth":"","fps":24,"has_camera":false}})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_DOUBLE_EQ(ev->scene->fps, 24.0);
  EXPECT_EQ(ev->scene->color_depth, "");
  EXPECT_FALSE(ev->scene->has_camera);
  EXPECT_EQ(ev->scene->frame_start, 1);  // defaults for what the line leaves out
}

TEST(ParseDriverEvent, FrameStarted) {
  auto ev = ParseDriverEvent(R"({"event":"frame_started","frame":-5})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, Kind::kFrameStarted);
  EXPECT_EQ(ev->frame, -5);
}

TEST(ParseDriverEvent, FrameSaved) {
  auto ev = ParseDriverEvent(
      R"({"event": "frame_saved", "frame": 12, "path": "/job/out/frame_0012.png", "render_seconds": 1.25})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, Kind::kFrameSaved);
  EXPECT_EQ(ev->frame, 12);
  EXPECT_EQ(ev->path, "/job/out/frame_0012.png");
  EXPECT_DOUBLE_EQ(ev->render_seconds, 1.25);
}

TEST(ParseDriverEvent, Files) {
  auto ev = ParseDriverEvent(
      R"({"event":"files","files":[{"path":"//t\u00e9x/a.png","abs":"/p/t\u00e9x/a.png","kind":"file",)"
      R"("what":"image a"},{"path":"C:\\tex\\<UDIM>.exr","abs":"/c/tex/<UDIM>.exr","kind":"udim",)"
      R"("tiles":[1001,1012]},{"path":"//s.wav","abs":"/p/s.wav","optional":true}]})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, Kind::kFiles);
  ASSERT_EQ(ev->files.size(), 3u);
  EXPECT_EQ(ev->files[0].path, "//t\xc3\xa9x/a.png");
  EXPECT_EQ(ev->files[0].abs, "/p/t\xc3\xa9x/a.png");
  EXPECT_EQ(ev->files[0].what, "image a");
  EXPECT_FALSE(ev->files[0].optional);
  EXPECT_EQ(ev->files[1].path, "C:\\tex\\<UDIM>.exr");
  EXPECT_EQ(ev->files[1].kind, "udim");
  EXPECT_EQ(ev->files[1].tiles, (std::vector<int>{1001, 1012}));
  EXPECT_EQ(ev->files[2].kind, "file") << "the default kind";
  EXPECT_TRUE(ev->files[2].optional);
  auto empty = ParseDriverEvent(R"({"event":"files","files":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->files.empty());
}

TEST(ParseDriverEvent, ErrorAndDone) {
  auto err =
      ParseDriverEvent(R"({"event":"error","message":"RuntimeError: Error: No camera found in scene"})");
  ASSERT_TRUE(err.ok()) << err.error().message;
  EXPECT_EQ(err->kind, Kind::kError);
  EXPECT_EQ(err->message, "RuntimeError: Error: No camera found in scene");
  auto bare = ParseDriverEvent(R"({"event":"error"})");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->message.empty());  // an error never reads as empty
  auto done = ParseDriverEvent(R"({"event":"done"})");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->kind, Kind::kDone);
}

TEST(ParseDriverEvent, ToleratesTrailingNewlineAndUnknownFields) {
  auto ev = ParseDriverEvent("{\"event\":\"done\",\"extra\":{\"x\":1}}\r\n");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, Kind::kDone);
}

TEST(ParseDriverEvent, UnknownEventIsAnError) {
  auto ev = ParseDriverEvent(R"({"event":"progress","frame":1})");
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code, Errc::kInvalidArgument);
  EXPECT_NE(ev.error().message.find("progress"), std::string::npos) << ev.error().message;
}

TEST(ParseDriverEvent, ASparesReadyHasNoScene) {
  auto ev = ParseDriverEvent(R"({"event":"ready"})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->kind, DriverEvent::Kind::kReady);
  EXPECT_FALSE(ev->scene.has_value());
}

TEST(EncodeOpenCommand, NamesTheSceneAndTheResolution) {
  EXPECT_EQ(EncodeOpenCommand("/studio/film/a \"b\".blend", 50),
            R"({"cmd":"open","resolution_percentage":50,"scene":"/studio/film/a \"b\".blend"})");
}

TEST(ParseDriverEvent, MalformedLinesAreErrorsNamingTheProblem) {
  struct Case {
    const char* line;
    const char* expect;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"Fra:1 Mem:12.00M | Time:00:00.01 | Rendering 1 / 4 samples", "not valid JSON"},
      {R"({"event":"frame_saved","frame":1,"path":"/a.png")", "not valid JSON"},  // cut short
      {"[1,2,3]", "not a JSON object"},
      {R"("done")", "not a JSON object"},
      {R"({"frame":1})", "missing field \"event\""},
      {R"({"event":7})", "\"event\" is not a string"},
      {R"({"event":"ready","scene":[]})", "\"scene\" is not an object"},
      {R"({"event":"ready","scene":{"blender_version":"3.4.1","width":"64","height":48,"file_format":"PNG"}})",
       "\"width\" is not an integer"},
      {R"({"event":"ready","scene":{"blender_version":"3.4.1","width":64,"height":48}})",
       "missing field \"file_format\""},
      {R"({"event":"frame_started"})", "missing field \"frame\""},
      {R"({"event":"frame_started","frame":1.5})", "\"frame\" is not an integer"},
      {R"({"event":"frame_started","frame":99999999999})", "out of range"},
      {R"({"event":"frame_saved","frame":1})", "missing field \"path\""},
      {R"({"event":"frame_saved","frame":1,"path":""})", "\"path\" is empty"},
      {R"({"event":"frame_saved","frame":1,"path":"/a","render_seconds":"fast"})",
       "\"render_seconds\" is not a number"},
      {R"({"event":"files"})", "missing field \"files\""},
      {R"({"event":"files","files":"a.png"})", "\"files\" is not an array"},
      {R"({"event":"files","files":["a.png"]})", "non-object"},
      {R"({"event":"files","files":[{"abs":"/a.png"}]})", "missing field \"path\""},
      {R"({"event":"files","files":[{"path":"//a.png","abs":"/a.png","tiles":[7]}]})", "UDIM tile number"},
      {R"({"event":"files","files":[{"path":"//a.png","abs":"/a.png","tiles":"1001"}]})", "not an array"},
      {R"({"event":"error","message":42})", "\"message\" is not a string"},
  };
  for (const auto& c : cases) {
    auto ev = ParseDriverEvent(c.line);
    ASSERT_FALSE(ev.ok()) << c.line;
    EXPECT_EQ(ev.error().code, Errc::kInvalidArgument) << c.line;
    EXPECT_NE(ev.error().message.find(c.expect), std::string::npos)
        << "line: " << c.line << "\nmessage: " << ev.error().message;
  }
}

TEST(ParseDriverEvent, LongGarbageIsShortenedInTheMessage) {
  std::string junk(10000, 'x');
  auto ev = ParseDriverEvent(junk);
  ASSERT_FALSE(ev.ok());
  EXPECT_LT(ev.error().message.size(), 400u);
}

TEST(EncodeRenderCommand, AllFields) {
  RenderCommand cmd;
  cmd.frames = {1, 2, -5};
  cmd.output_dir = "/work/job 1/out\"x";
  cmd.format = "OPEN_EXR";
  cmd.threads = 4;
  cmd.border = Border{0.25, 0.5, 0.125, 0.75};
  cmd.persistent_data = true;
  std::string line = EncodeRenderCommand(cmd);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one command is one line";
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["cmd"], "render");
  EXPECT_EQ(j["frames"], nlohmann::json({1, 2, -5}));
  EXPECT_EQ(j["output_dir"], "/work/job 1/out\"x");
  EXPECT_EQ(j["format"], "OPEN_EXR");
  EXPECT_EQ(j["threads"], 4);
  EXPECT_EQ(j["persistent_data"], true);
  EXPECT_DOUBLE_EQ(j["border"]["min_x"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["border"]["max_x"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["border"]["min_y"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(j["border"]["max_y"].get<double>(), 0.75);
}

TEST(EncodeRenderCommand, Defaults) {
  RenderCommand cmd;
  cmd.frames = {7};
  cmd.output_dir = "/w/out";
  auto j = nlohmann::json::parse(EncodeRenderCommand(cmd));
  EXPECT_EQ(j["frames"], nlohmann::json({7}));
  EXPECT_EQ(j["format"], "");
  EXPECT_EQ(j["threads"], 0);
  EXPECT_TRUE(j["border"].is_null());
  EXPECT_EQ(j["persistent_data"], false);
}

TEST(EncodeRenderCommand, BorderKeepsFullPrecision) {
  RenderCommand cmd;
  cmd.border = Border{40.0 / 160.0, 88.0 / 160.0, 1.0 / 3.0, 2.0 / 3.0};
  auto j = nlohmann::json::parse(EncodeRenderCommand(cmd));
  EXPECT_EQ(j["border"]["min_y"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(j["border"]["max_y"].get<double>(), 2.0 / 3.0);
}

TEST(EncodeRenderCommand, InvalidUtf8DoesNotThrow) {
  RenderCommand cmd;
  cmd.output_dir = "/w/\xff\xfe";
  std::string line;
  EXPECT_NO_THROW(line = EncodeRenderCommand(cmd));
  EXPECT_TRUE(nlohmann::json::accept(line)) << line;
}

}  // namespace
}  // namespace inferix::render
