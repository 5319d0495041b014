// The scheduler: failed renders, retries, the job blocklist, and canceling jobs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

// ---- Retries and the job blocklist ------------------------------------------------------------------------

// Marks nodes as live (seen now), as the API does on every authenticated request.
#define SEEN(...)                              \
  for (Node * n_ : {__VA_ARGS__}) {            \
    n_->last_seen_ms = clock_.NowMs();         \
    ASSERT_TRUE(store_->UpdateNode(*n_).ok()); \
  }

TEST_P(SchedulerTest, AFailedFrameGoesToAnotherLiveWorker) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "segfault").ok());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, ElementsAre(worker_.id));
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task again = MustClaim(worker2_);
  EXPECT_THAT(again.frames, ElementsAre(1));
}

TEST_P(SchedulerTest, WithNoOtherLiveWorkerTheSameWorkerTriesAgain) {
  SEEN(&worker_);  // worker2_ was never seen: it cannot take the frame
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "out of memory").ok());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, IsEmpty());
  EXPECT_THAT(MustClaim(worker_).frames, ElementsAre(1));
}

// ---- A task handed back (issue #17: its owner needs the machine)
// ---------------------------------------------

TEST_P(SchedulerTest, AHandedBackTaskRequeuesItsUnreportedFramesWithNoFailureCounted) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->ReleaseTask(worker_, t.id, "its owner is using the machine").ok());
  const Task ended = GetTask(t.id);
  EXPECT_EQ(ended.state, TaskState::kCanceled);
  EXPECT_EQ(ended.message, "handed back by its node: its owner is using the machine");
  for (int n : {2, 3}) {
    const Frame f = GetFrame(job.id, n);
    EXPECT_EQ(f.state, FrameState::kQueued) << n;
    EXPECT_EQ(f.failures, 0) << n;
    EXPECT_THAT(f.excluded_nodes, IsEmpty()) << n;  // the same worker may take them again later
  }
  EXPECT_NE(GetFrame(job.id, 1).state, FrameState::kQueued);  // reported: kept
  // Handed back again (a retried request): answered as the first time.
  EXPECT_TRUE(scheduler_->ReleaseTask(worker_, t.id, "again").ok());
  // Many hand-backs never put the worker on the job's blocklist, and it may take the frames again.
  for (int i = 0; i < 4; ++i) {
    Task again = MustClaim(worker_);
    ASSERT_TRUE(scheduler_->ReleaseTask(worker_, again.id, "paused by its owner").ok());
  }
  EXPECT_THAT(*store_->ListBlocklist(job.id), IsEmpty());
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  EXPECT_THAT(MustClaim(worker2_).frames, ElementsAre(2, 3));
}

TEST_P(SchedulerTest, OnlyTheNodeHoldingATaskHandsItBack) {
  SEEN(&worker_, &worker2_);
  Submit("1", 1);
  Task t = MustClaim(worker_);
  auto r = scheduler_->ReleaseTask(worker2_, t.id, "not mine");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConflict);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
}

TEST_P(SchedulerTest, AHandedBackCheckIsOfferedAgain) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->ReleaseTask(verifier_, v.id, "stopping").ok());
  EXPECT_EQ(GetTask(v.id).state, TaskState::kQueued);
  Task again = MustClaim(verifier_);
  EXPECT_EQ(again.id, v.id);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, again.id, "accepted", "", 0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

TEST_P(SchedulerTest, ANodesAvailabilityIsKeptAndAWorkerEventTellsThePage) {
  const int64_t before = *store_->LastEventId(alice_);
  ASSERT_TRUE(scheduler_->SetAvailability(worker_, "owner busy", "its owner is using the machine").ok());
  EXPECT_EQ(GetNode(worker_.id).availability, "owner busy");
  EXPECT_EQ(GetNode(worker_.id).availability_reason, "its owner is using the machine");
  EXPECT_GT(*store_->LastEventId(alice_), before);
  const int64_t told = *store_->LastEventId(alice_);
  ASSERT_TRUE(scheduler_->SetAvailability(worker_, "owner busy", "its owner is using the machine").ok());
  EXPECT_EQ(*store_->LastEventId(alice_), told);  // the same again: no event
  ASSERT_TRUE(scheduler_->SetAvailability(worker_, "", "").ok());
  EXPECT_EQ(GetNode(worker_.id).availability, "");
}

TEST_P(SchedulerTest, AFrameFailsAfterFailingOnEveryDifferentWorker) {
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  SEEN(&worker_, &worker2_, &worker3);
  Job job = Submit("1", 1);
  for (const Node* node : {&worker_, &worker2_, &worker3}) {
    Task t = MustClaim(*node);
    ASSERT_TRUE(scheduler_->FailTask(*node, t.id, "crash on " + node->name).ok());
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.message, HasSubstr("w1: crash on w1\nw2: crash on w2\nw3: crash on w3"));
}

TEST_P(SchedulerTest, AWorkerFailingSeveralTasksOfAJobIsKeptOffIt) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1-6", 1);
  for (int i = 0; i < 3; ++i) {
    Task t = MustClaim(worker_);
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "CUDA error " + std::to_string(i)).ok());
  }
  auto blocked = *store_->ListBlocklist(job.id);
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].node_id, worker_.id);
  EXPECT_THAT(blocked[0].reason, HasSubstr("failed 3 tasks of this job"));
  EXPECT_THAT(blocked[0].reason, HasSubstr("CUDA error 2"));
  // Frames 4-6 are still queued, but not for worker_; worker2_ renders them (and 1-3).
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  EXPECT_TRUE(TryClaim(worker2_).has_value());
  // Another job is still open to worker_.
  Job other = Submit("1", 1, 0, "other scene");
  EXPECT_EQ(MustClaim(worker_).job_id, other.id);
  // The owner is told.
  bool told = false;
  const auto events = *store_->ListEvents(alice_, job.id, 0, 1000, false);
  for (const auto& e : events) {
    told = told || (e.type == "blocklist" && e.data.find("\"worker\":\"w1\"") != std::string::npos);
  }
  EXPECT_TRUE(told);
}

TEST_P(SchedulerTest, WhenEveryWorkerIsKeptOffAJobItFailsWithTheirErrors) {
  SEEN(&worker_);
  Job job = Submit("1-6", 1);
  for (int i = 0; i < 3; ++i) {
    Task t = MustClaim(worker_);
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "driver crash " + std::to_string(i)).ok());
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.message, HasSubstr("every available worker failed this job"));
  EXPECT_THAT(failed.message, HasSubstr("w1: failed 3 tasks of this job; the last: driver crash 2"));
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_P(SchedulerTest, ARepeatedFailureReportChangesNothing) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  EXPECT_EQ(GetFrame(job.id, 1).failures, 1);
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued).size(), 1u);
}

#undef SEEN

TEST_P(SchedulerTest, FailTaskKeepsReportedFrames) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  Frame f1 = GetFrame(job.id, 1);
  EXPECT_EQ(f1.state, FrameState::kVerifying);
  EXPECT_EQ(f1.failures, 0);
  Frame f2 = GetFrame(job.id, 2);
  EXPECT_EQ(f2.state, FrameState::kQueued);
  EXPECT_EQ(f2.failures, 1);
  EXPECT_THAT(GetTask(f2.task_id).frames, ElementsAre(2));
  // Repeated and foreign failure reports.
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  EXPECT_EQ(GetFrame(job.id, 2).failures, 1);
  EXPECT_FALSE(scheduler_->FailTask(worker2_, t.id, "crash").ok());
}

// ---- Cancel --------------------------------------------------------------------------------------------

TEST_P(SchedulerTest, CancelJobCancelsTasksAndFrames) {
  Job job = Submit("1-6", 2);
  Task t = MustClaim(worker_);  // frames 1, 2
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());  // frame 1 delivered
  MustReport(worker_, t.id, 2);                                                     // frame 2 verifying

  clock_.Advance(777);
  auto canceled = scheduler_->CancelJob(GetJob(job.id), "no longer needed");
  ASSERT_TRUE(canceled.ok()) << canceled.error().message;
  EXPECT_EQ(canceled->state, JobState::kCanceled);
  Job stored = GetJob(job.id);
  EXPECT_EQ(stored.state, JobState::kCanceled);
  EXPECT_EQ(stored.message, "no longer needed");
  EXPECT_EQ(stored.finished_ms, clock_.NowMs());

  auto tasks = store_->ListJobTasks(job.id);
  ASSERT_TRUE(tasks.ok());
  for (const auto& task : *tasks) {
    if (task.id == v.id) {
      EXPECT_EQ(task.state, TaskState::kDone);
    } else {
      EXPECT_EQ(task.state, TaskState::kCanceled) << "task " << task.id;
      EXPECT_EQ(task.message, "no longer needed");
    }
  }
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);  // what was delivered stays delivered
  for (int n = 2; n <= 6; ++n) EXPECT_EQ(GetFrame(job.id, n).state, FrameState::kCanceled) << n;

  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto report = Report(worker_, t.id, 2);
  EXPECT_TRUE(report.ok());  // the same report again is still a harmless duplicate
  auto late = scheduler_->CompleteTask(worker_, t.id);
  EXPECT_FALSE(late.ok());

  // Canceling again, or a job that already ended, changes nothing.
  auto again = scheduler_->CancelJob(GetJob(job.id), "twice");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(GetJob(job.id).message, "no longer needed");
}

TEST_P(SchedulerTest, CancelCompletedJobIsANoOp) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());
  ASSERT_EQ(GetJob(job.id).state, JobState::kCompleted);
  auto r = scheduler_->CancelJob(GetJob(job.id), "too late");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, JobState::kCompleted);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

TEST_P(SchedulerTest, CancelWithAnOutdatedCopyOfAJobThatHasEndedChangesNothing) {
  Job outdated = Submit("1", 1);  // read while queued
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());
  ASSERT_EQ(GetJob(outdated.id).state, JobState::kCompleted);
  auto r = scheduler_->CancelJob(outdated, "too late");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, JobState::kCompleted);
  EXPECT_EQ(GetJob(outdated.id).state, JobState::kCompleted);
  EXPECT_EQ(GetJob(outdated.id).message, "");
  EXPECT_EQ(GetFrame(outdated.id, 1).state, FrameState::kDelivered);
}

TEST_P(SchedulerTest, OtherJobsAreUntouchedByCancel) {
  Job a = Submit("1", 1, 0, "a");
  Job b = Submit("1", 1, 0, "b");
  ASSERT_TRUE(scheduler_->CancelJob(GetJob(a.id), "stop").ok());
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, b.id);
  EXPECT_EQ(GetJob(b.id).state, JobState::kActive);
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
