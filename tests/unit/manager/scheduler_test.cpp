// The scheduler: jobs, claims, heartbeats, frame reports, lease expiry and task ends (fixture in
// scheduler_fixture.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {

// Every scheduler test of every file runs on SQLite and on PostgreSQL (scheduler_fixture.hpp).
INSTANTIATE_TEST_SUITE_P(Stores, SchedulerTest, ::testing::ValuesIn(kBackends), BackendName);
INSTANTIATE_TEST_SUITE_P(Stores, TrustTest, ::testing::ValuesIn(kBackends), BackendName);

namespace {

// ---- Jobs ----------------------------------------------------------------------------------------------

TEST_P(SchedulerTest, CreateJobCompilesTasksAndFrames) {
  Job job = Submit("1-10", 3);
  ASSERT_NE(job.id, 0);
  EXPECT_EQ(job.user_id, alice_);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.created_ms, clock_.NowMs());

  auto tasks = TasksOf(job.id, TaskKind::kRender);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_THAT(tasks[0].frames, ElementsAre(1, 2, 3));
  EXPECT_THAT(tasks[3].frames, ElementsAre(10));
  for (const auto& t : tasks) EXPECT_EQ(t.state, TaskState::kQueued);

  auto frames = *store_->ListFrames(job.id);
  ASSERT_EQ(frames.size(), 10u);
  EXPECT_EQ(frames[0].task_id, tasks[0].id);
  EXPECT_EQ(frames[9].task_id, tasks[3].id);
  for (const auto& f : frames) EXPECT_EQ(f.state, FrameState::kQueued);
  EXPECT_EQ(GetJob(job.id).user_id, alice_);
}

TEST_P(SchedulerTest, CreateJobRefusesFilesNeverUploaded) {
  Job req = Request(alice_, "1-3", 1, "scene", /*upload=*/false);
  ASSERT_TRUE(store_->AddUserFile(alice_, req.files[0].sha256, 100).ok());  // the .blend only
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("tex/wood.png"));
  EXPECT_THAT(r.error().message, HasSubstr("never uploaded"));
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
}

TEST_P(SchedulerTest, CreateJobRefusesAnotherUsersFiles) {
  Job req = Request(bob_, "1-3", 1);  // bob uploaded them
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("never uploaded"));
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
  // Bob may use his own files.
  auto ok = scheduler_->CreateJob(bob_, req);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->user_id, bob_);
}

TEST_P(SchedulerTest, CreateJobChecksTheRequest) {
  Job req = Request(alice_, "5-1", 1);
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("frame spec"));
  req = Request(alice_, "1-5", 0);
  EXPECT_FALSE(scheduler_->CreateJob(alice_, req).ok());
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
}

TEST_P(SchedulerTest, CreateJobIgnoresClientChosenStateAndOwner) {
  Job req = Request(alice_, "1", 1);
  req.state = JobState::kCompleted;
  req.user_id = bob_;
  req.started_ms = 5;
  req.finished_ms = 6;
  auto job = scheduler_->CreateJob(alice_, req);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(GetJob(job->id).state, JobState::kQueued);
  EXPECT_EQ(GetJob(job->id).user_id, alice_);
  EXPECT_EQ(GetJob(job->id).started_ms, 0);
  EXPECT_EQ(GetJob(job->id).finished_ms, 0);
}

// ---- Claims --------------------------------------------------------------------------------------------

TEST_P(SchedulerTest, WorkerClaimsRenderTask) {
  Job job = Submit("1-4", 2);
  EXPECT_EQ(GetJob(job.id).started_ms, 0);
  clock_.Advance(7'000);  // waiting in the queue is not rendering
  const int64_t started = clock_.NowMs();
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->task.kind, TaskKind::kRender);
  EXPECT_EQ(c->task.state, TaskState::kActive);
  EXPECT_EQ(c->task.node_id, worker_.id);
  EXPECT_EQ(c->task.lease_expires_ms, clock_.NowMs() + kLeaseMs);
  EXPECT_THAT(c->task.frames, ElementsAre(1, 2));
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->job.state, JobState::kActive);
  EXPECT_EQ(c->job.main_file, "shot.blend");
  EXPECT_FALSE(c->output.has_value());

  Task stored = GetTask(c->task.id);
  EXPECT_EQ(stored.state, TaskState::kActive);
  EXPECT_EQ(stored.node_id, worker_.id);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kRendering);
  EXPECT_EQ(GetFrame(job.id, 3).state, FrameState::kQueued);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  EXPECT_EQ(GetJob(job.id).started_ms, started);
  EXPECT_EQ(c->job.started_ms, started);

  // The next claim gets the next chunk, and then there is nothing left; the job started with the first.
  clock_.Advance(1'000);
  auto c2 = TryClaim(worker2_);
  ASSERT_TRUE(c2.has_value());
  EXPECT_THAT(c2->task.frames, ElementsAre(3, 4));
  EXPECT_EQ(GetJob(job.id).started_ms, started);
  EXPECT_FALSE(TryClaim(worker_).has_value());
}

TEST_P(SchedulerTest, VerifierNeverGetsRenderTasks) {
  Submit("1-4", 2);
  EXPECT_FALSE(TryClaim(verifier_).has_value());
}

TEST_P(SchedulerTest, VerifyTaskGoesOnlyToAVerifier) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  // The worker gets no verification work.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_FALSE(TryClaim(worker2_).has_value());

  auto c = TryClaim(verifier_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->task.kind, TaskKind::kVerify);
  EXPECT_EQ(c->task.node_id, verifier_.id);
  EXPECT_THAT(c->task.frames, ElementsAre(1));
  EXPECT_EQ(c->job.id, job.id);
  ASSERT_TRUE(c->output.has_value());
  EXPECT_EQ(c->output->frame, 1);
  EXPECT_EQ(c->output->node_id, worker_.id);
  EXPECT_EQ(c->output->sha256, ShaOf(1));
  EXPECT_EQ(c->output->blob_key, KeyOf(t.id, 1));
  EXPECT_FALSE(TryClaim(verifier2_).has_value());
}

TEST_P(SchedulerTest, NodeNeverVerifiesItsOwnOutput) {
  Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  // The same node id in the verifier role (one machine enrolled twice is a different id; this guards the id).
  Node same = worker_;
  same.role = NodeRole::kVerifier;
  EXPECT_FALSE(TryClaim(same).has_value());
  auto other = TryClaim(verifier_);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->output->node_id, worker_.id);
}

TEST_P(SchedulerTest, HigherPriorityFirstThenOldest) {
  Job low = Submit("1-2", 1, 0, "low");
  Job high = Submit("1-2", 1, 10, "high");
  Job mid = Submit("1", 1, 5, "mid");
  std::vector<int64_t> order;
  for (int i = 0; i < 5; ++i) order.push_back(MustClaim(worker_).job_id);
  EXPECT_THAT(order, ElementsAre(high.id, high.id, mid.id, low.id, low.id));
}

TEST_P(SchedulerTest, CachedSceneIsPreferred) {
  Job first = Submit("1", 1, 0, "first");
  Job second = Submit("1", 1, 0, "second");
  auto c = TryClaim(worker_, {Sha256Hex("unrelated"), Sha256Hex("second")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, second.id);
  // Nothing cached that matches: the queue's order.
  auto c2 = TryClaim(worker2_, {Sha256Hex("unrelated")});
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->job.id, first.id);
}

TEST_P(SchedulerTest, CachedSceneNeverBeatsAHigherPriority) {
  // A worker holding a long low-priority job's scene still takes the urgent job first (it would otherwise
  // render every chunk of the long job before it), and prefers its scene only among equals.
  Job low = Submit("1-4", 1, 0, "low");
  Job high = Submit("1", 1, 10, "high");
  Job high_cached = Submit("1", 1, 10, "high-cached");
  auto c = TryClaim(worker_, {Sha256Hex("low"), Sha256Hex("high-cached")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, high_cached.id);
  c = TryClaim(worker_, {Sha256Hex("low")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, high.id);
  c = TryClaim(worker_, {Sha256Hex("low")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, low.id);
}

// ---- Heartbeats ----------------------------------------------------------------------------------------

TEST_P(SchedulerTest, HeartbeatExtendsTheLease) {
  Submit("1-2", 2);
  Task t = MustClaim(worker_);
  clock_.Advance(kLeaseMs - 1000);
  auto hb = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  EXPECT_EQ(*hb, HeartbeatAction::kContinue);
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);
  // Past the original lease, but the heartbeat renewed it.
  clock_.Advance(30'000);
  auto expired = scheduler_->ExpireLeases();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
}

TEST_P(SchedulerTest, HeartbeatSaysCancelAfterCancelJob) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  auto canceled = scheduler_->CancelJob(GetJob(job.id), "user canceled");
  ASSERT_TRUE(canceled.ok());
  auto hb = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kCancel);
}

TEST_P(SchedulerTest, HeartbeatSaysAbortToANodeWithoutTheLease) {
  Submit("1-2", 2);
  Task t = MustClaim(worker_);
  auto other = scheduler_->Heartbeat(worker2_, t.id);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, HeartbeatAction::kAbort);
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);  // not renewed by a stranger

  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  auto lost = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, HeartbeatAction::kAbort);

  auto missing = scheduler_->Heartbeat(worker_, t.id + 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

// ---- Frame reports -------------------------------------------------------------------------------------

TEST_P(SchedulerTest, ReportFrameCreatesOutputAndVerifyTask) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  clock_.Advance(5000);
  MustReport(worker_, t.id, 2);

  auto out = store_->FindOutput(t.id, 2);
  ASSERT_TRUE(out.ok() && out->has_value());
  const Output& o = **out;
  EXPECT_EQ(o.job_id, job.id);
  EXPECT_EQ(o.node_id, worker_.id);
  EXPECT_EQ(o.sha256, ShaOf(2));
  EXPECT_EQ(o.blob_key, KeyOf(t.id, 2));
  EXPECT_DOUBLE_EQ(o.render_seconds, 1.5);
  EXPECT_EQ(o.verdict, Verdict::kPending);
  EXPECT_EQ(o.created_ms, clock_.NowMs());

  Frame f = GetFrame(job.id, 2);
  EXPECT_EQ(f.state, FrameState::kVerifying);
  EXPECT_EQ(f.output_id, o.id);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);

  auto verify = TasksOf(job.id, TaskKind::kVerify);
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0].state, TaskState::kQueued);
  EXPECT_EQ(verify[0].output_id, o.id);
  EXPECT_THAT(verify[0].frames, ElementsAre(2));
  // A report renews the lease.
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);
}

TEST_P(SchedulerTest, ReportFrameIsIdempotent) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  auto again = Report(worker_, t.id, 1);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, ReportOutcome::kDuplicate);
  EXPECT_EQ(store_->ListOutputs(job.id)->size(), 1u);
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify).size(), 1u);

  auto conflict = scheduler_->ReportFrame(worker_, t.id, 1, Sha256Hex("another image"), KeyOf(t.id, 1), 1.0);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, Errc::kConflict);
  EXPECT_THAT(conflict.error().message, HasSubstr("already reported"));
  EXPECT_EQ((*store_->FindOutput(t.id, 1))->sha256, ShaOf(1));
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify).size(), 1u);

  // Another node repeating the same report is not a duplicate of its own.
  auto stranger = Report(worker2_, t.id, 1);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, Errc::kConflict);
}

TEST_P(SchedulerTest, ReportFrameRefusedWithoutTheLease) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  auto r = Report(worker2_, t.id, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConflict);
  EXPECT_THAT(r.error().message, HasSubstr("not leased to this node"));
  EXPECT_FALSE(store_->FindOutput(t.id, 1)->has_value());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);

  // The holder loses it when the lease expires.
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  auto late = Report(worker_, t.id, 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kConflict);
  EXPECT_THAT(*store_->ListOutputs(job.id), IsEmpty());

  auto missing = Report(worker_, t.id + 1000, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST_P(SchedulerTest, ReportFrameRefusedForFrameNotInTask) {
  Job job = Submit("1-4", 2);
  Task t = MustClaim(worker_);  // frames 1, 2
  for (int frame : {3, 0, -1, 100}) {
    auto r = Report(worker_, t.id, frame);
    ASSERT_FALSE(r.ok()) << frame;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("not part of task"));
  }
  EXPECT_THAT(*store_->ListOutputs(job.id), IsEmpty());
  EXPECT_EQ(GetFrame(job.id, 3).state, FrameState::kQueued);
}

TEST_P(SchedulerTest, VerifierCannotReportFrames) {
  Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto r = Report(verifier_, v.id, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

// ---- Lease expiry --------------------------------------------------------------------------------------

TEST_P(SchedulerTest, ExpireLeasesRequeuesOnlyUnreportedFrames) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  clock_.Advance(kLeaseMs);  // exactly at the end of the lease: not expired yet
  ASSERT_EQ(*scheduler_->ExpireLeases(), 0);
  clock_.Advance(1);
  auto n = scheduler_->ExpireLeases();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);

  Task old = GetTask(t.id);
  EXPECT_EQ(old.state, TaskState::kFailed);
  EXPECT_THAT(old.message, HasSubstr("lease expired"));

  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);  // reported: kept
  Frame f2 = GetFrame(job.id, 2);
  Frame f3 = GetFrame(job.id, 3);
  EXPECT_EQ(f2.state, FrameState::kQueued);
  EXPECT_EQ(f3.state, FrameState::kQueued);
  EXPECT_NE(f2.task_id, t.id);
  EXPECT_EQ(f2.task_id, f3.task_id);

  auto requeued = GetTask(f2.task_id);
  EXPECT_EQ(requeued.state, TaskState::kQueued);
  EXPECT_EQ(requeued.kind, TaskKind::kRender);
  EXPECT_THAT(requeued.frames, ElementsAre(2, 3));

  // Another worker picks the rest up; nothing expires twice.
  Task again = MustClaim(worker2_);
  EXPECT_EQ(again.id, requeued.id);
  EXPECT_EQ(*scheduler_->ExpireLeases(), 0);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
}

TEST_P(SchedulerTest, ExpireLeasesWithEveryFrameReportedQueuesNothing) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_P(SchedulerTest, ExpireLeasesRequeuesVerifyTasks) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);

  Task back = GetTask(v.id);
  EXPECT_EQ(back.state, TaskState::kQueued);
  EXPECT_EQ(back.node_id, 0);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto hb = scheduler_->Heartbeat(verifier_, v.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kAbort);

  Task v2 = MustClaim(verifier2_);
  EXPECT_EQ(v2.id, v.id);
  EXPECT_EQ(v2.node_id, verifier2_.id);
}

// ---- Task ends -----------------------------------------------------------------------------------------

TEST_P(SchedulerTest, CompleteTaskRequeuesUnreportedFrames) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 2);
  auto r = scheduler_->CompleteTask(worker_, t.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(GetTask(t.id).state, TaskState::kDone);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kVerifying);
  Frame f1 = GetFrame(job.id, 1);
  EXPECT_EQ(f1.state, FrameState::kQueued);
  Task requeued = GetTask(f1.task_id);
  EXPECT_EQ(requeued.state, TaskState::kQueued);
  EXPECT_THAT(requeued.frames, ElementsAre(1, 3));

  // Repeating the report changes nothing.
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender).size(), 2u);
  // Another node cannot end it.
  auto other = scheduler_->CompleteTask(worker2_, t.id);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Errc::kConflict);
}

TEST_P(SchedulerTest, CompleteTaskWithAllFramesReported) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender).size(), 1u);
  // Reports after the end are refused.
  auto late = scheduler_->ReportFrame(worker_, t.id, 1, Sha256Hex("x"), "k", 1);
  EXPECT_FALSE(late.ok());
}

TEST_P(SchedulerTest, FailTaskRequeuesThenFailsTheJobWithEveryError) {
  Job job = Submit("1-2", 2);
  const Node* nodes[] = {&worker_, &worker2_, &worker_};
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    const Node& node = *nodes[attempt % 3];
    Task t = MustClaim(node);
    EXPECT_THAT(t.frames, ElementsAre(1, 2));
    auto r = scheduler_->FailTask(node, t.id, "crash #" + std::to_string(attempt));
    ASSERT_TRUE(r.ok()) << r.error().message;
    Task failed = GetTask(t.id);
    EXPECT_EQ(failed.state, TaskState::kFailed);
    EXPECT_EQ(failed.message, "crash #" + std::to_string(attempt));
    Frame f = GetFrame(job.id, 1);
    EXPECT_EQ(f.failures, attempt + 1);
    if (attempt + 1 < domain::kMaxFrameFailures) {
      EXPECT_EQ(f.state, FrameState::kQueued);
      EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
    }
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.finished_ms, clock_.NowMs());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kFailed);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kFailed);
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    EXPECT_THAT(failed.message, HasSubstr("crash #" + std::to_string(attempt)));
  }
  EXPECT_THAT(failed.message, HasSubstr("frame 1 failed"));
  EXPECT_THAT(failed.message, HasSubstr("frame 2 failed"));
  EXPECT_THAT(failed.message, HasSubstr("w2: crash #1"));
  EXPECT_THAT(GetFrame(job.id, 1).errors, HasSubstr("w1: crash #0\nw2: crash #1\nw1: crash #2"));
  // Nothing of the job is offered any more.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_P(SchedulerTest, FailTaskCancelsTheJobsOtherWork) {
  Job job = Submit("1-2", 1);
  Task a = MustClaim(worker_);   // frame 1
  Task b = MustClaim(worker2_);  // frame 2
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    Task t = attempt == 0 ? a : MustClaim(worker_);
    EXPECT_THAT(t.frames, ElementsAre(1));
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "out of memory").ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kFailed);
  EXPECT_EQ(GetTask(b.id).state, TaskState::kCanceled);
  auto hb = scheduler_->Heartbeat(worker2_, b.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kCancel);
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
