// The Store contract (tests/unit/store/store_contract.hpp), credits ledger block (issue #18): postings are
// booked once per key, refused when unbalanced or when they would overdraw an account, read back whole, and
// balances are the sums of their entries.
#include "domain/ledger.hpp"
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

using domain::Account;
using domain::Posting;

constexpr int64_t kCredit = domain::kMicrocreditsPerCredit;

Posting Must(Result<Posting> p) {
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? *p : Posting{};
}

TEST_P(StoreContract, APostingIsBookedOncePerKeyAndBalancesAreItsSums) {
  const Posting grant = Must(domain::Grant(alice_, 10 * kCredit, "grant:1", 100));
  auto booked = store_->AppendPosting(grant);
  ASSERT_TRUE(booked.ok()) << booked.error().message;
  EXPECT_TRUE(*booked);
  // The same key again (a retried request): nothing changes, even with other amounts.
  auto again = store_->AppendPosting(Must(domain::Grant(alice_, 99 * kCredit, "grant:1", 200)));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(*again);
  EXPECT_EQ(*store_->AccountBalance(domain::UserAvailable(alice_)), 10 * kCredit);
  EXPECT_EQ(*store_->AccountBalance(domain::Issued()), -10 * kCredit);
  EXPECT_EQ(*store_->AccountBalance(domain::UserHeld(alice_)), 0);  // never used

  ASSERT_TRUE(store_->AppendPosting(Must(domain::Hold(alice_, 7, 3, 2 * kCredit, "hold:7:3", 300))).ok());
  auto balances = store_->ListBalances();
  ASSERT_TRUE(balances.ok()) << balances.error().message;
  int64_t total = 0;
  std::map<Account, int64_t> by_account;
  for (const auto& e : *balances) {
    total += e.amount;
    by_account[e.account] = e.amount;
  }
  EXPECT_EQ(total, 0);
  EXPECT_EQ(by_account[domain::UserAvailable(alice_)], 8 * kCredit);
  EXPECT_EQ(by_account[domain::UserHeld(alice_)], 2 * kCredit);
}

TEST_P(StoreContract, APostingThatWouldOverdrawAnAccountIsRefusedWhole) {
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Grant(alice_, 5, "grant:a", 1))).ok());
  auto hold = store_->AppendPosting(Must(domain::Hold(alice_, 1, 1, 6, "hold:1:1", 2)));
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(hold.error().code, Errc::kConflict);
  EXPECT_NE(hold.error().message.find("user_available:" + std::to_string(alice_)), std::string::npos)
      << hold.error().message;
  EXPECT_EQ(*store_->AccountBalance(domain::UserAvailable(alice_)), 5);
  EXPECT_EQ(*store_->AccountBalance(domain::UserHeld(alice_)), 0);
  // Refused inside a transaction, the transaction goes on: what else it wrote commits.
  ASSERT_TRUE(store_
                  ->Transaction([&]() -> Result<void> {
                    EXPECT_FALSE(
                        store_->AppendPosting(Must(domain::Hold(alice_, 1, 2, 6, "hold:1:2", 3))).ok());
                    auto ok = store_->AppendPosting(Must(domain::Hold(alice_, 1, 3, 5, "hold:1:3", 3)));
                    if (!ok) return ok.error();
                    return Ok();
                  })
                  .ok());
  EXPECT_EQ(*store_->AccountBalance(domain::UserHeld(alice_)), 5);
  // The key of a refused posting was not used up.
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Grant(alice_, 6, "grant:b", 4))).ok());
  EXPECT_TRUE(*store_->AppendPosting(Must(domain::Hold(alice_, 1, 2, 6, "hold:1:2", 5))));
}

TEST_P(StoreContract, AnUnbalancedPostingIsRefused) {
  Posting p = Must(domain::Grant(alice_, 5, "grant:x", 1));
  p.entries.front().amount += 1;
  auto r = store_->AppendPosting(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  auto balances = store_->ListBalances();
  ASSERT_TRUE(balances.ok());
  EXPECT_TRUE(balances->empty());
}

TEST_P(StoreContract, PostingsReadBackWholeNewestFirstByUserAndJob) {
  auto bob = store_->CreateUser("bob", "hash-bob-ledger");
  ASSERT_TRUE(bob.ok());
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Grant(alice_, 100, "g:alice", 1))).ok());
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Grant(*bob, 100, "g:bob", 2))).ok());
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Hold(alice_, 4, 1, 30, "h:4:1", 3))).ok());
  ASSERT_TRUE(store_->AppendPosting(Must(domain::Hold(alice_, 5, 1, 20, "h:5:1", 4))).ok());
  Posting earn = Must(domain::Earn(alice_, *bob, 9, 4, 1, 30, {100'000, 50'000}, "e:4:1", 5));
  ASSERT_TRUE(store_->AppendPosting(earn).ok());

  auto alices = store_->ListPostings(alice_, 0, 100);
  ASSERT_TRUE(alices.ok()) << alices.error().message;
  std::vector<std::string> keys;
  for (const auto& p : *alices) keys.push_back(p.key);
  EXPECT_THAT(keys, ::testing::ElementsAre("e:4:1", "h:5:1", "h:4:1", "g:alice"));
  const Posting& read = alices->front();
  EXPECT_EQ(read.kind, domain::PostingKind::kEarn);
  EXPECT_EQ(read.job_id, 4);
  EXPECT_EQ(read.frame, 1);
  EXPECT_EQ(read.node_id, 9);
  EXPECT_EQ(read.created_ms, 5);
  EXPECT_EQ(read.memo, earn.memo);
  EXPECT_EQ(read.entries, earn.entries);  // every entry, in order

  auto job4 = store_->ListPostings(alice_, 4, 100);
  ASSERT_TRUE(job4.ok());
  ASSERT_EQ(job4->size(), 2U);
  EXPECT_EQ(job4->back().key, "h:4:1");
  auto bobs = store_->ListPostings(*bob, 0, 1);  // the owner's earning is on bob's account too
  ASSERT_TRUE(bobs.ok());
  ASSERT_EQ(bobs->size(), 1U);
  EXPECT_EQ(bobs->front().key, "e:4:1");
  auto all = store_->ListPostings(0, 0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5U);
  EXPECT_EQ(*store_->AccountBalance(domain::OwnerPending(*bob)), 30 - 3 - 1);
}

}  // namespace
}  // namespace inferix::store::contract
