// The Store contract (tests/unit/store/store_contract.hpp) of accounts (issue #14): users' roles and limits,
// API tokens with their times and revocation, what counts against the limits, and the audit log.
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

using domain::AuditEntry;
using domain::User;
using domain::UserRole;
using domain::UserToken;

TEST_P(StoreContract, UsersStartPlainWithTheDefaultLimits) {
  const User alice = **store_->GetUser(alice_);
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.role, UserRole::kUser);
  EXPECT_FALSE(alice.limits.max_priority.has_value());
  EXPECT_FALSE(alice.limits.stored_bytes.has_value());
  EXPECT_FALSE(alice.limits.frames_in_flight.has_value());
  EXPECT_EQ((**store_->FindUserByName("alice")).id, alice_);
  EXPECT_FALSE(store_->FindUserByName("nobody")->has_value());
  EXPECT_FALSE(store_->GetUser(alice_ + 100)->has_value());
}

TEST_P(StoreContract, AddUserAndUpdateUserWriteRoleAndLimits) {
  User bob;
  bob.name = "bob";
  bob.role = UserRole::kOperator;
  bob.limits.max_priority = -3;
  bob.limits.stored_bytes = int64_t{5} << 40;
  const int64_t id = *store_->AddUser(bob);
  EXPECT_GT(id, alice_);
  User got = **store_->GetUser(id);
  EXPECT_EQ(got.role, UserRole::kOperator);
  EXPECT_EQ(got.limits.max_priority, -3);
  EXPECT_EQ(got.limits.stored_bytes, int64_t{5} << 40);
  EXPECT_FALSE(got.limits.active_jobs.has_value());

  got.role = UserRole::kUser;
  got.limits.max_priority.reset();
  got.limits.active_jobs = 0;  // 0 is a value (no limit), not the default
  got.limits.frames_per_job = 7;
  got.limits.frames_in_flight = 9;
  got.name = "renamed";  // fixed at creation
  ASSERT_TRUE(store_->UpdateUser(got).ok());
  const User again = **store_->GetUser(id);
  EXPECT_EQ(again.name, "bob");
  EXPECT_EQ(again.role, UserRole::kUser);
  EXPECT_FALSE(again.limits.max_priority.has_value());
  EXPECT_EQ(again.limits.active_jobs, 0);
  EXPECT_EQ(again.limits.frames_per_job, 7);
  EXPECT_EQ(again.limits.frames_in_flight, 9);
  EXPECT_THAT(Ids(*store_->ListUsers()), ElementsAre(alice_, id));
  // A name is one user's.
  EXPECT_FALSE(store_->AddUser(bob).ok());
}

TEST_P(StoreContract, SessionsAndTokensGiveTheUserWithRoleAndLimits) {
  User u = **store_->GetUser(alice_);
  u.role = UserRole::kOperator;
  u.limits.max_priority = 50;
  ASSERT_TRUE(store_->UpdateUser(u).ok());
  ASSERT_TRUE(store_->CreateSession("session-hash", alice_, 5000).ok());
  const User by_session = **store_->FindUserBySession("session-hash", 10);
  EXPECT_EQ(by_session.role, UserRole::kOperator);
  EXPECT_EQ(by_session.limits.max_priority, 50);
  const User by_token = **store_->FindUserByTokenHash("hash-alice");
  EXPECT_EQ(by_token.role, UserRole::kOperator);
  EXPECT_EQ(by_token.limits.max_priority, 50);
}

TEST_P(StoreContract, UserTokensKeepEveryFieldAndAreListedById) {
  UserToken t;
  t.user_id = alice_;
  t.label = "laptop";
  t.created_ms = 100;
  t.expires_ms = 9000;
  const int64_t id = *store_->AddUserToken(t, "hash-laptop");
  auto found = **store_->FindUserToken("hash-laptop");
  EXPECT_EQ(found.first.id, alice_);
  EXPECT_EQ(found.first.name, "alice");
  EXPECT_EQ(found.second.id, id);
  EXPECT_EQ(found.second.user_id, alice_);
  EXPECT_EQ(found.second.label, "laptop");
  EXPECT_EQ(found.second.created_ms, 100);
  EXPECT_EQ(found.second.expires_ms, 9000);
  EXPECT_EQ(found.second.last_used_ms, 0);
  EXPECT_EQ(found.second.revoked_ms, 0);
  EXPECT_FALSE(store_->FindUserToken("no-such-hash")->has_value());
  // The first token (CreateUser's) is listed too, before it; another user's are not the user's.
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  auto mine = *store_->ListUserTokens(alice_);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[1].id, id);
  EXPECT_LT(mine[0].id, id);
  auto bobs = *store_->ListUserTokens(bob);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].user_id, bob);
  EXPECT_EQ(store_->ListUserTokens(0)->size(), 3u);  // every user's
  // A token of a user that does not exist is refused.
  UserToken stray;
  stray.user_id = bob + 100;
  EXPECT_FALSE(store_->AddUserToken(stray, "hash-stray").ok());
  // One hash is one token.
  EXPECT_FALSE(store_->AddUserToken(t, "hash-laptop").ok());
}

TEST_P(StoreContract, ARevokedTokenIsFoundAsRevokedAndFindsNoUserByHash) {
  const int64_t id = (**store_->FindUserToken("hash-alice")).second.id;
  EXPECT_TRUE(*store_->RevokeUserToken(id, 777));
  EXPECT_FALSE(*store_->RevokeUserToken(id, 999));  // once: the first time stays
  EXPECT_FALSE(*store_->RevokeUserToken(id + 100, 999));
  EXPECT_EQ((**store_->FindUserToken("hash-alice")).second.revoked_ms, 777);
  EXPECT_FALSE(store_->FindUserByTokenHash("hash-alice")->has_value());
}

TEST_P(StoreContract, TouchUserTokenNeverMovesLastUseBack) {
  const int64_t id = (**store_->FindUserToken("hash-alice")).second.id;
  ASSERT_TRUE(store_->TouchUserToken(id, 500).ok());
  ASSERT_TRUE(store_->TouchUserToken(id, 300).ok());
  EXPECT_EQ((**store_->FindUserToken("hash-alice")).second.last_used_ms, 500);
  ASSERT_TRUE(store_->TouchUserToken(id + 100, 300).ok());  // unknown: nothing, no error
}

TEST_P(StoreContract, UsageCountsStoredBytesOpenJobsAndTheirUndeliveredFrames) {
  EXPECT_EQ(store_->GetUserUsage(alice_)->stored_bytes, 0);
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 1000).ok());
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 1000).ok());  // the same file counts once
  ASSERT_TRUE(store_->AddUserFile(alice_, kTexSha, 24).ok());
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(store_->AddUserFile(bob, kTexSha, 24).ok());

  const int64_t queued = NewJob(0, JobState::kQueued);
  const int64_t active = NewJob(0, JobState::kActive);
  const int64_t done = NewJob(0, JobState::kCompleted);
  std::vector<Frame> frames;
  for (int64_t job : {queued, active, done}) {
    for (int n = 1; n <= 4; ++n) frames.push_back(FrameOf(job, n));
  }
  frames[1].state = FrameState::kRendering;
  frames[2].state = FrameState::kVerifying;
  frames[3].state = FrameState::kDelivered;  // delivered: no longer in flight
  frames[4].state = FrameState::kFailed;
  ASSERT_TRUE(store_->PutFrames(frames).ok());

  const domain::UserUsage usage = *store_->GetUserUsage(alice_);
  EXPECT_EQ(usage.stored_bytes, 1024);
  EXPECT_EQ(usage.active_jobs, 2);
  EXPECT_EQ(usage.frames_in_flight, 3 + 3);  // queued job: 3 of 4; active job: 3 of 4; completed: none
  const domain::UserUsage bobs = *store_->GetUserUsage(bob);
  EXPECT_EQ(bobs.stored_bytes, 24);
  EXPECT_EQ(bobs.active_jobs, 0);
  EXPECT_EQ(bobs.frames_in_flight, 0);
}

TEST_P(StoreContract, TheAuditLogKeepsEntriesNewestFirst) {
  EXPECT_THAT(*store_->ListAudit(10), IsEmpty());
  const int64_t a =
      *store_->AppendAudit(AuditEntry{0, 10, "admin:root", "user.created", "user bob", "role=user"});
  const int64_t b = *store_->AppendAudit(AuditEntry{0, 20, "admin:root", "token.revoked", "token 3", ""});
  EXPECT_GT(b, a);
  auto all = *store_->ListAudit(10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, b);
  EXPECT_EQ(all[0].action, "token.revoked");
  EXPECT_EQ(all[1].created_ms, 10);
  EXPECT_EQ(all[1].actor, "admin:root");
  EXPECT_EQ(all[1].target, "user bob");
  EXPECT_EQ(all[1].detail, "role=user");
  EXPECT_THAT(Ids(*store_->ListAudit(1)), ElementsAre(b));
}

}  // namespace
}  // namespace inferix::store::contract
