#pragma once
// The frame and job state machines: which changes are allowed, and what a job's state is given its frames.
#include <optional>
#include <vector>

#include "domain/model.hpp"

namespace inferix::domain {

/// True when a frame may move from `from` to `to`.
bool CanTransition(FrameState from, FrameState to);
/// True when a task may move from `from` to `to`.
bool CanTransition(TaskState from, TaskState to);
/// True for completed, failed and canceled jobs.
bool IsFinal(JobState s);

/// Frame counts by state, for a job.
struct FrameCounts {
  int queued = 0, rendering = 0, verifying = 0, delivered = 0, failed = 0, canceled = 0;
  int Total() const { return queued + rendering + verifying + delivered + failed + canceled; }
};
/// Counts frames by state.
FrameCounts CountFrames(const std::vector<Frame>& frames);
/// Adds `n` frames in `state` to `counts`.
void AddFrames(FrameCounts& counts, FrameState state, int n);

/// Seconds until every open frame (queued, rendering, verifying) is delivered, at the rate frames were
/// delivered since the job's first frame began rendering (`started_ms`; time waiting in the queue is not
/// rendering time); nullopt until a frame is delivered, when none is open, or with no start.
std::optional<double> EstimateSecondsLeft(const FrameCounts& counts, int64_t started_ms, int64_t now_ms);

/// A job's state from its frames: final states stay; any failed frame fails the job; all delivered completes
/// it; any frame past queued makes it active.
JobState DeriveJobState(JobState current, const FrameCounts& counts);

/// How many failed render attempts of one frame fail the job.
inline constexpr int kMaxFrameFailures = 3;

}  // namespace inferix::domain
