// Every entity's state changes through Transition: each legal change is made, each illegal one refused with
// an error naming the entity, both states and the reason, and the entity left as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "domain/state_machine.hpp"

namespace inferix::domain {
namespace {

using ::testing::HasSubstr;

const std::vector<JobState> kJobs = {JobState::kQueued, JobState::kActive, JobState::kCompleted,
                                     JobState::kFailed, JobState::kCanceled};
const std::vector<TaskState> kTasks = {TaskState::kQueued, TaskState::kActive, TaskState::kDone,
                                       TaskState::kFailed, TaskState::kCanceled};
const std::vector<FrameState> kFrames = {FrameState::kQueued,    FrameState::kRendering,
                                         FrameState::kVerifying, FrameState::kDelivered,
                                         FrameState::kFailed,    FrameState::kCanceled};
const std::vector<Verdict> kVerdicts = {Verdict::kPending, Verdict::kAccepted, Verdict::kTrusted,
                                        Verdict::kRejected};

// Runs Transition over every pair of states: `allowed` pairs change the state, every other pair is refused.
template <class Entity, class S, class Get>
void CheckAllPairs(const std::vector<S>& all, const std::set<std::pair<S, S>>& allowed, Entity prototype,
                   Get state_of, const std::string& name) {
  int refused = 0;
  for (S from : all) {
    for (S to : all) {
      Entity e = prototype;
      state_of(e) = from;
      auto r = Transition(e, to, "the test asked");
      const std::string what = std::string(ToString(from)) + " -> " + std::string(ToString(to));
      EXPECT_EQ(CanTransition(from, to), allowed.count({from, to}) == 1) << what;
      if (allowed.count({from, to}) == 1) {
        EXPECT_TRUE(r.ok()) << what;
        EXPECT_EQ(state_of(e), to) << what;
        continue;
      }
      ++refused;
      ASSERT_FALSE(r.ok()) << what;
      EXPECT_EQ(r.error().code, Errc::kConflict) << what;
      EXPECT_THAT(r.error().message, HasSubstr(name)) << what;
      EXPECT_THAT(r.error().message,
                  HasSubstr("from " + std::string(ToString(from)) + " to " + std::string(ToString(to))))
          << what;
      EXPECT_THAT(r.error().message, HasSubstr("(the test asked)")) << what;
      EXPECT_EQ(state_of(e), from) << what << ": left as it was";
    }
  }
  EXPECT_EQ(refused, static_cast<int>(all.size() * all.size() - allowed.size()));
}

TEST(Transition, Jobs) {
  using J = JobState;
  Job job;
  job.id = 12;
  CheckAllPairs(
      kJobs,
      {{J::kQueued, J::kActive},
       {J::kQueued, J::kCompleted},
       {J::kQueued, J::kFailed},
       {J::kQueued, J::kCanceled},
       {J::kActive, J::kCompleted},
       {J::kActive, J::kFailed},
       {J::kActive, J::kCanceled}},
      job, [](Job& j) -> JobState& { return j.state; }, "job 12");
}

TEST(Transition, Tasks) {
  using T = TaskState;
  Task task;
  task.id = 7;
  task.job_id = 3;
  task.kind = TaskKind::kVerify;
  CheckAllPairs(
      kTasks,
      {{T::kQueued, T::kActive},
       {T::kQueued, T::kCanceled},
       {T::kActive, T::kDone},
       {T::kActive, T::kFailed},
       {T::kActive, T::kCanceled},
       {T::kActive, T::kQueued}},
      task, [](Task& t) -> TaskState& { return t.state; }, "verify task 7 of job 3");
}

TEST(Transition, Frames) {
  using F = FrameState;
  Frame frame;
  frame.job_id = 3;
  frame.number = 42;
  CheckAllPairs(
      kFrames,
      {{F::kQueued, F::kRendering},
       {F::kQueued, F::kCanceled},
       {F::kRendering, F::kVerifying},
       {F::kRendering, F::kQueued},
       {F::kRendering, F::kFailed},
       {F::kRendering, F::kCanceled},
       {F::kVerifying, F::kDelivered},
       {F::kVerifying, F::kQueued},
       {F::kVerifying, F::kFailed},
       {F::kVerifying, F::kCanceled},
       {F::kDelivered, F::kQueued}},
      frame, [](Frame& f) -> FrameState& { return f.state; }, "frame 42 of job 3");
}

TEST(Transition, Verdicts) {
  using V = Verdict;
  Output out;
  out.id = 9;
  out.job_id = 3;
  out.frame = 42;
  CheckAllPairs(
      kVerdicts,
      {{V::kPending, V::kAccepted},
       {V::kPending, V::kTrusted},
       {V::kPending, V::kRejected},
       {V::kTrusted, V::kAccepted},
       {V::kTrusted, V::kRejected},
       {V::kAccepted, V::kRejected}},
      out, [](Output& o) -> Verdict& { return o.verdict; }, "output 9 (frame 42 of job 3)");
}

TEST(Transition, TheErrorSaysWhy) {
  Job job;
  job.id = 5;
  job.state = JobState::kCompleted;
  auto r = Transition(job, JobState::kActive, "a frame began rendering");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "job 5 cannot go from completed to active (a frame began rendering): completed is final");
  job.state = JobState::kActive;
  r = Transition(job, JobState::kActive, "again");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("it is active already"));
  r = Transition(job, JobState::kQueued, "back");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("active never becomes queued"));
}

}  // namespace
}  // namespace inferix::domain
