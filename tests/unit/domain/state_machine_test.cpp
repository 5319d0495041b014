#include "domain/state_machine.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

namespace inferix::domain {
namespace {

using F = FrameState;
using T = TaskState;

const std::vector<F> kAllFrameStates = {F::kQueued,    F::kRendering, F::kVerifying,
                                        F::kDelivered, F::kFailed,    F::kCanceled};
const std::vector<T> kAllTaskStates = {T::kQueued, T::kActive, T::kDone, T::kFailed, T::kCanceled};

TEST(FrameStateMachine, ExactlyTheAllowedTransitions) {
  const std::set<std::pair<F, F>> allowed = {
      {F::kQueued, F::kRendering},    {F::kQueued, F::kCanceled},  {F::kRendering, F::kVerifying},
      {F::kRendering, F::kQueued},    {F::kRendering, F::kFailed}, {F::kRendering, F::kCanceled},
      {F::kVerifying, F::kDelivered}, {F::kVerifying, F::kQueued}, {F::kVerifying, F::kCanceled},
      {F::kVerifying, F::kFailed},    {F::kDelivered, F::kQueued},
  };
  for (F from : kAllFrameStates) {
    for (F to : kAllFrameStates) {
      EXPECT_EQ(CanTransition(from, to), allowed.count({from, to}) == 1)
          << ToString(from) << " -> " << ToString(to);
    }
  }
}

TEST(FrameStateMachine, FinalStatesAreFinal) {
  for (F to : kAllFrameStates) {
    // A delivered frame goes back to the queue only when its re-check rejects it.
    EXPECT_EQ(CanTransition(F::kDelivered, to), to == F::kQueued) << ToString(to);
    EXPECT_FALSE(CanTransition(F::kFailed, to)) << ToString(to);
    EXPECT_FALSE(CanTransition(F::kCanceled, to)) << ToString(to);
  }
}

TEST(FrameStateMachine, NoShortcuts) {
  EXPECT_FALSE(CanTransition(F::kQueued, F::kDelivered));  // never delivered unverified
  EXPECT_FALSE(CanTransition(F::kRendering, F::kDelivered));
  EXPECT_FALSE(CanTransition(F::kQueued, F::kVerifying));
  EXPECT_FALSE(CanTransition(F::kDelivered, F::kCanceled));  // what was delivered stays
  EXPECT_FALSE(CanTransition(F::kQueued, F::kQueued));
}

TEST(TaskStateMachine, ExactlyTheAllowedTransitions) {
  const std::set<std::pair<T, T>> allowed = {
      {T::kQueued, T::kActive}, {T::kQueued, T::kCanceled}, {T::kActive, T::kDone},
      {T::kActive, T::kFailed}, {T::kActive, T::kCanceled}, {T::kActive, T::kQueued},
  };
  for (T from : kAllTaskStates) {
    for (T to : kAllTaskStates) {
      EXPECT_EQ(CanTransition(from, to), allowed.count({from, to}) == 1)
          << ToString(from) << " -> " << ToString(to);
    }
  }
}

TEST(TaskStateMachine, NoShortcutsAndFinalStates) {
  EXPECT_FALSE(CanTransition(T::kQueued, T::kDone));
  EXPECT_FALSE(CanTransition(T::kQueued, T::kFailed));
  EXPECT_FALSE(CanTransition(T::kDone, T::kQueued));
  EXPECT_FALSE(CanTransition(T::kFailed, T::kActive));
  EXPECT_FALSE(CanTransition(T::kCanceled, T::kQueued));
}

TEST(IsFinal, JobStates) {
  EXPECT_FALSE(IsFinal(JobState::kQueued));
  EXPECT_FALSE(IsFinal(JobState::kActive));
  EXPECT_TRUE(IsFinal(JobState::kCompleted));
  EXPECT_TRUE(IsFinal(JobState::kFailed));
  EXPECT_TRUE(IsFinal(JobState::kCanceled));
}

Frame FrameIn(F state, int number = 1) {
  Frame f;
  f.number = number;
  f.state = state;
  return f;
}

TEST(CountFrames, CountsEachState) {
  std::vector<Frame> frames = {FrameIn(F::kQueued),    FrameIn(F::kQueued),    FrameIn(F::kRendering),
                               FrameIn(F::kVerifying), FrameIn(F::kVerifying), FrameIn(F::kVerifying),
                               FrameIn(F::kDelivered), FrameIn(F::kFailed),    FrameIn(F::kCanceled),
                               FrameIn(F::kCanceled)};
  auto c = CountFrames(frames);
  EXPECT_EQ(c.queued, 2);
  EXPECT_EQ(c.rendering, 1);
  EXPECT_EQ(c.verifying, 3);
  EXPECT_EQ(c.delivered, 1);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.canceled, 2);
  EXPECT_EQ(c.Total(), 10);
  EXPECT_EQ(CountFrames({}).Total(), 0);
}

FrameCounts Counts(int queued, int rendering, int verifying, int delivered, int failed, int canceled = 0) {
  FrameCounts c;
  c.queued = queued;
  c.rendering = rendering;
  c.verifying = verifying;
  c.delivered = delivered;
  c.failed = failed;
  c.canceled = canceled;
  return c;
}

TEST(DeriveJobState, QueuedUntilAFrameStarts) {
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(10, 0, 0, 0, 0)), JobState::kQueued);
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(0, 0, 0, 0, 0)), JobState::kQueued);  // no frames
}

TEST(DeriveJobState, ActiveWhileFramesMove) {
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(9, 1, 0, 0, 0)), JobState::kActive);
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(9, 0, 1, 0, 0)), JobState::kActive);
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(9, 0, 0, 1, 0)), JobState::kActive);
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(5, 0, 0, 0, 0)), JobState::kActive);  // requeued frames
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(0, 2, 3, 5, 0)), JobState::kActive);
}

TEST(DeriveJobState, CompletedWhenAllDelivered) {
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(0, 0, 0, 10, 0)), JobState::kCompleted);
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(0, 0, 0, 1, 0)), JobState::kCompleted);
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(0, 0, 1, 9, 0)), JobState::kActive);
}

TEST(DeriveJobState, AnyFailedFrameFailsTheJob) {
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(0, 0, 0, 9, 1)), JobState::kFailed);
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(5, 3, 1, 0, 1)), JobState::kFailed);
  EXPECT_EQ(DeriveJobState(JobState::kQueued, Counts(0, 0, 0, 0, 1)), JobState::kFailed);
}

TEST(DeriveJobState, FinalStatesStay) {
  for (JobState s : {JobState::kCompleted, JobState::kFailed, JobState::kCanceled}) {
    EXPECT_EQ(DeriveJobState(s, Counts(10, 0, 0, 0, 0)), s);
    EXPECT_EQ(DeriveJobState(s, Counts(0, 0, 0, 10, 0)), s);
    EXPECT_EQ(DeriveJobState(s, Counts(0, 0, 0, 0, 10)), s);
  }
}

TEST(DeriveJobState, CanceledFramesDoNotComplete) {
  // Canceled frames count towards the total, so a job with some canceled frames never completes by itself.
  EXPECT_EQ(DeriveJobState(JobState::kActive, Counts(0, 0, 0, 5, 0, 5)), JobState::kActive);
}

TEST(EstimateSecondsLeft, OpenFramesAtTheDeliveredRate) {
  FrameCounts c;
  c.delivered = 4;
  c.queued = 6;
  c.rendering = 1;
  c.verifying = 1;
  // 4 frames in 20 s: 5 s a frame, 8 open frames.
  auto eta = EstimateSecondsLeft(c, 1'000, 21'000);
  ASSERT_TRUE(eta.has_value());
  EXPECT_DOUBLE_EQ(*eta, 40.0);
}

TEST(EstimateSecondsLeft, UnknownBeforeTheFirstFrameAndNoneWhenNothingIsOpen) {
  FrameCounts c;
  c.queued = 3;
  EXPECT_FALSE(EstimateSecondsLeft(c, 0, 10'000).has_value());
  c.queued = 0;
  c.delivered = 3;
  c.failed = 1;
  EXPECT_FALSE(EstimateSecondsLeft(c, 0, 10'000).has_value());
  c.queued = 1;
  EXPECT_FALSE(EstimateSecondsLeft(c, 10'000, 10'000).has_value());  // no time has passed
  EXPECT_FALSE(EstimateSecondsLeft(c, 0, 10'000).has_value());       // never started
}

}  // namespace
}  // namespace inferix::domain
