// The stored form of a verification's record: records as the manager has stored them read back typed and
// are written back byte for byte.
#include "manager/verification_json.hpp"

#include "domain/trust.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace inferix::manager {
namespace {

using domain::CheckVerdict;
using domain::Region;
using domain::VerificationRecord;

// Records in the forms the manager stores today (verdicts.cpp before the record was typed wrote them with
// nlohmann's dump, keys sorted).
const char* kFirstCheck =
    R"({"layers":2,"level":0,"regions":[[0,0,64,64],[128,96,192,160]],"verdict":"accepted",)"
    R"("verifier":"verifier-1","verifier_class":"blender 4.2.3 / x86_64 / cpu","verifier_id":3,)"
    R"("worker_class":"blender 4.2.3 / x86_64 / cpu"})";
const char* kTrustedCheck =
    R"({"layers":1,"level":-1,"regions":[],"verdict":"accepted","verifier":"v","verifier_class":"c",)"
    R"("verifier_id":2,"worker_class":"c"})";
const char* kDiscarded = R"({"discarded_because":41})";
const char* kDiscardedThenRejected =
    R"({"discard_check":"rejected","discarded_because":41,"history":[{"discarded_because":41}],"layers":2,)"
    R"("level":0,"regions":[[1,2,3,4]],"verdict":"rejected","verifier":"v","verifier_class":"c",)"
    R"("verifier_id":2,"worker_class":"c"})";
const char* kSettledBySecondRender =
    R"({"history":[{"layers":2,"level":0,"regions":[[0,0,8,8]],"verdict":"inconclusive","verifier":"v",)"
    R"("verifier_class":"c","verifier_id":2,"worker_class":"c"}],"layers":2,"level":1,)"
    R"("matches_second_render":true,"regions":[[0,0,8,8],[8,8,16,16]],"settled_by_output":57,)"
    R"("verdict":"inconclusive","verifier":"v","verifier_class":"c","verifier_id":2,"worker_class":"c"})";
const char* kRechecked =
    R"({"history":[{"layers":1,"level":-1,"rechecked":true,"regions":[],"verdict":"accepted",)"
    R"("verifier":"v","verifier_class":"c","verifier_id":2,"worker_class":"c"}],"layers":2,"level":3,)"
    R"("rechecked":true,"regions":[[0,0,640,480]],"verdict":"accepted","verifier":"v",)"
    R"("verifier_class":"c","verifier_id":2,"worker_class":"c"})";
// Before the manager kept only layers and regions of a verifier's account, other keys were stored too.
const char* kOlderWithOtherKeys =
    R"({"layers":2,"level":0,"note":{"x":[1,2.5,null]},"regions":[{"x0":0}],"scale":0.5,)"
    R"("verdict":"maybe","verifier":"v","verifier_id":-7})";

TEST(VerificationJson, TodaysRecordsReadBackTypedAndWriteBackUnchanged) {
  for (const char* text : {kFirstCheck, kTrustedCheck, kDiscarded, kDiscardedThenRejected,
                           kSettledBySecondRender, kRechecked, kOlderWithOtherKeys}) {
    const VerificationRecord r = VerificationRecordFromJson(text);
    EXPECT_EQ(VerificationRecordToJson(r), text);
    EXPECT_EQ(VerificationRecordFromJson(VerificationRecordToJson(r)), r) << text;
  }
}

TEST(VerificationJson, ACheckIsTyped) {
  const VerificationRecord r = VerificationRecordFromJson(kFirstCheck);
  EXPECT_EQ(r.layers, 2);
  EXPECT_EQ(r.level, 0);
  ASSERT_TRUE(r.regions.has_value());
  EXPECT_EQ(*r.regions, (std::vector<Region>{{0, 0, 64, 64}, {128, 96, 192, 160}}));
  EXPECT_EQ(r.verdict, CheckVerdict::kAccepted);
  EXPECT_EQ(r.verifier, "verifier-1");
  EXPECT_EQ(r.verifier_id, 3);
  EXPECT_EQ(r.verifier_class, "blender 4.2.3 / x86_64 / cpu");
  EXPECT_EQ(r.worker_class, "blender 4.2.3 / x86_64 / cpu");
  EXPECT_FALSE(r.discarded_because.has_value());
  EXPECT_FALSE(r.rechecked);
  EXPECT_TRUE(r.history.empty());
  EXPECT_TRUE(r.unparsed.empty());
  EXPECT_EQ(VerificationRecordFromJson(kTrustedCheck).level, domain::kLayer1Only);
  EXPECT_TRUE(VerificationRecordFromJson(kTrustedCheck).regions->empty());
}

TEST(VerificationJson, TheFlagsAreTyped) {
  const VerificationRecord d = VerificationRecordFromJson(kDiscardedThenRejected);
  EXPECT_EQ(d.discarded_because, 41);
  EXPECT_TRUE(d.discard_check_rejected);
  EXPECT_EQ(d.verdict, CheckVerdict::kRejected);
  ASSERT_EQ(d.history.size(), 1u);
  EXPECT_EQ(d.history[0].discarded_because, 41);
  const VerificationRecord s = VerificationRecordFromJson(kSettledBySecondRender);
  EXPECT_EQ(s.settled_by_output, 57);
  EXPECT_EQ(s.matches_second_render, true);
  EXPECT_EQ(s.level, domain::kMoreRegions);
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].level, domain::kRegions);
  EXPECT_EQ(s.history[0].verdict, CheckVerdict::kInconclusive);
  const VerificationRecord c = VerificationRecordFromJson(kRechecked);
  EXPECT_TRUE(c.rechecked);
  EXPECT_EQ(c.level, domain::kWholeFrame);
  EXPECT_TRUE(c.history[0].rechecked);
  EXPECT_TRUE(s.unparsed.empty() && d.unparsed.empty() && c.unparsed.empty());
}

TEST(VerificationJson, WhatCannotBeTypedIsKeptAsItWas) {
  const VerificationRecord r = VerificationRecordFromJson(kOlderWithOtherKeys);
  EXPECT_EQ(r.layers, 2);
  EXPECT_EQ(r.verifier_id, -7);
  EXPECT_FALSE(r.regions.has_value());  // not rectangles
  EXPECT_FALSE(r.verdict.has_value());  // not a check's verdict
  std::vector<std::string> keys;
  for (const auto& [key, text] : r.unparsed) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"note", "regions", "scale", "verdict"}));
  // A value of a known key that the manager never writes is not read as a flag.
  const VerificationRecord odd = VerificationRecordFromJson(
      R"({"discard_check":"accepted","history":[],"level":4294967296,"rechecked":false})");
  EXPECT_FALSE(odd.discard_check_rejected);
  EXPECT_FALSE(odd.rechecked);
  EXPECT_FALSE(odd.level.has_value());
  EXPECT_TRUE(odd.history.empty());
  EXPECT_EQ(odd.unparsed.size(), 4u);
  EXPECT_EQ(VerificationRecordToJson(odd),
            R"({"discard_check":"accepted","history":[],"level":4294967296,"rechecked":false})");
}

TEST(VerificationJson, NoRecordIsAnEmptyOne) {
  for (const char* text : {"", "{}", "not json", "[1,2]", "null", "\"x\""}) {
    EXPECT_EQ(VerificationRecordFromJson(text), VerificationRecord{}) << text;
  }
  EXPECT_EQ(VerificationRecordToJson(VerificationRecord{}), "{}");
}

TEST(VerificationJson, ANewRecordIsWrittenAsTheManagerAlwaysDid) {
  VerificationRecord check;
  check.layers = 2;
  check.regions = std::vector<Region>{{0, 0, 8, 8}};
  check.level = domain::kRegions;
  check.verifier_id = 2;
  check.verifier = "v";
  check.verifier_class = "c";
  check.worker_class = "c";
  check.verdict = CheckVerdict::kInconclusive;
  const VerificationRecord first = domain::NextRecord(std::nullopt, check);
  check.level = domain::kMoreRegions;
  check.regions = std::vector<Region>{{0, 0, 8, 8}, {8, 8, 16, 16}};
  VerificationRecord second = domain::NextRecord(first, check);
  second.settled_by_output = 57;
  second.matches_second_render = true;
  EXPECT_EQ(VerificationRecordToJson(second), kSettledBySecondRender);
}

}  // namespace
}  // namespace inferix::manager
