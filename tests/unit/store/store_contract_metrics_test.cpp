// The Store contract (tests/unit/store/store_contract.hpp), metrics block (issue #16): the figures GET
// /metrics reads, and what the adapters count of their transactions.
#include "store/store_metrics.hpp"
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

Output ClassOutput(int64_t job, int frame, const std::string& det_class) {
  Output o;
  o.job_id = job;
  o.frame = frame;
  o.task_id = 1000 + frame;
  o.node_id = 1;
  o.blob_key = "outputs/" + std::to_string(job) + "/" + std::to_string(frame);
  o.sha256 = Sha256Hex(o.blob_key);
  o.det_class = det_class;
  o.created_ms = 100;
  return o;
}

TEST_P(StoreContract, QueuedTasksAreCountedByKindAndTheClassOfTheCheckedOutput) {
  auto active = NewJob(0, JobState::kActive);
  auto completed = NewJob(0, JobState::kCompleted);
  auto canceled = NewJob(0, JobState::kCanceled);
  auto verify = [&](int64_t job, int frame, const std::string& det_class,
                    TaskState state = TaskState::kQueued) {
    Task t = MakeTask(job, {frame}, TaskKind::kVerify);
    t.output_id = *store_->CreateOutput(ClassOutput(job, frame, det_class));
    t.state = state;
    return NewTask(t);
  };
  NewTask(MakeTask(active, {1}));
  NewTask(MakeTask(active, {2}));
  Task claimed = MakeTask(active, {3});
  claimed.state = TaskState::kActive;
  NewTask(claimed);
  // A render task that renders a frame again to settle a check names the output: it has no class still.
  Task replica = MakeTask(active, {4});
  replica.output_id = *store_->CreateOutput(ClassOutput(active, 4, "blender 4.2 / x86_64 / cpu"));
  NewTask(replica);
  NewTask(MakeTask(completed, {1}));  // a render task of an ended job cannot be claimed
  NewTask(MakeTask(canceled, {1}));
  verify(active, 5, "blender 4.2 / x86_64 / cpu");
  verify(active, 6, "blender 4.2 / x86_64 / cpu");
  verify(completed, 7, "blender 4.2 / x86_64 / cpu");  // a delivered frame checked again
  verify(active, 8, "blender 3.4 / arm64 / cpu");
  verify(active, 9, "");
  verify(active, 10, "blender 3.4 / arm64 / cpu", TaskState::kActive);
  verify(canceled, 11, "blender 3.4 / arm64 / cpu");

  auto counts = store_->CountQueuedTasks();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_THAT(*counts, UnorderedElementsAre(Pair(Pair(TaskKind::kRender, ""), 3),
                                            Pair(Pair(TaskKind::kVerify, "blender 4.2 / x86_64 / cpu"), 3),
                                            Pair(Pair(TaskKind::kVerify, "blender 3.4 / arm64 / cpu"), 1),
                                            Pair(Pair(TaskKind::kVerify, ""), 1)));
}

TEST_P(StoreContract, NoQueuedTasksCountNothing) {
  auto counts = store_->CountQueuedTasks();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_THAT(*counts, IsEmpty());
}

TEST_P(StoreContract, MaxEventIdNeverGoesDownWhenRetentionRemovesEvents) {
  EXPECT_EQ(*store_->MaxEventId(), 0);
  int64_t last = 0;
  for (int i = 1; i <= 3; ++i) last = *store_->AppendEvent({0, alice_, 0, "job", "{}", i * 100});
  EXPECT_EQ(*store_->MaxEventId(), last);
  ASSERT_EQ(*store_->DeleteEventsBefore(1000, 10), 3);
  EXPECT_EQ(*store_->MaxEventId(), last);
  const int64_t next = *store_->AppendEvent({0, alice_, 0, "job", "{}", 2000});
  EXPECT_GT(next, last);
  EXPECT_EQ(*store_->MaxEventId(), next);
}

// The adapters count outermost transactions by outcome, and commits that wrote: a Transaction that wrote, a
// writing statement outside one; not a Transaction that only read, one rolled back, or a read.
TEST_P(StoreContract, TransactionsAndWritesAreCounted) {
  const StoreMetrics& m = MetricsOf(GetParam().name == "postgres" ? Engine::kPostgres : Engine::kSqlite);
  const double commits = m.commits.Value();
  const double rollbacks = m.rollbacks.Value();
  const double writes = m.writes.Value();
  const uint64_t timed = m.seconds.Read().count();

  ASSERT_TRUE(store_
                  ->Transaction([&]() -> Result<void> {
                    auto job = store_->GetJob(1);
                    if (!job) return job.error();
                    return Ok();
                  })
                  .ok());
  EXPECT_EQ(m.commits.Value(), commits + 1);
  EXPECT_EQ(m.writes.Value(), writes);

  ASSERT_TRUE(store_
                  ->Transaction([&]() -> Result<void> {
                    // A nested Transaction is part of the outer one: counted once.
                    return store_->Transaction([&]() -> Result<void> { return store_->TouchNode(1, 5); });
                  })
                  .ok());
  EXPECT_EQ(m.commits.Value(), commits + 2);
  EXPECT_EQ(m.writes.Value(), writes);  // no node 1: the statement changed nothing
  ASSERT_TRUE(store_
                  ->Transaction([&]() -> Result<void> {
                    auto job = store_->CreateJob(MakeJob(alice_));
                    if (!job) return job.error();
                    return Ok();
                  })
                  .ok());
  EXPECT_EQ(m.writes.Value(), writes + 1);

  auto failed = store_->Transaction([&]() -> Result<void> {
    auto job = store_->CreateJob(MakeJob(alice_));
    if (!job) return job.error();
    return MakeError(Errc::kConflict, "changed my mind");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(m.rollbacks.Value(), rollbacks + 1);
  EXPECT_EQ(m.writes.Value(), writes + 1);

  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 10).ok());  // one statement, its own commit
  EXPECT_EQ(m.writes.Value(), writes + 2);
  ASSERT_TRUE(store_->UserHasFile(alice_, kSceneSha).ok());
  ASSERT_TRUE(store_->ListNodes().ok());
  EXPECT_EQ(m.writes.Value(), writes + 2);
  EXPECT_EQ(m.commits.Value(), commits + 3);
  EXPECT_EQ(m.seconds.Read().count(), timed + 4);
}

}  // namespace
}  // namespace inferix::store::contract
