// The worker and its owner's gate (injected clock and load), with a fake manager and a fake Blender: a busy
// owner gets the task in hand handed back, not failed; a paused worker claims nothing and says why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "../agent/node_fakes.hpp"
#include "worker/status.hpp"
#include "worker/worker.hpp"

namespace inferix::worker {
namespace {

using inferix::testing::BlenderBehaviour;
using inferix::testing::FakeBlenderLog;
using inferix::testing::FakeManager;
using ::testing::HasSubstr;

class WorkerOwnerTest : public ::testing::Test {
 protected:
  void Make(agent::OwnerRules rules) {
    blender_->image = [](int frame) { return "image of frame " + std::to_string(frame); };
    WorkerOptions options;
    options.manager_url = "http://manager.test";
    options.token = "enroll-token";
    options.data_dir = dir_.path();
    options.name = "home";
    agent::NodeServices services;
    services.manager = manager_;
    services.start_blender = inferix::testing::FakeBlenderFactory(blender_);
    services.describe_machine = inferix::testing::FakeMachine();
    services.sleep = [](int64_t) {};
    // Every look at the clock is half a second later: the render's checks move time on.
    gate_ = std::make_shared<agent::OwnerGate>(
        rules, dir_.path(), [this] { return now_ += std::chrono::milliseconds(500); },
        [this](bool) { return load_; });
    board_ = std::make_shared<StatusBoard>(dir_.path(), std::vector<agent::Device>{},
                                           std::vector<agent::Device>{}, "http://manager.test");
    worker_ = std::make_unique<Worker>(options, stop_, std::move(services), std::vector<agent::Device>{}, 0,
                                       std::vector<agent::Device>{}, gate_, board_);
    ASSERT_TRUE(worker_->Start());
  }

  net::ClaimedTask Task() {
    net::ClaimedTask t;
    t.task_id = 31;
    t.kind = "render";
    t.job_id = 4;
    t.frames = {1, 2};
    t.scene = inferix::testing::ServeScene(*manager_);
    t.heartbeat_ms = 1;
    return t;
  }

  inferix::testing::TempFolder dir_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<FakeManager> manager_ = std::make_shared<FakeManager>();
  std::shared_ptr<FakeBlenderLog> blender_ = std::make_shared<FakeBlenderLog>();
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
  agent::LoadSample load_;
  std::shared_ptr<agent::OwnerGate> gate_;
  std::shared_ptr<StatusBoard> board_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerOwnerTest, ABusyOwnerGetsTheTaskInHandHandedBackNotFailed) {
  agent::OwnerRules rules;
  rules.busy_cpu_percent = 50;
  rules.busy_ms = 2'000;
  Make(rules);
  blender_->behaviour = BlenderBehaviour::kHang;  // a long frame: the owner comes back during it
  manager_->tasks.push_back(Task());
  load_.cpu_percent = 90;
  ASSERT_TRUE(worker_->Step());
  ASSERT_EQ(manager_->released.size(), 1u);
  EXPECT_EQ(manager_->released[0].first, 31);
  EXPECT_THAT(manager_->released[0].second,
              HasSubstr("its owner is using the machine: other programs use 90%"));
  EXPECT_TRUE(manager_->failed.empty());
  EXPECT_TRUE(manager_->completed.empty());
  EXPECT_EQ(blender_->alive, 0);  // Blender was stopped
  // Then it claims nothing, and the manager was told why.
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(manager_->tasks.size(), 1u);
  ASSERT_FALSE(manager_->availabilities.empty());
  EXPECT_EQ(manager_->availabilities.back().first, "owner busy");
  auto status = ReadStatus(dir_.path());
  ASSERT_TRUE(status && status->has_value());
  EXPECT_EQ((**status)["availability"], "owner busy");
  EXPECT_EQ((**status)["handed_back"]["task_id"], 31);
}

TEST_F(WorkerOwnerTest, APausedWorkerClaimsNothingAndResumedItRendersAgain) {
  Make({});
  ASSERT_TRUE(agent::WriteOwnerControl(dir_.path(), {true, false}));
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(manager_->tasks.size(), 1u);  // not claimed
  ASSERT_EQ(manager_->availabilities.size(), 1u);
  EXPECT_EQ(manager_->availabilities[0].first, "paused");
  EXPECT_THAT(manager_->availabilities[0].second, HasSubstr("paused by its owner"));
  ASSERT_TRUE(agent::WriteOwnerControl(dir_.path(), {}));
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(manager_->availabilities.back().first, "");  // takes work again
  EXPECT_EQ(manager_->completed, (std::vector<int64_t>{31}));
}

TEST_F(WorkerOwnerTest, ADrainingWorkerFinishesTheTaskInHand) {
  Make({});
  manager_->tasks.push_back(Task());
  // Drained while the render runs: the frames still come, and the task completes.
  blender_->on_render = [this] { (void)agent::WriteOwnerControl(dir_.path(), {false, true}); };
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(manager_->completed, (std::vector<int64_t>{31}));
  EXPECT_TRUE(manager_->released.empty());
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(manager_->tasks.size(), 1u);
  EXPECT_EQ(manager_->availabilities.back().first, "draining");
}

}  // namespace
}  // namespace inferix::worker
