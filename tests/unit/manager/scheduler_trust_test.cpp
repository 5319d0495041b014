// The scheduler: adaptive trust (issue #4): spot checks, discards, re-checks and bans.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

TEST_P(TrustTest, NewWorkersAreCheckedThenTrustedOutputsGetLayer1Only) {
  Job job = Submit("1-6", 1);
  auto levels = RenderAndCheck(job, 6);
  EXPECT_THAT(levels, ElementsAre(domain::kRegions, domain::kRegions, domain::kRegions, domain::kLayer1Only,
                                  domain::kLayer1Only, domain::kLayer1Only));
  EXPECT_EQ(GetNode(worker_.id).streak, 3);  // layer-1-only outputs do not grow trust
  int trusted = 0;
  const auto outputs = *store_->ListOutputs(job.id);
  for (const auto& o : outputs) {
    EXPECT_TRUE(o.credited);
    if (o.verdict == Verdict::kTrusted) ++trusted;
  }
  EXPECT_EQ(trusted, 3);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_P(TrustTest, AnImageAlreadyReportedForAnotherFrameIsCheckedWhateverTheTrust) {
  Job job = Submit("1-4", 1);
  RenderAndCheck(job, 3);
  Task t = MustClaim(worker_);
  // The same bytes as frame 1's output, reported for frame 4.
  ASSERT_TRUE(
      scheduler_->ReportFrame(GetNode(worker_.id), t.id, 4, ShaOf(job.id * 1000 + 1), KeyOf(t.id, 4), 1.0)
          .ok());
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kRegions);
}

TEST_P(TrustTest, ARejectionDiscardsPendingOutputsRechecksTrustedOnesAndTellsTheUser) {
  Job job = Submit("1-6", 1);
  RenderAndCheck(job, 5);  // 3 checked, 2 trusted and delivered
  // Frame 6 reported, then the worker is caught on a re-check of... a fresh job's frame.
  Job other = Submit("1-2", 1, 0, "other");
  Task a = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_
          ->ReportFrame(GetNode(worker_.id), a.id, a.frames[0], Sha256Hex("a"), KeyOf(a.id, a.frames[0]), 1.0)
          .ok());
  Task b = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_
          ->ReportFrame(GetNode(worker_.id), b.id, b.frames[0], Sha256Hex("b"), KeyOf(b.id, b.frames[0]), 1.0)
          .ok());
  // Both layer 1 only (trusted); the first fails layer 1.
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kLayer1Only);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 1: hash differs", 0.1).ok());

  const Node w = GetNode(worker_.id);
  EXPECT_EQ(w.streak, 0);
  EXPECT_EQ(w.rejected, 1);
  EXPECT_FALSE(w.banned);
  // The other pending output was discarded and its frame queued for another worker.
  const Output discarded = **store_->FindOutput(b.id, b.frames[0]);
  EXPECT_EQ(discarded.verdict, Verdict::kRejected);
  EXPECT_THAT(discarded.verdict_detail, HasSubstr("discarded"));
  EXPECT_EQ(GetFrame(b.job_id, b.frames[0]).state, FrameState::kQueued);
  EXPECT_THAT(GetFrame(b.job_id, b.frames[0]).excluded_nodes, ElementsAre(worker_.id));
  // Its delivered frames of the running job (checked or trusted) are re-rendered whole by a verifier, and
  // their owner is told which.
  auto rechecks = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  EXPECT_EQ(rechecks.size(), 5u);
  for (const auto& t : rechecks) EXPECT_EQ(t.level, domain::kWholeFrame);
  auto events = *store_->ListEvents(alice_, job.id, 0, 1000, false);
  bool told = false;
  for (const auto& e : events) {
    if (e.type == "suspect") {
      told = true;
      EXPECT_THAT(e.data, HasSubstr("\"frames\":[1,2,3,4,5]"));
    }
  }
  EXPECT_TRUE(told);
  (void)other;
}

TEST_P(TrustTest, RepeatedRejectionsBanTheWorkerWithTheReason) {
  Job job = Submit("1-6", 1);
  auto levels = RenderAndCheck(job, 3, "rejected");
  EXPECT_EQ(levels.size(), 3u);
  const Node w = GetNode(worker_.id);
  EXPECT_TRUE(w.banned);
  EXPECT_THAT(w.ban_reason, HasSubstr("3 of its last 3 checked frames were rejected"));
}

TEST_P(TrustTest, AFastCheaterIsBannedByTheChecksOfItsDiscardedOutputsAndLosesItsLeases) {
  Job job = Submit("1-4", 1);
  std::vector<Task> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(MustClaim(worker_));
  for (int i = 0; i < 3; ++i) MustReport(worker_, tasks[i].id, tasks[i].frames[0]);
  // The first verdict discards the other two outputs; they are still checked, and those rejections count.
  for (int i = 0; i < 3; ++i) {
    auto v = TryClaim(verifier_);
    ASSERT_TRUE(v.has_value());
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 2 failed", 0.1).ok());
  }
  const Node w = GetNode(worker_.id);
  EXPECT_TRUE(w.banned);
  EXPECT_EQ(w.rejected, 3);
  // The task it still held is taken back at once, not when its lease runs out.
  EXPECT_EQ(GetTask(tasks[3].id).state, TaskState::kFailed);
  EXPECT_EQ(GetFrame(job.id, tasks[3].frames[0]).state, FrameState::kQueued);
  Task again = MustClaim(worker2_);
  EXPECT_THAT(again.excluded_nodes, ::testing::Contains(worker_.id));
  for (int n = 1; n <= 4; ++n) EXPECT_EQ(GetFrame(job.id, n).state == FrameState::kDelivered, false);
}

TEST_P(TrustTest, ATrustedFrameOfAnEndedJobIsStillCheckedAndItsOwnerTold) {
  Job done = Submit("1-4", 1);
  RenderAndCheck(done, 4);  // 3 checked, frame 4 trusted; the job completes
  ASSERT_EQ(GetJob(done.id).state, JobState::kCompleted);
  Job next = Submit("1", 1, 0, "next");
  Task t = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_->ReportFrame(GetNode(worker_.id), t.id, 1, Sha256Hex("bad"), KeyOf(t.id, 1), 1.0).ok());
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 1: bad", 0.1).ok());
  // The ended job's trusted frame is checked with regions, though the job is over.
  auto recheck = TryClaim(verifier2_);
  ASSERT_TRUE(recheck.has_value());
  EXPECT_EQ(recheck->task.job_id, done.id);
  EXPECT_EQ(recheck->task.level, domain::kRegions);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier2_, recheck->task.id, "rejected", "layer 2 failed", 0.1).ok());
  EXPECT_EQ(GetJob(done.id).state, JobState::kCompleted);
  bool told = false;
  const auto events = *store_->ListEvents(alice_, done.id, 0, 1000, false);
  for (const auto& e : events) {
    if (e.type == "frame" &&
        e.data.find("render it again with inferix submit --frames 4") != std::string::npos)
      told = true;
  }
  EXPECT_TRUE(told);
  (void)next;
}

TEST_P(TrustTest, AJobWaitsForTheRecheckOfACaughtWorkersFrameAndRendersItAgain) {
  Job job = Submit("1-2", 1);
  Task a1 = MustClaim(worker_);
  MustReport(worker_, a1.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, a1.id).ok());
  Task v1 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v1.id, "accepted", "", 0.1).ok());  // delivered
  Task a2 = MustClaim(worker_);
  MustReport(worker_, a2.id, 2);
  Task v2 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "rejected", "layer 2 failed", 0.1).ok());
  // Frame 2 goes to the other worker; frame 1, delivered from the caught worker, is re-rendered whole.
  Task b2 = MustClaim(worker2_);
  MustReport(worker2_, b2.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, b2.id).ok());
  std::optional<manager::Claim> recheck;
  while (auto v = TryClaim(verifier_)) {
    if (v->task.level == domain::kWholeFrame) {
      recheck = v;  // held (claimed) while the other checks go on
      continue;
    }
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0.1).ok());
  }
  ASSERT_TRUE(recheck.has_value());
  EXPECT_EQ(recheck->task.frames, std::vector<int>{1});
  // Both frames are delivered, but the job waits for the re-check.
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kDelivered);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier_, recheck->task.id, "rejected", "whole frame differs", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kQueued);
  Task b1 = MustClaim(worker2_);
  MustReport(worker2_, b1.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, b1.id).ok());
  while (auto v = TryClaim(verifier_))
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0.1).ok());
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  const Output delivered = **store_->GetOutput(GetFrame(job.id, 1).output_id);
  EXPECT_EQ(delivered.node_id, worker2_.id);
}

TEST_P(TrustTest, Layer2GoesOnlyToAVerifierOfTheWorkersClass) {
  Node w = GetNode(worker_.id);
  w.det_class = "blender 3.4.1 / x86_64 / cpu";
  ASSERT_TRUE(store_->UpdateNode(w).ok());
  Node other_class = GetNode(verifier_.id);
  other_class.det_class = "blender 4.2.0 / x86_64 / cpu";
  ASSERT_TRUE(store_->UpdateNode(other_class).ok());
  Node same_class = GetNode(verifier2_.id);
  same_class.det_class = w.det_class;
  ASSERT_TRUE(store_->UpdateNode(same_class).ok());
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->ReportFrame(GetNode(worker_.id), t.id, 1, ShaOf(1), KeyOf(t.id, 1), 1.0).ok());
  EXPECT_FALSE(TryClaim(other_class).has_value());
  auto v = TryClaim(same_class);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->output->det_class, w.det_class);
  ASSERT_TRUE(scheduler_->RecordVerdict(same_class, v->task.id, "accepted", "", 0.1).ok());
  EXPECT_THAT((*store_->GetOutput(v->task.output_id))->method, HasSubstr("\"worker_class\":\"blender 3.4.1"));
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
