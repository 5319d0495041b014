// The verifier with a fake manager and a fake Blender whose re-renders are the true frame: a good frame is
// accepted, a wrong one rejected, a damaged upload rejected at layer 1, and a re-render that fails leaves the
// check inconclusive.
#include "verifier/verifier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "../agent/node_fakes.hpp"
#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "image/image.hpp"

namespace inferix::verifier {
namespace {

using inferix::testing::BlenderBehaviour;
using inferix::testing::FakeBlenderLog;
using inferix::testing::FakeManager;

constexpr int kWidth = 64;
constexpr int kHeight = 48;

// The true frame: a pattern with detail everywhere.
uint32_t TruePixel(int x, int y) {
  const uint32_t r = (x * 4) & 0xff;
  const uint32_t g = (y * 5) & 0xff;
  const uint32_t b = ((x * y) % 7) * 30;
  return (r << 16) | (g << 8) | b;
}

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image::CheckAvailable());
    blender_->scene.width = kWidth;
    blender_->scene.height = kHeight;
    blender_->scene.engine = "CYCLES";
    blender_->image = [](int) { return inferix::testing::EncodePng(kWidth, kHeight, TruePixel); };
    VerifierOptions options;
    options.manager_url = "http://manager.test";
    options.token = "enroll-token";
    options.data_dir = dir_.path();
    options.name = "checker";
    agent::NodeServices services;
    services.manager = manager_;
    services.start_blender = inferix::testing::FakeBlenderFactory(blender_);
    services.describe_machine = inferix::testing::FakeMachine();
    services.sleep = [](int64_t) {};
    verifier_ = std::make_unique<Verifier>(options, stop_, std::move(services));
    ASSERT_TRUE(verifier_->Start());
  }

  // A verify task of frame 3 whose output (served by the fake manager) is `output`, reported as `sha256`
  // (its own hash when empty).
  void Queue(const std::string& output, std::string sha256 = "") {
    manager_->blobs["/signed/out"] = output;
    net::ClaimedTask t;
    t.task_id = 77;
    t.kind = "verify";
    t.job_id = 4;
    t.frames = {3};
    t.denoise = false;
    t.scene = inferix::testing::ServeScene(*manager_);
    t.output = net::OutputRef{9, sha256.empty() ? Sha256Hex(output) : sha256, 2, "/signed/out"};
    t.check = net::CheckSpec{1, true, false, 2, 1, 0.05};
    manager_->tasks.push_back(t);
  }

  const net::VerdictReport& OnlyVerdict() {
    EXPECT_EQ(manager_->verdicts.size(), 1u);
    EXPECT_EQ(manager_->verdicts.at(0).first, 77);
    return manager_->verdicts.at(0).second;
  }

  inferix::testing::TempFolder dir_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<FakeManager> manager_ = std::make_shared<FakeManager>();
  std::shared_ptr<FakeBlenderLog> blender_ = std::make_shared<FakeBlenderLog>();
  std::unique_ptr<Verifier> verifier_;
};

TEST_F(VerifierTest, AcceptsTheTrueFrame) {
  Queue(inferix::testing::EncodePng(kWidth, kHeight, TruePixel));
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "accepted") << v.detail;
  EXPECT_EQ(v.method.layers, 2);
  EXPECT_EQ(v.method.regions.size(), 3u);  // two drawn uniformly, one where the frame shows detail
  EXPECT_FALSE(v.matches_original.has_value());
  EXPECT_TRUE(Ed25519Verify(manager_->register_requests.at(0).public_key,
                            domain::VerdictMessage(77, "accepted"), v.signature));
  // Each region was re-rendered with one thread, inside a border, with the job's denoising.
  ASSERT_EQ(blender_->commands.size(), 3u);
  for (const auto& cmd : blender_->commands) {
    EXPECT_EQ(cmd.frames, (std::vector<int>{3}));
    EXPECT_TRUE(cmd.border.has_value());
    EXPECT_EQ(cmd.threads, 1);
    EXPECT_FALSE(cmd.denoise);
  }
}

TEST_F(VerifierTest, RejectsAWrongFrame) {
  Queue(
      inferix::testing::EncodePng(kWidth, kHeight, [](int x, int y) { return 0xffffffu - TruePixel(x, y); }));
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "rejected") << v.detail;
  EXPECT_NE(v.detail.find("layer 2 failed"), std::string::npos);
  EXPECT_TRUE(Ed25519Verify(manager_->register_requests.at(0).public_key,
                            domain::VerdictMessage(77, "rejected"), v.signature));
}

TEST_F(VerifierTest, RejectsAnUploadThatIsNotWhatWasReported) {
  Queue(inferix::testing::EncodePng(kWidth, kHeight, TruePixel), Sha256Hex("another image"));
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "rejected");
  EXPECT_EQ(v.method.layers, 1);
  EXPECT_TRUE(blender_->commands.empty());
}

TEST_F(VerifierTest, AFrameOfTheWrongSizeIsRejectedAtLayerOne) {
  Queue(inferix::testing::EncodePng(kWidth / 2, kHeight, TruePixel));
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "rejected");
  EXPECT_NE(v.detail.find("size is 32x48"), std::string::npos);
}

TEST_F(VerifierTest, ACrashedReRenderIsInconclusive) {
  blender_->behaviour = BlenderBehaviour::kCrash;
  Queue(inferix::testing::EncodePng(kWidth, kHeight, TruePixel));
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "inconclusive");
  EXPECT_NE(v.detail.find("re-render failed"), std::string::npos);
}

TEST_F(VerifierTest, AnOutputThatCannotBeDownloadedIsInconclusive) {
  Queue("anything");
  manager_->blobs.erase("/signed/out");
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "inconclusive");
  EXPECT_NE(v.detail.find("cannot download the output"), std::string::npos);
}

TEST_F(VerifierTest, ComparesAReplicaWithTheOriginalOutput) {
  const std::string frame = inferix::testing::EncodePng(kWidth, kHeight, TruePixel);
  Queue(frame);
  const std::string other = inferix::testing::EncodePng(kWidth, kHeight, [](int x, int y) { return 0u; });
  manager_->blobs["/signed/original"] = other;
  manager_->tasks.back().original = net::OriginalRef{8, Sha256Hex(other), "/signed/original"};
  ASSERT_TRUE(verifier_->Step());
  const auto& v = OnlyVerdict();
  EXPECT_EQ(v.verdict, "accepted") << v.detail;
  ASSERT_TRUE(v.matches_original.has_value());
  EXPECT_FALSE(*v.matches_original);
}

}  // namespace
}  // namespace inferix::verifier
