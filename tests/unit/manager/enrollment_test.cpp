// A node telling what it lends now (POST /nodes/capabilities) keeps what other managers changed since its
// request was authenticated.
#include "manager/enrollment.hpp"

#include <gtest/gtest.h>

#include "store/sqlite_store.hpp"

namespace inferix::manager {
namespace {

TEST(UpdateCapabilitiesTest, KeepsCountersAndBanChangedSinceTheNodeWasRead) {
  auto store = store::OpenSqliteStore(":memory:");
  ASSERT_TRUE(store.ok()) << store.error().message;
  FakeClock clock;
  Scheduler scheduler(**store, clock, SchedulerOptions{});
  domain::Node node;
  node.name = "w1";
  node.role = domain::NodeRole::kWorker;
  node.public_key = std::string(64, 'a');
  node.id = *(*store)->CreateNode(node, "token-w1");
  const domain::Node authenticated = **(*store)->GetNode(node.id);
  // Meanwhile another manager counts a check and bans the node.
  domain::Node changed = authenticated;
  changed.accepted = 7;
  changed.streak = 7;
  changed.banned = true;
  changed.ban_reason = "revoked by the operator";
  ASSERT_TRUE((*store)->UpdateNode(changed).ok());

  const nlohmann::json caps = {{"blender_version", "4.2.0"}};
  auto saved = UpdateCapabilities(**store, scheduler, authenticated.id, caps);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  const domain::Node now = **(*store)->GetNode(node.id);
  EXPECT_EQ(now.capabilities_json, caps.dump());
  EXPECT_EQ(now.accepted, 7);
  EXPECT_EQ(now.streak, 7);
  EXPECT_TRUE(now.banned);
  EXPECT_EQ(now.ban_reason, "revoked by the operator");

  EXPECT_EQ(UpdateCapabilities(**store, scheduler, 999, caps).error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace inferix::manager
