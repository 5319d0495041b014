#include "agent/owner.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "agent/run_probe.hpp"
#include "core/files.hpp"

namespace inferix::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using SysClock = std::chrono::system_clock;

constexpr auto kSampleEvery = std::chrono::seconds(1);

fs::path ControlFile(const fs::path& data_dir) { return data_dir / "control.json"; }

// The machine's total and busy jiffies (/proc/stat's first line; idle and iowait are not busy).
std::pair<int64_t, int64_t> MachineJiffies(const fs::path& proc) {
  std::ifstream in(proc / "stat");
  std::string cpu;
  in >> cpu;
  int64_t total = 0;
  int64_t idle = 0;
  int64_t v = 0;
  for (int i = 0; i < 8 && in >> v; ++i) {  // user nice system idle iowait irq softirq steal
    total += v;
    if (i == 3 || i == 4) idle += v;
  }
  return {total, total - idle};
}

// This process tree's CPU jiffies: each process descending from this one, with the children it reaped
// (a Blender that exited moves into its parent's count rather than vanishing).
int64_t OwnTreeJiffies(const fs::path& proc, int64_t self) {
  struct Proc {
    int64_t ppid = 0;
    int64_t jiffies = 0;
  };
  std::map<int64_t, Proc> procs;
  std::error_code ec;
  for (fs::directory_iterator it(proc, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(it->path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    Proc p;
    int64_t skip = 0;
    int64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
    rest >> state >> p.ppid;
    for (int i = 0; i < 9; ++i) rest >> skip;  // pgrp .. cmajflt
    rest >> utime >> stime >> cutime >> cstime;
    if (!rest) continue;
    p.jiffies = utime + stime + cutime + cstime;
    procs[std::stoll(name)] = p;
  }
  std::set<int64_t> ours = {self};
  for (bool grew = true; grew;) {  // descendants, whatever order /proc lists them in
    grew = false;
    for (const auto& [pid, p] : procs) {
      if (ours.count(pid) == 0 && ours.count(p.ppid) != 0) grew = ours.insert(pid).second || grew;
    }
  }
  int64_t sum = 0;
  for (int64_t pid : ours) {
    auto it = procs.find(pid);
    if (it != procs.end()) sum += it->second.jiffies;
  }
  return sum;
}

// "00000000:41:00.0" (nvidia-smi) and "0000:41:00" (Device::pci_bus) name the same card: bus and device.
bool SameBus(const std::string& a, const std::string& b) {
  auto core = [](const std::string& s) {
    const size_t colon = s.find(':');
    std::string c = colon == std::string::npos ? s : s.substr(colon + 1);
    c = c.substr(0, c.find('.'));
    for (char& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return c;
  };
  return !b.empty() && core(a) == core(b);
}

std::string Percent(double v) { return std::to_string(std::lround(v)) + "%"; }

std::string Seconds(int64_t ms) { return std::to_string((ms + 999) / 1000) + " s"; }

}  // namespace

std::string_view ToString(Availability a) {
  switch (a) {
    case Availability::kAvailable:
      return "";
    case Availability::kPaused:
      return "paused";
    case Availability::kDraining:
      return "draining";
    case Availability::kOutsideHours:
      return "outside hours";
    case Availability::kOwnerBusy:
      return "owner busy";
  }
  return "";
}

Result<OwnerControl> ReadOwnerControl(const fs::path& data_dir) {
  std::error_code ec;
  if (!fs::exists(ControlFile(data_dir), ec)) return OwnerControl{};
  auto text = ReadFile(ControlFile(data_dir));
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    return MakeError(Errc::kInvalidArgument, ControlFile(data_dir).string() + " is not a JSON object");
  }
  OwnerControl c;
  c.paused = j.value("paused", false);
  c.drain = j.value("drain", false);
  return c;
}

Result<void> WriteOwnerControl(const fs::path& data_dir, const OwnerControl& control) {
  return WriteFileAtomic(ControlFile(data_dir),
                         json{{"paused", control.paused}, {"drain", control.drain}}.dump() + "\n");
}

ProcLoadProbe::ProcLoadProbe(std::vector<std::string> nvidia_buses, fs::path proc, int64_t self)
    : nvidia_buses_(std::move(nvidia_buses)), proc_(std::move(proc)), self_(self > 0 ? self : getpid()) {}

LoadSample ProcLoadProbe::Sample(bool gpus) {
  LoadSample s;
  const auto [total, busy] = MachineJiffies(proc_);
  const int64_t ours = OwnTreeJiffies(proc_, self_);
  if (last_total_ >= 0 && total > last_total_) {
    const int64_t others = (busy - last_busy_) - (ours - last_ours_);
    s.cpu_percent = std::clamp(100.0 * static_cast<double>(others) / static_cast<double>(total - last_total_),
                               0.0, 100.0);
  }
  last_total_ = total;
  last_busy_ = busy;
  last_ours_ = ours;
  if (gpus && !nvidia_buses_.empty()) {
    auto out = internal::RunAndRead(
        "nvidia-smi --query-gpu=pci.bus_id,utilization.gpu --format=csv,noheader,nounits 2>/dev/null");
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t comma = line.find(',');
      if (comma == std::string::npos) continue;
      const int util = std::atoi(line.c_str() + comma + 1);
      for (const auto& bus : nvidia_buses_) {
        if (SameBus(line.substr(0, comma), bus)) s.gpu_percent = std::max(s.gpu_percent, util);
      }
    }
  }
  return s;
}

OwnerGate::OwnerGate(OwnerRules rules, fs::path data_dir, Clock clock, Probe probe)
    : rules_(std::move(rules)),
      data_dir_(std::move(data_dir)),
      clock_(std::move(clock)),
      probe_(std::move(probe)) {
  if (!clock_) clock_ = [] { return SysClock::now(); };
  if (!probe_) {
    auto proc = std::make_shared<ProcLoadProbe>();
    probe_ = [proc](bool gpus) { return proc->Sample(gpus); };
  }
}

void OwnerGate::Rendering(bool started) {
  std::lock_guard lock(mu_);
  rendering_ += started ? 1 : -1;
}

void OwnerGate::SampleLoad(SysClock::time_point now) {
  auto control = ReadOwnerControl(data_dir_);
  if (control) control_ = *control;  // a file being rewritten: keep what it said
  if (rules_.busy_cpu_percent <= 0 && rules_.busy_gpu_percent <= 0) return;
  load_ = probe_(rules_.busy_gpu_percent > 0 && rendering_ == 0);
  const bool above = (rules_.busy_cpu_percent > 0 && load_.cpu_percent > rules_.busy_cpu_percent) ||
                     (rules_.busy_gpu_percent > 0 && load_.gpu_percent > rules_.busy_gpu_percent);
  if (above) {
    below_since_.reset();
    if (!above_since_) above_since_ = now;
    if (now - *above_since_ >= std::chrono::milliseconds(rules_.busy_ms)) busy_ = true;
  } else {
    above_since_.reset();
    if (!below_since_) below_since_ = now;
    if (now - *below_since_ >= std::chrono::milliseconds(rules_.quiet_ms)) busy_ = false;
  }
}

OwnerState OwnerGate::Evaluate(SysClock::time_point now) {
  OwnerState s;
  if (control_.paused) {
    s.availability = Availability::kPaused;
    s.reason = "paused by its owner (inferix worker resume ends it)";
    s.hand_back = true;
    return s;
  }
  if (busy_) {
    s.availability = Availability::kOwnerBusy;
    s.reason = "its owner is using the machine: ";
    s.reason += load_.gpu_percent > rules_.busy_gpu_percent && rules_.busy_gpu_percent > 0
                    ? "a lent card is " + Percent(load_.gpu_percent) + " busy"
                    : "other programs use " + Percent(load_.cpu_percent) + " of its CPU";
    s.reason += " (above " +
                Percent(rules_.busy_cpu_percent > 0 ? rules_.busy_cpu_percent : rules_.busy_gpu_percent) +
                " for " + Seconds(rules_.busy_ms) + "); it takes work again after " +
                Seconds(rules_.quiet_ms) + " below";
    s.hand_back = true;
    return s;
  }
  if (control_.drain) {
    s.availability = Availability::kDraining;
    s.reason = "draining: it finishes the tasks in hand and takes no more (inferix worker resume ends it)";
    return s;
  }
  if (!rules_.schedule.windows.empty()) {
    const std::time_t t = SysClock::to_time_t(now);
    std::tm local{};
    localtime_r(&t, &local);
    const int weekday = (local.tm_wday + 6) % 7;
    const int minute = local.tm_hour * 60 + local.tm_min;
    if (!domain::ScheduleAllows(rules_.schedule, weekday, minute)) {
      s.availability = Availability::kOutsideHours;
      const int wait = domain::MinutesUntilScheduleChange(rules_.schedule, weekday, minute);
      s.reason = "outside its hours (" + rules_.schedule.text + "); it takes work again in " +
                 (wait >= 60 ? std::to_string(wait / 60) + " h " : "") + std::to_string(wait % 60) + " min";
    }
  }
  return s;
}

OwnerState OwnerGate::Now() {
  std::lock_guard lock(mu_);
  const auto now = clock_();
  if (!last_sample_ || now - *last_sample_ >= kSampleEvery || now < *last_sample_) {
    last_sample_ = now;
    SampleLoad(now);
  }
  state_ = Evaluate(now);
  return state_;
}

std::optional<OwnerState> OwnerGate::TakeReport(int64_t repeat_ms) {
  std::lock_guard lock(mu_);
  const auto now = clock_();
  const bool repeat = state_.availability != Availability::kAvailable &&
                      now - reported_at_ >= std::chrono::milliseconds(repeat_ms);
  if (reported_ && reported_->availability == state_.availability && !repeat) return std::nullopt;
  reported_ = state_;
  reported_at_ = now;
  return state_;
}

void OwnerGate::ReportFailed() {
  std::lock_guard lock(mu_);
  reported_.reset();
}

}  // namespace inferix::agent
