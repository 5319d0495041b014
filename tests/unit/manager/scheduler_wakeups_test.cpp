// The scheduler tells, after each commit, how many tasks of each kind it queued (Scheduler::OnTasksQueued):
// what wakes waiting claims at once (issue #16). Fixture in scheduler_fixture.hpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

// What OnTasksQueued said, in order, and whether each was said after its transaction had committed: the
// queued tasks are then visible to the claim that the wake-up runs.
struct Heard {
  std::vector<std::pair<TaskKind, int>> calls;
  std::vector<int> claimable;  // queued tasks of that kind the store showed to a fresh claim at the call
};

class SchedulerWakeupsTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    scheduler_->OnTasksQueued([this](TaskKind kind, int n) {
      heard_.calls.emplace_back(kind, n);
      domain::ClaimFilter filter;
      filter.kind = kind;
      auto tasks = store_->ListClaimableTasks(filter, 1000);
      heard_.claimable.push_back(tasks ? static_cast<int>(tasks->size()) : -1);
    });
  }
  Heard heard_;
};

INSTANTIATE_TEST_SUITE_P(Stores, SchedulerWakeupsTest, ::testing::ValuesIn(kBackends), BackendName);

TEST_P(SchedulerWakeupsTest, ANewJobTellsItsRenderTasksOnceCommitted) {
  Submit("1-6", 2);  // three tasks of two frames
  ASSERT_EQ(heard_.calls.size(), 1u);
  EXPECT_EQ(heard_.calls[0], std::make_pair(TaskKind::kRender, 3));
  EXPECT_EQ(heard_.claimable[0], 3);
}

TEST_P(SchedulerWakeupsTest, AReportedFrameTellsItsCheckAndAnExpiredLeaseItsTask) {
  Submit("1", 1);
  heard_.calls.clear();
  Task t = MustClaim(worker_);
  EXPECT_TRUE(heard_.calls.empty());  // a claim queues nothing
  MustReport(worker_, t.id, 1);
  ASSERT_FALSE(heard_.calls.empty());
  EXPECT_EQ(heard_.calls.back().first, TaskKind::kVerify);
  EXPECT_GE(heard_.claimable.back(), 1);

  Submit("2", 1);
  MustClaim(worker2_);
  heard_.calls.clear();
  clock_.Advance(kLeaseMs + 1);
  ASSERT_GE(*scheduler_->ExpireLeases(), 1);
  ASSERT_FALSE(heard_.calls.empty());
  EXPECT_EQ(heard_.calls.back().first, TaskKind::kRender);  // its frame, queued again in a new task
  EXPECT_GE(heard_.claimable.back(), 1);
}

TEST_P(SchedulerWakeupsTest, ARefusedJobTellsNothing) {
  Job bad = Request(alice_, "1-3", 1, "scene", /*upload=*/false);
  auto created = scheduler_->CreateJob(alice_, bad);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(heard_.calls.empty());
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
