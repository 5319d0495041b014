#include "domain/settlement.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferix::domain {
namespace {

using ::testing::HasSubstr;

Output In(Verdict v, bool credited) {
  Output o;
  o.id = 4;
  o.job_id = 2;
  o.frame = 7;
  o.verdict = v;
  o.credited = credited;
  return o;
}

TEST(Settle, AcceptingAPendingOutputCreditsIt) {
  Output o = In(Verdict::kPending, false);
  auto c = Settle(o, Settlement::kAccept, "checked");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(o.verdict, Verdict::kAccepted);
  EXPECT_TRUE(o.credited);
  EXPECT_EQ(c->from, Verdict::kPending);
  EXPECT_EQ(c->to, Verdict::kAccepted);
  EXPECT_EQ(c->credit, CreditChange::kCredited);
  EXPECT_TRUE(c->Changed());
}

TEST(Settle, TrustingCreditsAndALaterAcceptanceKeepsTheCredit) {
  Output o = In(Verdict::kPending, false);
  auto c = Settle(o, Settlement::kTrust, "layer 1 only");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(o.verdict, Verdict::kTrusted);
  EXPECT_EQ(c->credit, CreditChange::kCredited);
  c = Settle(o, Settlement::kAccept, "re-checked");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(o.verdict, Verdict::kAccepted);
  EXPECT_TRUE(o.credited);
  EXPECT_EQ(c->credit, CreditChange::kNone);  // earned once
}

TEST(Settle, AcceptingAnAcceptedOutputConfirmsIt) {
  Output o = In(Verdict::kAccepted, true);
  auto c = Settle(o, Settlement::kAccept, "second render delivered");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->Changed());
  EXPECT_EQ(o.verdict, Verdict::kAccepted);
  EXPECT_TRUE(o.credited);
}

TEST(Settle, RejectingADeliveredOutputReversesItsCredit) {
  for (Verdict v : {Verdict::kTrusted, Verdict::kAccepted}) {
    Output o = In(v, true);
    auto c = Settle(o, Settlement::kReject, "re-check");
    ASSERT_TRUE(c.ok()) << ToString(v);
    EXPECT_EQ(o.verdict, Verdict::kRejected);
    EXPECT_FALSE(o.credited);
    EXPECT_EQ(c->from, v);
    EXPECT_EQ(c->credit, CreditChange::kReversed);
  }
  Output pending = In(Verdict::kPending, false);
  auto c = Settle(pending, Settlement::kReject, "check");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->credit, CreditChange::kNone);  // nothing was earned
  EXPECT_TRUE(c->Changed());
}

TEST(Settle, DiscardingOnlyPendingOutputs) {
  Output o = In(Verdict::kPending, false);
  auto c = Settle(o, Settlement::kDiscard, "worker caught");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(o.verdict, Verdict::kRejected);
  EXPECT_FALSE(o.credited);
  EXPECT_EQ(c->credit, CreditChange::kNone);
  for (Verdict v : {Verdict::kAccepted, Verdict::kTrusted, Verdict::kRejected}) {
    Output done = In(v, v != Verdict::kRejected);
    auto r = Settle(done, Settlement::kDiscard, "worker caught");
    ASSERT_FALSE(r.ok()) << ToString(v);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_THAT(r.error().message,
                HasSubstr("output 4 (frame 7 of job 2) cannot be discarded (worker caught)"));
    EXPECT_EQ(done.verdict, v);
  }
}

TEST(Settle, IllegalVerdictChangesAreRefusedAndChangeNothing) {
  // A rejected output stays rejected and earns nothing; a trusted one is not trusted twice.
  for (Settlement s : {Settlement::kAccept, Settlement::kTrust, Settlement::kReject}) {
    Output o = In(Verdict::kRejected, false);
    auto r = Settle(o, s, "late");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("the verdict on output 4"));
    EXPECT_EQ(o.verdict, Verdict::kRejected);
    EXPECT_FALSE(o.credited);
  }
  for (Verdict v : {Verdict::kTrusted, Verdict::kAccepted}) {
    Output o = In(v, true);
    EXPECT_FALSE(Settle(o, Settlement::kTrust, "again").ok()) << ToString(v);
    EXPECT_EQ(o.verdict, v);
    EXPECT_TRUE(o.credited);
  }
}

}  // namespace
}  // namespace inferix::domain
