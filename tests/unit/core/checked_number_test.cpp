#include "core/checked_number.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace inferix {
namespace {

using nlohmann::json;

std::string IntError(const json& v, int64_t min, int64_t max) {
  auto r = CheckedInteger(v, "n", min, max);
  return r.ok() ? "ok " + std::to_string(*r) : r.error().message;
}

TEST(CheckedInteger, TakesWholeNumbersInRange) {
  EXPECT_EQ(IntError(7, 0, 10), "ok 7");
  EXPECT_EQ(IntError(-3, -5, 10), "ok -3");
  EXPECT_EQ(IntError(4.0, 0, 10), "ok 4");
  EXPECT_EQ(IntError(json(uint64_t{9}), 0, 10), "ok 9");
  EXPECT_EQ(IntError(std::numeric_limits<int64_t>::max(), 0, std::numeric_limits<int64_t>::max()),
            "ok 9223372036854775807");
}

TEST(CheckedInteger, RefusesWhatWouldWrapTruncateOrConvert) {
  const std::string range = "field \"n\" must be a whole number from 0 to 2147483647, not ";
  EXPECT_EQ(IntError(99999999999, 0, 2147483647), range + "99999999999");
  EXPECT_EQ(IntError(json(uint64_t{18446744073709551615ULL}), 0, 2147483647), range + "18446744073709551615");
  EXPECT_EQ(IntError(3.99, 0, 2147483647), range + "3.99");
  EXPECT_EQ(IntError(true, 0, 2147483647), range + "true");
  EXPECT_EQ(IntError("12", 0, 2147483647), range + "a string");
  EXPECT_EQ(IntError(json::array({1}), 0, 2147483647), range + "an array");
  EXPECT_EQ(IntError(json::object(), 0, 2147483647), range + "an object");
  EXPECT_EQ(IntError(-1, 0, 2147483647), range + "-1");
  EXPECT_EQ(IntError(1e19, 0, 2147483647), range + "1e+19");
  EXPECT_EQ(IntError(std::numeric_limits<double>::infinity(), 0, 2147483647),
            range + "a number out of range");
  EXPECT_EQ(IntError(std::numeric_limits<double>::quiet_NaN(), 0, 2147483647),
            range + "a number out of range");
}

TEST(CheckedNumber, TakesFiniteNumbersInRangeAndRefusesTheRest) {
  auto num = [](const json& v) {
    auto r = CheckedNumber(v, "seconds", 0, 3600);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  const std::string range = "field \"seconds\" must be a number from 0 to 3600, not ";
  EXPECT_EQ(num(1.5), "ok");
  EXPECT_EQ(num(0), "ok");
  EXPECT_EQ(num(3600), "ok");
  EXPECT_EQ(num(-0.001), range + "-0.001");
  EXPECT_EQ(num(1e300), range + "1e+300");
  EXPECT_EQ(num(std::numeric_limits<double>::quiet_NaN()), range + "a number out of range");
  EXPECT_EQ(num(std::numeric_limits<double>::infinity()), range + "a number out of range");
  EXPECT_EQ(num(false), range + "false");
  EXPECT_EQ(num(nullptr), range + "null");
}

}  // namespace
}  // namespace inferix
