#include "domain/ledger.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

// The builders, CheckPosting and Balances one by one; ledger_property_test.cpp runs them together.
namespace inferix::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Posting Plain(std::vector<Entry> entries) {
  Posting p;
  p.key = "test:1";
  p.entries = std::move(entries);
  return p;
}

TEST(LedgerNames, RoundTrip) {
  for (AccountKind k : {AccountKind::kUserAvailable, AccountKind::kUserHeld, AccountKind::kOwnerPending,
                        AccountKind::kOwnerAvailable, AccountKind::kNetworkFees,
                        AccountKind::kVerificationCosts, AccountKind::kIssued}) {
    EXPECT_EQ(ParseAccountKind(ToString(k)), k) << ToString(k);
  }
  for (PostingKind k : {PostingKind::kGrant, PostingKind::kHold, PostingKind::kEarn, PostingKind::kRelease,
                        PostingKind::kRefund, PostingKind::kForfeit, PostingKind::kMature}) {
    EXPECT_EQ(ParsePostingKind(ToString(k)), k) << ToString(k);
  }
  EXPECT_EQ(ToString(AccountKind::kUserAvailable), "user_available");
  EXPECT_EQ(ToString(AccountKind::kVerificationCosts), "verification_costs");
  EXPECT_EQ(ToString(PostingKind::kMature), "mature");
  EXPECT_EQ(ParseAccountKind("User_Available"), std::nullopt);
  EXPECT_EQ(ParseAccountKind(""), std::nullopt);
  EXPECT_EQ(ParsePostingKind("payout"), std::nullopt);
  EXPECT_EQ(ToString(UserHeld(12)), "user_held:12");
  EXPECT_EQ(ToString(NetworkFees()), "network_fees");
}

TEST(Grant, IssuesCreditsToTheUser) {
  auto p = Grant(3, 5 * kMicrocreditsPerCredit, "grant:1", 1000);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PostingKind::kGrant);
  EXPECT_EQ(p->key, "grant:1");
  EXPECT_EQ(p->created_ms, 1000);
  EXPECT_THAT(p->entries, ElementsAre(Entry{Issued(), -5'000'000}, Entry{UserAvailable(3), 5'000'000}));
  EXPECT_TRUE(CheckPosting(*p).ok());
}

TEST(Grant, RefusesWhatCannotBeBooked) {
  for (int64_t amount : {int64_t{0}, int64_t{-1}, kMin}) {
    auto p = Grant(3, amount, "grant:1", 0);
    ASSERT_FALSE(p.ok()) << amount;
    EXPECT_EQ(p.error().code, Errc::kInvalidArgument);
    EXPECT_THAT(p.error().message, HasSubstr("positive number of micro-credits"));
  }
  EXPECT_FALSE(Grant(0, 1, "grant:1", 0).ok());
  auto no_key = Grant(3, 1, "", 0);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(no_key.error().message, HasSubstr("idempotency key"));
}

TEST(Hold, MovesThePriceIntoEscrow) {
  auto p = Hold(3, 12, 5, 2'500'000, "hold:job:12:frame:5:task:40", 7);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PostingKind::kHold);
  EXPECT_EQ(p->job_id, 12);
  EXPECT_EQ(p->frame, 5);
  EXPECT_THAT(p->entries, ElementsAre(Entry{UserAvailable(3), -2'500'000}, Entry{UserHeld(3), 2'500'000}));
  EXPECT_TRUE(Hold(3, 12, -5, 1, "hold:negative-frame", 7).ok());  // Blender's frames may be negative
  EXPECT_FALSE(Hold(3, 12, 5, 0, "k", 7).ok());
  EXPECT_FALSE(Hold(3, 12, 5, -2, "k", 7).ok());
  EXPECT_FALSE(Hold(3, 0, 5, 2, "k", 7).ok());
  EXPECT_FALSE(Hold(-3, 12, 5, 2, "k", 7).ok());
}

TEST(Hold, CanHoldSaysWhatIsAvailableAndWhatIsNeeded) {
  Balances b;
  ASSERT_TRUE(b.Apply(*Grant(3, 1'500'000, "grant:1", 0)).ok());
  EXPECT_TRUE(CanHold(b, 3, 1'500'000).ok());
  auto refused = CanHold(b, 3, 1'500'001);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kConflict);
  EXPECT_THAT(refused.error().message, HasSubstr("user 3 has 1500000 micro-credits available"));
  EXPECT_THAT(refused.error().message, HasSubstr("needs 1500001"));
  EXPECT_FALSE(CanHold(b, 4, 1).ok());  // a user never granted anything has nothing
}

TEST(Earn, SplitsThePriceBetweenOwnerAndFees) {
  const FeeSchedule fees{50'000, 20'000};  // 5% and 2%
  auto p = Earn(3, 8, 21, 12, 5, 1'000'000, fees, "earn:output:77", 9);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PostingKind::kEarn);
  EXPECT_EQ(p->node_id, 21);
  EXPECT_EQ(p->job_id, 12);
  EXPECT_EQ(p->frame, 5);
  EXPECT_THAT(p->entries, ElementsAre(Entry{UserHeld(3), -1'000'000}, Entry{OwnerPending(8), 930'000},
                                      Entry{NetworkFees(), 50'000}, Entry{VerificationCosts(), 20'000}));
  EXPECT_TRUE(CheckPosting(*p).ok());
}

TEST(Earn, OddPricesRoundTheFeesDownAndTheOwnerGetsTheRemainder) {
  const FeeSchedule fees{50'000, 20'000};
  // 999,999 * 5% = 49,999.95 and * 2% = 19,999.98: the fees are 49,999 and 19,999, the owner gets the rest.
  auto p = Earn(3, 8, 21, 12, 5, 999'999, fees, "earn:1", 0);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_THAT(p->entries, ElementsAre(Entry{UserHeld(3), -999'999}, Entry{OwnerPending(8), 930'001},
                                      Entry{NetworkFees(), 49'999}, Entry{VerificationCosts(), 19'999}));
  // A price too small for any fee: the fees round to zero and are left out, the owner gets it all.
  auto tiny = Earn(3, 8, 21, 12, 5, 13, fees, "earn:2", 0);
  ASSERT_TRUE(tiny.ok()) << tiny.error().message;
  EXPECT_THAT(tiny->entries, ElementsAre(Entry{UserHeld(3), -13}, Entry{OwnerPending(8), 13}));
}

TEST(Earn, SplitPriceIsExactForEveryPrice) {
  const std::vector<FeeSchedule> schedules{
      {0, 0},       {1, 1},         {50'000, 20'000}, {333'333, 333'333},
      {999'999, 1}, {1'000'000, 0}, {0, 1'000'000},   {123'457, 654'321}};
  std::vector<int64_t> prices{0, 1, 2, 3, 7, 999'999, 1'000'001, 123'456'789, kMax, kMax - 1, kMax / 3};
  for (int64_t p = 1; p < 3'000'000; p = p * 3 + 1) prices.push_back(p);
  for (const FeeSchedule& fees : schedules) {
    for (int64_t price : prices) {
      const EarnShares s = SplitPrice(price, fees);
      auto exact = [price](int64_t ppm) {
        return static_cast<int64_t>(static_cast<__int128>(price) * ppm / kPartsPerMillion);
      };
      EXPECT_EQ(s.network, exact(fees.network_ppm)) << price;
      EXPECT_EQ(s.verification, exact(fees.verification_ppm)) << price;
      EXPECT_EQ(static_cast<__int128>(s.owner) + s.network + s.verification, price) << price;
      // The owner gets the exact share of what the fees leave, plus less than two micro-credits of rounding.
      const __int128 owner_exact_floor = static_cast<__int128>(price) *
                                         (kPartsPerMillion - fees.network_ppm - fees.verification_ppm) /
                                         kPartsPerMillion;
      EXPECT_GE(s.owner, owner_exact_floor) << price;
      EXPECT_LE(s.owner, owner_exact_floor + 2) << price;
    }
  }
}

TEST(Earn, ANodeNobodyOwnsPaysItsShareToTheNetwork) {
  auto p = Earn(3, 0, 21, 12, 5, 999'999, FeeSchedule{50'000, 20'000}, "earn:1", 0);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_THAT(p->entries, ElementsAre(Entry{UserHeld(3), -999'999}, Entry{NetworkFees(), 980'000},
                                      Entry{VerificationCosts(), 19'999}));
  auto no_fees = Earn(3, 0, 21, 12, 5, 10, FeeSchedule{}, "earn:2", 0);
  ASSERT_TRUE(no_fees.ok()) << no_fees.error().message;
  EXPECT_THAT(no_fees->entries, ElementsAre(Entry{UserHeld(3), -10}, Entry{NetworkFees(), 10}));
}

TEST(Earn, FeesOfTheWholePriceLeaveTheOwnerOut) {
  auto p = Earn(3, 8, 21, 12, 5, 1'000'001, FeeSchedule{600'000, 400'000}, "earn:1", 0);
  ASSERT_TRUE(p.ok()) << p.error().message;
  // 600,000.6 and 400,000.4 round down; the 1 micro-credit left is the owner's.
  EXPECT_THAT(p->entries, ElementsAre(Entry{UserHeld(3), -1'000'001}, Entry{OwnerPending(8), 1},
                                      Entry{NetworkFees(), 600'000}, Entry{VerificationCosts(), 400'000}));
  auto whole = Earn(3, 8, 21, 12, 5, 1'000'000, FeeSchedule{600'000, 400'000}, "earn:2", 0);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_THAT(whole->entries, ElementsAre(Entry{UserHeld(3), -1'000'000}, Entry{NetworkFees(), 600'000},
                                          Entry{VerificationCosts(), 400'000}));
}

TEST(Earn, RefusesFeesAboveThePriceAndBadInput) {
  for (const FeeSchedule& fees : {FeeSchedule{600'000, 400'001}, FeeSchedule{1'000'001, 0},
                                  FeeSchedule{-1, 0}, FeeSchedule{0, -5}, FeeSchedule{kMax, kMax}}) {
    auto p = Earn(3, 8, 21, 12, 5, 1'000, fees, "earn:1", 0);
    ASSERT_FALSE(p.ok()) << fees.network_ppm << " " << fees.verification_ppm;
    EXPECT_EQ(p.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(CheckFeeSchedule(fees).ok());
  }
  auto over = CheckFeeSchedule(FeeSchedule{600'000, 400'001});
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.error().message, HasSubstr("more than the whole price"));
  EXPECT_FALSE(Earn(3, 8, 21, 12, 5, 0, FeeSchedule{}, "earn:1", 0).ok());
  EXPECT_FALSE(Earn(3, 8, 21, 12, 5, -7, FeeSchedule{}, "earn:1", 0).ok());
  EXPECT_FALSE(Earn(3, -8, 21, 12, 5, 7, FeeSchedule{}, "earn:1", 0).ok());
  EXPECT_FALSE(Earn(3, 8, 0, 12, 5, 7, FeeSchedule{}, "earn:1", 0).ok());
  EXPECT_FALSE(Earn(0, 8, 21, 12, 5, 7, FeeSchedule{}, "earn:1", 0).ok());
  EXPECT_FALSE(Earn(3, 8, 21, 12, 5, 7, FeeSchedule{}, "", 0).ok());
}

TEST(ReleaseAndRefund, GiveTheHoldBack) {
  auto r = Release(3, 12, 5, 2'500'000, "release:task:40", 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, PostingKind::kRelease);
  EXPECT_THAT(r->entries, ElementsAre(Entry{UserHeld(3), -2'500'000}, Entry{UserAvailable(3), 2'500'000}));
  auto f = Refund(3, 12, 5, 2'500'000, "refund:job:12:frame:5", 1);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->kind, PostingKind::kRefund);
  EXPECT_EQ(f->entries, r->entries);
  EXPECT_THAT(f->memo, HasSubstr("failed on every worker"));
  EXPECT_FALSE(Release(3, 12, 5, 0, "k", 1).ok());
  EXPECT_FALSE(Refund(3, 12, 5, -1, "k", 1).ok());
  EXPECT_FALSE(Refund(3, 12, 5, 1, "", 1).ok());
}

TEST(Forfeit, PaysTheVictimsFromTheOwnersPendingEarnings) {
  auto p = Forfeit(8, 21, {{5, 300}, {3, 1'000}, {5, 200}}, "forfeit:node:21", 4);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PostingKind::kForfeit);
  EXPECT_EQ(p->node_id, 21);
  // Victims merged per user and in user order.
  EXPECT_THAT(p->entries, ElementsAre(Entry{OwnerPending(8), -1'500}, Entry{UserAvailable(3), 1'000},
                                      Entry{UserAvailable(5), 500}));
  EXPECT_TRUE(CheckPosting(*p).ok());
}

TEST(Forfeit, RefusesWhatCannotBeBooked) {
  auto unowned = Forfeit(0, 21, {{3, 1}}, "forfeit:1", 0);
  ASSERT_FALSE(unowned.ok());
  EXPECT_THAT(unowned.error().message, HasSubstr("no owner"));
  EXPECT_FALSE(Forfeit(8, 21, {}, "forfeit:1", 0).ok());
  EXPECT_FALSE(Forfeit(8, 21, {{3, 0}}, "forfeit:1", 0).ok());
  EXPECT_FALSE(Forfeit(8, 21, {{3, -4}}, "forfeit:1", 0).ok());
  EXPECT_FALSE(Forfeit(8, 21, {{0, 4}}, "forfeit:1", 0).ok());
  EXPECT_FALSE(Forfeit(8, 21, {{3, kMax}, {4, 1}}, "forfeit:1", 0).ok());  // the total overflows
  EXPECT_FALSE(Forfeit(8, 21, {{3, 4}}, "", 0).ok());
}

TEST(Mature, MovesPendingEarningsToAvailable) {
  auto p = Mature(8, 930'000, "mature:earn:output:77", 5);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PostingKind::kMature);
  EXPECT_THAT(p->entries, ElementsAre(Entry{OwnerPending(8), -930'000}, Entry{OwnerAvailable(8), 930'000}));
  EXPECT_FALSE(Mature(0, 1, "k", 5).ok());
  EXPECT_FALSE(Mature(8, 0, "k", 5).ok());
}

TEST(CheckPosting, RefusesMalformedPostings) {
  auto refused = [](const Posting& p, std::string_view why) {
    auto r = CheckPosting(p);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
      EXPECT_THAT(r.error().message, HasSubstr(std::string(why)));
    }
  };
  EXPECT_TRUE(CheckPosting(Plain({{Issued(), -5}, {UserAvailable(1), 5}})).ok());
  refused(Plain({{Issued(), -5}, {UserAvailable(1), 4}}), "unbalanced: it credits 4 and debits 5");
  refused(Plain({{Issued(), -5}}), "at least two");
  refused(Plain({}), "at least two");
  refused(Plain({{Issued(), -5}, {UserAvailable(1), 5}, {UserHeld(1), 0}}),
          "account user_held:1 has a zero amount");
  refused(Plain({{Issued(), -5}, {UserAvailable(1), 2}, {UserAvailable(1), 3}}),
          "account user_available:1 appears twice");
  refused(Plain({{Account{AccountKind::kIssued, 4}, -5}, {UserAvailable(1), 5}}), "belongs to no user");
  refused(Plain({{Issued(), -5}, {UserAvailable(0), 5}}), "needs a positive user id");
  refused(Plain({{Issued(), -5}, {OwnerPending(-2), 5}}), "needs a positive user id");
  refused(Plain({{Issued(), kMin}, {UserAvailable(1), kMax}, {UserHeld(1), 1}}), "more than an int64");
  refused(Plain({{Issued(), kMin}, {UserAvailable(1), kMax}}), "debits 9223372036854775808");
  EXPECT_TRUE(CheckPosting(Plain({{UserAvailable(1), kMax}, {UserHeld(1), -kMax}})).ok());
  Posting no_key = Plain({{Issued(), -5}, {UserAvailable(1), 5}});
  no_key.key.clear();
  refused(no_key, "idempotency key");
}

TEST(Balances, AreTheSumsOfTheEntries) {
  Balances b;
  EXPECT_EQ(b.Total(), 0);
  EXPECT_EQ(b.Of(UserAvailable(3)), 0);
  ASSERT_TRUE(b.Apply(*Grant(3, 10'000'000, "grant:1", 0)).ok());
  ASSERT_TRUE(b.Apply(*Hold(3, 12, 5, 2'000'000, "hold:1", 0)).ok());
  ASSERT_TRUE(b.Apply(*Earn(3, 8, 21, 12, 5, 2'000'000, FeeSchedule{50'000, 20'000}, "earn:1", 0)).ok());
  ASSERT_TRUE(b.Apply(*Mature(8, 1'000'000, "mature:1", 0)).ok());
  EXPECT_EQ(b.Of(UserAvailable(3)), 8'000'000);
  EXPECT_EQ(b.Of(UserHeld(3)), 0);
  EXPECT_EQ(b.Of(OwnerPending(8)), 860'000);
  EXPECT_EQ(b.Of(OwnerAvailable(8)), 1'000'000);
  EXPECT_EQ(b.Of(NetworkFees()), 100'000);
  EXPECT_EQ(b.Of(VerificationCosts()), 40'000);
  EXPECT_EQ(b.Of(Issued()), -10'000'000);
  EXPECT_EQ(b.Total(), 0);
  EXPECT_EQ(b.All().size(), 7u);  // user_held:3 is there, at 0
}

TEST(Balances, TotalDoesNotOverflow) {
  Balances b;
  ASSERT_TRUE(b.Apply(Plain({{Issued(), -kMax}, {UserAvailable(1), kMax}})).ok());
  Posting second = Plain({{UserHeld(2), -kMax}, {UserAvailable(2), kMax}});
  second.key = "test:2";
  ASSERT_TRUE(b.Apply(second).ok());
  // In Account order the first two balances are kMax each: a running int64 sum would overflow there.
  EXPECT_EQ(b.Total(), 0);
}

TEST(Balances, ApplyRefusesAndChangesNothing) {
  Balances b;
  ASSERT_TRUE(b.Apply(*Grant(3, 10, "grant:1", 0)).ok());
  const auto before = b.All();
  auto unbalanced = b.Apply(Plain({{UserAvailable(3), -10}, {UserHeld(3), 9}}));
  ASSERT_FALSE(unbalanced.ok());
  EXPECT_THAT(unbalanced.error().message, HasSubstr("unbalanced"));
  EXPECT_EQ(b.All(), before);
  // Would overflow user 3's available balance: the first entry alone fits, so a half-applied posting would
  // show if Apply stored as it went.
  auto overflow = b.Apply(Plain({{UserHeld(3), -(kMax - 5)}, {UserAvailable(3), kMax - 5}}));
  ASSERT_FALSE(overflow.ok());
  EXPECT_THAT(overflow.error().message, HasSubstr("user_available:3"));
  EXPECT_EQ(b.All(), before);
  EXPECT_EQ(b.Total(), 0);
}

TEST(Balances, FromPostingsRebuildsAndRefusesADuplicateKey) {
  std::vector<Posting> postings{*Grant(3, 10, "grant:1", 0), *Hold(3, 12, 5, 4, "hold:1", 0),
                                *Release(3, 12, 5, 4, "release:1", 0)};
  auto b = Balances::FromPostings(postings);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->Of(UserAvailable(3)), 10);
  EXPECT_EQ(b->Of(UserHeld(3)), 0);
  postings.push_back(*Grant(3, 10, "grant:1", 0));
  auto twice = Balances::FromPostings(postings);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::kConflict);
  EXPECT_THAT(twice.error().message, HasSubstr("\"grant:1\""));
  postings.back() = Plain({{Issued(), -1}, {UserAvailable(3), 2}});
  EXPECT_FALSE(Balances::FromPostings(postings).ok());
}

TEST(Balances, CheckCoveredRefusesOverdraftsExceptOfTheIssuance) {
  Balances b;
  ASSERT_TRUE(b.Apply(*Grant(3, 10, "grant:1", 0)).ok());
  EXPECT_TRUE(CheckCovered(b, *Grant(4, kMax, "grant:2", 0)).ok());  // the issuance may go negative
  EXPECT_TRUE(CheckCovered(b, *Hold(3, 12, 5, 10, "hold:1", 0)).ok());
  auto hold = CheckCovered(b, *Hold(3, 12, 5, 11, "hold:1", 0));
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(hold.error().code, Errc::kConflict);
  EXPECT_THAT(hold.error().message, HasSubstr("takes 11 micro-credits from user_available:3, which has 10"));
  EXPECT_FALSE(CheckCovered(b, *Mature(8, 1, "mature:1", 0)).ok());
  EXPECT_FALSE(CheckCovered(b, *Forfeit(8, 21, {{3, 1}}, "forfeit:1", 0)).ok());
  EXPECT_FALSE(CheckCovered(b, *Earn(3, 8, 21, 12, 5, 1, FeeSchedule{}, "earn:1", 0)).ok());
  EXPECT_FALSE(CheckCovered(b, Plain({{UserAvailable(3), kMin}, {Issued(), kMax}})).ok());
}

TEST(ApplyOnce, BooksAKeyOnce) {
  Balances b;
  std::set<std::string> keys;
  const Posting grant = *Grant(3, 10, "grant:1", 0);
  auto first = ApplyOnce(b, keys, grant);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  auto again = ApplyOnce(b, keys, grant);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  // The key names the event: a different posting under a booked key is not booked either.
  auto other = ApplyOnce(b, keys, *Grant(3, 99, "grant:1", 0));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);
  EXPECT_EQ(b.Of(UserAvailable(3)), 10);
  // A refused posting does not take its key.
  auto bad = ApplyOnce(b, keys, Plain({{Issued(), -1}, {UserAvailable(3), 2}}));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(keys, std::set<std::string>{"grant:1"});
}

}  // namespace
}  // namespace inferix::domain

namespace inferix::domain {
namespace {

TEST(CreditsText, ParsesWhatPeopleWrite) {
  EXPECT_EQ(ParseCredits("12"), 12'000'000);
  EXPECT_EQ(ParseCredits("12.5"), 12'500'000);
  EXPECT_EQ(ParseCredits("0.000001"), 1);
  EXPECT_EQ(ParseCredits(".5"), 500'000);
  EXPECT_EQ(ParseCredits("0"), 0);
  EXPECT_EQ(ParseCredits("9223372036854.775807"), std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", ".", "12.", "-1", "+1", "1e3", "0.0000001", "1,5", " 1", "abc",
                          "9223372036854.775808", "99999999999999999999"}) {
    EXPECT_EQ(ParseCredits(bad), std::nullopt) << bad;
  }
}

TEST(CreditsText, FormatsExactlyAndShortest) {
  EXPECT_EQ(FormatCredits(12'500'000), "12.5");
  EXPECT_EQ(FormatCredits(3), "0.000003");
  EXPECT_EQ(FormatCredits(-2'000'000), "-2");
  EXPECT_EQ(FormatCredits(0), "0");
  EXPECT_EQ(FormatCredits(std::numeric_limits<int64_t>::min()), "-9223372036854.775808");
  for (int64_t v : {int64_t{1}, int64_t{10}, int64_t{1'000'001}, int64_t{123'456'789}}) {
    EXPECT_EQ(ParseCredits(FormatCredits(v)), v);
  }
}

}  // namespace
}  // namespace inferix::domain
