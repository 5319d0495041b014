#include "domain/schedule.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferix::domain {
namespace {

using ::testing::HasSubstr;

constexpr int kMon = 0, kFri = 4, kSat = 5, kSun = 6;
int At(int h, int m = 0) { return h * 60 + m; }

Schedule Parsed(std::string_view text) {
  auto s = ParseSchedule(text);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
  return s ? *s : Schedule{};
}

TEST(ScheduleTest, EveningsPastMidnightOnWeekdaysAndWholeWeekends) {
  const Schedule s = Parsed("Mon-Fri 19:00-08:00; Sat-Sun");
  EXPECT_FALSE(ScheduleAllows(s, kMon, At(18, 59)));
  EXPECT_TRUE(ScheduleAllows(s, kMon, At(19)));
  EXPECT_TRUE(ScheduleAllows(s, kMon + 1, At(7, 59)));  // Monday's evening runs into Tuesday morning
  EXPECT_FALSE(ScheduleAllows(s, kMon + 1, At(8)));
  EXPECT_TRUE(ScheduleAllows(s, kSat, At(12)));  // Friday's evening, then the weekend
  EXPECT_TRUE(ScheduleAllows(s, kSun, At(23, 59)));
  // Sunday's whole day ends at midnight, and Monday's window starts only at 19:00.
  EXPECT_FALSE(ScheduleAllows(s, kMon, At(0, 30)));
  EXPECT_EQ(s.text, "Mon-Fri 19:00-08:00; Sat-Sun");
}

TEST(ScheduleTest, EmptyOrAlwaysAllowsEverything) {
  for (const char* text : {"", "always", "  "}) {
    const Schedule s = Parsed(text);
    EXPECT_TRUE(s.windows.empty());
    EXPECT_TRUE(ScheduleAllows(s, kSun, At(3)));
    EXPECT_EQ(MinutesUntilScheduleChange(s, kSun, At(3)), -1);
  }
}

TEST(ScheduleTest, DayListsWrappingRangesAndCaseAreUnderstood) {
  const Schedule s = Parsed("fri-mon 00:00-24:00; Wed 12:00-13:00");
  EXPECT_TRUE(ScheduleAllows(s, kFri, At(0)));
  EXPECT_TRUE(ScheduleAllows(s, kMon, At(23, 59)));
  EXPECT_FALSE(ScheduleAllows(s, kMon + 1, At(0)));
  EXPECT_TRUE(ScheduleAllows(s, 2, At(12, 30)));
  EXPECT_FALSE(ScheduleAllows(s, 2, At(13)));
  const Schedule list = Parsed("Tue,Thu");
  EXPECT_TRUE(ScheduleAllows(list, 3, At(10)));
  EXPECT_FALSE(ScheduleAllows(list, 2, At(10)));
  EXPECT_TRUE(ScheduleAllows(Parsed("daily 09:00-17:00"), kSun, At(9)));
}

TEST(ScheduleTest, MinutesUntilTheNextChange) {
  const Schedule s = Parsed("Mon-Fri 19:00-08:00");
  EXPECT_EQ(MinutesUntilScheduleChange(s, kMon, At(18)), 60);
  EXPECT_EQ(MinutesUntilScheduleChange(s, kMon, At(19)), 13 * 60);  // until Tuesday 08:00
  EXPECT_EQ(MinutesUntilScheduleChange(s, kSat, At(7)), 60);        // Friday's night ends Saturday 08:00
  EXPECT_EQ(MinutesUntilScheduleChange(s, kSat, At(8)), 59 * 60);   // then Monday 19:00
}

TEST(ScheduleTest, MistakesAreNamed) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {Case{"Mon-Fry 19:00-08:00", "\"Mon-Fry\""}, Case{"Mon 25:00-08:00", "\"25:00\""},
                        Case{"Mon 19:00", "not a range of hours"}, Case{"Mon 19:00-19:00", "same time"},
                        Case{"Mon 7:0x-8:00", "not a time of day"}, Case{";;", "no window"}}) {
    auto s = ParseSchedule(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
    EXPECT_THAT(s.error().message, HasSubstr(c.says)) << c.text;
  }
}

}  // namespace
}  // namespace inferix::domain
