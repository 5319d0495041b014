// Issue #14: a scheduler that cannot be starved. A node's tasks in flight and claims per day are capped; a
// lease is renewed only while its task shows progress; a claim finds the task it can take behind any number
// it cannot; a banned or revoked node's work is ended and its unchecked outputs rendered again.
#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

constexpr int64_t kStallMs = 120'000;

class CapsTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SchedulerOptions options;
    options.lease_ms = kLeaseMs;
    options.max_node_tasks = 2;
    options.max_node_claims_per_day = 5;
    options.stall_ms = kStallMs;
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, options);
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, CapsTest, ::testing::ValuesIn(kBackends), BackendName);

TEST_P(CapsTest, ANodeHoldsAtMostItsCapOfTasks) {
  Submit("1-10", 1);
  Task a = MustClaim(worker_);
  MustClaim(worker_);
  EXPECT_FALSE(TryClaim(worker_).has_value());  // a third while holding two: nothing
  auto capped = scheduler_->ClaimCaps(worker_);
  ASSERT_TRUE(capped.ok());
  ASSERT_TRUE(capped->has_value());
  EXPECT_EQ((*capped)->code, "tasks_in_flight");
  EXPECT_THAT((*capped)->reason, HasSubstr("--max-node-tasks"));
  // Another node is not held back by it.
  MustClaim(worker2_);
  // Ending one frees a place.
  MustReport(worker_, a.id, a.frames.front());
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, a.id).ok());
  EXPECT_FALSE(scheduler_->ClaimCaps(worker_)->has_value());
  MustClaim(worker_);
}

TEST_P(CapsTest, ANodeMayHoldOneMoreTaskForEachSlotBeyondItsFirst) {
  const nlohmann::json slots = {{{"id", "cuda:0"}, {"type", "CUDA"}, {"name", "A"}},
                                {{"id", "cuda:1"}, {"type", "CUDA"}, {"name", "A"}}};
  Describe(worker_, {{"blender_version", "3.4.1"}, {"slots", slots}});
  Submit("1-9", 1);
  for (const char* slot : {"cuda:0", "cuda:1", "cuda:0"}) {  // 2 (--max-node-tasks) + 1 for the second slot
    auto c = scheduler_->ClaimTask(worker_, {}, slot);
    ASSERT_TRUE(c.ok() && c->has_value()) << slot;
  }
  auto fourth = scheduler_->ClaimTask(worker_, {}, "cuda:1");
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(fourth->has_value());
  auto capped = scheduler_->ClaimCaps(worker_);
  ASSERT_TRUE(capped.ok() && capped->has_value());
  EXPECT_THAT((*capped)->reason, HasSubstr("holds 3 tasks"));
  EXPECT_THAT((*capped)->reason, HasSubstr("one for each slot beyond the first"));
}

TEST_P(CapsTest, ANodesClaimsPerDayAreCappedUntilTheOldestLeavesTheDay) {
  Submit("1-10", 1);
  for (int i = 0; i < 5; ++i) {
    Task t = MustClaim(worker_);
    MustReport(worker_, t.id, t.frames.front());
    ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
    clock_.Advance(60'000);
  }
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto capped = scheduler_->ClaimCaps(worker_);
  ASSERT_TRUE(capped.ok());
  ASSERT_TRUE(capped->has_value());
  EXPECT_EQ((*capped)->code, "daily_claims");
  EXPECT_GT((*capped)->retry_after_s, 0);
  EXPECT_LE((*capped)->retry_after_s, 24 * 3600);
  MustClaim(worker2_);  // others still claim
  clock_.Advance((*capped)->retry_after_s * 1000);
  EXPECT_FALSE(scheduler_->ClaimCaps(worker_)->has_value());
}

TEST_P(CapsTest, HeartbeatsWithoutProgressDoNotKeepALeasePastTheStallBound) {
  Submit("1-2", 2);
  Task t = MustClaim(worker_);
  // Heartbeats without progress renew it up to the stall bound, no further.
  for (int64_t waited = 0; waited < kStallMs + kLeaseMs; waited += 10'000) {
    clock_.Advance(10'000);
    auto hb = scheduler_->Heartbeat(worker_, t.id, std::nullopt);
    ASSERT_TRUE(hb.ok()) << hb.error().message;
    ASSERT_TRUE(scheduler_->ExpireLeases().ok());
    if (GetTask(t.id).state != TaskState::kActive) break;
    EXPECT_LE(GetTask(t.id).lease_expires_ms, t.progress_ms + kStallMs);
  }
  Task ended = GetTask(t.id);
  EXPECT_EQ(ended.state, TaskState::kFailed);
  EXPECT_THAT(ended.message, HasSubstr("no progress"));
  EXPECT_LE(clock_.NowMs(), t.progress_ms + kStallMs + 10'000);
  // Its frames went to another node.
  Task again = MustClaim(worker2_);
  EXPECT_EQ(again.frames, t.frames);
  EXPECT_EQ(*scheduler_->Heartbeat(worker_, t.id, 99), HeartbeatAction::kAbort);
}

TEST_P(CapsTest, ProgressAndReportedFramesKeepTheLease) {
  Submit("1-3", 3);
  Task t = MustClaim(worker_);
  int64_t progress = 0;
  // A slow render whose counter rises keeps its lease well past the stall bound.
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(10'000);
    ASSERT_TRUE(scheduler_->Heartbeat(worker_, t.id, ++progress).ok());
    ASSERT_EQ(*scheduler_->ExpireLeases(), 0);
  }
  // A counter that stops rising (or falls) is not progress ...
  clock_.Advance(kStallMs - 10'000);
  ASSERT_TRUE(scheduler_->Heartbeat(worker_, t.id, progress - 5).ok());
  ASSERT_EQ(*scheduler_->ExpireLeases(), 0);
  // ... but a reported frame is.
  MustReport(worker_, t.id, 1);
  clock_.Advance(kStallMs - 10'000);
  ASSERT_TRUE(scheduler_->Heartbeat(worker_, t.id, progress).ok());
  ASSERT_EQ(*scheduler_->ExpireLeases(), 0);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
  clock_.Advance(20'000);
  ASSERT_TRUE(scheduler_->Heartbeat(worker_, t.id, progress).ok());
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kFailed);
}

// Found item 4: checks of a class no verifier has, however many, do not hide the verifier's own.
TEST_P(CapsTest, ChecksOfAClassWithoutAVerifierDoNotStarveTheOthers) {
  Node rogue = NewNode("rogue", NodeRole::kWorker);
  Describe(rogue, nlohmann::json::object(), "made-up-9.9");
  Describe(worker_, nlohmann::json::object(), "cpu-1");
  Describe(verifier_, nlohmann::json::object(), "cpu-1");
  // The rogue's class had a verifier while it rendered (without one its renders are held back), which then
  // went away.
  Describe(verifier2_, nlohmann::json::object(), "made-up-9.9");
  Job junk = Submit("1-300", 1, 0, "junk");
  Job honest = Submit("1", 1, 0, "honest");
  SchedulerOptions options;
  options.lease_ms = kLeaseMs;
  options.max_node_tasks = 1000;
  scheduler_ = std::make_unique<Scheduler>(*store_, clock_, options);
  for (int i = 0; i < 300; ++i) {
    auto c = TryClaim(GetNode(rogue.id));
    ASSERT_TRUE(c.has_value());
    ASSERT_EQ(c->job.id, junk.id);
    MustReport(GetNode(rogue.id), c->task.id, c->task.frames.front());
  }
  Node gone = GetNode(verifier2_.id);
  gone.banned = true;
  ASSERT_TRUE(store_->UpdateNode(gone).ok());
  scheduler_->NodesChanged(NodeRole::kVerifier);
  Task mine = MustClaim(worker_);
  ASSERT_EQ(GetTask(mine.id).job_id, honest.id);
  MustReport(worker_, mine.id, 1);
  auto check = TryClaim(verifier_);
  ASSERT_TRUE(check.has_value()) << "the verifier was starved by the rogue's checks";
  EXPECT_EQ(check->job.id, honest.id);

  auto waiting = ClassesWithoutVerifier(*store_);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ(waiting->front().det_class, "made-up-9.9");
  EXPECT_EQ(waiting->front().checks, 300);
  EXPECT_EQ(waiting->front().workers, 1);  // and whose renders are held back now
}

TEST_P(CapsTest, ARevokedWorkersUncheckedOutputsAreDiscardedAndRenderedElsewhere) {
  Job job = Submit("1-3", 1);
  Task a = MustClaim(worker_);
  MustReport(worker_, a.id, a.frames.front());
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, a.id).ok());
  Task b = MustClaim(worker_);  // held when revoked
  Node revoked = GetNode(worker_.id);
  revoked.banned = true;
  revoked.ban_reason = "revoked by the operator";
  ASSERT_TRUE(store_->UpdateNode(revoked).ok());

  ASSERT_TRUE(scheduler_->ExpireLeases().ok());
  EXPECT_EQ(GetTask(b.id).state, TaskState::kFailed);
  Output out = (*store_->ListNodeOutputs(worker_.id, 10))[0];
  EXPECT_EQ(out.verdict, Verdict::kRejected);
  EXPECT_THAT(out.verdict_detail, HasSubstr("banned or revoked"));
  EXPECT_FALSE(TryClaim(verifier_).has_value());  // its check was canceled
  // Both frames go to another worker; the job completes without the revoked one.
  std::vector<int> rendered;
  while (auto c = TryClaim(worker2_)) {
    for (int n : c->task.frames) {
      MustReport(worker2_, c->task.id, n);
      rendered.push_back(n);
    }
    ASSERT_TRUE(scheduler_->CompleteTask(worker2_, c->task.id).ok());
  }
  EXPECT_THAT(rendered, UnorderedElementsAre(1, 2, 3));
  while (auto v = TryClaim(verifier_)) {
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0.1).ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
