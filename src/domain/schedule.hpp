#pragma once
// An owner's hours: when a worker may take work (`inferix worker --schedule "Mon-Fri 19:00-08:00; Sat-Sun"`).
// Pure: the caller gives the local weekday and time.
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::domain {

/// One window of a schedule: on each of its days from `start` to `end` (minutes after midnight). A window
/// whose end is not after its start runs past midnight into the next day ("19:00-08:00"); start 0 and end
/// 1440 is the whole day.
struct ScheduleWindow {
  unsigned days = 0;  ///< bit d set: the window starts on weekday d (0 = Monday ... 6 = Sunday)
  int start = 0;
  int end = 24 * 60;
};

/// When work may be taken. No windows: always.
struct Schedule {
  std::vector<ScheduleWindow> windows;
  std::string text;  ///< as the owner wrote it (normalised spacing)
};

/// Parses "Mon-Fri 19:00-08:00; Sat-Sun": windows separated by ';', each a list of days or day ranges
/// separated by ',' (Mon, Tue, Wed, Thu, Fri, Sat, Sun in any case; "daily" for every day), optionally
/// followed by HH:MM-HH:MM (24:00 allowed as an end). "" or "always": no restriction. Errors name the part
/// not understood.
Result<Schedule> ParseSchedule(std::string_view text);

/// Whether the schedule allows work on `weekday` (0 = Monday) at `minute` (0..1439) local time.
bool ScheduleAllows(const Schedule& schedule, int weekday, int minute);

/// Minutes from (weekday, minute) until the schedule next changes between allowed and not (at most a week;
/// -1 when it never changes).
int MinutesUntilScheduleChange(const Schedule& schedule, int weekday, int minute);

}  // namespace inferix::domain
