// The owner's gate with an injected clock and load, and the load probe against a real CPU-hungry process
// that is not the worker's.
#include "agent/owner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <vector>

#include "node_fakes.hpp"

namespace inferix::agent {
namespace {

using ::testing::HasSubstr;
using Time = std::chrono::system_clock::time_point;

class OwnerGateTest : public ::testing::Test {
 protected:
  OwnerGate Gate(OwnerRules rules) {
    return OwnerGate(
        std::move(rules), dir_.path(), [this] { return now_; },
        [this](bool gpus) {
          asked_gpus_ = gpus;
          return load_;
        });
  }
  void Advance(int64_t ms) { now_ += std::chrono::milliseconds(ms); }

  inferix::testing::TempFolder dir_;
  Time now_ = Time(std::chrono::hours(24 * 365 * 50));
  LoadSample load_;
  bool asked_gpus_ = false;
};

TEST_F(OwnerGateTest, TheOwnersLoadPausesItAfterBusySecondsAndQuietSecondsResumeIt) {
  OwnerRules rules;
  rules.busy_cpu_percent = 50;
  rules.busy_ms = 3'000;
  rules.quiet_ms = 5'000;
  OwnerGate gate = Gate(rules);
  EXPECT_EQ(gate.Now().availability, Availability::kAvailable);
  load_.cpu_percent = 80;
  for (int i = 0; i < 3; ++i) {  // above for 0, 1 and 2 s: not yet
    Advance(1'000);
    EXPECT_EQ(gate.Now().availability, Availability::kAvailable) << i;
  }
  Advance(1'000);
  const OwnerState busy = gate.Now();
  EXPECT_EQ(busy.availability, Availability::kOwnerBusy);
  EXPECT_TRUE(busy.hand_back);
  EXPECT_THAT(busy.reason, HasSubstr("other programs use 80% of its CPU (above 50% for 3 s)"));
  // A moment below does not resume it; quiet for 5 s does.
  load_.cpu_percent = 10;
  Advance(1'000);
  EXPECT_EQ(gate.Now().availability, Availability::kOwnerBusy);
  load_.cpu_percent = 90;
  Advance(1'000);
  EXPECT_EQ(gate.Now().availability, Availability::kOwnerBusy);
  load_.cpu_percent = 10;
  for (int i = 0; i < 5; ++i) {
    Advance(1'000);
    EXPECT_EQ(gate.Now().availability, Availability::kOwnerBusy) << i;
  }
  Advance(1'000);
  EXPECT_EQ(gate.Now().availability, Availability::kAvailable);
}

TEST_F(OwnerGateTest, TheLoadIsSampledAtMostOnceASecondAndTheGpuOnlyWhileNoSlotRenders) {
  OwnerRules rules;
  rules.busy_gpu_percent = 30;
  rules.busy_ms = 1'000;
  OwnerGate gate = Gate(rules);
  load_.gpu_percent = 95;
  gate.Now();
  EXPECT_TRUE(asked_gpus_);
  gate.Rendering(true);
  Advance(1'000);
  load_.gpu_percent = 0;  // what a card answers is not asked while a slot renders on it
  gate.Now();
  EXPECT_FALSE(asked_gpus_);
  gate.Rendering(false);
  load_.gpu_percent = 95;
  Advance(500);
  EXPECT_EQ(gate.Now().availability, Availability::kAvailable);  // within the second: not sampled again
  Advance(500);
  gate.Now();
  Advance(1'000);
  const OwnerState s = gate.Now();
  EXPECT_EQ(s.availability, Availability::kOwnerBusy);
  EXPECT_THAT(s.reason, HasSubstr("a lent card is 95% busy"));
}

TEST_F(OwnerGateTest, PauseAndDrainComeFromTheControlFileAndPauseWins) {
  OwnerGate gate = Gate({});
  ASSERT_TRUE(WriteOwnerControl(dir_.path(), {false, true}));
  Advance(1'000);
  OwnerState s = gate.Now();
  EXPECT_EQ(s.availability, Availability::kDraining);
  EXPECT_FALSE(s.hand_back);  // the tasks in hand are finished
  ASSERT_TRUE(WriteOwnerControl(dir_.path(), {true, true}));
  Advance(1'000);
  s = gate.Now();
  EXPECT_EQ(s.availability, Availability::kPaused);
  EXPECT_TRUE(s.hand_back);
  ASSERT_TRUE(WriteOwnerControl(dir_.path(), {}));
  Advance(1'000);
  EXPECT_EQ(gate.Now().availability, Availability::kAvailable);
  auto read = ReadOwnerControl(dir_.path());
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->paused);
  inferix::testing::WriteAll(dir_.path() / "control.json", "[not an object");
  EXPECT_FALSE(ReadOwnerControl(dir_.path()).ok());
}

TEST_F(OwnerGateTest, OutsideItsHoursItTakesNoWorkAndSaysWhen) {
  OwnerRules rules;
  // Every day but the one the clock is on (local time), so that the test does not depend on the time zone.
  const std::time_t t = std::chrono::system_clock::to_time_t(now_);
  std::tm local{};
  localtime_r(&t, &local);
  const char* days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const int today = (local.tm_wday + 6) % 7;
  auto schedule = domain::ParseSchedule(std::string(days[(today + 1) % 7]) + "-" + days[(today + 6) % 7]);
  ASSERT_TRUE(schedule);
  rules.schedule = *schedule;
  OwnerGate gate = Gate(rules);
  const OwnerState s = gate.Now();
  EXPECT_EQ(s.availability, Availability::kOutsideHours);
  EXPECT_FALSE(s.hand_back);
  EXPECT_THAT(s.reason,
              HasSubstr("outside its hours (" + rules.schedule.text + "); it takes work again in "));
}

TEST_F(OwnerGateTest, TheManagerIsToldOfEachChangeAndRemindedWhileNoWorkIsTaken) {
  OwnerGate gate = Gate({});
  gate.Now();
  auto first = gate.TakeReport(20'000);
  ASSERT_TRUE(first.has_value());  // the first state is always told
  EXPECT_EQ(first->availability, Availability::kAvailable);
  EXPECT_FALSE(gate.TakeReport(20'000).has_value());
  ASSERT_TRUE(WriteOwnerControl(dir_.path(), {true, false}));
  Advance(1'000);
  gate.Now();
  auto paused = gate.TakeReport(20'000);
  ASSERT_TRUE(paused.has_value());
  EXPECT_EQ(paused->availability, Availability::kPaused);
  Advance(10'000);
  gate.Now();
  EXPECT_FALSE(gate.TakeReport(20'000).has_value());
  Advance(10'000);
  gate.Now();
  EXPECT_TRUE(gate.TakeReport(20'000).has_value());  // reminded
  gate.ReportFailed();
  EXPECT_TRUE(gate.TakeReport(20'000).has_value());  // told again after a failure
}

// A folder laid out as /proc: the machine's jiffies, and processes with their parent and CPU jiffies.
void WriteProc(const std::filesystem::path& proc, int64_t total, int64_t idle,
               const std::vector<std::array<int64_t, 3>>& procs) {  // pid, ppid, jiffies
  std::filesystem::create_directories(proc);
  inferix::testing::WriteAll(proc / "stat", "cpu  " + std::to_string(total - idle) + " 0 0 " +
                                                std::to_string(idle) + " 0 0 0 0 0 0\ncpu0 1 2 3\n");
  for (const auto& [pid, ppid, jiffies] : procs) {
    std::filesystem::create_directories(proc / std::to_string(pid));
    // The name may hold spaces and parentheses; utime is field 14, stime 15, cutime 16, cstime 17.
    inferix::testing::WriteAll(proc / std::to_string(pid) / "stat",
                               std::to_string(pid) + " (a (b) c) S " + std::to_string(ppid) +
                                   " 1 1 0 -1 0 0 0 0 0 " + std::to_string(jiffies) + " 0 0 0 20 0\n");
  }
}

TEST_F(OwnerGateTest, TheLoadProbeCountsOtherProgramsAndNotThisProcessTree) {
  const auto proc = dir_.path() / "proc";
  // This worker (100) has Blender's sandbox (101) and Blender (102); 200 is the owner's game.
  WriteProc(proc, 1'000, 800, {{100, 1, 10}, {101, 100, 0}, {102, 101, 50}, {200, 1, 40}});
  ProcLoadProbe probe({}, proc, 100);
  EXPECT_EQ(probe.Sample(false).cpu_percent, 0);  // the first sample has nothing to compare with
  // 100 jiffies later, 80 of them busy: Blender took 30, the game 50.
  WriteProc(proc, 1'100, 820, {{100, 1, 10}, {101, 100, 0}, {102, 101, 80}, {200, 1, 90}});
  EXPECT_DOUBLE_EQ(probe.Sample(false).cpu_percent, 50);
  // Blender exits: its jiffies move to its parent's reaped children, and are not the owner's.
  std::filesystem::remove_all(proc / "102");
  WriteProc(proc, 1'200, 900, {{100, 1, 10}, {101, 100, 90}, {200, 1, 100}});
  EXPECT_DOUBLE_EQ(probe.Sample(false).cpu_percent, 10);
}

}  // namespace
}  // namespace inferix::agent
