// NodeAgent with a fake manager and fake Blenders: enrollment saved and reused, backoff while the manager is
// unreachable, claims, and the Blender build the manager chose.
#include "agent/node_agent.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "agent/machine.hpp"
#include "agent/scene_cache.hpp"
#include "core/crypto.hpp"
#include "node_fakes.hpp"

namespace inferix::agent {
namespace {

using inferix::testing::FakeBlenderLog;
using inferix::testing::FakeManager;

class NodeAgentTest : public ::testing::Test {
 protected:
  std::unique_ptr<NodeAgent> MakeAgent(std::vector<std::string> blenders = {"blender"},
                                       std::vector<std::string> versions = {"4.2.0"},
                                       std::filesystem::path warm_scene_root = {}) {
    NodeServices services;
    services.manager = manager_;
    services.start_blender = inferix::testing::FakeBlenderFactory(blender_);
    services.describe_machine = inferix::testing::FakeMachine(std::move(versions));
    services.sleep = [this](int64_t ms) { sleeps_.push_back(ms); };
    return std::make_unique<NodeAgent>(NodeOptions{"http://manager.test",
                                                   "",
                                                   dir_.path(),
                                                   std::move(blenders),
                                                   std::move(warm_scene_root),
                                                   {},
                                                   0,
                                                   {},
                                                   false},
                                       stop_, std::move(services));
  }

  inferix::testing::TempFolder dir_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<FakeManager> manager_ = std::make_shared<FakeManager>();
  std::shared_ptr<FakeBlenderLog> blender_ = std::make_shared<FakeBlenderLog>();
  std::vector<int64_t> sleeps_;
};

TEST_F(NodeAgentTest, EnrollsOnceAndReusesTheSavedCredentials) {
  {
    auto node = MakeAgent();
    ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
    EXPECT_EQ(node->credentials().node_id, 7);
    EXPECT_EQ(node->credentials().node_token, "node-token-7");
  }
  ASSERT_EQ(manager_->register_requests.size(), 1u);
  const auto& sent = manager_->register_requests.front();
  EXPECT_EQ(sent.enrollment_token, "enroll-token");
  EXPECT_EQ(sent.name, "box");
  EXPECT_EQ(sent.role, "worker");
  EXPECT_EQ(sent.capabilities.value("blender_version", ""), "4.2.0");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "node.json"));
  EXPECT_EQ(manager_->capability_updates, 0);  // a node that has just enrolled registered them

  // Started again without a token: the saved credentials, and the manager is told what the node lends now.
  auto again = MakeAgent();
  ASSERT_TRUE(again->Start("", "box", "worker"));
  EXPECT_EQ(manager_->registrations, 1);
  EXPECT_EQ(manager_->capability_updates, 1);
  EXPECT_EQ(again->credentials().node_id, 7);
  EXPECT_EQ(manager_->tokens.back(), "node-token-7");
  // The keys are the ones it enrolled with: a signature verifies with the public key it registered.
  auto sig = Ed25519Sign(again->credentials().private_key, "message");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(Ed25519Verify(sent.public_key, "message", *sig));
}

TEST_F(NodeAgentTest, ANodeWithoutCredentialsNeedsAToken) {
  auto node = MakeAgent();
  auto started = node->Start("", "box", "worker");
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Errc::kUnauthenticated);
  EXPECT_TRUE(manager_->register_requests.empty());
}

TEST_F(NodeAgentTest, BacksOffWhileTheManagerIsUnreachable) {
  for (int i = 0; i < 3; ++i) manager_->register_errors.push_back(MakeError(Errc::kUnavailable, "refused"));
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{500, 1000, 2000}));
  EXPECT_EQ(manager_->registrations, 1);
}

TEST_F(NodeAgentTest, TheBackoffIsBounded) {
  for (int i = 0; i < 10; ++i) manager_->register_errors.push_back(MakeError(Errc::kUnavailable, "refused"));
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  ASSERT_EQ(sleeps_.size(), 10u);
  EXPECT_EQ(sleeps_.back(), 30'000);
}

TEST_F(NodeAgentTest, ARefusedEnrollmentIsNotRetried) {
  manager_->register_errors.push_back(MakeError(Errc::kPermissionDenied, "enrollment token expired"));
  auto node = MakeAgent();
  auto started = node->Start("old-token", "box", "worker");
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Errc::kPermissionDenied);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "node.json"));
}

TEST_F(NodeAgentTest, ClaimRetriesWithBackoffThatResetsAfterAnAnswer) {
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  manager_->claim_errors = {MakeError(Errc::kUnavailable, "down"), MakeError(Errc::kInternal, "HTTP 500")};
  net::ClaimedTask task;
  task.task_id = 12;
  manager_->tasks.push_back(task);
  auto claimed = node->Claim();
  ASSERT_TRUE(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, 12);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{500, 1000}));

  manager_->claim_errors = {MakeError(Errc::kUnavailable, "down")};
  auto none = node->Claim();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(sleeps_.back(), 500);
}

TEST_F(NodeAgentTest, ClaimWithRefusedCredentialsIsAnError) {
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  manager_->claim_errors = {MakeError(Errc::kUnauthenticated, "node revoked")};
  auto claimed = node->Claim();
  ASSERT_FALSE(claimed);
  EXPECT_EQ(claimed.error().code, Errc::kUnauthenticated);
}

TEST_F(NodeAgentTest, AStoppedNodeClaimsNothing) {
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  manager_->tasks.push_back(net::ClaimedTask{});
  stop_ = true;
  auto claimed = node->Claim();
  ASSERT_TRUE(claimed);
  EXPECT_FALSE(claimed->has_value());
}

TEST_F(NodeAgentTest, StartsTheBlenderBuildTheManagerChose) {
  auto node = MakeAgent({"/opt/b36/blender", "/opt/b42/blender"}, {"3.6.0", "4.2.0"});
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  const auto scene = inferix::testing::ServeScene(*manager_);
  ASSERT_TRUE(node->BlenderFor(5, scene, "4.2.0"));
  ASSERT_EQ(blender_->started.size(), 1u);
  EXPECT_EQ(blender_->started.back().blender, "/opt/b42/blender");
  EXPECT_EQ(blender_->started.back().scene, node->JobDir(5) / "scene" / "shot" / "main.blend");
  EXPECT_EQ(inferix::testing::ReadAll(blender_->started.back().scene), "BLENDER-v402 scene");

  // The same job and build: the warm Blender. Another build: a new one, the old one stopped.
  ASSERT_TRUE(node->BlenderFor(5, scene, "4.2.0"));
  EXPECT_EQ(blender_->started.size(), 1u);
  ASSERT_TRUE(node->BlenderFor(5, scene, ""));
  ASSERT_EQ(blender_->started.size(), 2u);
  EXPECT_EQ(blender_->started.back().blender, "/opt/b36/blender");
  EXPECT_EQ(blender_->alive, 1);
  EXPECT_EQ(node->blender_job(), 5);
  node->StopBlender();
  EXPECT_EQ(blender_->alive, 0);
  EXPECT_EQ(node->blender_job(), 0);
  // The scene file was fetched once: the second start found it in the cache.
  EXPECT_EQ(manager_->downloads.size(), 1u);
}

TEST_F(NodeAgentTest, ASpareBlenderOpensTheFirstJobWhoseFolderLiesInItsOwn) {
  auto node = MakeAgent({"blender"}, {"4.2.0"}, "/studio");
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  auto scene = inferix::testing::ServeScene(*manager_);
  scene.root = "/studio/film";  // the project folder lies in the spare's: its files go where Blender sees it
  scene.resolution_percentage = 50;
  ASSERT_TRUE(node->BlenderFor(7, scene));
  ASSERT_EQ(blender_->started.size(), 1u);
  EXPECT_TRUE(blender_->started[0].spare);
  EXPECT_EQ(blender_->started[0].scene_root, "/studio");
  const auto spare = dir_.path() / "spare";
  EXPECT_EQ(blender_->started[0].scene_dir, spare / "scene");
  EXPECT_EQ(blender_->started[0].work_dir, spare / "work");
  ASSERT_EQ(blender_->opened.size(), 1u);
  EXPECT_EQ(blender_->opened[0], spare / "scene" / "film" / "shot" / "main.blend");
  EXPECT_EQ(inferix::testing::ReadAll(blender_->opened[0]), "BLENDER-v402 scene");
  // The job works in the spare's folder, the only one its Blender may write.
  EXPECT_EQ(node->JobDir(7), spare);
  EXPECT_EQ(node->blender_job(), 7);
  // The next job starts a Blender of its own (there is one spare, for the first job).
  ASSERT_TRUE(node->BlenderFor(8, scene));
  ASSERT_EQ(blender_->started.size(), 2u);
  EXPECT_FALSE(blender_->started[1].spare);
  EXPECT_EQ(node->JobDir(8), dir_.path() / "jobs" / "8");
  EXPECT_EQ(blender_->alive, 1);
}

TEST_F(NodeAgentTest, ASpareIsDiscardedForAJobElsewhereOrAnotherBuild) {
  for (const std::string root : {"/elsewhere", "", "/studiofilm"}) {
    SCOPED_TRACE(root);
    blender_ = std::make_shared<FakeBlenderLog>();
    auto node = MakeAgent({"blender"}, {"4.2.0"}, "/studio");
    ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
    auto scene = inferix::testing::ServeScene(*manager_);
    scene.root = root;
    ASSERT_TRUE(node->BlenderFor(3, scene));
    ASSERT_EQ(blender_->started.size(), 2u);
    EXPECT_FALSE(blender_->started[1].spare);
    EXPECT_EQ(blender_->opened.size(), 0u);
    EXPECT_EQ(node->JobDir(3), dir_.path() / "jobs" / "3");
    EXPECT_EQ(blender_->alive, 1);  // the spare was stopped
  }
  // A task for another Blender build than the spare's (the default).
  blender_ = std::make_shared<FakeBlenderLog>();
  auto node = MakeAgent({"/opt/b36/blender", "/opt/b42/blender"}, {"3.6.0", "4.2.0"}, "/studio");
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  auto scene = inferix::testing::ServeScene(*manager_);
  scene.root = "/studio";
  ASSERT_TRUE(node->BlenderFor(4, scene, "4.2.0"));
  ASSERT_EQ(blender_->started.size(), 2u);
  EXPECT_EQ(blender_->started[1].blender, "/opt/b42/blender");
  EXPECT_EQ(blender_->opened.size(), 0u);
}

TEST_F(NodeAgentTest, WithoutAWarmFolderNoSpareStarts) {
  auto node = MakeAgent();
  ASSERT_TRUE(node->Start("enroll-token", "box", "worker"));
  EXPECT_TRUE(blender_->started.empty());
  EXPECT_EQ(blender_->alive, 0);
}

TEST(LendEngines, TheOwnerWithholdsEnginesFromEveryList) {
  nlohmann::json caps = {
      {"engines", {"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"}},
      {"blenders",
       {{{"version", "3.4.1"}, {"engines", {"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"}}},
        {{"version", "4.2.0"}}}}};
  const nlohmann::json unchanged = caps;
  ASSERT_TRUE(LendEngines(caps, {}).ok());
  EXPECT_EQ(caps, unchanged);
  ASSERT_TRUE(LendEngines(caps, {"CYCLES", "BLENDER_WORKBENCH"}).ok());
  EXPECT_EQ(caps["blenders"][0]["engines"], nlohmann::json({"CYCLES", "BLENDER_WORKBENCH"}));
  // A build whose probe could not run: the owner's list.
  EXPECT_EQ(caps["blenders"][1]["engines"], nlohmann::json({"CYCLES", "BLENDER_WORKBENCH"}));
  EXPECT_EQ(caps["engines"], caps["blenders"][0]["engines"]);  // the default build's
}

TEST(LendEngines, LendingNoneABuildRendersIsAnError) {
  nlohmann::json caps = {{"blenders", {{{"version", "3.4.1"}, {"engines", {"CYCLES"}}}}}};
  auto lent = LendEngines(caps, {"BLENDER_EEVEE"});
  ASSERT_FALSE(lent.ok());
  EXPECT_EQ(lent.error().code, Errc::kInvalidArgument);
  EXPECT_NE(lent.error().message.find("lends none of the engines Blender 3.4.1 renders here"),
            std::string::npos)
      << lent.error().message;
}

TEST(ChooseBlender, TheBuildOfTheNamedVersionElseTheDefault) {
  const std::vector<std::string> blenders = {"/b/3.6", "/b/4.2"};
  const nlohmann::json caps = {{"blenders", {{{"version", "3.6.0"}}, {{"version", "4.2.0"}}}}};
  EXPECT_EQ(ChooseBlender(blenders, caps, "4.2.0"), "/b/4.2");
  EXPECT_EQ(ChooseBlender(blenders, caps, "3.6.0"), "/b/3.6");
  EXPECT_EQ(ChooseBlender(blenders, caps, ""), "/b/3.6");
  EXPECT_EQ(ChooseBlender(blenders, caps, "9.9.9"), "/b/3.6");
  EXPECT_EQ(ChooseBlender({}, caps, "4.2.0"), "blender");
}

TEST(FetchScene, RefusesADamagedOrUnsafeFile) {
  inferix::testing::TempFolder dir;
  FakeManager manager;
  auto scene = inferix::testing::ServeScene(manager);
  manager.blobs[scene.files[0].url] = "something else";
  auto got = FetchScene(manager, scene, dir.path() / "cache", dir.path() / "scene");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("hash mismatch"), std::string::npos);
  EXPECT_TRUE(CachedHashes(dir.path() / "cache").empty());

  scene.files[0].path = "../escape.blend";
  got = FetchScene(manager, scene, dir.path() / "cache", dir.path() / "scene");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("unsafe"), std::string::npos);
}

}  // namespace
}  // namespace inferix::agent
