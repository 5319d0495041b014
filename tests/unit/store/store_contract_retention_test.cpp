// The Store contract (tests/unit/store/store_contract.hpp), retention block: each call removes exactly what
// it says, a bounded amount at a time, and never anything of a live job.
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

Job EndedJob(int64_t user, JobState state, int64_t finished_ms) {
  Job j = MakeJob(user, 0, state);
  j.finished_ms = finished_ms;
  return j;
}

Output RejectedOutput(int64_t job, int frame, int64_t task, int64_t created_ms) {
  Output o;
  o.job_id = job;
  o.frame = frame;
  o.task_id = task;
  o.node_id = 1;
  o.blob_key = "outputs/" + std::to_string(job) + "/" + std::to_string(task) + "_" + std::to_string(frame);
  o.preview_key = "previews/" + std::to_string(job) + "/" + std::to_string(frame) + ".png";
  o.sha256 = Sha256Hex(o.blob_key);
  o.verdict = Verdict::kRejected;
  o.created_ms = created_ms;
  return o;
}

TEST_P(StoreContract, ExpiredJobsAreEndedJobsFinishedBeforeTheCutoffWithNoLiveTask) {
  const int64_t failed = *store_->CreateJob(EndedJob(alice_, JobState::kFailed, 6000));
  const int64_t completed = *store_->CreateJob(EndedJob(alice_, JobState::kCompleted, 5000));
  const int64_t canceled_late = *store_->CreateJob(EndedJob(alice_, JobState::kCanceled, 20'000));
  const int64_t active = NewJob(0, JobState::kActive);
  // A completed job whose delivered frame is being checked again is live.
  const int64_t rechecked = *store_->CreateJob(EndedJob(alice_, JobState::kCompleted, 4000));
  NewTask(MakeTask(rechecked, {1}, TaskKind::kVerify));
  (void)canceled_late;
  (void)active;
  EXPECT_THAT(Ids(*store_->ListExpiredJobs(10'000, 10)), ElementsAre(completed, failed));
  EXPECT_THAT(Ids(*store_->ListExpiredJobs(10'000, 1)), ElementsAre(completed));
  EXPECT_THAT(*store_->ListExpiredJobs(4000, 10), IsEmpty());
}

TEST_P(StoreContract, DeleteJobRemovesEveryRowOfTheJobAndNothingOfAnother) {
  const int64_t old_job = *store_->CreateJob(EndedJob(alice_, JobState::kCompleted, 5000));
  const int64_t live_job = NewJob(0, JobState::kActive);
  const int64_t node = NewNode("w1");
  for (int64_t job : {old_job, live_job}) {
    ASSERT_TRUE(store_->PutFrames({FrameOf(job, 1), FrameOf(job, 2)}).ok());
    Task t = MakeTask(job, {1, 2});
    t.state = job == old_job ? TaskState::kDone : TaskState::kActive;
    const int64_t task = NewTask(t);
    ASSERT_TRUE(store_->CreateOutput(RejectedOutput(job, 1, task, 100)).ok());
    ASSERT_TRUE(store_->AddToBlocklist({job, node, "failed", 1}).ok());
    ASSERT_TRUE(store_->AppendEvent({0, alice_, job, "job", "{}", 1}).ok());
  }
  const int64_t old_event = *store_->AppendEvent({0, alice_, old_job, "video", "{}", 2});
  const int64_t other_event = *store_->AppendEvent({0, alice_, 0, "job", "{}", 3});

  ASSERT_TRUE(store_->DeleteJob(old_job).ok());

  EXPECT_FALSE(store_->GetJob(old_job)->has_value());
  EXPECT_THAT(*store_->ListFrames(old_job), IsEmpty());
  EXPECT_THAT(*store_->ListJobTasks(old_job), IsEmpty());
  EXPECT_THAT(*store_->ListOutputs(old_job), IsEmpty());
  EXPECT_THAT(*store_->ListBlocklist(old_job), IsEmpty());
  EXPECT_THAT(*store_->ListEvents(alice_, old_job, 0, 10, false), IsEmpty());
  EXPECT_EQ(*store_->EventsRemovedThrough(), old_event);
  // The live job keeps every row; the user's other events stay.
  EXPECT_TRUE(store_->GetJob(live_job)->has_value());
  EXPECT_EQ(store_->ListFrames(live_job)->size(), 2u);
  EXPECT_EQ(store_->ListJobTasks(live_job)->size(), 1u);
  EXPECT_EQ(store_->ListOutputs(live_job)->size(), 1u);
  EXPECT_EQ(store_->ListBlocklist(live_job)->size(), 1u);
  EXPECT_EQ(store_->ListEvents(alice_, live_job, 0, 10, false)->size(), 1u);
  EXPECT_THAT(Ids(*store_->ListEvents(alice_, 0, old_event, 10, false)), ElementsAre(other_event));
}

TEST_P(StoreContract, DeleteJobRefusesAJobThatIsLive) {
  const int64_t active = NewJob(0, JobState::kActive);
  const int64_t rechecked = *store_->CreateJob(EndedJob(alice_, JobState::kCompleted, 4000));
  NewTask(MakeTask(rechecked, {1}, TaskKind::kVerify));
  for (int64_t job : {active, rechecked}) {
    auto r = store_->DeleteJob(job);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_TRUE(store_->GetJob(job)->has_value());
  }
  EXPECT_EQ(store_->ListJobTasks(rechecked)->size(), 1u);
  EXPECT_TRUE(store_->DeleteJob(9999).ok());  // unknown: nothing to do
}

TEST_P(StoreContract, ExpiredRejectedOutputsAreOnlyOldUndeliveredOnesWithObjects) {
  const int64_t job = NewJob(0, JobState::kActive);
  const int64_t task = NewTask(MakeTask(job, {1, 2, 3, 4}));
  const int64_t old_rejected = *store_->CreateOutput(RejectedOutput(job, 1, task, 100));
  const int64_t new_rejected = *store_->CreateOutput(RejectedOutput(job, 2, task, 900));
  Output accepted = RejectedOutput(job, 3, task, 100);
  accepted.verdict = Verdict::kAccepted;
  ASSERT_TRUE(store_->CreateOutput(accepted).ok());
  // Rejected after delivery, and the frame still names it: not taken from under the frame.
  const int64_t delivered = *store_->CreateOutput(RejectedOutput(job, 4, task, 100));
  Frame f = FrameOf(job, 4);
  f.output_id = delivered;
  ASSERT_TRUE(store_->PutFrame(f).ok());
  // One a queued check still works on.
  const int64_t checked = *store_->CreateOutput(RejectedOutput(job, 5, task, 100));
  Task verify = MakeTask(job, {5}, TaskKind::kVerify);
  verify.output_id = checked;
  NewTask(verify);
  (void)new_rejected;

  EXPECT_THAT(Ids(*store_->ListExpiredRejectedOutputs(500, 10)), ElementsAre(old_rejected));
  ASSERT_TRUE(store_->ForgetOutputObjects(old_rejected).ok());
  Output got = **store_->GetOutput(old_rejected);
  EXPECT_EQ(got.blob_key, "");
  EXPECT_EQ(got.preview_key, "");
  EXPECT_EQ(got.verdict, Verdict::kRejected);
  EXPECT_EQ(got.sha256, Sha256Hex("outputs/" + std::to_string(job) + "/" + std::to_string(task) + "_1"));
  EXPECT_THAT(*store_->ListExpiredRejectedOutputs(500, 10), IsEmpty());
}

TEST_P(StoreContract, DeleteEventsBeforeRemovesTheOldestInBatchesAndMarksHowFar) {
  EXPECT_EQ(*store_->EventsRemovedThrough(), 0);
  std::vector<int64_t> ids;
  for (int i = 1; i <= 5; ++i) ids.push_back(*store_->AppendEvent({0, alice_, 0, "job", "{}", i * 100}));
  EXPECT_EQ(*store_->DeleteEventsBefore(350, 2), 2);
  EXPECT_EQ(*store_->EventsRemovedThrough(), ids[1]);
  EXPECT_EQ(*store_->DeleteEventsBefore(350, 2), 1);
  EXPECT_EQ(*store_->DeleteEventsBefore(350, 2), 0);
  EXPECT_EQ(*store_->EventsRemovedThrough(), ids[2]);
  EXPECT_THAT(Ids(*store_->ListEvents(alice_, 0, 0, 10, false)), ElementsAre(ids[3], ids[4]));
}

TEST_P(StoreContract, ExpiredSessionsAreRemovedInBatchesAndEachUserKeepsItsNewest) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(store_->CreateSession("expired-1", alice_, 100).ok());
  ASSERT_TRUE(store_->CreateSession("expired-2", alice_, 200).ok());
  ASSERT_TRUE(store_->CreateSession("alice-a", alice_, 1000).ok());
  ASSERT_TRUE(store_->CreateSession("alice-b", alice_, 2000).ok());
  ASSERT_TRUE(store_->CreateSession("alice-c", alice_, 3000).ok());
  ASSERT_TRUE(store_->CreateSession("bob-a", bob, 1000).ok());
  EXPECT_EQ(*store_->DeleteExpiredSessions(500, 1), 1);
  EXPECT_EQ(*store_->DeleteExpiredSessions(500, 10), 1);
  EXPECT_EQ(*store_->DeleteExpiredSessions(500, 10), 0);
  EXPECT_TRUE(store_->FindUserBySession("alice-a", 500)->has_value());

  EXPECT_EQ(*store_->TrimUserSessions(alice_, 2), 1);
  EXPECT_FALSE(store_->FindUserBySession("alice-a", 500)->has_value());
  EXPECT_TRUE(store_->FindUserBySession("alice-b", 500)->has_value());
  EXPECT_TRUE(store_->FindUserBySession("alice-c", 500)->has_value());
  EXPECT_TRUE(store_->FindUserBySession("bob-a", 500)->has_value());
  EXPECT_EQ(*store_->TrimUserSessions(alice_, 2), 0);
}

TEST_P(StoreContract, ReferencedOutputKeysAreThoseAnOutputRecords) {
  const int64_t job = NewJob(0, JobState::kActive);
  const int64_t task = NewTask(MakeTask(job, {1}));
  const Output o = RejectedOutput(job, 1, task, 100);
  ASSERT_TRUE(store_->CreateOutput(o).ok());
  const std::string stray = "outputs/" + std::to_string(job) + "/9_9_abc";
  EXPECT_THAT(*store_->ReferencedOutputKeys({stray, o.preview_key, o.blob_key}),
              ElementsAre(o.preview_key, o.blob_key));
  EXPECT_THAT(*store_->ReferencedOutputKeys({}), IsEmpty());
}

}  // namespace
}  // namespace inferix::store::contract
