#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "domain/ledger.hpp"

// A property test of the ledger: many random sequences of grants, holds, earnings, releases, refunds,
// forfeits, maturings and replays of earlier keys, with the books checked after every step against a model
// the test keeps from the operations themselves (not from the entries the builders wrote).
namespace inferix::domain {
namespace {

constexpr int kUsers = 5;   // users 1..5
constexpr int kOwners = 3;  // owners 1..3 (an owner is a user too); owner 0: a node nobody owns
constexpr int kSequences = 500;
constexpr int kSteps = 200;

// A frame's price in escrow, as the test dispatched it.
struct OpenHold {
  int64_t user_id = 0;
  int64_t job_id = 0;
  int frame = 0;
  int64_t price = 0;
  int64_t task_id = 0;
};

class LedgerRun {
 public:
  explicit LedgerRun(unsigned seed) : random_(seed) {}

  // One random step, then every invariant; a fatal failure stops the sequence (the caller checks).
  void Step(int step) {
    now_ms_ += Pick(1, 5000);
    const int64_t roll = Pick(0, 99);
    if (roll < 15) {
      DoGrant(step);
    } else if (roll < 45) {
      DoHold();
    } else if (roll < 65) {
      DoEarn();
    } else if (roll < 72) {
      DoReturn(Pick(0, 1) == 0 ? PostingKind::kRelease : PostingKind::kRefund);
    } else if (roll < 77) {
      DoForfeit(step);
    } else if (roll < 85) {
      DoMature(step);
    } else {
      DoReplay();
    }
    if (::testing::Test::HasFatalFailure()) return;
    CheckInvariants();
  }

  // The balances rebuilt from the postings booked equal the ones kept step by step.
  void CheckRebuild() const {
    auto rebuilt = Balances::FromPostings(booked_);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
    EXPECT_EQ(rebuilt->All(), balances_.All());
  }

  // How many postings of each kind were booked, and how many replays and refusals were tried.
  const std::map<std::string, int>& Counts() const { return counts_; }

 private:
  int64_t Pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(random_); }

  // Books `p` (new key): it must pass CheckPosting and be covered, and the balances must move by its entries
  // exactly, every other account unchanged.
  void Book(const Result<Posting>& p) {
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_TRUE(CheckPosting(*p).ok()) << CheckPosting(*p).error().message;
    auto covered = CheckCovered(balances_, *p);
    ASSERT_TRUE(covered.ok()) << covered.error().message;
    std::map<Account, int64_t> expected = balances_.All();
    for (const Entry& e : p->entries) expected[e.account] += e.amount;
    auto applied = ApplyOnce(balances_, keys_, *p);
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    ASSERT_TRUE(*applied) << "key " << p->key << " was new";
    ASSERT_EQ(balances_.All(), expected) << p->key;
    booked_.push_back(*p);
    ++counts_[std::string(ToString(p->kind))];
  }

  void DoGrant(int step) {
    const int64_t user = Pick(1, kUsers);
    const int64_t amount = Pick(1, 20'000'000);
    Book(Grant(user, amount, "grant:" + std::to_string(step), now_ms_));
    granted_[user] += amount;
  }

  void DoHold() {
    OpenHold h;
    h.user_id = Pick(1, kUsers);
    h.job_id = Pick(1, 30);
    h.frame = static_cast<int>(Pick(-3, 250));
    h.price = Pick(0, 3) == 0 ? Pick(1, 9) : Pick(1, 4'000'000);  // some prices too small for any fee
    h.task_id = ++tasks_;
    const std::string key = "hold:job:" + std::to_string(h.job_id) + ":frame:" + std::to_string(h.frame) +
                            ":task:" + std::to_string(h.task_id);
    const int64_t available = balances_.Of(UserAvailable(h.user_id));
    auto hold = Hold(h.user_id, h.job_id, h.frame, h.price, key, now_ms_);
    ASSERT_TRUE(hold.ok()) << hold.error().message;
    if (!CanHold(balances_, h.user_id, h.price).ok()) {
      // Refused exactly when the user lacks the price; the generic check agrees, and nothing is booked.
      ASSERT_LT(available, h.price);
      ASSERT_FALSE(CheckCovered(balances_, *hold).ok());
      ++counts_["refused hold"];
      return;
    }
    ASSERT_GE(available, h.price);
    Book(hold);
    open_.push_back(h);
  }

  OpenHold TakeOpenHold() {
    const auto i = static_cast<size_t>(Pick(0, static_cast<int64_t>(open_.size()) - 1));
    OpenHold h = open_[i];
    open_[i] = open_.back();
    open_.pop_back();
    return h;
  }

  void DoEarn() {
    if (open_.empty()) return;
    const OpenHold h = TakeOpenHold();
    const int64_t owner = Pick(0, kOwners);
    FeeSchedule fees;
    fees.network_ppm = Pick(0, 2) == 0 ? 0 : Pick(0, 400'000);
    fees.verification_ppm = Pick(0, 2) == 0 ? 0 : Pick(0, 600'000);
    if (Pick(0, 20) == 0) fees = {Pick(0, 1'000'000), 0};
    fees.verification_ppm = std::min(fees.verification_ppm, kPartsPerMillion - fees.network_ppm);
    auto earn = Earn(h.user_id, owner, owner * 10 + Pick(1, 9), h.job_id, h.frame, h.price, fees,
                     "earn:task:" + std::to_string(h.task_id), now_ms_);
    ASSERT_TRUE(earn.ok()) << earn.error().message;
    // The fees are the price's shares rounded down; the owner, or the network for a node nobody owns, gets
    // the rest; the escrow pays the whole price.
    const auto floor_share = [&h](int64_t ppm) {
      return static_cast<int64_t>(static_cast<__int128>(h.price) * ppm / kPartsPerMillion);
    };
    std::map<Account, int64_t> want;
    want[UserHeld(h.user_id)] = -h.price;
    want[NetworkFees()] = floor_share(fees.network_ppm);
    want[VerificationCosts()] = floor_share(fees.verification_ppm);
    const int64_t rest = h.price - want[NetworkFees()] - want[VerificationCosts()];
    want[owner == 0 ? NetworkFees() : OwnerPending(owner)] += rest;
    std::map<Account, int64_t> got;
    int64_t paid = 0;
    for (const Entry& e : earn->entries) {
      got[e.account] += e.amount;
      if (e.amount > 0) paid += e.amount;
    }
    std::erase_if(want, [](const auto& kv) { return kv.second == 0; });
    ASSERT_EQ(got, want) << earn->key;
    Book(earn);
    paid_out_[h.user_id] += paid;
  }

  // A release or a refund of one open hold, whole.
  void DoReturn(PostingKind kind) {
    if (open_.empty()) return;
    const OpenHold h = TakeOpenHold();
    const std::string key = std::string(ToString(kind)) + ":task:" + std::to_string(h.task_id);
    Book(kind == PostingKind::kRelease ? Release(h.user_id, h.job_id, h.frame, h.price, key, now_ms_)
                                       : Refund(h.user_id, h.job_id, h.frame, h.price, key, now_ms_));
  }

  void DoForfeit(int step) {
    const int64_t owner = Pick(1, kOwners);
    const int64_t pending = balances_.Of(OwnerPending(owner));
    const std::string key = "forfeit:owner:" + std::to_string(owner) + ":step:" + std::to_string(step);
    if (pending == 0 || Pick(0, 9) == 0) {
      // More than the owner has pending: refused by CheckCovered, nothing booked.
      auto over = Forfeit(owner, owner * 10 + 1, {{Pick(1, kUsers), pending + Pick(1, 1000)}}, key, now_ms_);
      ASSERT_TRUE(over.ok()) << over.error().message;
      ASSERT_FALSE(CheckCovered(balances_, *over).ok());
      ++counts_["refused forfeit"];
      return;
    }
    std::vector<Victim> victims;
    int64_t left = Pick(1, pending);
    while (left > 0) {
      const int64_t amount = Pick(0, 1) == 0 ? left : Pick(1, left);
      victims.push_back({Pick(1, kUsers), amount});
      left -= amount;
    }
    Book(Forfeit(owner, owner * 10 + 1, victims, key, now_ms_));
    for (const Victim& v : victims) forfeited_to_[v.user_id] += v.amount;
  }

  void DoMature(int step) {
    const int64_t owner = Pick(1, kOwners);
    const int64_t pending = balances_.Of(OwnerPending(owner));
    if (pending == 0) return;
    Book(Mature(owner, Pick(1, pending),
                "mature:owner:" + std::to_string(owner) + ":step:" + std::to_string(step), now_ms_));
  }

  // An earlier posting booked again (a retried request): its key is seen, nothing changes.
  void DoReplay() {
    if (booked_.empty()) return;
    const Posting& p = booked_[static_cast<size_t>(Pick(0, static_cast<int64_t>(booked_.size()) - 1))];
    const std::map<Account, int64_t> before = balances_.All();
    auto applied = ApplyOnce(balances_, keys_, p);
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    ASSERT_FALSE(*applied) << "key " << p.key << " was booked twice";
    ASSERT_EQ(balances_.All(), before) << "replaying " << p.key << " changed the balances";
    ++counts_["replay"];
  }

  void CheckInvariants() {
    ASSERT_EQ(balances_.Total(), 0);
    ASSERT_EQ(keys_.size(), booked_.size());  // one booking per key, every booking under its own key
    for (const auto& [account, balance] : balances_.All()) {
      if (account.kind != AccountKind::kIssued) {
        ASSERT_GE(balance, 0) << ToString(account);
      }
    }
    std::map<int64_t, int64_t> held;
    for (const OpenHold& h : open_) held[h.user_id] += h.price;
    int64_t granted = 0;
    int64_t paid_out = 0;
    int64_t forfeited = 0;
    for (int64_t user = 1; user <= kUsers; ++user) {
      const int64_t available = balances_.Of(UserAvailable(user));
      ASSERT_EQ(balances_.Of(UserHeld(user)), held[user]) << "user " << user;
      // What a user was granted is what they hold, have available, and paid for frames, less what forfeits
      // gave them back.
      ASSERT_EQ(granted_[user], available + held[user] + paid_out_[user] - forfeited_to_[user])
          << "user " << user;
      granted += granted_[user];
      paid_out += paid_out_[user];
      forfeited += forfeited_to_[user];
    }
    ASSERT_EQ(balances_.Of(Issued()), -granted);
    // What users paid for frames is with the owners and the network, less what forfeits took back.
    int64_t earned = balances_.Of(NetworkFees()) + balances_.Of(VerificationCosts());
    for (int64_t owner = 1; owner <= kOwners; ++owner) {
      earned += balances_.Of(OwnerPending(owner)) + balances_.Of(OwnerAvailable(owner));
    }
    ASSERT_EQ(earned, paid_out - forfeited);
  }

  std::mt19937 random_;
  int64_t now_ms_ = 1'700'000'000'000;
  int64_t tasks_ = 0;
  Balances balances_;
  std::set<std::string> keys_;
  std::vector<Posting> booked_;
  std::vector<OpenHold> open_;
  std::map<int64_t, int64_t> granted_;       // by user
  std::map<int64_t, int64_t> paid_out_;      // by user: the prices of their frames' earnings
  std::map<int64_t, int64_t> forfeited_to_;  // by user: what forfeits paid them back
  std::map<std::string, int> counts_;
};

TEST(LedgerProperty, RandomSequencesKeepTheBooks) {
  std::map<std::string, int> counts;
  for (unsigned seed = 1; seed <= kSequences; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    LedgerRun run(seed);
    for (int step = 0; step < kSteps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      run.Step(step);
      if (::testing::Test::HasFailure()) return;  // the first failure, with its seed and step
    }
    run.CheckRebuild();
    if (::testing::Test::HasFailure()) return;
    for (const auto& [what, n] : run.Counts()) counts[what] += n;
  }
  // Every kind of step happened often enough for the invariants to have been tried on it.
  for (const char* what : {"grant", "hold", "earn", "release", "refund", "forfeit", "mature", "replay",
                           "refused hold", "refused forfeit"}) {
    EXPECT_GE(counts[what], 1000) << what;
  }
  for (const auto& [what, n] : counts) RecordProperty(what, n);
}

}  // namespace
}  // namespace inferix::domain
