#include "client/progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace inferix::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

ProgressView View(int total, int verifying, int delivered, std::optional<double> eta = std::nullopt,
                  int failed = 0, std::string state = "active") {
  ProgressView v;
  v.job_id = 7;
  v.state = std::move(state);
  v.total = total;
  v.verifying = verifying;
  v.delivered = delivered;
  v.failed = failed;
  v.queued = total - verifying - delivered - failed;
  v.eta_s = eta;
  return v;
}

TEST(ViewOfJob, ReadsTheCountsAndTheEta) {
  json job = {{"state", "active"},
              {"progress",
               {{"total", 6},
                {"queued", 1},
                {"rendering", 2},
                {"verifying", 1},
                {"delivered", 2},
                {"failed", 0},
                {"eta_s", 12.4}}}};
  auto v = ViewOfJob(3, job);
  EXPECT_EQ(v.job_id, 3);
  EXPECT_EQ(v.state, "active");
  EXPECT_EQ(v.total, 6);
  EXPECT_EQ(v.rendered(), 3);
  EXPECT_EQ(v.delivered, 2);
  ASSERT_TRUE(v.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*v.eta_s, 12.4);
}

TEST(ViewOfJob, NullAbsentOrNonsenseEtaIsUnknown) {
  json job = {{"state", "queued"}, {"progress", {{"total", 2}, {"eta_s", nullptr}}}};
  EXPECT_FALSE(ViewOfJob(1, job).eta_s.has_value());
  job["progress"].erase("eta_s");
  EXPECT_FALSE(ViewOfJob(1, job).eta_s.has_value());
  job["progress"]["eta_s"] = -5;
  EXPECT_FALSE(ViewOfJob(1, job).eta_s.has_value());
  job["progress"]["eta_s"] = "soon";
  EXPECT_FALSE(ViewOfJob(1, job).eta_s.has_value());
  EXPECT_EQ(ViewOfJob(1, json::object()).total, 0);
  EXPECT_EQ(ViewOfJob(1, json(nullptr)).total, 0);
}

TEST(PlainProgressLine, KeepsTheFormScriptsParse) {
  ProgressView v = View(2, 0, 2, std::nullopt, 0, "completed");
  EXPECT_EQ(PlainProgressLine(v), "job 7 completed: 2/2 delivered, 0 rendering, 0 verifying, 0 queued");
}

TEST(FormatDuration, PicksTwoUnits) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(44.6), "45s");
  EXPECT_EQ(FormatDuration(187), "3m07s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(2 * 86400 + 3 * 3600 + 59), "2d03h");
  EXPECT_EQ(FormatDuration(-1), "--");
  EXPECT_EQ(FormatEta(std::nullopt), "ETA --");
  EXPECT_EQ(FormatEta(65.0), "ETA 1m05s");
}

TEST(ProgressBarText, FullFormAtEightyColumns) {
  std::string text = ProgressBarText(View(6, 1, 3, 12.0), 80);
  EXPECT_LE(text.size(), 79u);
  EXPECT_THAT(text, HasSubstr("job 7 ["));
  EXPECT_THAT(text, HasSubstr("] 4/6 rendered, 3/6 delivered, ETA 12s"));
  EXPECT_THAT(text, Not(HasSubstr("failed")));
  // Delivered cells first, then the rendered ones being verified, then the rest.
  auto open = text.find('[');
  auto close = text.find(']');
  std::string bar = text.substr(open + 1, close - open - 1);
  EXPECT_GE(bar.size(), 10u);
  EXPECT_LE(bar.size(), 40u);
  EXPECT_EQ(bar.find_first_not_of('#'), bar.size() / 2);
  EXPECT_EQ(bar.find_first_not_of("#+"), bar.size() * 4 / 6);
  EXPECT_EQ(bar.find_last_not_of('.'), bar.size() * 4 / 6 - 1);
}

TEST(ProgressBarText, TheReadmeExample) {
  ProgressView v = View(24, 4, 10, 65.0);
  v.job_id = 12;
  EXPECT_EQ(ProgressBarText(v, 80),
            "job 12 [##########+++++...........] 14/24 rendered, 10/24 delivered, ETA 1m05s");
}

TEST(ProgressBarText, ShowsFailuresAndUnknownEta) {
  std::string text = ProgressBarText(View(6, 0, 2, std::nullopt, 1), 120);
  EXPECT_THAT(text, HasSubstr("2/6 rendered, 2/6 delivered, 1 failed, ETA --"));
}

TEST(ProgressBarText, FinalStateHasNoEtaAndAFullBar) {
  std::string text = ProgressBarText(View(6, 0, 6, 0.0, 0, "completed"), 100);
  EXPECT_THAT(text, HasSubstr("job 7 [####"));
  EXPECT_THAT(text, HasSubstr("] 6/6 rendered, 6/6 delivered: completed"));
  EXPECT_THAT(text, Not(HasSubstr("ETA")));
  EXPECT_THAT(text, Not(HasSubstr(".")));
}

TEST(ProgressBarText, NeverWiderThanTheTerminal) {
  for (int columns = 0; columns <= 200; ++columns) {
    for (const auto& v : {View(6, 1, 3, 12.0, 1), View(100000, 5000, 40000, 987654.0), View(0, 0, 0)}) {
      std::string text = ProgressBarText(v, columns);
      EXPECT_LE(static_cast<int>(text.size()), std::max(columns - 1, 0)) << columns << ": " << text;
      EXPECT_EQ(text.find_first_of("\r\n\x1b"), std::string::npos);
    }
  }
}

// The bar does not jump about as the counts grow, the ETA changes and the job ends.
TEST(ProgressBarText, BarKeepsItsPlaceAndWidth) {
  const std::vector<ProgressView> views = {
      View(120, 0, 0, std::nullopt, 0, "queued"), View(120, 3, 0, 5.0),  View(120, 30, 9, 3599.0),
      View(120, 0, 120, 0.0, 0, "completed"),     View(120, 1, 99, 1e6), View(120, 0, 0, 0.0, 0, "canceled")};
  const std::string first = ProgressBarText(views[0], 90);
  for (const auto& v : views) {
    std::string text = ProgressBarText(v, 90);
    EXPECT_EQ(text.find('['), first.find('[')) << text;
    EXPECT_EQ(text.find(']'), first.find(']')) << text;
  }
}

TEST(ProgressBarText, DropsTheBarBeforeTheCounts) {
  ProgressView v = View(6, 1, 3, 12.0);
  std::string wide = ProgressBarText(v, 80);
  std::string narrow = ProgressBarText(v, 50);
  EXPECT_THAT(narrow, Not(HasSubstr("[")));
  EXPECT_EQ(narrow, "job 7: 4/6 rendered, 3/6 delivered, ETA 12s");
  EXPECT_THAT(ProgressBarText(v, 30), HasSubstr("3/6 delivered ETA 12s"));
  EXPECT_EQ(ProgressBarText(v, 10), "3/6 deliv");
}

TEST(ProgressBarText, NoTotalYetDrawsAnEmptyBar) {
  std::string text = ProgressBarText(View(0, 0, 0), 80);
  EXPECT_THAT(text, HasSubstr("[.........."));
  EXPECT_THAT(text, HasSubstr("0/0 delivered"));
}

TEST(EventMessage, WhatNodesAndUsersSaidIsShownEscaped) {
  auto blocked = EventMessage("blocklist", {{"worker", "w\x1b]0;title\x07"}, {"reason", "bad\x1b[2J"}});
  ASSERT_TRUE(blocked.has_value());
  EXPECT_THAT(*blocked, Not(HasSubstr("\x1b")));
  EXPECT_EQ(*blocked, "warning: worker w\\x1b]0;title\\x07 is kept off this job: bad\\x1b[2J");
  auto huge = EventMessage("suspect", {{"message", std::string(1 << 20, 'z')}});
  ASSERT_TRUE(huge.has_value());
  EXPECT_LT(huge->size(), 600u);
}

TEST(EventMessage, RejectionsSuspectsAndBlocklists) {
  EXPECT_EQ(EventMessage("frame", {{"frame", 4}, {"state", "queued"}, {"verdict", "rejected"}}),
            "warning: frame 4 was rejected by verification; another worker renders it again");
  EXPECT_EQ(EventMessage("frame", {{"frame", 4}, {"verdict", "rejected"}, {"message", "render it again"}}),
            "warning: render it again");
  EXPECT_EQ(EventMessage("suspect", {{"frames", {1, 2}}, {"message", "being checked again"}}),
            "warning: being checked again");
  EXPECT_EQ(EventMessage("blocklist", {{"worker", "w1"}, {"reason", "failed 3 tasks"}}),
            "warning: worker w1 is kept off this job: failed 3 tasks");
  EXPECT_FALSE(EventMessage("frame", {{"frame", 4}, {"state", "delivered"}, {"verdict", "accepted"}}));
  EXPECT_FALSE(EventMessage("job", {{"state", "active"}}));
  EXPECT_FALSE(EventMessage("frame", json(nullptr)));
}

TEST(ChooseProgressMode, BarOnlyOnACapableTerminal) {
  EXPECT_EQ(ChooseProgressMode(false, true, nullptr, "xterm-256color"), ProgressMode::kBar);
  EXPECT_EQ(ChooseProgressMode(true, true, nullptr, "xterm"), ProgressMode::kQuiet);
  EXPECT_EQ(ChooseProgressMode(true, false, nullptr, "xterm"), ProgressMode::kQuiet);
  EXPECT_EQ(ChooseProgressMode(false, false, nullptr, "xterm"), ProgressMode::kPlain);
  EXPECT_EQ(ChooseProgressMode(false, true, "1", "xterm"), ProgressMode::kPlain);
  EXPECT_EQ(ChooseProgressMode(false, true, "", "xterm"), ProgressMode::kBar);  // NO_COLOR empty: unset
  EXPECT_EQ(ChooseProgressMode(false, true, nullptr, "dumb"), ProgressMode::kPlain);
  EXPECT_EQ(ChooseProgressMode(false, true, nullptr, nullptr), ProgressMode::kPlain);
  EXPECT_EQ(ChooseProgressMode(false, true, nullptr, ""), ProgressMode::kPlain);
}

TEST(ColumnsOrFallback, IoctlThenColumnsThenEighty) {
  EXPECT_EQ(ColumnsOrFallback(132, "60"), 132);
  EXPECT_EQ(ColumnsOrFallback(0, "60"), 60);
  EXPECT_EQ(ColumnsOrFallback(0, "wide"), 80);
  EXPECT_EQ(ColumnsOrFallback(0, "0"), 80);
  EXPECT_EQ(ColumnsOrFallback(0, nullptr), 80);
}

// A display writing into a string, at a width the test sets.
struct Screen {
  std::vector<std::string> writes;
  int columns = 80;
  ProgressDisplay Make(ProgressMode mode) {
    return ProgressDisplay(
        mode, [this](std::string_view s) { writes.emplace_back(s); }, [this] { return columns; });
  }
  std::string All() const {
    std::string all;
    for (const auto& w : writes) all += w;
    return all;
  }
};

TEST(ProgressDisplay, BarRedrawsInPlaceOnlyOnChange) {
  Screen screen;
  {
    auto d = screen.Make(ProgressMode::kBar);
    d.Update(View(6, 1, 0, 30.0));
    d.Update(View(6, 1, 0, 30.0));  // the same text: nothing written
    d.Update(View(6, 2, 1, 20.0));
    ASSERT_EQ(screen.writes.size(), 2u);
    for (const auto& w : screen.writes) {
      EXPECT_EQ(w.front(), '\r');
      EXPECT_TRUE(w.ends_with("\x1b[K"));
      EXPECT_EQ(w.find('\n'), std::string::npos);
    }
    EXPECT_THAT(screen.writes[1], HasSubstr("3/6 rendered, 1/6 delivered, ETA 20s"));
  }
  // Going out of scope ends the bar with a newline, once.
  EXPECT_EQ(screen.writes.back(), "\n");
  EXPECT_EQ(screen.writes.size(), 3u);
}

TEST(ProgressDisplay, MessageLiftsTheBarAndPutsItBack) {
  Screen screen;
  auto d = screen.Make(ProgressMode::kBar);
  d.Message("warning: before any bar");
  EXPECT_EQ(screen.writes.back(), "warning: before any bar\n");
  d.Update(View(6, 1, 0, 30.0));
  d.Message("warning: frame 2 was rejected");
  const std::string& w = screen.writes.back();
  EXPECT_TRUE(w.starts_with("\r\x1b[Kwarning: frame 2 was rejected\n")) << w;
  EXPECT_TRUE(w.ends_with(ProgressBarText(View(6, 1, 0, 30.0), 80) + "\x1b[K")) << w;
  d.Finish();
  d.Finish();
  EXPECT_EQ(screen.writes.back(), "\n");
  EXPECT_NE(screen.writes[screen.writes.size() - 2], "\n");
}

TEST(ProgressDisplay, FollowsTheWidth) {
  Screen screen;
  auto d = screen.Make(ProgressMode::kBar);
  d.Update(View(6, 1, 0, 30.0));
  screen.columns = 40;
  d.Update(View(6, 1, 0, 30.0));  // same counts, narrower terminal: drawn again to fit
  ASSERT_EQ(screen.writes.size(), 2u);
  EXPECT_LE(screen.writes[1].size(), 1u + 39u + 3u);
}

TEST(ProgressDisplay, PlainPrintsOneLinePerChange) {
  Screen screen;
  {
    auto d = screen.Make(ProgressMode::kPlain);
    d.Update(View(2, 1, 0));
    d.Update(View(2, 1, 0, 5.0));  // only the ETA moved: the plain line has none
    d.Message("warning: something");
    d.Update(View(2, 0, 2, std::nullopt, 0, "completed"));
  }
  EXPECT_EQ(screen.All(),
            "job 7 active: 0/2 delivered, 0 rendering, 1 verifying, 1 queued\n"
            "warning: something\n"
            "job 7 completed: 2/2 delivered, 0 rendering, 0 verifying, 0 queued\n");
  EXPECT_EQ(screen.All().find('\r'), std::string::npos);
}

TEST(ProgressDisplay, QuietWritesNothing) {
  Screen screen;
  {
    auto d = screen.Make(ProgressMode::kQuiet);
    d.Update(View(2, 1, 0));
    d.Message("warning: x");
    d.Finish();
  }
  EXPECT_TRUE(screen.writes.empty());
}

}  // namespace
}  // namespace inferix::client
