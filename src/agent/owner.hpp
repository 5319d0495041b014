#pragma once
// The machine stays the owner's (issue #17): when a worker may take work (its hours), whether its owner
// paused or drained it (`inferix worker pause|resume|drain`, through a file in its data folder), and whether
// the owner is using the machine (other processes' CPU or GPU load above a threshold for some seconds). The
// clock and the load probe are injected, so that tests give their own.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/schedule.hpp"

namespace inferix::agent {

/// What an owner sets (`inferix worker --schedule --busy-cpu --busy-gpu --busy-seconds --quiet-seconds`).
struct OwnerRules {
  domain::Schedule schedule;  ///< when work may be taken (no windows: always)
  /// Other processes' CPU use, in percent of the whole machine (every core), above which the owner is using
  /// it; 0: not watched.
  int busy_cpu_percent = 0;
  /// A lent NVIDIA card's utilisation, in percent, while none of this worker's slots renders on it, above
  /// which the owner is using it (a game, an editor); 0: not watched.
  int busy_gpu_percent = 0;
  int64_t busy_ms = 10'000;   ///< the load must stay above for this long before the worker pauses
  int64_t quiet_ms = 60'000;  ///< and below for this long before it takes work again
};

/// Why a worker takes no work now; kAvailable: it takes work.
enum class Availability { kAvailable, kPaused, kDraining, kOutsideHours, kOwnerBusy };

/// The manager's name of it: "", "paused", "draining", "outside hours", "owner busy".
std::string_view ToString(Availability a);

/// What the gate says now.
struct OwnerState {
  Availability availability = Availability::kAvailable;
  std::string reason;  ///< in words, for the owner and the manager; empty when available
  /// A task in hand must be handed back now (paused, owner busy); otherwise it is finished (draining,
  /// outside hours: no new work is taken).
  bool hand_back = false;
};

/// What the owner set with `inferix worker pause|resume|drain`: kept in the data folder (control.json), so
/// that it outlives a restart of the worker.
struct OwnerControl {
  bool paused = false;
  bool drain = false;
};
/// Reads the data folder's control file; no file: neither paused nor draining.
Result<OwnerControl> ReadOwnerControl(const std::filesystem::path& data_dir);
/// Writes it atomically (the running worker reads it within a second).
Result<void> WriteOwnerControl(const std::filesystem::path& data_dir, const OwnerControl& control);

/// One sample of the owner's load.
struct LoadSample {
  double cpu_percent = 0;  ///< other processes' CPU use since the last sample, percent of the whole machine
  int gpu_percent = 0;     ///< the busiest lent card's utilisation (only sampled while no slot renders)
};

/// Measures other processes' CPU use from /proc: the machine's busy time (/proc/stat) less this process
/// tree's (this process, its children such as Blender and its sandbox, and the children they reaped), between
/// two calls. GPU: `nvidia-smi`'s utilisation of the lent NVIDIA cards (by PCI bus, Device::pci_bus), when
/// asked.
class ProcLoadProbe {
 public:
  /// `proc` and `self` are /proc and this process (tests give a folder laid out as /proc and a pid in it).
  explicit ProcLoadProbe(std::vector<std::string> nvidia_buses = {}, std::filesystem::path proc = "/proc",
                         int64_t self = 0);
  /// `gpus`: whether to ask the cards now (no slot renders on them).
  LoadSample Sample(bool gpus);

 private:
  std::vector<std::string> nvidia_buses_;
  std::filesystem::path proc_;
  int64_t self_ = 0;
  int64_t last_total_ = -1;
  int64_t last_busy_ = 0;
  int64_t last_ours_ = 0;
};

/// Decides, shared by every slot of a worker, whether work may be taken now.
class OwnerGate {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  using Probe = std::function<LoadSample(bool gpus)>;
  /// `clock` defaults to the system clock, `probe` to a ProcLoadProbe (asked only when the rules watch a
  /// load).
  OwnerGate(OwnerRules rules, std::filesystem::path data_dir, Clock clock = {}, Probe probe = {});

  /// The state now; reads the control file and samples the load at most once a second (by the clock).
  OwnerState Now();
  /// A slot starts or ends rendering (the GPU load is sampled only while none renders).
  void Rendering(bool started);
  /// The state to tell the manager: when it changed since the last call (the first call: always), or, while
  /// no work is taken, every `repeat_ms` (so that the manager keeps seeing the node). nullopt: nothing to
  /// tell.
  std::optional<OwnerState> TakeReport(int64_t repeat_ms);
  /// Telling the manager failed: the next TakeReport tells it again.
  void ReportFailed();
  const OwnerRules& rules() const { return rules_; }

 private:
  OwnerState Evaluate(std::chrono::system_clock::time_point now);
  void SampleLoad(std::chrono::system_clock::time_point now);

  OwnerRules rules_;
  std::filesystem::path data_dir_;
  Clock clock_;
  Probe probe_;
  std::mutex mu_;
  std::optional<std::chrono::system_clock::time_point> last_sample_;
  OwnerControl control_;
  LoadSample load_;
  std::optional<std::chrono::system_clock::time_point> above_since_;  // load above the threshold since
  std::optional<std::chrono::system_clock::time_point> below_since_;  // load below it since
  bool busy_ = false;
  int rendering_ = 0;
  OwnerState state_;
  std::optional<OwnerState> reported_;
  std::chrono::system_clock::time_point reported_at_;
};

}  // namespace inferix::agent
