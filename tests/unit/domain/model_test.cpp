#include "domain/model.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace inferix::domain {
namespace {

// Every value of an enum prints to a distinct name that parses back to it.
template <class E, class Parse>
void ExpectRoundTrip(std::initializer_list<E> values, Parse parse) {
  std::set<std::string> names;
  for (E v : values) {
    std::string name(ToString(v));
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    auto back = parse(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, v) << name;
  }
}

TEST(Model, JobStateRoundTrip) {
  ExpectRoundTrip(
      {JobState::kQueued, JobState::kActive, JobState::kCompleted, JobState::kFailed, JobState::kCanceled},
      ParseJobState);
  EXPECT_EQ(ToString(JobState::kCompleted), "completed");
  EXPECT_EQ(ToString(JobState::kCanceled), "canceled");
}

TEST(Model, TaskStateRoundTrip) {
  ExpectRoundTrip(
      {TaskState::kQueued, TaskState::kActive, TaskState::kDone, TaskState::kFailed, TaskState::kCanceled},
      ParseTaskState);
  EXPECT_EQ(ToString(TaskState::kDone), "done");
}

TEST(Model, TaskKindRoundTrip) {
  ExpectRoundTrip({TaskKind::kRender, TaskKind::kVerify}, ParseTaskKind);
  EXPECT_EQ(ToString(TaskKind::kRender), "render");
  EXPECT_EQ(ToString(TaskKind::kVerify), "verify");
}

TEST(Model, FrameStateRoundTrip) {
  ExpectRoundTrip({FrameState::kQueued, FrameState::kRendering, FrameState::kVerifying,
                   FrameState::kDelivered, FrameState::kFailed, FrameState::kCanceled},
                  ParseFrameState);
  EXPECT_EQ(ToString(FrameState::kRendering), "rendering");
  EXPECT_EQ(ToString(FrameState::kDelivered), "delivered");
}

TEST(Model, VerdictRoundTrip) {
  ExpectRoundTrip({Verdict::kPending, Verdict::kAccepted, Verdict::kTrusted, Verdict::kRejected},
                  ParseVerdict);
  EXPECT_EQ(ToString(Verdict::kTrusted), "trusted");
}

TEST(Model, NodeRoleRoundTrip) {
  ExpectRoundTrip({NodeRole::kWorker, NodeRole::kVerifier}, ParseNodeRole);
  EXPECT_EQ(ToString(NodeRole::kVerifier), "verifier");
}

TEST(Model, ParsersRejectUnknownNames) {
  EXPECT_FALSE(ParseJobState("").has_value());
  EXPECT_FALSE(ParseJobState("Queued").has_value());  // names are exact, lower case
  EXPECT_FALSE(ParseJobState("done").has_value());    // a task state, not a job state
  EXPECT_FALSE(ParseTaskState("completed").has_value());
  EXPECT_FALSE(ParseTaskKind("Render").has_value());
  EXPECT_FALSE(ParseFrameState("active").has_value());
  EXPECT_FALSE(ParseVerdict("inconclusive").has_value());
  EXPECT_FALSE(ParseNodeRole("admin").has_value());
  EXPECT_FALSE(ParseNodeRole("worker ").has_value());
}

TEST(Model, OutputFormatNamesAndAliases) {
  for (auto f : {OutputFormat::kPng, OutputFormat::kExr, OutputFormat::kJpeg}) {
    auto back = ParseOutputFormat(ToString(f));
    ASSERT_TRUE(back.has_value()) << ToString(f);
    EXPECT_EQ(*back, f);
    auto from_blender = ParseOutputFormat(BlenderFormatName(f));
    ASSERT_TRUE(from_blender.has_value()) << BlenderFormatName(f);
    EXPECT_EQ(*from_blender, f);
  }
  EXPECT_EQ(ParseOutputFormat("png"), OutputFormat::kPng);
  EXPECT_EQ(ParseOutputFormat("Png"), OutputFormat::kPng);
  EXPECT_EQ(ParseOutputFormat("EXR"), OutputFormat::kExr);
  EXPECT_EQ(ParseOutputFormat("exr"), OutputFormat::kExr);
  EXPECT_EQ(ParseOutputFormat("OPEN_EXR"), OutputFormat::kExr);
  EXPECT_EQ(ParseOutputFormat("open_exr"), OutputFormat::kExr);
  EXPECT_EQ(ParseOutputFormat("OpenEXR"), OutputFormat::kExr);
  EXPECT_EQ(ParseOutputFormat("JPEG"), OutputFormat::kJpeg);
  EXPECT_EQ(ParseOutputFormat("jpg"), OutputFormat::kJpeg);
  EXPECT_EQ(ParseOutputFormat("Jpeg"), OutputFormat::kJpeg);
  EXPECT_FALSE(ParseOutputFormat("").has_value());
  EXPECT_FALSE(ParseOutputFormat("TIFF").has_value());
  EXPECT_FALSE(ParseOutputFormat("FFMPEG").has_value());
  EXPECT_FALSE(ParseOutputFormat(" png").has_value());
  EXPECT_FALSE(ParseOutputFormat("png.").has_value());
}

TEST(Model, BlenderNamesAndExtensions) {
  EXPECT_EQ(ToString(OutputFormat::kExr), "EXR");
  EXPECT_EQ(BlenderFormatName(OutputFormat::kPng), "PNG");
  EXPECT_EQ(BlenderFormatName(OutputFormat::kExr), "OPEN_EXR");
  EXPECT_EQ(BlenderFormatName(OutputFormat::kJpeg), "JPEG");
  EXPECT_EQ(FileExtension(OutputFormat::kPng), "png");
  EXPECT_EQ(FileExtension(OutputFormat::kExr), "exr");
  EXPECT_EQ(FileExtension(OutputFormat::kJpeg), "jpg");
}

TEST(Model, FrameFileName) {
  EXPECT_EQ(FrameFileName("shot", 5, OutputFormat::kPng), "shot_0005.png");
  EXPECT_EQ(FrameFileName("shot", -5, OutputFormat::kPng), "shot_-0005.png");
  EXPECT_EQ(FrameFileName("shot", 12345, OutputFormat::kExr), "shot_12345.exr");
  EXPECT_EQ(FrameFileName("shot", 0, OutputFormat::kJpeg), "shot_0000.jpg");
  EXPECT_EQ(FrameFileName("shot", 1, OutputFormat::kPng), "shot_0001.png");
  EXPECT_EQ(FrameFileName("shot", 9999, OutputFormat::kPng), "shot_9999.png");
  EXPECT_EQ(FrameFileName("shot", -12345, OutputFormat::kPng), "shot_-12345.png");
  EXPECT_EQ(FrameFileName("my scene.v2", 1048574, OutputFormat::kExr), "my scene.v2_1048574.exr");
  EXPECT_EQ(FrameFileName("s", -1048574, OutputFormat::kPng), "s_-1048574.png");
}

TEST(Model, FrameFileNamesSortLikeFramesWithinFourDigits) {
  // Zero padding keeps names in frame order for the usual range, which tools such as ffmpeg globbing rely on.
  std::set<std::string> names;
  for (int f = 0; f <= 9999; f += 37) names.insert(FrameFileName("a", f, OutputFormat::kPng));
  int prev = -1;
  for (const auto& n : names) {
    int f = std::stoi(n.substr(2, 4));
    EXPECT_GT(f, prev) << n;
    prev = f;
  }
}

}  // namespace
}  // namespace inferix::domain
