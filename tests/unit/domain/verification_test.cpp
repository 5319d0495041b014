#include "domain/verification.hpp"

#include <gtest/gtest.h>

namespace inferix::domain {
namespace {

TEST(CheckVerdict, NamesRoundTrip) {
  for (CheckVerdict v : {CheckVerdict::kAccepted, CheckVerdict::kRejected, CheckVerdict::kInconclusive}) {
    EXPECT_EQ(ParseCheckVerdict(ToString(v)), v);
  }
  EXPECT_FALSE(ParseCheckVerdict("trusted").has_value());  // an output's verdict, not a check's
  EXPECT_FALSE(ParseCheckVerdict("Accepted").has_value());
  EXPECT_FALSE(ParseCheckVerdict("").has_value());
}

VerificationRecord Check(int level, CheckVerdict verdict) {
  VerificationRecord r;
  r.layers = 2;
  r.regions = std::vector<Region>{{0, 0, 64, 64}};
  r.level = level;
  r.verifier_id = 3;
  r.verifier = "v1";
  r.verdict = verdict;
  return r;
}

TEST(NextRecord, TheFirstCheckIsTheRecord) {
  const auto check = Check(0, CheckVerdict::kAccepted);
  EXPECT_EQ(NextRecord(std::nullopt, check), check);
}

TEST(NextRecord, CarriesWhatStaysTrueAndKeepsTheHistory) {
  VerificationRecord first = Check(0, CheckVerdict::kInconclusive);
  VerificationRecord second = NextRecord(first, Check(1, CheckVerdict::kInconclusive));
  ASSERT_EQ(second.history.size(), 1u);
  EXPECT_EQ(second.history[0], first);
  second.settled_by_output = 8;
  second.matches_second_render = true;
  second.rechecked = true;
  second.discard_check_rejected = true;
  second.unparsed = {{"history", "7"}, {"note", "\"x\""}};
  const VerificationRecord third = NextRecord(second, Check(3, CheckVerdict::kAccepted));
  EXPECT_EQ(third.level, 3);
  EXPECT_EQ(third.verdict, CheckVerdict::kAccepted);
  EXPECT_EQ(third.settled_by_output, 8);
  EXPECT_TRUE(third.rechecked);
  EXPECT_FALSE(third.matches_second_render.has_value());  // the comparison belonged to that check
  EXPECT_FALSE(third.discard_check_rejected);
  EXPECT_TRUE(third.unparsed.empty());
  ASSERT_EQ(third.history.size(), 2u);
  EXPECT_EQ(third.history[0], first);
  EXPECT_EQ(third.history[1].level, 1);
  EXPECT_TRUE(third.history[1].history.empty());
  ASSERT_EQ(third.history[1].unparsed.size(), 1u);  // its own history is the new record's
  EXPECT_EQ(third.history[1].unparsed[0].first, "note");
}

TEST(NextRecord, ADiscardedOutputStaysDiscarded) {
  VerificationRecord discarded;
  discarded.discarded_because = 41;
  const auto next = NextRecord(discarded, Check(0, CheckVerdict::kRejected));
  EXPECT_EQ(next.discarded_because, 41);
  ASSERT_EQ(next.history.size(), 1u);
  EXPECT_EQ(next.history[0], discarded);
}

TEST(CountOf, WhatCountsTowardsABan) {
  VerificationRecord checked = Check(0, CheckVerdict::kRejected);
  VerificationRecord discarded;
  discarded.discarded_because = 5;
  VerificationRecord discarded_then_rejected = discarded;
  discarded_then_rejected.discard_check_rejected = true;
  EXPECT_EQ(CountOf(Verdict::kAccepted, checked), CheckCount::kAccepted);
  EXPECT_EQ(CountOf(Verdict::kRejected, checked), CheckCount::kRejected);
  EXPECT_EQ(CountOf(Verdict::kRejected, VerificationRecord{}), CheckCount::kRejected);
  EXPECT_EQ(CountOf(Verdict::kRejected, discarded), CheckCount::kNotChecked);
  EXPECT_EQ(CountOf(Verdict::kRejected, discarded_then_rejected), CheckCount::kRejected);
  EXPECT_EQ(CountOf(Verdict::kTrusted, checked), CheckCount::kNotChecked);
  EXPECT_EQ(CountOf(Verdict::kPending, checked), CheckCount::kNotChecked);
}

}  // namespace
}  // namespace inferix::domain
