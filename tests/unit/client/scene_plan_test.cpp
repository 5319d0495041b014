// The client's preflight helpers (scene_plan.cpp): paths as Blender resolves them, the network's builds, and
// what a scene's dependency names on disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "client/internal.hpp"

namespace inferix::client {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// ---- BlenderAbsPath ---------------------------------------------------------------------------------------

const fs::path kOwner = "/p/shots/a.blend";

TEST(BlenderAbsPath, ADoubleSlashPathIsRelativeToTheBlendThatHoldsIt) {
  EXPECT_EQ(BlenderAbsPath("//tex/a.png", kOwner), "/p/shots/tex/a.png");
  EXPECT_EQ(BlenderAbsPath("//a.png", kOwner), "/p/shots/a.png");
  EXPECT_EQ(BlenderAbsPath("//../tex/a.png", kOwner), "/p/tex/a.png");
  EXPECT_EQ(BlenderAbsPath("//../../../../x.png", kOwner), "/x.png");  // no higher than the root
  EXPECT_EQ(BlenderAbsPath("//./tex//a.png", kOwner), "/p/shots/tex/a.png");
  EXPECT_EQ(BlenderAbsPath("//tex/a.png", "/lib/props.blend"), "/lib/tex/a.png");
}

TEST(BlenderAbsPath, BackslashesAreSlashes) {
  EXPECT_EQ(BlenderAbsPath("//..\\tex\\a.png", kOwner), "/p/tex/a.png");
  EXPECT_EQ(BlenderAbsPath("//tex\\sub\\a.png", kOwner), "/p/shots/tex/sub/a.png");
}

TEST(BlenderAbsPath, AWindowsDriveIsAFolderNamedByItsLetter) {
  EXPECT_EQ(BlenderAbsPath("C:\\Users\\x\\a.png", kOwner), "/c/Users/x/a.png");
  EXPECT_EQ(BlenderAbsPath("D:/x", kOwner), "/d/x");
  EXPECT_EQ(BlenderAbsPath("d:\\proj\\..\\tex\\b.exr", kOwner), "/d/tex/b.exr");
}

TEST(BlenderAbsPath, AWindowsNetworkPathStaysAsItIs) {
  EXPECT_EQ(BlenderAbsPath("\\\\server\\share\\a.png", kOwner), "\\\\server\\share\\a.png");
}

TEST(BlenderAbsPath, AnAbsolutePathIsNormalised) {
  EXPECT_EQ(BlenderAbsPath("/mnt/a/../b.png", kOwner), "/mnt/b.png");
  EXPECT_EQ(BlenderAbsPath("/mnt/./a//b.png", kOwner), "/mnt/a/b.png");
  EXPECT_EQ(BlenderAbsPath("/mnt/caches/", kOwner), "/mnt/caches");
  EXPECT_EQ(BlenderAbsPath("/", kOwner), "/");
}

TEST(BlenderAbsPath, ARelativePathIsLeftRelative) {
  EXPECT_EQ(BlenderAbsPath("tex/a.png", kOwner), "tex/a.png");
  EXPECT_EQ(BlenderAbsPath("", kOwner), "");
}

// ---- NetworkBuilds ----------------------------------------------------------------------------------------

std::vector<std::string> Versions(const std::vector<domain::BlenderBuild>& builds) {
  std::vector<std::string> out;
  for (const auto& b : builds) out.push_back(b.version);
  return out;
}

TEST(NetworkBuilds, EveryBuildOfEveryUnbannedWorker) {
  const json workers = {
      {"nodes",
       json::array({
           {{"id", 1},
            {"role", "worker"},
            {"banned", false},
            {"capabilities",
             {{"blender_version", "3.4.1"},
              {"blenders", json::array({{{"version", "3.4.1"}},
                                        {{"version", "4.2.0"},
                                         {"denoisers", json::array({"OPENIMAGEDENOISE", "OPTIX"})}}})}}}},
           {{"id", 2},
            {"role", "worker"},
            {"banned", true},
            {"capabilities", {{"blenders", json::array({{{"version", "5.0.0"}}})}}}},
           {{"id", 3},
            {"role", "verifier"},
            {"banned", false},
            {"capabilities", {{"blenders", json::array({{{"version", "5.1.0"}}})}}}},
           {{"id", 4},
            {"role", "worker"},
            {"banned", false},
            {"capabilities", {{"blender_version", "3.6.5"}}}},
           {{"id", 5}, {"role", "worker"}, {"capabilities", {{"arch", "x86_64"}}}},  // no version said
       })}};
  const auto builds = NetworkBuilds(workers);
  EXPECT_THAT(Versions(builds), ElementsAre("3.4.1", "4.2.0", "3.6.5"));
  ASSERT_EQ(builds.size(), 3u);
  EXPECT_THAT(builds[0].denoisers, IsEmpty());
  EXPECT_THAT(builds[1].denoisers, ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
  EXPECT_THAT(builds[2].denoisers, IsEmpty());
}

TEST(NetworkBuilds, MalformedBuildsFallBackToTheSingleVersion) {
  const json workers = {
      {"nodes",
       json::array({
           {{"role", "worker"},
            {"capabilities",
             {{"blender_version", "3.6.5"}, {"blenders", json::array({{{"version", 4}}, "4.2.0"})}}}},
           {{"role", "worker"},
            {"capabilities",
             {{"blenders",
               json::array({{{"version", "4.2.0"}, {"denoisers", json::array({"OPTIX", 7})}}})}}}},
           {{"role", "worker"}, {"capabilities", "not an object"}},
       })}};
  const auto builds = NetworkBuilds(workers);
  EXPECT_THAT(Versions(builds), ElementsAre("3.6.5", "4.2.0"));
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_THAT(builds[1].denoisers, ElementsAre("OPTIX"));
}

TEST(NetworkBuilds, TheEnginesOfEachBuildOrItsNode) {
  const json workers = {
      {"nodes",
       json::array({
           {{"role", "worker"},
            {"capabilities",
             {{"engines", json::array({"CYCLES", "BLENDER_EEVEE"})},
              {"blenders", json::array({{{"version", "3.4.1"}},
                                        {{"version", "4.2.0"}, {"engines", json::array({"CYCLES"})}}})}}}},
           {{"role", "worker"}, {"capabilities", {{"blender_version", "3.6.5"}}}},  // an older worker
       })}};
  const auto builds = NetworkBuilds(workers);
  ASSERT_EQ(builds.size(), 3u);
  EXPECT_THAT(builds[0].engines, ElementsAre("CYCLES", "BLENDER_EEVEE"));
  EXPECT_THAT(builds[1].engines, ElementsAre("CYCLES"));
  EXPECT_THAT(builds[2].engines, IsEmpty());  // said none: every engine
}

// ---- CheckNetwork: the scene's engine (issue #17)
// -----------------------------------------------------------

ScenePlan OpenedWith(const std::string& engine) {
  ScenePlan plan;
  plan.opened = true;
  plan.blender_version = 304;
  plan.info.engine = engine;
  return plan;
}

TEST(CheckNetwork, AnEngineNoWorkerRendersIsRefusedBeforeUpload) {
  ScenePlan plan = OpenedWith("BLENDER_EEVEE");
  CheckNetwork(plan, {{"3.4.1", {}, {"CYCLES"}}, {"4.2.0", {}, {"CYCLES", "BLENDER_WORKBENCH"}}}, false);
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_EQ(plan.problems[0].code, "engine");
  EXPECT_TRUE(plan.problems[0].fatal);
  EXPECT_THAT(
      plan.problems[0].message,
      ::testing::HasSubstr("the scene renders with Eevee (BLENDER_EEVEE), which no worker of this network "
                           "renders (they render Cycles, Workbench)"));
  auto refused = ReportProblems(plan, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("[engine]"));
}

TEST(CheckNetwork, AnEngineSomeWorkerRendersOrAnOlderWorkerIsNoProblem) {
  for (const std::vector<domain::BlenderBuild>& network :
       {std::vector<domain::BlenderBuild>{{"3.4.1", {}, {"CYCLES"}},
                                          {"3.4.1", {}, {"CYCLES", "BLENDER_EEVEE"}}},
        std::vector<domain::BlenderBuild>{{"3.4.1", {}, {"CYCLES"}}, {"3.4.1", {}}}}) {
    ScenePlan plan = OpenedWith("BLENDER_EEVEE");
    CheckNetwork(plan, network, false);
    EXPECT_THAT(plan.problems, IsEmpty());
  }
  // No worker registered yet: that warning only (the engine cannot be compared).
  ScenePlan plan = OpenedWith("BLENDER_EEVEE");
  CheckNetwork(plan, {}, false);
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_EQ(plan.problems[0].code, "no_workers");
}

TEST(NetworkBuilds, NoWorkersNoBuilds) {
  EXPECT_THAT(NetworkBuilds(json::object()), IsEmpty());
  EXPECT_THAT(NetworkBuilds({{"nodes", json::array()}}), IsEmpty());
}

// ---- ExpandDependency -------------------------------------------------------------------------------------

class ExpandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("inferix_scene_plan_test_" + std::to_string(rd()) + std::to_string(rd()));
    ASSERT_TRUE(fs::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path Touch(const std::string& rel) {
    const fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << rel;
    return p;
  }
  render::SceneDependency Dep(const std::string& kind, const std::string& rel, std::vector<int> tiles = {}) {
    render::SceneDependency d;
    d.kind = kind;
    d.path = "//" + rel;
    d.abs = (dir_ / rel).string();
    d.tiles = std::move(tiles);
    return d;
  }
  fs::path dir_;
};

TEST_F(ExpandTest, AFileThatIsThere) {
  const fs::path a = Touch("tex/a.png");
  const Expansion e = ExpandDependency(Dep("file", "tex/a.png"));
  EXPECT_THAT(e.files, ElementsAre(a));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, AMissingFileIsNamed) {
  const Expansion e = ExpandDependency(Dep("file", "tex/gone.png"));
  EXPECT_THAT(e.files, IsEmpty());
  EXPECT_THAT(e.missing, ElementsAre((dir_ / "tex/gone.png").string()));
  // A folder where a file was expected is missing too.
  fs::create_directories(dir_ / "tex/folder.png");
  EXPECT_THAT(ExpandDependency(Dep("file", "tex/folder.png")).missing,
              ElementsAre((dir_ / "tex/folder.png").string()));
}

TEST_F(ExpandTest, ASequenceIsEveryFileWithAFrameNumberInPlaceOfItsNumber) {
  const fs::path f1 = Touch("seq/f_0001.png");
  const fs::path f2 = Touch("seq/f_0002.png");
  const fs::path f10 = Touch("seq/f_10.png");
  Touch("seq/other.png");
  Touch("seq/f_0001.jpg");
  Touch("seq/f_x1.png");
  Touch("seq/f_.png");
  Touch("seq/g_0003.png");
  fs::create_directories(dir_ / "seq/f_0004.png");  // a folder, not a frame
  const Expansion e = ExpandDependency(Dep("sequence", "seq/f_0001.png"));
  EXPECT_THAT(e.files, ElementsAre(f1, f2, f10));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, ASequenceNamingAFrameThatIsGoneStillFindsItsSiblings) {
  const fs::path f5 = Touch("seq/f_0005.png");
  const Expansion e = ExpandDependency(Dep("sequence", "seq/f_0001.png"));
  EXPECT_THAT(e.files, ElementsAre(f5));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, ASequenceWithNoFramePresentIsMissing) {
  Touch("seq/other.png");
  const Expansion e = ExpandDependency(Dep("sequence", "seq/f_0001.png"));
  EXPECT_THAT(e.files, IsEmpty());
  EXPECT_THAT(e.missing, ElementsAre((dir_ / "seq/f_0001.png").string()));
  // Its folder missing altogether: the same.
  EXPECT_THAT(ExpandDependency(Dep("sequence", "gone/f_0001.png")).missing,
              ElementsAre((dir_ / "gone/f_0001.png").string()));
}

TEST_F(ExpandTest, ASequenceWhoseNameEndsInNoNumberIsOneFile) {
  const fs::path movie = Touch("clips/movie.mp4");
  Touch("clips/movie2.mp4");
  EXPECT_THAT(ExpandDependency(Dep("sequence", "clips/movie.mp4")).files, ElementsAre(movie));
  EXPECT_THAT(ExpandDependency(Dep("sequence", "clips/gone.mp4")).missing,
              ElementsAre((dir_ / "clips/gone.mp4").string()));
}

TEST_F(ExpandTest, UdimTilesByNumber) {
  const fs::path t1001 = Touch("tex/wood.1001.png");
  const fs::path t1002 = Touch("tex/wood.1002.png");
  const fs::path t1011 = Touch("tex/wood.1011.png");
  Touch("tex/wood.1003.png");  // not a tile of the image
  const Expansion e = ExpandDependency(Dep("udim", "tex/wood.<UDIM>.png", {1001, 1002, 1011}));
  EXPECT_THAT(e.files, ElementsAre(t1001, t1002, t1011));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, UdimTilesByUAndV) {
  const fs::path a = Touch("tex/wood_u1_v1.png");
  const fs::path b = Touch("tex/wood_u2_v1.png");
  const fs::path c = Touch("tex/wood_u1_v2.png");
  const Expansion e = ExpandDependency(Dep("udim", "tex/wood_<UVTILE>.png", {1001, 1002, 1011}));
  EXPECT_THAT(e.files, ElementsAre(a, b, c));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, EachMissingUdimTileIsReported) {
  const fs::path t1001 = Touch("tex/wood.1001.png");
  const Expansion e = ExpandDependency(Dep("udim", "tex/wood.<UDIM>.png", {1001, 1002, 1011}));
  EXPECT_THAT(e.files, ElementsAre(t1001));
  EXPECT_THAT(e.missing,
              ElementsAre((dir_ / "tex/wood.1002.png").string(), (dir_ / "tex/wood.1011.png").string()));
  const Expansion uv = ExpandDependency(Dep("udim", "tex/wood_<UVTILE>.png", {1001, 1012}));
  EXPECT_THAT(uv.files, IsEmpty());
  EXPECT_THAT(uv.missing,
              ElementsAre((dir_ / "tex/wood_u1_v1.png").string(), (dir_ / "tex/wood_u2_v2.png").string()));
}

TEST_F(ExpandTest, UdimWithoutTileNumbersIsTile1001) {
  const fs::path t1001 = Touch("tex/wood.1001.png");
  EXPECT_THAT(ExpandDependency(Dep("udim", "tex/wood.<UDIM>.png")).files, ElementsAre(t1001));
}

TEST_F(ExpandTest, ADirectoryIsEveryFileUnderItSorted) {
  const fs::path b = Touch("cache/b.vdb");
  const fs::path a = Touch("cache/a.vdb");
  const fs::path deep = Touch("cache/sub/deeper/c.abc");
  const fs::path sub = Touch("cache/sub/a.bphys");
  fs::create_directories(dir_ / "cache/empty");
  Touch("elsewhere/x.vdb");
  const Expansion e = ExpandDependency(Dep("directory", "cache"));
  EXPECT_THAT(e.files, ElementsAre(a, b, sub, deep));
  EXPECT_THAT(e.missing, IsEmpty());
}

TEST_F(ExpandTest, AMissingDirectoryIsNamed) {
  const Expansion e = ExpandDependency(Dep("directory", "cache"));
  EXPECT_THAT(e.files, IsEmpty());
  EXPECT_THAT(e.missing, ElementsAre((dir_ / "cache").string()));
  Touch("file_not_folder");
  EXPECT_THAT(ExpandDependency(Dep("directory", "file_not_folder")).missing,
              ElementsAre((dir_ / "file_not_folder").string()));
}

}  // namespace
}  // namespace inferix::client
