// The scheduler: verdicts, rejections, escalation and second renders, and a whole job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

// ---- Verdicts ------------------------------------------------------------------------------------------

TEST_P(SchedulerTest, AcceptedFramesAreDeliveredAndCompleteTheJob) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());

  Task v1 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v1.id, "accepted", "layer 1+2 ok", 0.25).ok());
  Frame f = GetFrame(job.id, v1.frames[0]);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  Output o = **store_->GetOutput(v1.output_id);
  EXPECT_EQ(o.verdict, Verdict::kAccepted);
  EXPECT_EQ(o.verdict_detail, "layer 1+2 ok");
  EXPECT_EQ(o.verifier_node_id, verifier_.id);
  EXPECT_DOUBLE_EQ(o.verify_seconds, 0.25);
  EXPECT_EQ(GetTask(v1.id).state, TaskState::kDone);
  EXPECT_EQ(GetNode(worker_.id).accepted, 1);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);

  Task v2 = MustClaim(verifier_);
  clock_.Advance(1234);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 0.5).ok());
  Job done = GetJob(job.id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.finished_ms, clock_.NowMs());
  EXPECT_EQ(GetNode(worker_.id).accepted, 2);

  // A repeated verdict changes nothing.
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 0.5).ok());
  EXPECT_EQ(GetNode(worker_.id).accepted, 2);
}

TEST_P(SchedulerTest, TheNetworkHearsWhenNodesTakeAndEndWorkAndTheirCountsChange) {
  // Which nodes the network's `worker` events named, in order (any user may follow them; bob has no job).
  auto named = [&] {
    std::vector<int64_t> ids;
    const auto events = *store_->ListEvents(bob_, 0, 0, 1000, true);
    for (const auto& e : events) {
      EXPECT_EQ(e.type, "worker");
      EXPECT_EQ(e.user_id, domain::kNetworkUser);
      ids.push_back(nlohmann::json::parse(e.data).at("worker_id").get<int64_t>());
    }
    return ids;
  };
  EXPECT_THAT(*store_->ListEvents(bob_, 0, 0, 1000, false), IsEmpty());
  Submit("1", 1);
  Task t = MustClaim(worker_);                                                        // busy
  MustReport(worker_, t.id, 1);                                                       // no change of state
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());                          // idle
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());                          // repeated: nothing
  Task v = MustClaim(verifier_);                                                      // busy
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0.1).ok());  // idle; worker counts
  EXPECT_THAT(named(), ElementsAre(worker_.id, worker_.id, verifier_.id, verifier_.id, worker_.id));
  // Alice's stream has the network's events only when asked for them.
  const auto alices = *store_->ListEvents(alice_, 0, 0, 1000, false);
  EXPECT_FALSE(alices.empty());
  for (const auto& e : alices) EXPECT_NE(e.type, "worker");
}

TEST_P(SchedulerTest, ALeaseThatExpiresOrAJobCanceledFreesItsWorkerForTheNetworkToSee) {
  Job job = Submit("1-4", 2);
  MustClaim(worker_);
  MustClaim(worker2_);
  const auto before = store_->ListEvents(bob_, 0, 0, 1000, true)->size();
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);
  MustClaim(worker_);
  ASSERT_TRUE(scheduler_->CancelJob(GetJob(job.id), "canceled by alice").ok());
  std::vector<std::string> data;
  const auto events = *store_->ListEvents(bob_, 0, 0, 1000, true);
  for (const auto& e : events) data.push_back(e.data);
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(before));
  const std::string w1 = R"({"worker_id":)" + std::to_string(worker_.id) + "}";
  const std::string w2 = R"({"worker_id":)" + std::to_string(worker2_.id) + "}";
  EXPECT_THAT(data,
              ElementsAre(w1, w2, w1, w1));  // both expired; worker 1 takes a task again, then its job ends
}

TEST_P(SchedulerTest, RejectedFrameIsRenderedAgainElsewhere) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "region 3 differs", 2.0).ok());

  Output o = **store_->GetOutput(v.output_id);
  EXPECT_EQ(o.verdict, Verdict::kRejected);
  EXPECT_EQ(o.verdict_detail, "region 3 differs");
  EXPECT_EQ(GetNode(worker_.id).rejected, 1);
  EXPECT_EQ(GetNode(worker_.id).accepted, 0);

  Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kQueued);
  EXPECT_EQ(f.output_id, 0);
  EXPECT_THAT(f.excluded_nodes, ElementsAre(worker_.id));
  Task again = GetTask(f.task_id);
  EXPECT_EQ(again.state, TaskState::kQueued);
  EXPECT_THAT(again.excluded_nodes, ElementsAre(worker_.id));
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);

  // The rejected worker cannot claim it; another can, and its accepted render completes the job.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task t2 = MustClaim(worker2_);
  EXPECT_EQ(t2.id, again.id);
  MustReport(worker2_, t2.id, 1);
  Task v2 = MustClaim(verifier_);
  EXPECT_NE(v2.output_id, v.output_id);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_P(SchedulerTest, AForgedReportIsRejectedAtOnceAndTheFrameGoesElsewhere) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  // The stored bytes' digest differs from the one the node signed: no check is needed to know it lied.
  auto r = scheduler_->ReportFrame(worker_, t.id, 1, ShaOf(1), KeyOf(t.id, 1), 1.5, 0.0,
                                   "stored bytes have another SHA-256");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, ReportOutcome::kForged);
  Output o = **store_->FindOutput(t.id, 1);
  EXPECT_EQ(o.verdict, Verdict::kRejected);
  EXPECT_EQ(GetNode(worker_.id).rejected, 1);
  Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kQueued);
  EXPECT_THAT(f.excluded_nodes, ElementsAre(worker_.id));
  // No check was queued for it: the verifier finds nothing to verify.
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  // Another worker renders it.
  Task t2 = MustClaim(worker2_);
  EXPECT_THAT(t2.frames, ElementsAre(1));
}

TEST_P(SchedulerTest, RejectedWorkerStaysExcludedAfterTheRetryIsLost) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "fake", 1.0).ok());

  // The second worker's retry is lost (lease expired): the frame goes back to the queue once more...
  Task retry = MustClaim(worker2_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);  // the first worker's task too
  Frame f = GetFrame(job.id, 1);
  ASSERT_EQ(f.state, FrameState::kQueued);
  ASSERT_NE(f.task_id, retry.id);
  // ...and still never to the worker whose image for it was rejected.
  EXPECT_THAT(GetTask(f.task_id).excluded_nodes, ElementsAre(worker_.id));
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(MustClaim(worker2_).id, f.task_id);
}

TEST_P(SchedulerTest, RejectedWorkerStaysExcludedAfterAFailedRetry) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "fake", 1.0).ok());
  Task retry = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->FailTask(worker2_, retry.id, "crash").ok());
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task retry2 = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, retry2.id).ok());  // ended without reporting the frame
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, ElementsAre(worker_.id));
}

TEST_P(SchedulerTest, InconclusiveVerdictQueuesTheCheckAgain) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "cannot read image", 0.5).ok());

  EXPECT_EQ(GetTask(v.id).state, TaskState::kDone);
  EXPECT_EQ(GetTask(v.id).message, "inconclusive");
  Output o = **store_->GetOutput(v.output_id);
  EXPECT_EQ(o.verdict, Verdict::kPending);
  EXPECT_EQ(o.verdict_detail, "cannot read image");
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);
  EXPECT_EQ(GetNode(worker_.id).accepted, 0);
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);

  auto queued = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].output_id, v.output_id);
  EXPECT_EQ(queued[0].node_id, 0);
  EXPECT_NE(queued[0].id, v.id);

  // A repeated inconclusive report does not queue a third check.
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "cannot read image", 0.5).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued).size(), 1u);

  Task v2 = MustClaim(verifier2_);
  EXPECT_EQ(v2.id, queued[0].id);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v2.id, "accepted", "ok", 0.5).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
  EXPECT_DOUBLE_EQ((*store_->GetOutput(v.output_id))->verify_seconds, 1.0);  // both checks counted
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

// Escalation, never a guess (issue #4): more regions, then a second worker's render settles the check.
TEST_P(SchedulerTest, InconclusiveEscalatesToMoreRegionsThenASecondRenderThatSettlesIt) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  EXPECT_EQ(v.level, domain::kRegions);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "borderline difference", 0.1).ok());
  auto queued = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].level, domain::kMoreRegions);
  Task v2 = MustClaim(verifier2_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v2.id, "inconclusive", "borderline again", 0.1).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  // A second worker (never the first) renders the frame again.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto replica = TryClaim(worker2_);
  ASSERT_TRUE(replica.has_value());
  EXPECT_EQ(replica->task.level, domain::kReplicaCheck);
  EXPECT_EQ(replica->task.output_id, v.output_id);
  ASSERT_TRUE(
      scheduler_->ReportFrame(worker2_, replica->task.id, 1, ShaOf(1), KeyOf(replica->task.id, 1), 1.0).ok());
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, replica->task.id).ok());
  auto check = TryClaim(verifier_);
  ASSERT_TRUE(check.has_value());
  EXPECT_EQ(check->task.level, domain::kReplicaCheck);
  ASSERT_TRUE(check->original.has_value());
  EXPECT_EQ(check->original->id, v.output_id);
  VerdictReport report{"accepted", "second render checked", 0.2, 0.3, "{}", true};
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, check->task.id, report).ok());

  const Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  EXPECT_EQ(f.output_id, v.output_id);  // the first worker's image, confirmed
  const Output first = **store_->GetOutput(v.output_id);
  EXPECT_EQ(first.verdict, Verdict::kAccepted);
  EXPECT_TRUE(first.credited);
  EXPECT_THAT(first.method, HasSubstr("\"matches_second_render\":true"));
  const Output second = **store_->GetOutput(check->task.output_id);
  EXPECT_EQ(second.verdict, Verdict::kAccepted);
  EXPECT_EQ(second.replica_of, first.id);
  EXPECT_TRUE(second.credited);  // checked work earns, delivered or not
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_P(SchedulerTest, ASecondRenderThatDiffersRejectsTheFirstAndIsDelivered) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "borderline", 0.1).ok());
  }
  Task r = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->ReportFrame(worker2_, r.id, 1, Sha256Hex("honest"), KeyOf(r.id, 1), 1.0).ok());
  auto check = TryClaim(verifier_);
  ASSERT_TRUE(check.has_value());
  ASSERT_TRUE(
      scheduler_
          ->RecordVerdict(verifier_, check->task.id, VerdictReport{"accepted", "ok", 0.1, 0.1, "{}", false})
          .ok());
  const Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  EXPECT_EQ(f.output_id, check->task.output_id);
  EXPECT_EQ((*store_->GetOutput(check->original->id))->verdict, Verdict::kRejected);
  EXPECT_FALSE((*store_->GetOutput(check->original->id))->credited);
  EXPECT_EQ(GetNode(worker_.id).rejected, 1);
  EXPECT_EQ(GetNode(worker2_.id).accepted, 1);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_P(SchedulerTest, CheckThatNoSecondRenderSettlesFailsTheFrameWithTheFindings) {
  Job job = Submit("1", 1);
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "disk error", 0.1).ok());
  }
  // Two second renders (the policy's max_replicas), each inconclusive.
  for (const Node* w : {&worker2_, &worker3}) {
    Task r = MustClaim(*w);
    ASSERT_EQ(r.level, domain::kReplicaCheck);
    ASSERT_TRUE(scheduler_->ReportFrame(*w, r.id, 1, Sha256Hex(w->name), KeyOf(r.id, 1), 1.0).ok());
    Task c = MustClaim(verifier_);
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, c.id, "inconclusive", "disk error", 0.1).ok());
  }
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kFailed);
  EXPECT_EQ(GetJob(job.id).state, JobState::kFailed);
  EXPECT_THAT(GetJob(job.id).message, HasSubstr("could not be verified"));
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);  // never a guess: nobody is blamed
}

TEST_P(SchedulerTest, ASecondRenderLostToAFailureIsRenderedAgainElsewhere) {
  Job job = Submit("1", 1);
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "borderline", 0.1).ok());
  }
  Task r = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->FailTask(worker2_, r.id, "out of memory").ok());
  EXPECT_FALSE(TryClaim(worker2_).has_value());
  Task r2 = MustClaim(worker3);
  EXPECT_EQ(r2.level, domain::kReplicaCheck);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);
}

TEST_P(SchedulerTest, LateVerdictFromAVerifierThatLostTheLeaseIsRefused) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);  // the render task and the check

  auto late = scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 1.0);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kConflict);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  Task v2 = MustClaim(verifier2_);
  ASSERT_EQ(v2.id, v.id);
  auto still_late = scheduler_->RecordVerdict(verifier_, v.id, "rejected", "", 1.0);
  ASSERT_FALSE(still_late.ok());
  EXPECT_EQ(still_late.error().code, Errc::kConflict);
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);
  EXPECT_EQ((*store_->GetOutput(v.output_id))->verdict, Verdict::kPending);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v.id, "accepted", "", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

TEST_P(SchedulerTest, VerdictMustBeKnownAndOnAVerifyTask) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto bad = scheduler_->RecordVerdict(verifier_, v.id, "trusted", "", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(GetTask(v.id).state, TaskState::kActive);  // nothing written
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto on_render = scheduler_->RecordVerdict(worker_, t.id, "accepted", "", 0);
  ASSERT_FALSE(on_render.ok());
  EXPECT_EQ(on_render.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto stranger = scheduler_->RecordVerdict(verifier2_, v.id, "accepted", "", 0);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, Errc::kConflict);
}

TEST_P(SchedulerTest, VerifyTaskCannotBeEndedWithoutAVerdict) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto done = scheduler_->CompleteTask(verifier_, v.id);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Errc::kInvalidArgument);
  auto failed = scheduler_->FailTask(verifier_, v.id, "crash");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kInvalidArgument);
  // The check is still held and can be finished.
  EXPECT_EQ(GetTask(v.id).state, TaskState::kActive);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

// ---- A whole job ---------------------------------------------------------------------------------------

TEST_P(SchedulerTest, WholeJobWithTwoWorkersAndAFraud) {
  Job job = Submit("1-6", 2);
  Task a = MustClaim(worker_);
  Task b = MustClaim(worker2_);
  Task c = MustClaim(worker_);
  for (int n : a.frames) MustReport(worker_, a.id, n);
  for (int n : b.frames) MustReport(worker2_, b.id, n);
  for (int n : c.frames) MustReport(worker_, c.id, n);
  for (const Task* t : {&a, &b, &c}) {
    ASSERT_TRUE(scheduler_->CompleteTask(t->node_id == worker_.id ? worker_ : worker2_, t->id).ok());
  }
  // worker2 faked its frames; everything else is fine.
  while (auto v = TryClaim(verifier_)) {
    const Output o = **store_->GetOutput(v->task.output_id);
    const bool fake = o.node_id == worker2_.id;
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, fake ? "rejected" : "accepted", "", 0).ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  // Only worker 1 may render the rejected frames again.
  EXPECT_FALSE(TryClaim(worker2_).has_value());
  while (auto r = TryClaim(worker_)) {
    for (int n : r->task.frames) MustReport(worker_, r->task.id, n);
    ASSERT_TRUE(scheduler_->CompleteTask(worker_, r->task.id).ok());
  }
  while (auto v = TryClaim(verifier_)) {
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0).ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  auto counts = domain::CountFrames(*store_->ListFrames(job.id));
  EXPECT_EQ(counts.delivered, 6);
  // The first rejection discarded worker2's other output (rendered again by worker 1); it was still checked,
  // for the record, and that rejection counts too.
  EXPECT_EQ(GetNode(worker2_.id).rejected, 2);
  EXPECT_EQ(GetNode(worker_.id).accepted, 6);
  EXPECT_EQ(GetNode(worker2_.id).accepted, 0);
  int discarded = 0;
  const auto outputs = *store_->ListOutputs(job.id);
  for (const auto& o : outputs) {
    if (o.node_id != worker2_.id) continue;
    EXPECT_EQ(o.verdict, Verdict::kRejected);
    EXPECT_FALSE(o.credited);
    if (o.verdict_detail.find("discarded") != std::string::npos) ++discarded;
  }
  EXPECT_EQ(discarded, 1);
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
