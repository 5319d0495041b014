#include "domain/job_compiler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto.hpp"

namespace inferix::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ChunkFrames, TenFramesInChunksOfThree) {
  auto chunks = ChunkFrames({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_THAT(chunks[0], ElementsAre(1, 2, 3));
  EXPECT_THAT(chunks[1], ElementsAre(4, 5, 6));
  EXPECT_THAT(chunks[2], ElementsAre(7, 8, 9));
  EXPECT_THAT(chunks[3], ElementsAre(10));
}

TEST(ChunkFrames, ExactMultiple) {
  auto chunks = ChunkFrames({1, 2, 3, 4, 5, 6}, 3);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_THAT(chunks[0], ElementsAre(1, 2, 3));
  EXPECT_THAT(chunks[1], ElementsAre(4, 5, 6));
}

TEST(ChunkFrames, ChunkOfOneAndChunkLargerThanFrames) {
  auto ones = ChunkFrames({-2, 0, 7}, 1);
  ASSERT_EQ(ones.size(), 3u);
  EXPECT_THAT(ones[0], ElementsAre(-2));
  EXPECT_THAT(ones[1], ElementsAre(0));
  EXPECT_THAT(ones[2], ElementsAre(7));

  auto all = ChunkFrames({1, 5, 9}, 100);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_THAT(all[0], ElementsAre(1, 5, 9));
}

TEST(ChunkFrames, EmptyAndNonPositiveChunkSize) {
  EXPECT_TRUE(ChunkFrames({}, 5).empty());
  // A chunk size below 1 is treated as 1 rather than looping forever.
  auto chunks = ChunkFrames({1, 2}, 0);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_THAT(chunks[1], ElementsAre(2));
  EXPECT_EQ(ChunkFrames({1, 2}, -4).size(), 2u);
}

TEST(ChunkFrames, KeepsEveryFrameOnceInOrder) {
  std::vector<int> frames;
  for (int f = -50; f <= 250; f += 3) frames.push_back(f);
  auto chunks = ChunkFrames(frames, 7);
  std::vector<int> joined;
  for (const auto& c : chunks) {
    EXPECT_LE(c.size(), 7u);
    EXPECT_FALSE(c.empty());
    joined.insert(joined.end(), c.begin(), c.end());
  }
  EXPECT_EQ(joined, frames);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].size(), 7u);
}

const std::string kShaA = Sha256Hex("scene");
const std::string kShaB = Sha256Hex("texture");

Job ValidJob() {
  Job j;
  j.id = 42;
  j.user_id = 7;
  j.name = "shot 010";
  j.main_file = "shot.blend";
  j.files = {{"shot.blend", kShaA, 1000}, {"tex/wood.png", kShaB, 20}};
  j.frames_spec = "1-10";
  j.chunk_size = 3;
  return j;
}

std::string Refused(const Job& job) {
  auto r = CompileJob(job, 123);
  EXPECT_FALSE(r.ok()) << "job was accepted";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  return r.error().message;
}

TEST(CompileJob, HappyPath) {
  auto r = CompileJob(ValidJob(), 1'700'000'000'123);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->frames.size(), 10u);
  for (size_t i = 0; i < r->frames.size(); ++i) {
    EXPECT_EQ(r->frames[i].number, static_cast<int>(i) + 1);
    EXPECT_EQ(r->frames[i].job_id, 42);
    EXPECT_EQ(r->frames[i].state, FrameState::kQueued);
    EXPECT_EQ(r->frames[i].failures, 0);
  }
  ASSERT_EQ(r->tasks.size(), 4u);
  EXPECT_THAT(r->tasks[0].frames, ElementsAre(1, 2, 3));
  EXPECT_THAT(r->tasks[1].frames, ElementsAre(4, 5, 6));
  EXPECT_THAT(r->tasks[2].frames, ElementsAre(7, 8, 9));
  EXPECT_THAT(r->tasks[3].frames, ElementsAre(10));
  for (const auto& t : r->tasks) {
    EXPECT_EQ(t.job_id, 42);
    EXPECT_EQ(t.kind, TaskKind::kRender);
    EXPECT_EQ(t.state, TaskState::kQueued);
    EXPECT_EQ(t.created_ms, 1'700'000'000'123);
    EXPECT_EQ(t.node_id, 0);
    EXPECT_TRUE(t.excluded_nodes.empty());
  }
}

TEST(CompileJob, SteppedAndListedFrames) {
  Job j = ValidJob();
  j.frames_spec = "20,1-9x4,-1";
  j.chunk_size = 2;
  auto r = CompileJob(j, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->frames.size(), 5u);
  ASSERT_EQ(r->tasks.size(), 3u);
  EXPECT_THAT(r->tasks[0].frames, ElementsAre(-1, 1));
  EXPECT_THAT(r->tasks[1].frames, ElementsAre(5, 9));
  EXPECT_THAT(r->tasks[2].frames, ElementsAre(20));
}

TEST(CompileJob, ChunkSizeLimits) {
  Job j = ValidJob();
  j.chunk_size = 1;
  EXPECT_TRUE(CompileJob(j, 0).ok());
  j.chunk_size = kMaxChunkSize;
  auto r = CompileJob(j, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tasks.size(), 1u);

  j.chunk_size = 0;
  EXPECT_THAT(Refused(j), HasSubstr("chunk_size"));
  j.chunk_size = kMaxChunkSize + 1;
  EXPECT_THAT(Refused(j), HasSubstr("chunk_size must be between 1 and 1000"));
  j.chunk_size = -3;
  EXPECT_THAT(Refused(j), HasSubstr("chunk_size"));
}

TEST(CompileJob, Name) {
  Job j = ValidJob();
  j.name = "";
  EXPECT_THAT(Refused(j), HasSubstr("job name"));
  j.name = std::string(201, 'n');
  EXPECT_THAT(Refused(j), HasSubstr("job name"));
  j.name = std::string(200, 'n');
  EXPECT_TRUE(CompileJob(j, 0).ok());
}

TEST(CompileJob, PathWithDotDot) {
  Job j = ValidJob();
  j.files[1].path = "../secret.png";
  auto msg = Refused(j);
  EXPECT_THAT(msg, HasSubstr("../secret.png"));
  EXPECT_THAT(msg, HasSubstr("must be relative"));
  j.files[1].path = "tex/../../x.png";
  EXPECT_THAT(Refused(j), HasSubstr("tex/../../x.png"));
}

TEST(CompileJob, AbsolutePath) {
  Job j = ValidJob();
  j.files[1].path = "/etc/passwd";
  EXPECT_THAT(Refused(j), HasSubstr("\"/etc/passwd\" must be relative"));
}

TEST(CompileJob, ControlCharacterInPath) {
  Job j = ValidJob();
  j.files[1].path = "tex/a\nb.png";
  EXPECT_THAT(Refused(j), HasSubstr("control characters"));
}

TEST(CompileJob, DuplicatePath) {
  Job j = ValidJob();
  j.files.push_back({"tex/wood.png", Sha256Hex("other"), 5});
  EXPECT_THAT(Refused(j), HasSubstr("\"tex/wood.png\" is listed twice"));
}

TEST(CompileJob, SameContentUnderTwoPathsIsFine) {
  Job j = ValidJob();
  j.files.push_back({"tex/wood_copy.png", kShaB, 20});
  EXPECT_TRUE(CompileJob(j, 0).ok());
}

TEST(CompileJob, MissingMainFile) {
  Job j = ValidJob();
  j.main_file = "other.blend";
  EXPECT_THAT(Refused(j), HasSubstr("\"other.blend\" is not among the scene's files"));
  j.main_file = "";
  EXPECT_THAT(Refused(j), HasSubstr("not among the scene's files"));
}

TEST(CompileJob, MainFileNotBlend) {
  Job j = ValidJob();
  j.main_file = "tex/wood.png";
  EXPECT_THAT(Refused(j), HasSubstr("is not a .blend file"));
}

TEST(CompileJob, BadSha) {
  Job j = ValidJob();
  j.files[0].sha256 = "abc";
  EXPECT_THAT(Refused(j), HasSubstr("sha256 must be 64 lower-case hex digits"));
  std::string upper = kShaA;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, kShaA);
  j.files[0].sha256 = upper;
  EXPECT_THAT(Refused(j), HasSubstr("\"shot.blend\": sha256"));
}

TEST(CompileJob, NoFilesOrTooMany) {
  Job j = ValidJob();
  j.files.clear();
  EXPECT_THAT(Refused(j), HasSubstr("1 to 10000 files"));
  j = ValidJob();
  for (int i = 0; i < 10000; ++i) j.files.push_back({"f" + std::to_string(i), kShaB, 1});
  EXPECT_THAT(Refused(j), HasSubstr("1 to 10000 files"));
}

TEST(CompileJob, BadFrameSpecIsReported) {
  Job j = ValidJob();
  j.frames_spec = "5-1";
  EXPECT_THAT(Refused(j), HasSubstr("frame spec \"5-1\""));
  j.frames_spec = "";
  EXPECT_THAT(Refused(j), HasSubstr("frame spec"));
}

// ---- Scene roots, denoisers and resolution (issue #12) ----------------------------------------------------

TEST(CompileJob, ASceneRootOutsideTheSystemIsAccepted) {
  Job j = ValidJob();
  j.scene_root = "/home/a/proj";
  j.files = {{"shots/shot.blend", kShaA, 1000}, {"textures/wood.png", kShaB, 20}};
  j.main_file = "shots/shot.blend";
  auto r = CompileJob(j, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->frames.size(), 10u);
}

TEST(CompileJob, TheSceneRootIsChecked) {
  Job j = ValidJob();
  j.scene_root = "relative/proj";
  EXPECT_THAT(Refused(j), HasSubstr("is not an absolute path"));
  j.scene_root = "/home/a/../b";
  EXPECT_THAT(Refused(j), HasSubstr("is not a normal path"));
  j.scene_root = "/home/a/";
  EXPECT_THAT(Refused(j), HasSubstr("ends with a slash"));
  j.scene_root = "/usr/share/x";
  EXPECT_THAT(Refused(j), HasSubstr("lies in the system folder /usr"));
  j.scene_root = "/etc";
  EXPECT_THAT(Refused(j), HasSubstr("lies in the system folder /etc"));
}

TEST(CompileJob, AFileUnderTheRootThatLandsInASystemFolderIsRefused) {
  Job j = ValidJob();
  j.scene_root = "/";
  j.files = {{"home/a/x.blend", kShaA, 1000}, {"etc/passwd", kShaB, 20}};
  j.main_file = "home/a/x.blend";
  const std::string msg = Refused(j);
  EXPECT_THAT(msg, HasSubstr("file \"/etc/passwd\" lies in the system folder /etc"));
  EXPECT_THAT(msg, HasSubstr("workers cannot show"));

  j.files[1] = {"usr/share/fonts/a.ttf", kShaB, 20};
  EXPECT_THAT(Refused(j), HasSubstr("file \"/usr/share/fonts/a.ttf\" lies in the system folder /usr"));
  j.files[1] = {"lib64", kShaB, 20};
  EXPECT_THAT(Refused(j), HasSubstr("file \"/lib64\" lies in the system folder /lib64"));
}

TEST(CompileJob, FilesUnderTheRootOutsideTheSystemFoldersAreFine) {
  Job j = ValidJob();
  j.scene_root = "/";
  j.files = {{"home/a/x.blend", kShaA, 1000},
             {"mnt/assets/tex/wood.png", kShaB, 20},
             {"usrlocal/a.png", Sha256Hex("c"), 1},
             {"home/usr/b.png", Sha256Hex("d"), 1}};
  j.main_file = "home/a/x.blend";
  auto r = CompileJob(j, 0);
  EXPECT_TRUE(r.ok()) << r.error().message;

  j.scene_root = "/home/a";  // /home/a/etc/passwd is the artist's own file
  j.files = {{"x.blend", kShaA, 1000}, {"etc/passwd", kShaB, 20}};
  j.main_file = "x.blend";
  r = CompileJob(j, 0);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(CompileJob, WithoutASceneRootFilesKeepTheOldLayout) {
  Job j = ValidJob();
  ASSERT_TRUE(j.scene_root.empty());
  j.files.push_back({"etc/passwd", Sha256Hex("c"), 1});  // relative to the main file's folder
  auto r = CompileJob(j, 0);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(CompileJob, DenoisersMustBeOpenImageDenoiseOrOptix) {
  Job j = ValidJob();
  j.denoisers = {"OPENIMAGEDENOISE", "OPTIX"};
  EXPECT_TRUE(CompileJob(j, 0).ok());
  j.denoisers = {"OPENIMAGEDENOISE", "NLM"};
  EXPECT_THAT(Refused(j), HasSubstr("denoisers must name OPENIMAGEDENOISE or OPTIX, not \"NLM\""));
  j.denoisers = {"openimagedenoise"};
  EXPECT_THAT(Refused(j), HasSubstr("not \"openimagedenoise\""));
  j.denoisers = {""};
  EXPECT_THAT(Refused(j), HasSubstr("denoisers must name"));
  j.denoisers = {std::string(100, 'X')};
  const std::string msg = Refused(j);
  EXPECT_THAT(msg, HasSubstr("not \"" + std::string(40, 'X') + "\""));  // quoted up to 40 characters
  EXPECT_THAT(msg, ::testing::Not(HasSubstr(std::string(41, 'X'))));
}

TEST(CompileJob, ResolutionPercentageFrom0To100) {
  Job j = ValidJob();
  for (int ok : {0, 1, 50, 100}) {
    j.resolution_percentage = ok;
    EXPECT_TRUE(CompileJob(j, 0).ok()) << ok;
  }
  for (int bad : {-1, 101, 1000}) {
    j.resolution_percentage = bad;
    EXPECT_THAT(Refused(j), HasSubstr("resolution_percentage must be between 1 and 100")) << bad;
  }
}

}  // namespace
}  // namespace inferix::domain
