#pragma once
// The state machines of jobs, tasks, frames and outputs' verdicts: which changes are allowed, the one way
// each entity's state changes (Transition), and what a job's state is given its frames.
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"

namespace inferix::domain {

/// True when a job may move from `from` to `to`.
bool CanTransition(JobState from, JobState to);
/// True when a task may move from `from` to `to`.
bool CanTransition(TaskState from, TaskState to);
/// True when a frame may move from `from` to `to`.
bool CanTransition(FrameState from, FrameState to);
/// True when an output's verdict may move from `from` to `to`.
bool CanTransition(Verdict from, Verdict to);
/// True for completed, failed and canceled jobs.
bool IsFinal(JobState s);

/// The only way the manager changes an entity's state: the change when the state machine allows it, else
/// kConflict naming the entity, both states and `reason` (why the change was asked for), and the entity is
/// left as it was. A change to the state an entity is already in is refused too. Creating an entity in its
/// first state is construction, not a transition; adapters read states back from storage as they are.
Result<void> Transition(Job& job, JobState to, std::string_view reason);
Result<void> Transition(Task& task, TaskState to, std::string_view reason);
Result<void> Transition(Frame& frame, FrameState to, std::string_view reason);
/// An output's verdict. The manager changes verdicts through Settle (settlement.hpp), which keeps what the
/// worker earns in step with the verdict.
Result<void> Transition(Output& output, Verdict to, std::string_view reason);

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
