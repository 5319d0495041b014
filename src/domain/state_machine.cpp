#include "domain/state_machine.hpp"

#include <string>

namespace inferix::domain {

bool CanTransition(JobState from, JobState to) {
  using J = JobState;
  if (from == to) return false;
  switch (from) {
    // Queued -> active: its first frame began rendering; -> completed or failed: its frames say so
    // (DeriveJobState); -> failed also when every live worker was kept off it; -> canceled: by its owner.
    case J::kQueued:
      return to == J::kActive || to == J::kCompleted || to == J::kFailed || to == J::kCanceled;
    // Active -> completed: every frame delivered; -> failed: a frame failed on every attempt, or no worker is
    // left to render it; -> canceled: by its owner.
    case J::kActive:
      return to == J::kCompleted || to == J::kFailed || to == J::kCanceled;
    // Final: a rejected frame of an ended job is reported to its owner, the job does not reopen.
    case J::kCompleted:
    case J::kFailed:
    case J::kCanceled:
      return false;
  }
  return false;
}

bool CanTransition(TaskState from, TaskState to) {
  using T = TaskState;
  if (from == to) return false;
  switch (from) {
    // Queued -> active: a node claimed it; -> canceled: its job was canceled or failed.
    case T::kQueued:
      return to == T::kActive || to == T::kCanceled;
    // Active -> done: reported; -> failed: the render failed, its lease expired or its node was banned;
    // -> canceled: its job ended, or its node handed it back (its owner needs the machine); -> queued: a
    // verify task or second render whose lease expired is offered again.
    case T::kActive:
      return to == T::kDone || to == T::kFailed || to == T::kCanceled || to == T::kQueued;
    case T::kDone:
    case T::kFailed:
    case T::kCanceled:
      return false;
  }
  return false;
}

bool CanTransition(FrameState from, FrameState to) {
  using F = FrameState;
  if (from == to) return false;
  switch (from) {
    // Queued -> rendering: a worker claimed its task; -> canceled: its job was canceled.
    case F::kQueued:
      return to == F::kRendering || to == F::kCanceled;
    // Rendering -> verifying: its image was reported; -> queued: the lease expired or the attempt failed;
    // -> failed: too many failures.
    case F::kRendering:
      return to == F::kVerifying || to == F::kQueued || to == F::kFailed || to == F::kCanceled;
    // Verifying -> delivered: its output was accepted or trusted; -> queued: rejected or discarded, rendered
    // again elsewhere; -> failed: the check stayed inconclusive through every second render.
    case F::kVerifying:
      return to == F::kDelivered || to == F::kQueued || to == F::kFailed || to == F::kCanceled;
    // Delivered -> queued: its worker was caught and the whole-frame re-check, in a job still running,
    // rejected it; it is rendered again elsewhere.
    case F::kDelivered:
      return to == F::kQueued;
    case F::kFailed:
    case F::kCanceled:
      return false;
  }
  return false;
}

bool CanTransition(Verdict from, Verdict to) {
  using V = Verdict;
  if (from == to) return false;
  switch (from) {
    // Pending -> accepted: a check with regions (or a second render) found it right; -> trusted: its
    // trusted worker's output was not drawn for a spot check; -> rejected: a check found it wrong, or its
    // worker was caught first (discarded).
    case V::kPending:
      return to == V::kAccepted || to == V::kTrusted || to == V::kRejected;
    // Trusted -> accepted: checked with regions after its worker was caught, and right; -> rejected: wrong.
    case V::kTrusted:
      return to == V::kAccepted || to == V::kRejected;
    // Accepted -> rejected: re-rendered whole after its worker was caught, and wrong.
    case V::kAccepted:
      return to == V::kRejected;
    case V::kRejected:
      return false;
  }
  return false;
}

namespace {

constexpr JobState kJobStates[] = {JobState::kQueued, JobState::kActive, JobState::kCompleted,
                                   JobState::kFailed, JobState::kCanceled};
constexpr TaskState kTaskStates[] = {TaskState::kQueued, TaskState::kActive, TaskState::kDone,
                                     TaskState::kFailed, TaskState::kCanceled};
constexpr FrameState kFrameStates[] = {FrameState::kQueued,    FrameState::kRendering, FrameState::kVerifying,
                                       FrameState::kDelivered, FrameState::kFailed,    FrameState::kCanceled};
constexpr Verdict kVerdicts[] = {Verdict::kPending, Verdict::kAccepted, Verdict::kTrusted,
                                 Verdict::kRejected};

template <class S, size_t N>
std::string WhyNot(const S (&all)[N], S from, S to) {
  if (from == to) return "it is " + std::string(ToString(from)) + " already";
  bool leaves = false;
  for (S next : all) leaves = leaves || CanTransition(from, next);
  if (!leaves) return std::string(ToString(from)) + " is final";
  return std::string(ToString(from)) + " never becomes " + std::string(ToString(to));
}

template <class S, size_t N>
Result<void> Change(const S (&all)[N], S& state, S to, std::string_view reason, const std::string& what) {
  if (!CanTransition(state, to)) {
    return MakeError(Errc::kConflict, what + " cannot go from " + std::string(ToString(state)) + " to " +
                                          std::string(ToString(to)) + " (" + std::string(reason) +
                                          "): " + WhyNot(all, state, to));
  }
  state = to;
  return Ok();
}

}  // namespace

Result<void> Transition(Job& job, JobState to, std::string_view reason) {
  return Change(kJobStates, job.state, to, reason, "job " + std::to_string(job.id));
}

Result<void> Transition(Task& task, TaskState to, std::string_view reason) {
  return Change(kTaskStates, task.state, to, reason,
                std::string(ToString(task.kind)) + " task " + std::to_string(task.id) + " of job " +
                    std::to_string(task.job_id));
}

Result<void> Transition(Frame& frame, FrameState to, std::string_view reason) {
  return Change(kFrameStates, frame.state, to, reason,
                "frame " + std::to_string(frame.number) + " of job " + std::to_string(frame.job_id));
}

Result<void> Transition(Output& output, Verdict to, std::string_view reason) {
  return Change(kVerdicts, output.verdict, to, reason,
                "the verdict on output " + std::to_string(output.id) + " (frame " +
                    std::to_string(output.frame) + " of job " + std::to_string(output.job_id) + ")");
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
