// The worker with a fake manager and a fake Blender: a task claimed, rendered, uploaded and reported; a lease
// lost; a report refused; a Blender that crashes or hangs; a manager unreachable during uploads.
#include "worker/worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "../agent/node_fakes.hpp"
#include "core/crypto.hpp"
#include "domain/tokens.hpp"

namespace inferix::worker {
namespace {

using inferix::testing::BlenderBehaviour;
using inferix::testing::FakeBlenderLog;
using inferix::testing::FakeManager;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blender_->image = [](int frame) { return "image of frame " + std::to_string(frame); };
    WorkerOptions options;
    options.manager_url = "http://manager.test";
    options.token = "enroll-token";
    options.data_dir = dir_.path();
    options.name = "box";
    options.upload_attempts = 3;
    agent::NodeServices services;
    services.manager = manager_;
    services.start_blender = inferix::testing::FakeBlenderFactory(blender_);
    services.describe_machine = inferix::testing::FakeMachine();
    services.sleep = [this](int64_t ms) { sleeps_.push_back(ms); };
    worker_ = std::make_unique<Worker>(options, stop_, std::move(services));
    ASSERT_TRUE(worker_->Start());
  }

  // A render task of frames 1 and 2 whose heartbeats come every millisecond.
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
  std::vector<int64_t> sleeps_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, ClaimsRendersUploadsAndReportsEachFrame) {
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  ASSERT_EQ(blender_->commands.size(), 1u);
  EXPECT_EQ(blender_->commands[0].frames, (std::vector<int>{1, 2}));
  EXPECT_EQ(blender_->commands[0].format, "PNG");
  ASSERT_EQ(manager_->frames.size(), 2u);
  for (int frame : {1, 2}) {
    const auto& report = manager_->frames.at(frame);
    const std::string image = "image of frame " + std::to_string(frame);
    EXPECT_EQ(report.sha256, Sha256Hex(image));
    EXPECT_EQ(manager_->blobs.at("/signed/put/" + report.key), image);
    // The upload URL was asked for with the frame's digest and size, and the PUT carried the slot's headers.
    EXPECT_EQ(manager_->upload_requests.at(frame - 1).sha256, report.sha256);
    EXPECT_EQ(manager_->upload_requests.at(frame - 1).size, static_cast<int64_t>(image.size()));
    EXPECT_EQ(manager_->upload_headers.at("/signed/put/" + report.key).at("x-test"), "signed");
    EXPECT_DOUBLE_EQ(report.render_seconds, 1.5);
    EXPECT_TRUE(Ed25519Verify(manager_->register_requests.at(0).public_key,
                              domain::FrameReportMessage(31, frame, report.sha256, report.key),
                              report.signature));
  }
  EXPECT_EQ(manager_->completed, (std::vector<int64_t>{31}));
  EXPECT_TRUE(manager_->failed.empty());
  // The Blender stays warm for the job's next task; the rendered files are gone once uploaded.
  EXPECT_EQ(blender_->alive, 1);
  EXPECT_EQ(worker_->node().blender_job(), 4);
  EXPECT_FALSE(std::filesystem::exists(worker_->node().JobDir(4) / "work" / "task-31" / "frame_1.png"));
}

TEST_F(WorkerTest, NoTaskIsNotAnError) {
  ASSERT_TRUE(worker_->Step());
  EXPECT_TRUE(blender_->started.empty());
  EXPECT_TRUE(manager_->completed.empty());
}

TEST_F(WorkerTest, ALostLeaseStopsTheTaskWithoutReportingIt) {
  // Blender never finishes; the manager answers the heartbeat that the task is no longer this node's.
  blender_->behaviour = BlenderBehaviour::kHang;
  manager_->heartbeat_action = "abort";
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_GE(manager_->heartbeats(), 1);
  EXPECT_TRUE(manager_->completed.empty());
  EXPECT_TRUE(manager_->failed.empty());
  EXPECT_EQ(blender_->alive, 0);  // the hung Blender is stopped
  EXPECT_EQ(worker_->node().blender_job(), 0);
}

TEST_F(WorkerTest, ACanceledTaskStopsBlender) {
  blender_->behaviour = BlenderBehaviour::kHang;
  manager_->heartbeat_action = "cancel";
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_TRUE(manager_->completed.empty());
  EXPECT_TRUE(manager_->failed.empty());
  EXPECT_EQ(blender_->alive, 0);
}

TEST_F(WorkerTest, ARefusedReportFailsTheTask) {
  manager_->report_error = MakeError(Errc::kConflict, "task 31 is not held by this node (HTTP 409)");
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  ASSERT_EQ(manager_->failed.size(), 1u);
  EXPECT_EQ(manager_->failed[0].first, 31);
  EXPECT_NE(manager_->failed[0].second.find("frame 1: task 31 is not held"), std::string::npos);
  EXPECT_TRUE(manager_->completed.empty());
  EXPECT_TRUE(sleeps_.empty());  // a refusal is not retried
  // The render stopped at the first refused frame.
  EXPECT_EQ(blender_->alive, 0);
}

TEST_F(WorkerTest, AnUnreachableManagerIsRetriedThenTheTaskFails) {
  manager_->upload_error = MakeError(Errc::kUnavailable, "connection refused");
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{500, 1000}));  // three attempts
  ASSERT_EQ(manager_->failed.size(), 1u);
  EXPECT_NE(manager_->failed[0].second.find("connection refused"), std::string::npos);
  EXPECT_TRUE(manager_->frames.empty());
}

TEST_F(WorkerTest, ACrashedBlenderFailsTheTask) {
  blender_->behaviour = BlenderBehaviour::kCrash;
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  ASSERT_EQ(manager_->failed.size(), 1u);
  EXPECT_NE(manager_->failed[0].second.find("Blender died"), std::string::npos);
  EXPECT_TRUE(manager_->completed.empty());
  EXPECT_EQ(blender_->alive, 0);  // a dead Blender is not kept warm
  // The next task of the job starts a new one.
  blender_->behaviour = BlenderBehaviour::kRender;
  manager_->tasks.push_back(Task());
  ASSERT_TRUE(worker_->Step());
  EXPECT_EQ(blender_->started.size(), 2u);
  EXPECT_EQ(manager_->completed, (std::vector<int64_t>{31}));
}

TEST_F(WorkerTest, ASceneThatCannotBeFetchedFailsTheTask) {
  auto task = Task();
  manager_->blobs[task.scene.files[0].url] = "not the scene";
  manager_->tasks.push_back(task);
  ASSERT_TRUE(worker_->Step());
  ASSERT_EQ(manager_->failed.size(), 1u);
  EXPECT_NE(manager_->failed[0].second.find("hash mismatch"), std::string::npos);
  EXPECT_TRUE(blender_->started.empty());
}

TEST_F(WorkerTest, RefusedCredentialsEndTheLoop) {
  manager_->claim_errors.push_back(MakeError(Errc::kUnauthenticated, "node revoked"));
  auto step = worker_->Step();
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, Errc::kUnauthenticated);
}

}  // namespace
}  // namespace inferix::worker
