#include "domain/frame_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

namespace inferix::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<int> Range(int first, int last, int step = 1) {
  std::vector<int> v;
  for (int f = first; f <= last; f += step) v.push_back(f);
  return v;
}

std::vector<int> Parse(std::string_view spec) {
  auto r = ParseFrameSpec(spec);
  EXPECT_TRUE(r.ok()) << "\"" << spec << "\": " << r.error().message;
  return r.ok() ? *r : std::vector<int>{};
}

// The message of a spec that must be refused.
std::string Refused(std::string_view spec, size_t max_frames = kMaxFramesPerJob) {
  auto r = ParseFrameSpec(spec, max_frames);
  EXPECT_FALSE(r.ok()) << "\"" << spec << "\" was accepted";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << spec;
  // Every refusal quotes the spec and shows what to write instead.
  EXPECT_THAT(r.error().message, HasSubstr("frame spec")) << spec;
  EXPECT_THAT(r.error().message, HasSubstr("1-250")) << spec;
  return r.error().message;
}

TEST(ParseFrameSpec, SingleFrame) {
  EXPECT_THAT(Parse("7"), ElementsAre(7));
  EXPECT_THAT(Parse("0"), ElementsAre(0));
  EXPECT_THAT(Parse("-3"), ElementsAre(-3));
}

TEST(ParseFrameSpec, Range) {
  EXPECT_EQ(Parse("1-250"), Range(1, 250));
  EXPECT_THAT(Parse("5-5"), ElementsAre(5));
}

TEST(ParseFrameSpec, List) {
  std::vector<int> want = {1, 5};
  auto tail = Range(10, 20);
  want.insert(want.end(), tail.begin(), tail.end());
  EXPECT_EQ(Parse("1,5,10-20"), want);
}

TEST(ParseFrameSpec, Step) {
  EXPECT_EQ(Parse("1-100x5"), Range(1, 100, 5));
  EXPECT_THAT(Parse("1-10x3"), ElementsAre(1, 4, 7, 10));
  EXPECT_THAT(Parse("1-10X4"), ElementsAre(1, 5, 9));
  EXPECT_THAT(Parse("1-10x1"), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  EXPECT_THAT(Parse("1-10x100"), ElementsAre(1));  // a step beyond the range leaves the first frame
}

TEST(ParseFrameSpec, BlenderDotDotRange) {
  EXPECT_EQ(Parse("1..10"), Range(1, 10));
  EXPECT_THAT(Parse("-2..2"), ElementsAre(-2, -1, 0, 1, 2));
  EXPECT_THAT(Parse("1..9x4"), ElementsAre(1, 5, 9));
}

TEST(ParseFrameSpec, NegativeFrames) {
  EXPECT_THAT(Parse("-5--1"), ElementsAre(-5, -4, -3, -2, -1));
  EXPECT_THAT(Parse("-3,2"), ElementsAre(-3, 2));
  EXPECT_THAT(Parse("-2-2"), ElementsAre(-2, -1, 0, 1, 2));
  EXPECT_THAT(Parse("-10--1x3"), ElementsAre(-10, -7, -4, -1));
}

TEST(ParseFrameSpec, Spaces) {
  EXPECT_THAT(Parse(" 1, 5 ,\t10-12 "), ElementsAre(1, 5, 10, 11, 12));
  EXPECT_THAT(Parse("  3  "), ElementsAre(3));
}

TEST(ParseFrameSpec, DuplicatesMergedAndSorted) {
  EXPECT_THAT(Parse("10,1,5,1"), ElementsAre(1, 5, 10));
  EXPECT_THAT(Parse("5-8,1-6"), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(Parse("3,3,3"), ElementsAre(3));
  EXPECT_THAT(Parse("1-10x2,1-10x3"), ElementsAre(1, 3, 4, 5, 7, 9, 10));
}

TEST(ParseFrameSpec, BlenderLimitsAreAccepted) {
  EXPECT_THAT(Parse("1048574"), ElementsAre(kMaxFrameNumber));
  EXPECT_THAT(Parse("-1048574"), ElementsAre(-kMaxFrameNumber));
  EXPECT_THAT(Parse("-1048574-1048574x1048574"), ElementsAre(-kMaxFrameNumber, 0, kMaxFrameNumber));
}

TEST(ParseFrameSpec, ExactlyTheFrameLimit) {
  auto frames = Parse("1-100000");
  ASSERT_EQ(frames.size(), kMaxFramesPerJob);
  EXPECT_EQ(frames.front(), 1);
  EXPECT_EQ(frames.back(), 100000);
}

TEST(ParseFrameSpec, TooManyFrames) {
  EXPECT_THAT(Refused("1-100001"), HasSubstr("more than 100000 frames"));
  EXPECT_THAT(Refused("1-1000000"), HasSubstr("more than 100000 frames"));
  // A smaller limit is honoured.
  EXPECT_THAT(Refused("1-11", 10), HasSubstr("more than 10 frames"));
  auto ok = ParseFrameSpec("1-10", 10);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 10u);
}

TEST(ParseFrameSpec, BeyondBlendersLimit) {
  EXPECT_THAT(Refused("1-1000000000"), HasSubstr("Blender's limit"));
  EXPECT_THAT(Refused("1048575"), HasSubstr("Blender's limit"));
  EXPECT_THAT(Refused("-1048575"), HasSubstr("Blender's limit"));
  EXPECT_THAT(Refused("-2000000--1999999"), HasSubstr("Blender's limit"));
}

TEST(ParseFrameSpec, ReversedRange) {
  EXPECT_THAT(Refused("5-1"), HasSubstr("ends before it starts"));
  EXPECT_THAT(Refused("-1--5"), HasSubstr("ends before it starts"));
  EXPECT_THAT(Refused("10..1"), HasSubstr("ends before it starts"));
}

TEST(ParseFrameSpec, BadStep) {
  EXPECT_THAT(Refused("1-10x0"), HasSubstr("step must be 1 or more"));
  EXPECT_THAT(Refused("1-10x-2"), HasSubstr("step must be 1 or more"));
  EXPECT_THAT(Refused("1-10x"), HasSubstr("step"));
  EXPECT_THAT(Refused("1-10xa"), HasSubstr("step"));
  EXPECT_THAT(Refused("1-10x2x3"), HasSubstr("step"));
  EXPECT_THAT(Refused("1-10x99999999999999999999"), HasSubstr("step"));
  Refused("1-10y2");
}

TEST(ParseFrameSpec, HugeStepDoesNotWrapAround) {
  // A step near the 64-bit limit must not overflow the frame counter into negative frames.
  EXPECT_THAT(Parse("1-10x9223372036854775807"), ElementsAre(1));
  EXPECT_THAT(Parse("1048570-1048574x9223372036854775000"), ElementsAre(1048570));
  EXPECT_THAT(Parse("1..3x9223372036854775807,2"), ElementsAre(1, 2));
}

TEST(ParseFrameSpec, Malformed) {
  EXPECT_THAT(Refused(""), HasSubstr("empty"));
  EXPECT_THAT(Refused("   "), HasSubstr("empty"));
  EXPECT_THAT(Refused(","), HasSubstr("empty item"));
  EXPECT_THAT(Refused("1,,2"), HasSubstr("empty item"));
  EXPECT_THAT(Refused("1,"), HasSubstr("empty item"));
  EXPECT_THAT(Refused(",1"), HasSubstr("empty item"));
  EXPECT_THAT(Refused("1-"), HasSubstr("range without an end"));
  EXPECT_THAT(Refused("1.."), HasSubstr("range without an end"));
  EXPECT_THAT(Refused("abc"), HasSubstr("\"abc\" is not a frame number"));
  EXPECT_THAT(Refused("x0"), HasSubstr("not a frame number"));
  EXPECT_THAT(Refused("5x2"), HasSubstr("unexpected \"x2\""));
  EXPECT_THAT(Refused("1-5a"), HasSubstr("unexpected"));
  EXPECT_THAT(Refused("1 - 5"), HasSubstr("unexpected"));
  EXPECT_THAT(Refused("1;2"), HasSubstr("unexpected"));
  EXPECT_THAT(Refused("+5"), HasSubstr("not a frame number"));
  EXPECT_THAT(Refused("1.5"), HasSubstr("unexpected"));
}

TEST(ParseFrameSpec, OverflowingNumbers) {
  Refused("99999999999999999999");
  Refused("-99999999999999999999");
  Refused("1-99999999999999999999");
  // Fits in 64 bits but not in Blender's range.
  EXPECT_THAT(Refused("9223372036854775807"), HasSubstr("Blender's limit"));
  EXPECT_THAT(Refused("-9223372036854775807-0"), HasSubstr("Blender's limit"));
}

TEST(ParseFrameSpec, MessageQuotesTheSpec) { EXPECT_THAT(Refused("5-1"), HasSubstr("\"5-1\"")); }

TEST(ParseFrameSpec, VeryLongSpec) {
  std::string spec;
  while (spec.size() <= 4096) spec += "1,";
  spec += "1";
  EXPECT_THAT(Refused(spec), HasSubstr("longer than 4096"));
  // The message shows only the start of such a spec.
  EXPECT_LT(Refused(spec).size(), 300u);
}

}  // namespace
}  // namespace inferix::domain
