#include "domain/settlement.hpp"
#include "domain/state_machine.hpp"
#include "domain/verification.hpp"
#include "manager/scheduler.hpp"
#include "manager/scheduler_internal.hpp"
#include "manager/verification_json.hpp"

// The end of a banned or revoked node's work (issue #14): a node revoked by the operator (another process,
// `inferix admin node revoke`) or banned leaves nothing waiting on it, not even checks that no verifier may
// take (outputs of a made-up class).
namespace inferix::manager {

using domain::FrameState;
using domain::TaskKind;
using domain::TaskState;
using internal::Contains;
using internal::Found;
using internal::FrameEvent;

namespace {
// Outputs discarded per sweep (the rest in the next ones).
constexpr int kDiscardBatch = 200;
}  // namespace

Result<int> Scheduler::ReleaseBannedWork() {
  int ended = 0;
  INFERIX_TRY(Atomically([&]() -> Result<void> {
    auto held = store_.ListBannedNodesTasks();
    if (!held) return held.error();
    for (auto& t : *held) {
      ++ended;
      const int64_t node_id = t.node_id;
      INFERIX_TRY(WorkerChanged(node_id));  // no longer holds it
      if (t.kind == TaskKind::kVerify) {
        INFERIX_TRY(domain::Transition(t, TaskState::kQueued, "its verifier was banned; offered again"));
        t.node_id = 0;
        INFERIX_TRY(WriteTask(t));
      } else if (t.level == domain::kReplicaCheck) {
        INFERIX_TRY(domain::Transition(t, TaskState::kFailed, "the node was banned"));
        t.message = "the node was banned";
        INFERIX_TRY(WriteTask(t));
        INFERIX_TRY(ReplicaEnded(t));
      } else {
        INFERIX_TRY(ReleaseRenderTask(t, TaskState::kFailed, "the node was banned", {node_id}));
      }
    }
    auto pending = store_.ListBannedNodesPendingOutputs(kDiscardBatch);
    if (!pending) return pending.error();
    for (auto& o : *pending) {
      ++ended;
      INFERIX_TRY(DiscardOfBanned(o, "its worker was banned or revoked before the check"));
    }
    return Ok();
  }));
  return ended;
}

Result<void> Scheduler::DiscardOfBanned(domain::Output& o, const std::string& why) {
  auto job = Found(store_.GetJob(o.job_id), "job");
  if (!job) return job.error();
  INFERIX_TRY(Settled(*job, o, domain::Settlement::kDiscard, why));
  o.verdict_detail = "discarded unchecked: " + why;
  INFERIX_TRY(store_.UpdateOutput(o));
  // Its checks are not needed (the worker is out already), and may be of a class no verifier has.
  auto tasks = store_.ListJobTasks(o.job_id);
  if (!tasks) return tasks.error();
  for (auto& t : *tasks) {
    if (t.kind != TaskKind::kVerify || t.output_id != o.id ||
        (t.state != TaskState::kQueued && t.state != TaskState::kActive))
      continue;
    INFERIX_TRY(domain::Transition(t, TaskState::kCanceled, "its output was discarded"));
    t.message = "output discarded: " + why;
    INFERIX_TRY(WriteTask(t));
  }
  if (o.replica_of != 0) {
    // A discarded second render settles nothing: the original needs another.
    auto original = Found(store_.GetOutput(o.replica_of), "output");
    if (!original) return original.error();
    return NewReplica(*job, *original);
  }
  auto f = Found(store_.GetFrame(o.job_id, o.frame), "frame");
  if (!f) return f.error();
  if (f->state != FrameState::kVerifying || f->output_id != o.id) return Ok();
  if (!Contains(f->excluded_nodes, o.node_id)) f->excluded_nodes.push_back(o.node_id);
  f->output_id = 0;
  INFERIX_TRY(store_.PutFrame(*f));
  INFERIX_TRY(RequeueFrames(*job, {f->number}, f->excluded_nodes));
  return Emit(*job, "frame", FrameEvent(*job, f->number, FrameState::kQueued, domain::Verdict::kRejected, o));
}

}  // namespace inferix::manager
