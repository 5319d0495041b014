#include "domain/state_machine.hpp"

namespace inferix::domain {

bool CanTransition(FrameState from, FrameState to) {
  using F = FrameState;
  if (from == to) return false;
  switch (from) {
    case F::kQueued:
      return to == F::kRendering || to == F::kCanceled;
    // Rendering -> queued: lease expired or the attempt failed; -> failed: too many failures.
    case F::kRendering:
      return to == F::kVerifying || to == F::kQueued || to == F::kFailed || to == F::kCanceled;
    // Verifying -> queued: rejected, rendered again elsewhere.
    case F::kVerifying:
      return to == F::kDelivered || to == F::kQueued || to == F::kCanceled;
    case F::kDelivered:
    case F::kFailed:
    case F::kCanceled:
      return false;
  }
  return false;
}

bool CanTransition(TaskState from, TaskState to) {
  using T = TaskState;
  if (from == to) return false;
  switch (from) {
    case T::kQueued:
      return to == T::kActive || to == T::kCanceled;
    // Active -> queued: a verify task whose lease expired is offered again.
    case T::kActive:
      return to == T::kDone || to == T::kFailed || to == T::kCanceled || to == T::kQueued;
    case T::kDone:
    case T::kFailed:
    case T::kCanceled:
      return false;
  }
  return false;
}

bool IsFinal(JobState s) {
  return s == JobState::kCompleted || s == JobState::kFailed || s == JobState::kCanceled;
}

std::optional<double> EstimateSecondsLeft(const FrameCounts& counts, int64_t started_ms, int64_t now_ms) {
  const int open = counts.queued + counts.rendering + counts.verifying;
  const double elapsed_s = static_cast<double>(now_ms - started_ms) / 1000.0;
  if (open == 0 || counts.delivered == 0 || started_ms <= 0 || elapsed_s <= 0) return std::nullopt;
  return elapsed_s / counts.delivered * open;
}

void AddFrames(FrameCounts& c, FrameState state, int n) {
  switch (state) {
    case FrameState::kQueued:
      c.queued += n;
      return;
    case FrameState::kRendering:
      c.rendering += n;
      return;
    case FrameState::kVerifying:
      c.verifying += n;
      return;
    case FrameState::kDelivered:
      c.delivered += n;
      return;
    case FrameState::kFailed:
      c.failed += n;
      return;
    case FrameState::kCanceled:
      c.canceled += n;
      return;
  }
}

FrameCounts CountFrames(const std::vector<Frame>& frames) {
  FrameCounts c;
  for (const auto& f : frames) AddFrames(c, f.state, 1);
  return c;
}

JobState DeriveJobState(JobState current, const FrameCounts& counts) {
  if (IsFinal(current)) return current;
  if (counts.failed > 0) return JobState::kFailed;
  if (counts.Total() > 0 && counts.delivered == counts.Total()) return JobState::kCompleted;
  if (counts.rendering + counts.verifying + counts.delivered > 0) return JobState::kActive;
  return current;
}

}  // namespace inferix::domain
