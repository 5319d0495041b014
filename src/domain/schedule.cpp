#include "domain/schedule.hpp"

#include <array>
#include <cctype>

namespace inferix::domain {
namespace {

constexpr int kDay = 24 * 60;
constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t from = 0;
  for (;;) {
    const size_t at = s.find(sep, from);
    parts.push_back(Trim(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from)));
    if (at == std::string_view::npos) return parts;
    from = at + 1;
  }
}

int DayIndex(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < kDayNames.size(); ++i) {
    if (lower == kDayNames[i]) return static_cast<int>(i);
  }
  return -1;
}

Result<unsigned> ParseDays(std::string_view text, std::string_view window) {
  if (text == "daily" || text == "Daily") return 0x7Fu;
  unsigned days = 0;
  for (auto part : Split(text, ',')) {
    const size_t dash = part.find('-');
    const int first = DayIndex(Trim(part.substr(0, dash)));
    const int last = dash == std::string_view::npos ? first : DayIndex(Trim(part.substr(dash + 1)));
    if (first < 0 || last < 0) {
      return MakeError(Errc::kInvalidArgument,
                       "schedule: \"" + std::string(part) + "\" in \"" + std::string(window) +
                           "\" is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun, daily)");
    }
    for (int d = first;; d = (d + 1) % 7) {  // Fri-Mon wraps over the weekend
      days |= 1u << d;
      if (d == last) break;
    }
  }
  return days;
}

Result<int> ParseTime(std::string_view text, std::string_view window, bool end) {
  const size_t colon = text.find(':');
  auto digits = [](std::string_view s) {
    if (s.empty() || s.size() > 2) return -1;
    int v = 0;
    for (char c : s) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  const int h = colon == std::string_view::npos ? -1 : digits(text.substr(0, colon));
  const int m = colon == std::string_view::npos ? -1 : digits(text.substr(colon + 1));
  const bool valid = h >= 0 && m >= 0 && m < 60 && (h < 24 || (end && h == 24 && m == 0));
  if (!valid) {
    return MakeError(Errc::kInvalidArgument, "schedule: \"" + std::string(text) + "\" in \"" +
                                                 std::string(window) +
                                                 "\" is not a time of day (HH:MM, 00:00 to 24:00)");
  }
  return h * 60 + m;
}

Result<ScheduleWindow> ParseWindow(std::string_view window) {
  ScheduleWindow w;
  std::string_view days = window;
  const size_t space = window.find_last_of(" \t");
  if (space != std::string_view::npos && window.find(':', space) != std::string_view::npos) {
    days = Trim(window.substr(0, space));
    const std::string_view hours = Trim(window.substr(space + 1));
    const size_t dash = hours.find('-');
    if (dash == std::string_view::npos) {
      return MakeError(Errc::kInvalidArgument, "schedule: \"" + std::string(hours) + "\" in \"" +
                                                   std::string(window) +
                                                   "\" is not a range of hours (19:00-08:00)");
    }
    auto start = ParseTime(hours.substr(0, dash), window, false);
    if (!start) return start.error();
    auto end = ParseTime(hours.substr(dash + 1), window, true);
    if (!end) return end.error();
    if (*start == *end) {
      return MakeError(Errc::kInvalidArgument,
                       "schedule: \"" + std::string(window) + "\" starts and ends at the same time");
    }
    w.start = *start;
    w.end = *end;
  }
  auto mask = ParseDays(days, window);
  if (!mask) return mask.error();
  w.days = *mask;
  return w;
}

}  // namespace

Result<Schedule> ParseSchedule(std::string_view text) {
  Schedule schedule;
  text = Trim(text);
  if (text.empty() || text == "always") return schedule;
  for (auto window : Split(text, ';')) {
    if (window.empty()) continue;  // "Mon-Fri; " and the like
    auto w = ParseWindow(window);
    if (!w) return w.error();
    schedule.windows.push_back(*w);
    schedule.text += (schedule.text.empty() ? "" : "; ") + std::string(window);
  }
  if (schedule.windows.empty())
    return MakeError(Errc::kInvalidArgument, "schedule: no window in \"" + std::string(text) + "\"");
  return schedule;
}

bool ScheduleAllows(const Schedule& schedule, int weekday, int minute) {
  if (schedule.windows.empty()) return true;
  const int yesterday = (weekday + 6) % 7;
  for (const auto& w : schedule.windows) {
    const bool today = (w.days >> weekday & 1u) != 0;
    if (w.start < w.end) {
      if (today && minute >= w.start && minute < w.end) return true;
      continue;
    }
    // Past midnight: from start on one of its days to end on the next day.
    if (today && minute >= w.start) return true;
    if ((w.days >> yesterday & 1u) != 0 && minute < w.end) return true;
  }
  return false;
}

int MinutesUntilScheduleChange(const Schedule& schedule, int weekday, int minute) {
  const bool now = ScheduleAllows(schedule, weekday, minute);
  for (int ahead = 1; ahead <= 7 * kDay; ++ahead) {
    const int total = minute + ahead;
    if (ScheduleAllows(schedule, (weekday + total / kDay) % 7, total % kDay) != now) return ahead;
  }
  return -1;
}

}  // namespace inferix::domain
