#include "domain/trust.hpp"

#include <gtest/gtest.h>

namespace inferix::domain {
namespace {

TEST(CheckRateTest, NewWorkersAreAlwaysChecked) {
  TrustPolicy p;
  for (int n = 0; n < p.new_worker_checks; ++n) EXPECT_EQ(CheckRate(p, n), 1.0) << n;
}

TEST(CheckRateTest, FallsWithTheStreakAndKeepsTheBound) {
  TrustPolicy p;  // bound 0.01, floor 0.05
  EXPECT_NEAR(CheckRate(p, 30), 0.9, 1e-12);
  EXPECT_NEAR(CheckRate(p, 150), 0.5, 1e-12);
  EXPECT_NEAR(CheckRate(p, 285), 0.05, 1e-12);
  EXPECT_EQ(CheckRate(p, 100000), 0.05);
  // The bound: (3 / n) * (1 - rate) never exceeds `bound` once a worker is past its first checks.
  for (int n = p.new_worker_checks; n < 5000; ++n)
    EXPECT_LE(3.0 / n * (1.0 - CheckRate(p, n)), p.bound + 1e-12) << n;
  // Monotone: more clean checks never mean more checking.
  for (int n = 1; n < 1000; ++n) EXPECT_LE(CheckRate(p, n), CheckRate(p, n - 1)) << n;
}

TEST(CheckRateTest, ZeroBoundChecksEverything) {
  TrustPolicy p;
  p.bound = 0.0;
  EXPECT_EQ(CheckRate(p, 1000000), 1.0);
}

TEST(RegionsForTest, EscalationAddsRegions) {
  TrustPolicy p;
  EXPECT_EQ(RegionsFor(p, kLayer1Only).regions, 0);
  EXPECT_EQ(RegionsFor(p, kLayer1Only).detail_regions, 0);
  EXPECT_EQ(RegionsFor(p, kRegions).regions, 2);
  EXPECT_EQ(RegionsFor(p, kRegions).detail_regions, 1);
  EXPECT_EQ(RegionsFor(p, kMoreRegions).regions, 6);
  EXPECT_EQ(RegionsFor(p, kMoreRegions).detail_regions, 3);
  EXPECT_EQ(RegionsFor(p, kReplicaCheck).regions, 2);
}

TEST(ShouldBanTest, Threshold) {
  TrustPolicy p;
  EXPECT_FALSE(ShouldBan(p, 2));
  EXPECT_TRUE(ShouldBan(p, 3));
  p.ban_after = 0;
  EXPECT_FALSE(ShouldBan(p, 100));
}

TEST(DeterminismClassTest, NamesEveryPart) {
  EXPECT_EQ(DeterminismClass("3.4.1", "x86_64", "cpu"), "blender 3.4.1 / x86_64 / cpu");
  EXPECT_EQ(DeterminismClass("", "", ""), "blender unknown / unknown / unknown");
}

TEST(RecordCheckTest, PassedChecksBuildTrustAndAFailedOneResetsIt) {
  Node w;
  for (int i = 0; i < 4; ++i) RecordCheck(w, CheckOutcome::kPassed);
  EXPECT_EQ(w.accepted, 4);
  EXPECT_EQ(w.rejected, 0);
  EXPECT_EQ(w.streak, 4);
  RecordCheck(w, CheckOutcome::kFailed);
  EXPECT_EQ(w.accepted, 4);
  EXPECT_EQ(w.rejected, 1);
  EXPECT_EQ(w.streak, 0);
  EXPECT_EQ(CheckRate(TrustPolicy{}, w.streak), 1.0);  // checked like a new worker again
  RecordCheck(w, CheckOutcome::kPassed);
  EXPECT_EQ(w.accepted, 5);
  EXPECT_EQ(w.streak, 1);
  EXPECT_FALSE(w.banned);  // banning is ShouldBan's, over the recent window
}

}  // namespace
}  // namespace inferix::domain
