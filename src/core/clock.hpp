#pragma once
// Time and randomness are injected so that leases, expiries and drawn regions are testable.
#include <chrono>
#include <cstdint>
#include <random>

namespace inferix {

/// Source of wall-clock time in milliseconds since the Unix epoch.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

/// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_; }
  /// Moves time forward.
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  int64_t now_ms_;
};

/// Uniform random integers; seeded from the OS unless a seed is given (tests).
class Random {
 public:
  Random() : gen_(std::random_device{}()) {}
  explicit Random(uint64_t seed) : gen_(seed) {}
  /// Uniform integer in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen_); }
  /// Uniform real in [0, 1).
  double Unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }

 private:
  std::mt19937_64 gen_;
};

}  // namespace inferix
