// The Store contract (tests/unit/store/store_contract.hpp): transactions, users, sessions, enrollment, nodes,
// files and events.
#include <stdexcept>

#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

TEST_P(StoreContract, SessionsFindTheirUserUntilTheyExpireOrEnd) {
  ASSERT_TRUE(store_->CreateSession("s1", alice_, 10'000).ok());
  ASSERT_TRUE(store_->CreateSession("s2", alice_, 5'000).ok());
  auto found = store_->FindUserBySession("s1", 9'999);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alice_);
  EXPECT_EQ((*found)->name, "alice");
  EXPECT_FALSE(store_->FindUserBySession("s1", 10'000)->has_value());  // expired
  EXPECT_FALSE(store_->FindUserBySession("nope", 0)->has_value());
  // Signing out ends that session and sweeps the expired ones, not the others.
  ASSERT_TRUE(store_->CreateSession("s3", alice_, 20'000).ok());
  ASSERT_TRUE(store_->DeleteSession("s1", 6'000).ok());
  EXPECT_FALSE(store_->FindUserBySession("s1", 6'000)->has_value());
  EXPECT_TRUE(store_->FindUserBySession("s3", 6'000)->has_value());
  EXPECT_FALSE(store_->FindUserBySession("s2", 0)->has_value());  // removed as expired
}

TEST_P(StoreContract, TouchNodeMovesLastSeenForwardOnly) {
  Node n;
  n.name = "w";
  n.public_key = "k";
  n.last_seen_ms = 100;
  const int64_t id = *store_->CreateNode(n, "hash-w");
  ASSERT_TRUE(store_->TouchNode(id, 500).ok());
  EXPECT_EQ((*store_->GetNode(id))->last_seen_ms, 500);
  ASSERT_TRUE(store_->TouchNode(id, 300).ok());  // a late request never moves it back
  EXPECT_EQ((*store_->GetNode(id))->last_seen_ms, 500);
}

TEST_P(StoreContract, NodeAvailabilityIsKeptApartFromTheNodesOtherFields) {
  Node n;
  n.name = "w";
  n.public_key = "k";
  const int64_t id = *store_->CreateNode(n, "hash-w");
  EXPECT_EQ((*store_->GetNode(id))->availability, "");
  ASSERT_TRUE(store_->SetNodeAvailability(id, "paused", "paused by its owner").ok());
  Node got = **store_->GetNode(id);
  EXPECT_EQ(got.availability, "paused");
  EXPECT_EQ(got.availability_reason, "paused by its owner");
  // Updating the node's other fields from a copy read before keeps what the node said.
  n.id = id;
  n.accepted = 3;
  ASSERT_TRUE(store_->UpdateNode(n).ok());
  got = **store_->GetNode(id);
  EXPECT_EQ(got.accepted, 3);
  EXPECT_EQ(got.availability, "paused");
  ASSERT_TRUE(store_->SetNodeAvailability(id, "", "").ok());
  EXPECT_EQ((*store_->GetNodes({id}))[0].availability, "");
}

TEST_P(StoreContract, LastEventIdIsTheUsersOwn) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  EXPECT_EQ(*store_->LastEventId(alice_), 0);
  const int64_t job = NewJob();
  auto a = store_->AppendEvent({0, alice_, job, "job", "{}", 1});
  auto b = store_->AppendEvent({0, bob, 0, "job", "{}", 2});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*store_->LastEventId(alice_), *a);
  EXPECT_EQ(*store_->LastEventId(bob), *b);
  // The network's events are everyone's: a new stream starts after them too.
  auto w = store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", R"({"worker_id":1})", 3});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*store_->LastEventId(alice_), *w);
  EXPECT_EQ(*store_->LastEventId(bob), *w);
}

TEST_P(StoreContract, TheNetworksEventsOnlyWhenAsked) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  const int64_t job = NewJob();
  const int64_t a1 = *store_->AppendEvent({0, alice_, job, "job", "{}", 1});
  const int64_t w1 = *store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", "{}", 2});
  ASSERT_TRUE(store_->AppendEvent({0, bob, 0, "job", "{}", 3}).ok());
  const int64_t w2 = *store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", "{}", 4});
  const int64_t a2 = *store_->AppendEvent({0, alice_, job, "frame", "{}", 5});
  auto ids = [](const std::vector<domain::Event>& events) {
    std::vector<int64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
  };
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 100, false)), ElementsAre(a1, a2));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 100, true)), ElementsAre(a1, w1, w2, a2));  // never bob's
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, w1, 100, true)), ElementsAre(w2, a2));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 2, true)), ElementsAre(a1, w1));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, job, 0, 100, true)), ElementsAre(a1, a2));  // a job's: its own
}

TEST_P(StoreContract, TransactionCommits) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    auto id = store_->CreateJob(MakeJob(alice_));
    if (!id) return id.error();
    job = *id;
    return store_->PutFrame(FrameOf(job, 1));
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(store_->GetJob(job)->has_value());
  EXPECT_TRUE(store_->GetFrame(job, 1)->has_value());
}

TEST_P(StoreContract, TransactionRollsBackOnError) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    job = *store_->CreateJob(MakeJob(alice_));
    INFERIX_TRY(store_->PutFrame(FrameOf(job, 1)));
    return MakeError(Errc::kInvalidArgument, "no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  ASSERT_NE(job, 0);
  EXPECT_FALSE(store_->GetJob(job)->has_value());
  EXPECT_FALSE(store_->GetFrame(job, 1)->has_value());
  // The store is usable afterwards.
  EXPECT_NE(NewJob(), 0);
}

TEST_P(StoreContract, NestedTransactionIsPartOfTheOuterOne) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    INFERIX_TRY(store_->Transaction([&]() -> Result<void> {
      job = *store_->CreateJob(MakeJob(alice_));
      return Ok();
    }));
    return MakeError(Errc::kInternal, "outer fails");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(store_->GetJob(job)->has_value());
}

TEST_P(StoreContract, FailedStatementInsideTransactionRollsBackEarlierWrites) {
  auto r = store_->Transaction([&]() -> Result<void> {
    INFERIX_TRY(store_->AddUserFile(alice_, kSceneSha, 1));
    auto bad = store_->CreateJob(MakeJob(alice_ + 1000));  // no such user: foreign key
    if (!bad) return bad.error();
    return Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInternal);
  EXPECT_THAT(r.error().message, HasSubstr("database"));
  EXPECT_FALSE(*store_->UserHasFile(alice_, kSceneSha));
}

TEST_P(StoreContract, ExceptionRollsBackAndPropagates) {
  int64_t job = 0;
  EXPECT_THROW((void)store_->Transaction([&]() -> Result<void> {
    job = *store_->CreateJob(MakeJob(alice_));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->GetJob(job)->has_value());
  // Not stuck inside a transaction: a new one commits.
  auto r = store_->Transaction([&]() -> Result<void> { return store_->AddUserFile(alice_, kTexSha, 1); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*store_->UserHasFile(alice_, kTexSha));
}

TEST_P(StoreContract, UsersAndTokens) {
  auto found = store_->FindUserByTokenHash("hash-alice");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alice_);
  EXPECT_EQ((*found)->name, "alice");

  auto unknown = store_->FindUserByTokenHash("nope");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());

  // A second token for the same name is the same user.
  auto again = store_->CreateUser("alice", "hash-alice-2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice-2"))->id, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice"))->id, alice_);

  auto bob = store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_NE(*bob, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-bob"))->name, "bob");

  // A token hash belongs to one user only.
  EXPECT_FALSE(store_->CreateUser("bob", "hash-alice").ok());
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice"))->id, alice_);
}

TEST_P(StoreContract, EnrollmentIsOneTime) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-1", {NodeRole::kVerifier, 0}, 10'000).ok());
  auto first = store_->ConsumeEnrollment("enroll-1", 5'000);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->role, NodeRole::kVerifier);
  auto second = store_->ConsumeEnrollment("enroll-1", 5'001);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

TEST_P(StoreContract, FindingAnEnrollmentDoesNotUseItUp) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-f", {NodeRole::kVerifier, 0}, 10'000).ok());
  for (int i = 0; i < 2; ++i) {
    auto found = store_->FindEnrollment("enroll-f", 5'000);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->role, NodeRole::kVerifier);
  }
  EXPECT_FALSE(store_->FindEnrollment("enroll-f", 10'000)->has_value());  // expired then
  EXPECT_FALSE(store_->FindEnrollment("unknown", 0)->has_value());
  ASSERT_TRUE(store_->ConsumeEnrollment("enroll-f", 5'000)->has_value());
  EXPECT_FALSE(store_->FindEnrollment("enroll-f", 5'000)->has_value());  // used
}

TEST_P(StoreContract, EnrollmentExpires) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-w", {NodeRole::kWorker, 0}, 10'000).ok());
  auto at_expiry = store_->ConsumeEnrollment("enroll-w", 10'000);
  ASSERT_TRUE(at_expiry.ok());
  EXPECT_FALSE(at_expiry->has_value());
  auto late = store_->ConsumeEnrollment("enroll-w", 20'000);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());
  // A refused attempt does not mark the token used.
  auto early = store_->ConsumeEnrollment("enroll-w", 9'999);
  ASSERT_TRUE(early.ok());
  ASSERT_TRUE(early->has_value());
  EXPECT_EQ((*early)->role, NodeRole::kWorker);
}

TEST_P(StoreContract, EnrollmentUnknownOrDuplicate) {
  auto unknown = store_->ConsumeEnrollment("never-created", 0);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  ASSERT_TRUE(store_->CreateEnrollment("dup", {NodeRole::kWorker, 0}, 10).ok());
  EXPECT_FALSE(store_->CreateEnrollment("dup", {NodeRole::kVerifier, 0}, 10).ok());
  EXPECT_EQ((*store_->ConsumeEnrollment("dup", 0))->role, NodeRole::kWorker);
}

// A token made for an owner (issue #17) says whose node it makes, and the node keeps its owner.
TEST_P(StoreContract, EnrollmentCarriesTheOwner) {
  ASSERT_TRUE(store_->CreateEnrollment("owned", {NodeRole::kWorker, alice_}, 10'000).ok());
  auto found = store_->FindEnrollment("owned", 0);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->owner_id, alice_);
  auto grant = store_->ConsumeEnrollment("owned", 0);
  ASSERT_TRUE(grant.ok() && grant->has_value());
  EXPECT_EQ((*grant)->role, NodeRole::kWorker);
  EXPECT_EQ((*grant)->owner_id, alice_);
  Node n;
  n.name = "owned-box";
  n.owner_id = (*grant)->owner_id;
  auto id = store_->CreateNode(n, "node-owned");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ((*store_->GetNode(*id))->owner_id, alice_);
  Node nobodys;
  nobodys.name = "nobodys-box";
  auto other = store_->CreateNode(nobodys, "node-nobody");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*store_->GetNode(*other))->owner_id, 0);
}

TEST_P(StoreContract, NodesRoundTrip) {
  Node w;
  w.name = "gpu-box";
  w.role = NodeRole::kWorker;
  w.public_key = std::string(64, 'a');
  w.capabilities_json = R"({"blender":"3.4.1","gpus":["RTX 4090"]})";
  w.last_seen_ms = 777;
  auto wid = store_->CreateNode(w, "node-hash-w");
  ASSERT_TRUE(wid.ok()) << wid.error().message;
  Node v = w;
  v.name = "checker";
  v.role = NodeRole::kVerifier;
  v.public_key = std::string(64, 'b');
  auto vid = store_->CreateNode(v, "node-hash-v");
  ASSERT_TRUE(vid.ok());
  EXPECT_NE(*wid, *vid);

  auto got = store_->GetNode(*wid);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, *wid);
  EXPECT_EQ((*got)->name, "gpu-box");
  EXPECT_EQ((*got)->role, NodeRole::kWorker);
  EXPECT_EQ((*got)->public_key, std::string(64, 'a'));
  EXPECT_EQ((*got)->capabilities_json, w.capabilities_json);
  EXPECT_EQ((*got)->last_seen_ms, 777);
  EXPECT_FALSE((*got)->banned);
  EXPECT_EQ((*got)->accepted, 0);
  EXPECT_EQ((*got)->rejected, 0);

  auto by_token = store_->FindNodeByTokenHash("node-hash-v");
  ASSERT_TRUE(by_token.ok() && by_token->has_value());
  EXPECT_EQ((*by_token)->id, *vid);
  EXPECT_EQ((*by_token)->role, NodeRole::kVerifier);
  EXPECT_FALSE(store_->FindNodeByTokenHash("node-hash-x")->has_value());
  EXPECT_FALSE(store_->GetNode(*vid + 100)->has_value());

  auto all = store_->ListNodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, *wid);
  EXPECT_EQ((*all)[1].id, *vid);

  // One credential, one node.
  EXPECT_FALSE(store_->CreateNode(w, "node-hash-w").ok());
}

TEST_P(StoreContract, UpdateNode) {
  Node n;
  n.name = "w";
  n.public_key = "k";
  auto id = *store_->CreateNode(n, "h");
  n.id = id;
  n.name = "renamed";
  n.capabilities_json = R"({"threads":8})";
  n.banned = true;
  n.last_seen_ms = 42;
  n.accepted = 7;
  n.rejected = 2;
  ASSERT_TRUE(store_->UpdateNode(n).ok());
  auto got = **store_->GetNode(id);
  EXPECT_EQ(got.name, "renamed");
  EXPECT_EQ(got.capabilities_json, R"({"threads":8})");
  EXPECT_TRUE(got.banned);
  EXPECT_EQ(got.last_seen_ms, 42);
  EXPECT_EQ(got.accepted, 7);
  EXPECT_EQ(got.rejected, 2);
  EXPECT_EQ(got.public_key, "k");  // the key is not changed by updates
}

TEST_P(StoreContract, UserFilesArePerUser) {
  auto bob = *store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 100).ok());
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 100).ok());  // repeated upload is fine
  EXPECT_TRUE(*store_->UserHasFile(alice_, kSceneSha));
  EXPECT_FALSE(*store_->UserHasFile(bob, kSceneSha));
  EXPECT_FALSE(*store_->UserHasFile(alice_, kTexSha));
  ASSERT_TRUE(store_->AddUserFile(bob, kSceneSha, 100).ok());
  EXPECT_TRUE(*store_->UserHasFile(bob, kSceneSha));
}

}  // namespace
}  // namespace inferix::store::contract
