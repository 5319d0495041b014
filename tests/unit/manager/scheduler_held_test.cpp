// The scheduler (issue #17): a render whose outputs no verifier could check is held back from the slot that
// asks, rather than left waiting in `verifying` for ever; the job says why; a verifier that joins releases it
// (and wakes the waiting claims). And a scene's render engine goes only to a worker whose build renders it.
// Fixture in scheduler_fixture.hpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "manager/codec.hpp"
#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

using nlohmann::json;

const std::string kCpu = "blender 3.4.1 / x86_64 / cpu";
const std::string k4090 = "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 4090";
const std::vector<std::string> kAllEngines = {"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"};

json Slot(const std::string& id, const std::string& type, const std::string& name) {
  return {{"id", id}, {"type", type}, {"name", name}, {"memory_bytes", int64_t{24} << 30}};
}

// A machine of Blender 3.4.1 on x86_64 lending `slots` (none: its CPU), its build rendering `engines` (none
// said: every engine).
json Machine(const json& slots = json::array(), const std::vector<std::string>& engines = {}) {
  json build = {{"version", "3.4.1"}, {"denoisers", json::array()}};
  if (!engines.empty()) build["engines"] = engines;
  json m = {{"arch", "x86_64"}, {"device", "cpu"}, {"blenders", json::array({build})}};
  if (!slots.empty()) {
    m["devices"] = slots;
    m["slots"] = slots;
  }
  return m;
}

const json kTwoGpus = {Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090"),
                       Slot("optix:1", "OPTIX", "NVIDIA GeForce RTX 3090")};

std::optional<manager::Claim> ClaimOn(Scheduler& s, const Node& node, const std::string& slot) {
  auto c = s.ClaimTask(node, {}, slot);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : std::nullopt;
}

std::string Why(Scheduler& s, const Job& job) {
  auto why = s.NoWorkerFor(job);
  EXPECT_TRUE(why.ok()) << why.error().message;
  return why.ok() ? *why : std::string();
}

TEST_P(SchedulerTest, AWorkerStartedBeforeAVerifierOfItsClassWaitsThenRenders) {
  Describe(worker_, Machine());
  Describe(worker2_, Machine());
  // The fixture's verifiers lend no class of their own yet: none checks "blender 3.4.1 / x86_64 / cpu".
  Job job = SubmitScene("1-2", 304);
  EXPECT_FALSE(TryClaim(worker_).has_value()) << "its outputs would wait for a check nobody can do";
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kQueued);
  EXPECT_EQ(Why(*scheduler_, job), "its frames are held back: no verifier of class \"" + kCpu +
                                       "\" is registered to check what the workers that could render it "
                                       "would make. It waits until one joins (the operator: inferix admin "
                                       "checks)");
  auto waiting = ClassesWithoutVerifier(*store_);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ(waiting->front().det_class, kCpu);
  EXPECT_EQ(waiting->front().workers, 2);
  EXPECT_EQ(waiting->front().checks, 0);

  // A verifier of its class joins: the waiting render claims are woken, and the work flows.
  std::vector<std::pair<TaskKind, int>> told;
  scheduler_->OnTasksQueued([&](TaskKind kind, int n) { told.emplace_back(kind, n); });
  Describe(verifier_, Machine());
  ASSERT_FALSE(told.empty());
  EXPECT_EQ(told.back().first, TaskKind::kRender);
  EXPECT_GT(told.back().second, 1000);  // every waiting claim
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(Why(*scheduler_, job), "");
  EXPECT_TRUE(ClassesWithoutVerifier(*store_)->empty());
  // Its output's check goes to that verifier.
  MustReport(worker_, c->task.id, c->task.frames.front());
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->output->det_class, kCpu);
}

TEST_P(SchedulerTest, OnlyTheSlotWhoseClassNoVerifierChecksIsHeldBack) {
  Describe(worker_, Machine(kTwoGpus));
  Describe(verifier_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 3090")})));
  Job job = SubmitScene("1-3", 304);
  EXPECT_FALSE(ClaimOn(*scheduler_, worker_, "optix:0").has_value()) << "the 4090: no verifier of its class";
  auto c = ClaimOn(*scheduler_, worker_, "optix:1");  // the 3090
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(Why(*scheduler_, job), "");  // a slot can render it
  auto waiting = ClassesWithoutVerifier(*store_);
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ(waiting->front().det_class, k4090);

  // A verifier of the 4090's class: that slot renders too.
  Describe(verifier2_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090")})));
  auto d = ClaimOn(*scheduler_, worker_, "optix:0");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->job.id, job.id);
}

TEST_P(SchedulerTest, ABannedVerifierNoLongerCountsForItsClass) {
  Describe(worker_, Machine());
  Describe(worker2_, Machine());
  Describe(verifier_, Machine());
  Job job = SubmitScene("1-2", 304);
  ASSERT_TRUE(TryClaim(worker_).has_value());
  Node banned = GetNode(verifier_.id);
  banned.banned = true;
  ASSERT_TRUE(store_->UpdateNode(banned).ok());
  scheduler_->NodesChanged(NodeRole::kVerifier);  // as the scheduler's own bans do; a revoke: within seconds
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(Why(*scheduler_, job), HasSubstr("no verifier of class \"" + kCpu + "\""));
}

TEST_P(SchedulerTest, AVerifierNotHeardFromWithinTheWindowDoesNotCountUntilItIsAgain) {
  SchedulerOptions options;
  options.lease_ms = kLeaseMs;
  options.max_node_tasks = 1000;
  options.verifier_seen_ms = 85'000;
  scheduler_ = std::make_unique<Scheduler>(*store_, clock_, options);
  Describe(worker_, Machine());
  Describe(verifier_, Machine());
  ASSERT_TRUE(store_->TouchNode(verifier_.id, clock_.NowMs()).ok());
  Job job = SubmitScene("1-3", 304);
  ASSERT_TRUE(TryClaim(worker_).has_value());
  clock_.Advance(85'001);  // the verifier went quiet: offline on the workers page
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(Why(*scheduler_, job), HasSubstr("no verifier of class \"" + kCpu + "\" is online"));
  // Heard from again: counted once the census is read again (within seconds, or at the next node change).
  ASSERT_TRUE(store_->TouchNode(verifier_.id, clock_.NowMs()).ok());
  clock_.Advance(5'000);
  EXPECT_TRUE(TryClaim(worker_).has_value());
}

TEST_P(TrustTest, ATrustedWorkerNeverDrawnForRegionsNeedsOnlyAVerifierThatOpensItsFrames) {
  // The policy here: past 3 clean checks a worker's outputs get layer 1 only (CheckRate 0).
  Describe(worker_, Machine());
  Describe(verifier_, Machine());
  Job job = Submit("1-10", 1);
  ASSERT_EQ(RenderAndCheck(job, 3), (std::vector<int>{domain::kRegions, domain::kRegions, domain::kRegions}));
  Node banned = GetNode(verifier_.id);
  banned.banned = true;
  ASSERT_TRUE(store_->UpdateNode(banned).ok());
  scheduler_->NodesChanged(NodeRole::kVerifier);
  // verifier2_ lends no class of the worker's, yet opens frames: enough for a trusted worker's.
  auto c = TryClaim(GetNode(worker_.id));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  // A new worker of that class would have every output checked with regions: it is held back.
  Describe(worker2_, Machine());
  EXPECT_FALSE(TryClaim(worker2_).has_value());
}

TEST_P(SchedulerTest, AScenesEngineGoesOnlyToAWorkerWhoseBuildRendersIt) {
  Describe(worker_, Machine(json::array(), {"CYCLES"}));
  Describe(worker2_, Machine(json::array(), {"CYCLES"}));
  Describe(verifier_, Machine(json::array(), {"CYCLES"}));
  Job req = Request(alice_, "1", 1);
  req.blender_version = 304;
  req.engine = "BLENDER_EEVEE";
  auto job = scheduler_->CreateJob(alice_, req);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(Why(*scheduler_, *job),
            "no registered worker renders Eevee scenes (the workers render Cycles). It waits until one that "
            "does joins (or cancel it and render it with another engine)");

  // The second worker renders Eevee now (its owner's new Blender); the only verifier of its class does not
  // render Eevee: held back.
  Describe(worker2_, Machine(json::array(), kAllEngines));
  EXPECT_FALSE(TryClaim(worker2_).has_value());
  EXPECT_THAT(Why(*scheduler_, *job),
              HasSubstr("no verifier of class \"" + kCpu + "\" that renders Eevee is registered"));
  // One that does: the worker renders it, and its check goes to that verifier, not the other.
  Describe(verifier2_, Machine(json::array(), kAllEngines));
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  MustReport(worker2_, c->task.id, 1);
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  EXPECT_TRUE(TryClaim(verifier2_).has_value());
}

TEST_P(SchedulerTest, ANodeThatDoesNotSayItsEnginesRendersEveryOne) {
  Describe(worker_, Machine());  // a worker from before engines were advertised
  Describe(verifier_, Machine());
  Job req = Request(alice_, "1", 1);
  req.engine = "BLENDER_WORKBENCH";
  auto job = scheduler_->CreateJob(alice_, req);
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(TryClaim(worker_).has_value());
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
