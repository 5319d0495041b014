#pragma once
// In-process wake-ups of waiting claims (issue #16). A node's claim that finds no task waits parked under its
// task kind's key (net::HttpResponse::wait_key); when a transaction queues tasks, the scheduler says how many
// (Scheduler::OnTasksQueued) and as many of the longest-waiting claims of that kind run again at once. A
// claim that gets a task wakes one more, so a burst of tasks drains through the waiting nodes even when a
// woken node could not take what woke it. The time of the last queuing lets a waiting claim's fallback re-run
// skip the tables when nothing was queued since its last look.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "domain/model.hpp"

namespace inferix::manager {

class Wakeups {
 public:
  /// Wakes up to n waiters parked under a key (net::HttpServer::Wake); returns how many.
  using Wake = std::function<size_t(const std::string& key, size_t n)>;

  /// How many waiters are parked under a key (net::HttpServer::Waiting).
  using Waiting = std::function<size_t(const std::string& key)>;

  void SetWake(Wake wake, Waiting waiting) {
    wake_ = std::move(wake);
    waiting_ = std::move(waiting);
  }

  /// The key claims of `kind` wait under.
  static std::string Key(domain::TaskKind kind) {
    return kind == domain::TaskKind::kRender ? "claims:render" : "claims:verify";
  }
  /// `n` tasks of `kind` were queued (their transaction committed).
  void Queued(domain::TaskKind kind, int n) {
    Stamp(kind).store(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
    if (wake_ && n > 0) wake_(Key(kind), static_cast<size_t>(n));
  }
  /// A claim of `kind` got a task: another waiting one looks too (more may be queued).
  void Claimed(domain::TaskKind kind) {
    if (wake_) wake_(Key(kind), 1);
  }
  /// How long a claim of `kind` with nothing to take waits before it looks again when no wake-up comes: 2 ms
  /// per claim waiting (at least 2 s, at most `most_ms`), so that a large idle farm's fallback looks cost the
  /// manager about 500 a second whatever its size. Wake-ups, not this, are how waiting claims get work.
  int64_t RecheckMs(domain::TaskKind kind, int64_t most_ms) const {
    const auto waiting = static_cast<int64_t>(waiting_ ? waiting_(Key(kind)) : 0);
    return std::max<int64_t>(std::min<int64_t>(2 * waiting, most_ms), std::min<int64_t>(2'000, most_ms));
  }
  /// When tasks of `kind` were last queued by this manager (system clock, ms, as HttpRequest's times); 0
  /// before any.
  int64_t QueuedMs(domain::TaskKind kind) const {
    return kind == domain::TaskKind::kRender ? render_ms_.load() : verify_ms_.load();
  }

 private:
  std::atomic<int64_t>& Stamp(domain::TaskKind kind) {
    return kind == domain::TaskKind::kRender ? render_ms_ : verify_ms_;
  }
  Wake wake_;
  Waiting waiting_;
  std::atomic<int64_t> render_ms_{0};
  std::atomic<int64_t> verify_ms_{0};
};

}  // namespace inferix::manager
