// The scheduler: Blender builds (issue #12): which build renders or checks a job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

// ---- Blender builds (issue #12) ---------------------------------------------------------------------------

using nlohmann::json;

const std::string kOidn = "OPENIMAGEDENOISE";

// A machine description with these builds: {"version", denoisers...}.
json Builds(std::vector<std::vector<std::string>> builds, const std::string& arch = "x86_64") {
  json list = json::array();
  for (const auto& b : builds) {
    json build = {{"version", b[0]}, {"denoisers", json::array()}};
    for (size_t i = 1; i < b.size(); ++i) build["denoisers"].push_back(b[i]);
    list.push_back(build);
  }
  return {{"arch", arch}, {"device", "cpu"}, {"blenders", list}};
}

// Every build these tests' workers lend (x86_64, the CPU): a verifier lending them all checks every class
// they render in (without one, a worker's renders are held back: scheduler_held_test.cpp).
json EveryBuild() { return Builds({{"3.4.1"}, {"3.6.5"}, {"4.2.0"}, {"4.2.3 LTS"}, {"4.4.0"}, {"5.0.0"}}); }

TEST_P(SchedulerTest, ARenderTaskGoesOnlyToAWorkerWithABuildNewEnoughForTheScene) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"3.4.1"}, {"3.6.5"}}));
  Describe(worker2_, Builds({{"3.4.1"}, {"4.2.0"}}));
  Job job = SubmitScene("1", 402);
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.2.0");
  EXPECT_EQ(c->job.blender_version, 402);
}

TEST_P(SchedulerTest, TheClaimNamesTheOldestBuildThatCanRenderTheScene) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"4.2.0"}, {"3.4.1"}, {"3.6.5"}}));
  SubmitScene("1", 305, {}, false, "a");
  auto a = TryClaim(worker_);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->build, "3.6.5");
  SubmitScene("1", 304, {}, false, "b");
  auto b = TryClaim(worker_);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->build, "3.4.1");
  // A job of unknown version (from an older client): the first build listed.
  SubmitScene("1", 0, {}, false, "c");
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->build, "4.2.0");
}

TEST_P(SchedulerTest, AWorkerWhoseBuildsAreAllTooOldNeverGetsTheJobWhileAnotherDoes) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"3.4.1"}, {"3.6.5"}}));
  Describe(worker2_, Builds({{"4.2.3 LTS"}}));
  Job job = SubmitScene("1-3", 402);
  Job old = SubmitScene("1", 304, {}, false, "old");
  // The older worker passes over the newer scene's waiting tasks to what it can render.
  auto mine = TryClaim(worker_);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->job.id, old.id);
  EXPECT_EQ(mine->build, "3.4.1");
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued).size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(TryClaim(worker_).has_value());
    auto c = TryClaim(worker2_);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->job.id, job.id);
    EXPECT_EQ(c->build, "4.2.3 LTS");
  }
  for (const auto& t : TasksOf(job.id, TaskKind::kRender)) EXPECT_EQ(t.node_id, worker2_.id);
}

TEST_P(SchedulerTest, AJobNeedingADenoiserGoesOnlyToAWorkerWithABuildThatHasIt) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"4.2.0"}, {"5.0.0", "OPTIX"}}));
  Describe(worker2_, Builds({{"4.2.0"}, {"4.4.0", kOidn}}));
  Job job = SubmitScene("1", 402, {kOidn});
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.4.0");  // not the older 4.2.0, which lacks it
}

TEST_P(SchedulerTest, AJobWithoutDenoiserGoesToAnyWorkerNewEnough) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"4.2.0"}}));
  Job job = SubmitScene("1", 402, {kOidn}, /*without_denoiser=*/true);
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.2.0");
  EXPECT_TRUE(c->job.without_denoiser);
  EXPECT_THAT(c->job.denoisers, ElementsAre(kOidn));
}

TEST_P(SchedulerTest, TheOutputsClassIsTheClassOfTheBuildThatRenderedIt) {
  VerifierLending(EveryBuild());
  Describe(worker_, Builds({{"3.4.1"}, {"4.2.0"}}), "blender 3.4.1 / x86_64 / cpu");
  Job job = SubmitScene("1", 402);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  auto out = store_->FindOutput(t.id, 1);
  ASSERT_TRUE(out.ok() && out->has_value());
  EXPECT_EQ((*out)->det_class, "blender 4.2.0 / x86_64 / cpu");

  Job older = SubmitScene("1", 304, {}, false, "older");
  Task t2 = MustClaim(worker_);
  ASSERT_EQ(t2.job_id, older.id);
  MustReport(worker_, t2.id, 1);
  EXPECT_EQ((**store_->FindOutput(t2.id, 1)).det_class, "blender 3.4.1 / x86_64 / cpu");
  (void)job;
}

TEST_P(SchedulerTest, Layer2GoesOnlyToAVerifierWithABuildOfTheOutputsClassAndNamesIt) {
  Describe(worker_, Builds({{"3.4.1"}, {"4.2.0"}}));
  Describe(verifier_, Builds({{"3.4.1"}, {"4.4.0"}}));
  Node other_arch = NewNode("v3", NodeRole::kVerifier);
  Describe(other_arch, Builds({{"4.2.0"}}, "aarch64"));
  Describe(verifier2_, Builds({{"3.6.5"}, {"4.2.0"}, {"4.4.0"}}));
  SubmitScene("1", 402);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_EQ(TasksOf(t.job_id, TaskKind::kVerify)[0].level, domain::kRegions);
  EXPECT_FALSE(TryClaim(verifier_).has_value());   // newer, but another class
  EXPECT_FALSE(TryClaim(other_arch).has_value());  // the same version on another architecture
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.kind, TaskKind::kVerify);
  EXPECT_EQ(v->build, "4.2.0");
  ASSERT_TRUE(v->output.has_value());
  EXPECT_EQ(v->output->det_class, "blender 4.2.0 / x86_64 / cpu");
}

TEST_P(SchedulerTest, Layer2WithADenoiserGoesOnlyToAVerifierBuildThatHasIt) {
  Describe(worker_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier_, Builds({{"4.2.0"}}));
  Describe(verifier2_, Builds({{"4.2.0", kOidn}}));
  SubmitScene("1", 402, {kOidn});
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->build, "4.2.0");
}

TEST_P(SchedulerTest, NodesThatListNoBuildsKeepTheirRegisteredClass) {
  Describe(worker_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / cpu");
  Describe(verifier_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / gpu");
  Describe(verifier2_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / cpu");
  SubmitScene("1", 402);
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->build, "4.2.3 LTS");
  MustReport(worker_, c->task.id, 1);
  EXPECT_EQ((**store_->FindOutput(c->task.id, 1)).det_class, "blender 4.2.3 LTS / x86_64 / cpu");
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->build, "4.2.3 LTS");
}

TEST_P(SchedulerTest, ANodeOfAnOlderReleaseWithOneTooOldVersionGetsNothingNewer) {
  Describe(worker_, {{"blender_version", "3.4.1"}}, "blender 3.4.1 / x86_64 / cpu");
  Job job = SubmitScene("1", 402);
  EXPECT_FALSE(TryClaim(worker_).has_value());
  // A node that described no version at all is not held back.
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "");
}

TEST_P(TrustTest, Layer1ChecksNeedOnlyABuildThatOpensTheScene) {
  Describe(worker_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier2_, Builds({{"3.4.1", kOidn}}));
  Job job = SubmitScene("1-4", 402, {kOidn});
  EXPECT_THAT(RenderAndCheck(job, 3), ElementsAre(domain::kRegions, domain::kRegions, domain::kRegions));
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->ReportFrame(GetNode(worker_.id), t.id, 4, ShaOf(4), KeyOf(t.id, 4), 1.0).ok());
  ASSERT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued).size(), 1u);
  ASSERT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued)[0].level, domain::kLayer1Only);
  EXPECT_FALSE(TryClaim(verifier2_).has_value());               // its Blender cannot open a 4.2 scene
  Describe(verifier2_, Builds({{"3.4.1", kOidn}, {"4.4.0"}}));  // a newer one without the denoiser
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kLayer1Only);
  EXPECT_EQ(v->build, "4.4.0");
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
