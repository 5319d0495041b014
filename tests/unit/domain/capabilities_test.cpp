#include "domain/capabilities.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace inferix::domain {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

const std::string kOidn = "OPENIMAGEDENOISE";
const std::string kOptix = "OPTIX";

// ---- Versions ---------------------------------------------------------------------------------------------

TEST(VersionNumber, IsMajorTimesHundredPlusMinor) {
  EXPECT_EQ(VersionNumber("3.4.1"), 304);
  EXPECT_EQ(VersionNumber("4.2.3 LTS"), 402);
  EXPECT_EQ(VersionNumber(" 3.10.2"), 310);
  EXPECT_EQ(VersionNumber("5.2"), 502);
  EXPECT_EQ(VersionNumber("2.79"), 279);
  EXPECT_EQ(VersionNumber("4.0.0"), 400);
}

TEST(VersionNumber, IsZeroForWhatDoesNotStartWithAVersion) {
  for (const char* bad :
       {"", "3", "3.", "garbage", "v3.4", "Blender 3.4", ".4", "-3.4", "3-4", "3..4", "   "}) {
    EXPECT_EQ(VersionNumber(bad), 0) << '"' << bad << '"';
  }
}

TEST(VersionNumber, AMinorAbove99IsNotAVersion) {
  EXPECT_EQ(VersionNumber("3.99"), 399);
  EXPECT_EQ(VersionNumber("3.100"), 0);
  EXPECT_EQ(VersionNumber("3.999.1"), 0);
}

TEST(VersionName, IsMajorDotMinor) {
  EXPECT_EQ(VersionName(304), "3.4");
  EXPECT_EQ(VersionName(402), "4.2");
  EXPECT_EQ(VersionName(310), "3.10");
  EXPECT_EQ(VersionName(279), "2.79");
  EXPECT_EQ(VersionName(VersionNumber("4.2.3 LTS")), "4.2");
}

// ---- Choosing a build -------------------------------------------------------------------------------------

TEST(ChooseBuild, TheOldestBuildAtLeastAsNewAsTheScene) {
  const std::vector<BlenderBuild> builds = {{"4.2.3 LTS", {}}, {"3.4.1", {}}, {"3.6.5", {}}, {"5.0.0", {}}};
  EXPECT_THAT(ChooseBuild({304, {}}, builds), Optional(1u));
  EXPECT_THAT(ChooseBuild({305, {}}, builds), Optional(2u));
  EXPECT_THAT(ChooseBuild({306, {}}, builds), Optional(2u));
  EXPECT_THAT(ChooseBuild({400, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({402, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({403, {}}, builds), Optional(3u));
  EXPECT_THAT(ChooseBuild({279, {}}, builds), Optional(1u));
}

TEST(ChooseBuild, NoneWhenEveryBuildIsOlderThanTheScene) {
  const std::vector<BlenderBuild> builds = {{"3.4.1", {kOidn}}, {"3.6.0", {kOidn}}};
  EXPECT_EQ(ChooseBuild({402, {}}, builds), std::nullopt);
  EXPECT_EQ(ChooseBuild({304, {}}, {}), std::nullopt);
}

TEST(ChooseBuild, TheFirstListedAmongEquals) {
  const std::vector<BlenderBuild> builds = {{"4.2.0", {}}, {"4.2.3 LTS", {}}, {"4.2.1", {kOidn}}};
  EXPECT_THAT(ChooseBuild({401, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({402, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({402, {kOidn}}, builds), Optional(2u));
}

TEST(ChooseBuild, OnlyABuildWithEveryNeededDenoiser) {
  const std::vector<BlenderBuild> builds = {
      {"3.4.1", {}}, {"3.6.0", {kOidn}}, {"4.2.0", {kOptix}}, {"4.4.0", {kOptix, kOidn}}};
  EXPECT_THAT(ChooseBuild({304, {kOidn}}, builds), Optional(1u));
  EXPECT_THAT(ChooseBuild({304, {kOptix}}, builds), Optional(2u));
  EXPECT_THAT(ChooseBuild({304, {kOidn, kOptix}}, builds), Optional(3u));
  EXPECT_EQ(ChooseBuild({405, {kOidn}}, builds), std::nullopt);
  EXPECT_EQ(ChooseBuild({304, {"SOMETHING_ELSE"}}, builds), std::nullopt);
}

TEST(ChooseBuild, ABuildOfUnknownVersionRanksAsTheNewestAndIsNeverHeldBack) {
  const std::vector<BlenderBuild> builds = {{"", {}}, {"3.4.1", {}}, {"garbage", {kOidn}}};
  // A known build new enough is closer to the artist's Blender than one of unknown version.
  EXPECT_THAT(ChooseBuild({304, {}}, builds), Optional(1u));
  // None known is new enough: the unknown one (the first listed) is not held back.
  EXPECT_THAT(ChooseBuild({402, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({502, {kOidn}}, builds), Optional(2u));
  EXPECT_THAT(ChooseBuild({9999, {}}, std::vector<BlenderBuild>{{"", {}}}), Optional(0u));
}

TEST(ChooseBuild, AJobOfUnknownVersionTakesTheFirstBuildWithTheDenoisers) {
  const std::vector<BlenderBuild> builds = {{"5.0.0", {}}, {"3.4.1", {kOidn}}, {"2.79", {kOidn}}};
  EXPECT_THAT(ChooseBuild({0, {}}, builds), Optional(0u));
  EXPECT_THAT(ChooseBuild({0, {kOidn}}, builds), Optional(1u));
  EXPECT_EQ(ChooseBuild({0, {kOptix}}, builds), std::nullopt);
  EXPECT_EQ(ChooseBuild({0, {}}, {}), std::nullopt);
}

// ---- What a job needs -------------------------------------------------------------------------------------

TEST(NeedsOf, TheScenesVersionAndItsDenoisers) {
  Job job;
  job.blender_version = 402;
  job.denoisers = {kOidn, kOptix};
  const RenderNeeds needs = NeedsOf(job);
  EXPECT_EQ(needs.blender_version, 402);
  EXPECT_EQ(needs.denoisers, (std::vector<std::string>{kOidn, kOptix}));
}

TEST(NeedsOf, NoDenoisersWhenTheUserWaivedThem) {
  Job job;
  job.blender_version = 304;
  job.denoisers = {kOidn};
  job.without_denoiser = true;
  const RenderNeeds needs = NeedsOf(job);
  EXPECT_EQ(needs.blender_version, 304);
  EXPECT_TRUE(needs.denoisers.empty());
  // So a build without any denoiser renders it.
  EXPECT_THAT(ChooseBuild(needs, {{"3.4.1", {}}}), Optional(0u));
  job.without_denoiser = false;
  EXPECT_EQ(ChooseBuild(NeedsOf(job), {{"3.4.1", {}}}), std::nullopt);
}

// ---- Engines (issue #17) ----------------------------------------------------------------------------------

const std::vector<std::string> kAllEngines = {"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"};

TEST(Engines, ABuildRendersTheEnginesItAdvertises) {
  const BlenderBuild cycles_only{"3.4.1", {}, {"CYCLES"}};
  const BlenderBuild all{"3.4.1", {}, kAllEngines};
  EXPECT_TRUE(RendersEngine(cycles_only, "CYCLES"));
  EXPECT_FALSE(RendersEngine(cycles_only, "BLENDER_EEVEE"));
  EXPECT_TRUE(RendersEngine(all, "BLENDER_EEVEE"));
  EXPECT_FALSE(RendersEngine(all, "LUXCORE"));  // an add-on's engine no probe knows
}

TEST(Engines, ABuildThatAdvertisesNoneAndAnUnknownEngineAreNotHeldBack) {
  EXPECT_TRUE(RendersEngine({"3.4.1", {}}, "BLENDER_EEVEE"));  // a node from before engines were advertised
  EXPECT_TRUE(RendersEngine({"3.4.1", {}, {"CYCLES"}}, ""));   // a job of an older client
}

TEST(Engines, ChooseBuildTakesOnlyABuildThatRendersTheScenesEngine) {
  Job job;
  job.blender_version = 304;
  job.engine = "BLENDER_EEVEE";
  const RenderNeeds needs = NeedsOf(job);
  EXPECT_EQ(needs.engine, "BLENDER_EEVEE");
  const std::vector<BlenderBuild> builds = {{"3.4.1", {}, {"CYCLES"}}, {"3.6.5", {}, kAllEngines}};
  EXPECT_THAT(ChooseBuild(needs, builds), Optional(1u));
  EXPECT_EQ(ChooseBuild(needs, {builds[0]}), std::nullopt);
  job.engine = "CYCLES";
  EXPECT_THAT(ChooseBuild(NeedsOf(job), builds), Optional(0u));
}

TEST(Engines, AreNamedForPeople) {
  EXPECT_EQ(EngineName("BLENDER_EEVEE"), "Eevee");
  EXPECT_EQ(EngineName("BLENDER_WORKBENCH"), "Workbench");
  EXPECT_EQ(EngineName("CYCLES"), "Cycles");
  EXPECT_EQ(EngineName("LUXCORE"), "LUXCORE");
  EXPECT_EQ(EnginesText({{"3.4.1", {}, {"CYCLES"}}, {"4.2.0", {}, {"CYCLES", "BLENDER_WORKBENCH"}}}),
            "Cycles, Workbench");
  EXPECT_EQ(EnginesText({{"3.4.1", {}, {"CYCLES"}}, {"4.2.0", {}}}), "every engine");
  const RenderNeeds eevee{304, {}, {}, "BLENDER_EEVEE"};
  EXPECT_THAT(WhyNoBuild(eevee, {{"3.4.1", {}, {"CYCLES"}}}),
              HasSubstr("renders with Eevee, which this node does not render (it renders Cycles)"));
}

// ---- Why none can -----------------------------------------------------------------------------------------

TEST(WhyNoBuild, TooOldNamesTheNeededVersionAndTheNodesVersions) {
  const std::string why = WhyNoBuild({402, {}}, {{"3.4.1", {}}, {"3.6.5", {kOidn}}});
  EXPECT_THAT(why, HasSubstr("needs Blender 4.2 or newer"));
  EXPECT_THAT(why, HasSubstr("this node has 3.4.1, 3.6.5"));
}

TEST(WhyNoBuild, ANodeWithoutBuildsHasNone) {
  EXPECT_THAT(WhyNoBuild({304, {}}, {}), HasSubstr("this node has no Blender"));
}

TEST(WhyNoBuild, LackingADenoiserNamesIt) {
  const std::string oidn = WhyNoBuild({304, {kOidn}}, {{"3.4.1", {}}, {"4.2.0", {kOptix}}});
  EXPECT_THAT(oidn, HasSubstr("needs a Blender with OpenImageDenoise"));
  EXPECT_THAT(oidn, HasSubstr("(3.4.1, 4.2.0) lack it"));
  EXPECT_THAT(oidn, Not(HasSubstr("or newer")));

  const std::string both = WhyNoBuild({304, {kOidn, kOptix}}, {{"4.2.0", {kOptix}}});
  EXPECT_THAT(both, HasSubstr("OpenImageDenoise and OptiX"));
}

TEST(WhyNoBuild, ABuildOfUnknownVersionLackingTheDenoiserIsNotCalledTooOld) {
  const std::vector<BlenderBuild> builds = {{"", {}}};
  ASSERT_EQ(ChooseBuild({402, {kOidn}}, builds), std::nullopt);
  const std::string why = WhyNoBuild({402, {kOidn}}, builds);
  EXPECT_THAT(why, HasSubstr("OpenImageDenoise"));
  EXPECT_THAT(why, Not(HasSubstr("or newer")));
}

TEST(DenoiserName, NamesForPeople) {
  EXPECT_EQ(DenoiserName("OPENIMAGEDENOISE"), "OpenImageDenoise");
  EXPECT_EQ(DenoiserName("OPTIX"), "OptiX");
  EXPECT_EQ(DenoiserName("NLM"), "NLM");  // unknown: as it is
}

// ---- A job's requirements of the slot that renders it (issue #17) ----------------------------------------

constexpr int64_t kGiB = int64_t{1} << 30;

TEST(Requirements, TheDeviceAndItsMemory) {
  const SlotOffer cpu{"CPU", 64 * kGiB};
  const SlotOffer cuda12{"CUDA", 12 * kGiB};
  const SlotOffer optix24{"OPTIX", 24 * kGiB};
  const SlotOffer hip_unknown{"HIP", 0};
  EXPECT_TRUE(SlotMeets({}, cpu));
  EXPECT_TRUE(SlotMeets({"cpu", 0, 0, 0}, cpu));
  EXPECT_FALSE(SlotMeets({"cpu", 0, 0, 0}, cuda12));
  EXPECT_FALSE(SlotMeets({"gpu", 0, 0, 0}, cpu));
  EXPECT_TRUE(SlotMeets({"gpu", 0, 0, 0}, hip_unknown));
  EXPECT_TRUE(SlotMeets({"optix", 0, 0, 0}, optix24));
  EXPECT_FALSE(SlotMeets({"cuda", 0, 0, 0}, optix24));
  // A minimum of GPU memory: never the CPU (whatever the machine's memory), never a GPU of unknown memory.
  const JobRequirements big{"", 16 * kGiB, 0, 0};
  EXPECT_FALSE(SlotMeets(big, cpu));
  EXPECT_FALSE(SlotMeets(big, cuda12));
  EXPECT_TRUE(SlotMeets(big, optix24));
  EXPECT_FALSE(SlotMeets(big, hip_unknown));
}

TEST(Requirements, TheBlenderRange) {
  const JobRequirements range{"", 0, 306, 402};
  EXPECT_FALSE(BuildMeets(range, {"3.4.1", {}}));
  EXPECT_TRUE(BuildMeets(range, {"3.6.5", {}}));
  EXPECT_TRUE(BuildMeets(range, {"4.2.3 LTS", {}}));
  EXPECT_FALSE(BuildMeets(range, {"4.4.0", {}}));
  EXPECT_FALSE(BuildMeets(range, {"", {}})) << "an unknown version is in no range";
  EXPECT_TRUE(BuildMeets({}, {"", {}}));
  // The range is part of what a job needs of a build: the oldest build in it renders.
  RenderNeeds needs;
  needs.blender_version = 304;
  needs.requirements = range;
  EXPECT_THAT(ChooseBuild(needs, {{"3.4.1", {}}, {"4.2.0", {}}, {"3.6.0", {}}}), Optional(2u));
  EXPECT_EQ(ChooseBuild(needs, {{"3.4.1", {}}}), std::nullopt);
  EXPECT_THAT(WhyNoBuild(needs, {{"3.4.1", {}}}), HasSubstr("requires Blender 3.6 to 4.2"));
}

TEST(Requirements, AreSaidForPeopleAndChecked) {
  EXPECT_EQ(RequirementsText({}), "");
  EXPECT_EQ(RequirementsText({"", 16 * kGiB, 0, 0}), "a GPU with at least 16 GiB of memory");
  EXPECT_EQ(RequirementsText({"optix", 0, 306, 0}), "an OptiX GPU, Blender 3.6 or newer");
  EXPECT_EQ(RequirementsText({"cpu", 0, 0, 401}), "the CPU, Blender 4.1 or older");
  EXPECT_TRUE(CheckRequirements({"hip", 8 * kGiB, 304, 402}).ok());
  EXPECT_FALSE(CheckRequirements({"tpu", 0, 0, 0}).ok());
  EXPECT_FALSE(CheckRequirements({"cpu", kGiB, 0, 0}).ok());
  EXPECT_FALSE(CheckRequirements({"", -1, 0, 0}).ok());
  auto empty = CheckRequirements({"", 0, 402, 306});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("4.2 is newer than 3.6"));
}

TEST(Requirements, RoundTripThroughTheirStoredForm) {
  const JobRequirements req{"gpu", 16 * kGiB, 306, 402};
  EXPECT_EQ(DecodeRequirements(EncodeRequirements(req)), req);
  EXPECT_EQ(EncodeRequirements({}), "");
  EXPECT_EQ(DecodeRequirements(""), JobRequirements{});
  EXPECT_EQ(DecodeRequirements("garbage;=;device"), JobRequirements{});
}

}  // namespace
}  // namespace inferix::domain
