#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "domain/settlement.hpp"
#include "domain/state_machine.hpp"
#include "domain/verification.hpp"
#include "manager/scheduler.hpp"
#include "manager/scheduler_internal.hpp"
#include "manager/verification_json.hpp"

// The scheduler's verdicts (issue #4, docs/verification.md): delivery, rejection and its consequences
// (discards, re-checks, bans), escalation and second renders. Claims, reports and leases are in
// scheduler.cpp.
namespace inferix::manager {

using domain::CheckVerdict;
using domain::FrameState;
using domain::TaskKind;
using domain::TaskState;
using json = nlohmann::json;
using internal::Contains;
using internal::Found;
using internal::FrameEvent;

Result<void> Scheduler::RecordVerdict(const domain::Node& verifier, int64_t task_id,
                                      const VerdictReport& report) {
  return Atomically([&]() -> Result<void> {
    auto ending = EndingTask(verifier, task_id, TaskState::kDone);
    if (!ending) return ending.error();
    if (!ending->has_value()) return Ok();  // repeated report
    auto task = &**ending;
    if (task->kind != TaskKind::kVerify) return MakeError(Errc::kInvalidArgument, "not a verification task");
    const auto found = domain::ParseCheckVerdict(report.verdict);
    if (!found)
      return MakeError(Errc::kInvalidArgument, "verdict must be accepted, rejected or inconclusive");
    const CheckVerdict verdict = *found;
    auto out = Found(store_.GetOutput(task->output_id), "output");
    if (!out) return out.error();
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    INFERIX_TRY(domain::Transition(*task, TaskState::kDone, "the verifier reported its verdict"));
    task->message = report.verdict;
    INFERIX_TRY(WriteTask(*task));
    INFERIX_TRY(WorkerChanged(verifier.id));  // now idle
    out->verifier_node_id = verifier.id;
    out->verify_seconds += report.verify_seconds;
    out->verify_cpu_seconds += report.verify_cpu_seconds;
    const std::string previous_detail = out->verdict_detail;
    out->verdict_detail = report.detail.substr(0, 4000);
    // Only what the verifier alone knows comes from its report; the rest is the manager's record.
    const domain::VerificationRecord reported = VerificationRecordFromJson(report.method_json);
    domain::VerificationRecord check;
    check.layers = reported.layers;
    check.regions = reported.regions;
    check.level = task->level;
    check.verifier_id = verifier.id;
    check.verifier = verifier.name;
    check.verifier_class = verifier.det_class;
    check.worker_class = out->det_class;
    check.verdict = verdict;
    std::optional<domain::VerificationRecord> previous;
    if (!out->method.empty()) previous = VerificationRecordFromJson(out->method);
    domain::VerificationRecord record = domain::NextRecord(previous, std::move(check));
    out->method = VerificationRecordToJson(record);
    const bool recheck = task->level == domain::kWholeFrame || out->verdict == domain::Verdict::kAccepted;
    if (out->verdict == domain::Verdict::kRejected) {
      // Discarded unchecked when its worker was caught: still checked, for the record. A rejection counts
      // towards the worker's ban (a fast cheater cannot hide many bad frames behind one verdict); the frame
      // was rendered elsewhere either way, and a discarded output earns nothing.
      out->verdict_detail =
          (previous_detail + "; checked afterwards: " + report.verdict + ": " + report.detail)
              .substr(0, 4000);
      if (record.discarded_because && verdict == CheckVerdict::kRejected) {
        record.discard_check_rejected = true;
        out->method = VerificationRecordToJson(record);
        INFERIX_TRY(store_.UpdateOutput(*out));
        auto worker = Found(store_.GetNode(out->node_id), "worker");
        if (!worker) return worker.error();
        domain::RecordCheck(*worker, domain::CheckOutcome::kFailed);
        return CountRejection(*worker, *job, *out, report.detail);
      }
      return store_.UpdateOutput(*out);
    }
    if (recheck && verdict != CheckVerdict::kRejected) {
      // A delivered frame checked again after its worker was caught: it stands (nothing more to do unless the
      // check rejects it; an inconclusive re-check leaves the earlier verdict).
      if (verdict == CheckVerdict::kAccepted) {
        INFERIX_TRY(Settled(*job, *out, domain::Settlement::kAccept, "a re-check accepted it"));
      }
      INFERIX_TRY(store_.UpdateOutput(*out));
      return UpdateJobState(job->id);
    }
    if (task->level == domain::kReplicaCheck) return SettleReplica(*job, *out, verdict, report);
    switch (verdict) {
      case CheckVerdict::kInconclusive:
        return Escalate(*job, *task, *out);
      case CheckVerdict::kRejected:
        return Reject(*job, *out, report.detail, true);
      case CheckVerdict::kAccepted:
        break;
    }
    if (task->level != domain::kLayer1Only) {
      auto worker = Found(store_.GetNode(out->node_id), "worker");
      if (!worker) return worker.error();
      domain::RecordCheck(*worker, domain::CheckOutcome::kPassed);
      INFERIX_TRY(SaveNode(*worker));
    }
    return Deliver(
        *job, *out,
        task->level == domain::kLayer1Only ? domain::Settlement::kTrust : domain::Settlement::kAccept);
  });
}

Result<void> Scheduler::Settled(const domain::Job& job, domain::Output& out, domain::Settlement settlement,
                                std::string_view reason) {
  auto change = domain::Settle(out, settlement, reason);
  if (!change) return change.error();
  (void)job;  // the ledger will book `*change` for the job's owner and the output's worker here
  return Ok();
}

Result<void> Scheduler::Deliver(const domain::Job& job, domain::Output& out, domain::Settlement settlement) {
  // The worker earns for a checked (or trusted) render.
  INFERIX_TRY(Settled(
      job, out, settlement,
      settlement == domain::Settlement::kTrust ? "delivered on its worker's trust" : "a check accepted it"));
  INFERIX_TRY(store_.UpdateOutput(out));
  auto f = Found(store_.GetFrame(job.id, out.frame), "frame");
  if (!f) return f.error();
  if (f->state == FrameState::kVerifying && f->output_id == out.id) {
    INFERIX_TRY(domain::Transition(*f, FrameState::kDelivered, "its output was accepted or trusted"));
    INFERIX_TRY(store_.PutFrame(*f));
    INFERIX_TRY(Emit(job, "frame", FrameEvent(job, f->number, f->state, out.verdict, out)));
    if (on_frame_delivered_) on_frame_delivered_(job, out);
  }
  return UpdateJobState(job.id);
}

Result<void> Scheduler::Reject(const domain::Job& job, domain::Output& out, const std::string& why,
                               bool requeue) {
  const bool was_delivered = out.verdict == domain::Verdict::kTrusted;
  // Nothing earned for a rejected frame.
  INFERIX_TRY(Settled(job, out, domain::Settlement::kReject, "a check rejected it"));
  INFERIX_TRY(store_.UpdateOutput(out));
  auto worker = Found(store_.GetNode(out.node_id), "worker");
  if (!worker) return worker.error();
  domain::RecordCheck(*worker, domain::CheckOutcome::kFailed);
  auto f = Found(store_.GetFrame(job.id, out.frame), "frame");
  if (!f) return f.error();
  if (requeue && f->output_id == out.id &&
      (f->state == FrameState::kVerifying ||
       (f->state == FrameState::kDelivered && !domain::IsFinal(job.state)))) {
    if (!Contains(f->excluded_nodes, out.node_id)) f->excluded_nodes.push_back(out.node_id);
    f->output_id = 0;
    INFERIX_TRY(store_.PutFrame(*f));
    INFERIX_TRY(RequeueFrames(job, {f->number}, f->excluded_nodes));
    INFERIX_TRY(
        Emit(job, "frame", FrameEvent(job, f->number, FrameState::kQueued, domain::Verdict::kRejected, out)));
  } else if (was_delivered) {
    // Delivered after layer 1 only, in a job that has ended: the user is told; the frame is not re-rendered.
    INFERIX_TRY(Emit(job, "frame",
                     json{{"job_id", job.id},
                          {"frame", out.frame},
                          {"state", domain::ToString(f->state)},
                          {"verdict", domain::ToString(domain::Verdict::kRejected)},
                          {"worker_id", out.node_id},
                          {"message", "the delivered image of frame " + std::to_string(out.frame) +
                                          " was rejected when checked again; render it again with "
                                          "inferix submit --frames " +
                                          std::to_string(out.frame)}}
                         .dump()));
  }
  INFERIX_TRY(CountRejection(*worker, job, out, why));
  return UpdateJobState(job.id);
}

Result<void> Scheduler::CountRejection(domain::Node& worker, const domain::Job& job,
                                       const domain::Output& out, const std::string& why) {
  // Repeated rejections among the worker's recent checks ban it.
  auto recent = store_.ListNodeOutputs(worker.id, options_.trust.ban_window * 4);
  if (!recent) return recent.error();
  int checked = 0;
  int rejected = 0;
  for (const auto& o : *recent) {
    if (checked >= options_.trust.ban_window) break;
    switch (domain::CountOf(o.verdict, VerificationRecordFromJson(o.method))) {
      case domain::CheckCount::kAccepted:
        ++checked;
        break;
      case domain::CheckCount::kRejected:
        ++checked;
        ++rejected;
        break;
      case domain::CheckCount::kNotChecked:
        break;
    }
  }
  const bool ban = !worker.banned && domain::ShouldBan(options_.trust, rejected);
  if (ban) {
    worker.banned = true;
    worker.ban_reason = std::to_string(rejected) + " of its last " + std::to_string(checked) +
                        " checked frames were rejected; the last: frame " + std::to_string(out.frame) +
                        " of job " + std::to_string(job.id) + ": " + why.substr(0, 300);
  }
  INFERIX_TRY(SaveNode(worker));
  if (ban) {
    // Its leases end now: what it holds is rendered elsewhere without waiting for the lease to run out.
    auto held = store_.ListNodeTasks(worker.id);
    if (!held) return held.error();
    for (auto& t : *held) {
      if (t.level == domain::kReplicaCheck) {
        INFERIX_TRY(domain::Transition(t, TaskState::kFailed, "the node was banned"));
        t.message = "the node was banned";
        INFERIX_TRY(WriteTask(t));
        INFERIX_TRY(ReplicaEnded(t));
      } else {
        INFERIX_TRY(ReleaseRenderTask(t, TaskState::kFailed, "the node was banned", {worker.id}));
      }
    }
  }
  return Discard(worker, out);
}

Result<void> Scheduler::Discard(domain::Node& worker, const domain::Output& caught) {
  auto outs = store_.ListNodeOutputs(worker.id, 1000);
  if (!outs) return outs.error();
  std::map<int64_t, std::vector<int>> suspect;  // job -> delivered frames checked again
  for (auto& o : *outs) {
    if (o.id == caught.id) continue;
    auto job = Found(store_.GetJob(o.job_id), "job");
    if (!job) return job.error();
    const bool open = !domain::IsFinal(job->state);
    if (o.verdict == domain::Verdict::kTrusted || (o.verdict == domain::Verdict::kAccepted && open)) {
      // Delivered frames of the caught worker: in a running job the verifier re-renders them whole (a
      // rejection takes the frame back and renders it elsewhere); in an ended job the layer-1-only ones are
      // checked with regions and their owner told the outcome.
      domain::VerificationRecord record = VerificationRecordFromJson(o.method);
      if (record.rechecked) continue;
      record.rechecked = true;
      o.method = VerificationRecordToJson(record);
      INFERIX_TRY(store_.UpdateOutput(o));
      suspect[o.job_id].push_back(o.frame);
      INFERIX_TRY(QueueCheck(o, open ? domain::kWholeFrame : domain::kRegions));
      continue;
    }
    if (o.verdict != domain::Verdict::kPending) continue;
    INFERIX_TRY(Settled(*job, o, domain::Settlement::kDiscard, "its worker was caught"));
    o.verdict_detail = "discarded unchecked: the same worker's frame " + std::to_string(caught.frame) +
                       " of job " + std::to_string(caught.job_id) + " was rejected";
    domain::VerificationRecord discarded;
    discarded.discarded_because = caught.id;
    o.method = VerificationRecordToJson(discarded);
    INFERIX_TRY(store_.UpdateOutput(o));
    if (o.replica_of != 0) {
      // A discarded second render settles nothing: the original needs another.
      auto original = Found(store_.GetOutput(o.replica_of), "output");
      if (!original) return original.error();
      INFERIX_TRY(NewReplica(*job, *original));
      continue;
    }
    auto f = Found(store_.GetFrame(o.job_id, o.frame), "frame");
    if (!f) return f.error();
    if (f->state == FrameState::kVerifying && f->output_id == o.id) {
      if (!Contains(f->excluded_nodes, worker.id)) f->excluded_nodes.push_back(worker.id);
      f->output_id = 0;
      INFERIX_TRY(store_.PutFrame(*f));
      INFERIX_TRY(RequeueFrames(*job, {f->number}, f->excluded_nodes));
      INFERIX_TRY(Emit(*job, "frame",
                       FrameEvent(*job, f->number, FrameState::kQueued, domain::Verdict::kRejected, o)));
    }
  }
  for (auto& [job_id, frames] : suspect) {
    std::sort(frames.begin(), frames.end());
    auto job = Found(store_.GetJob(job_id), "job");
    if (!job) return job.error();
    INFERIX_TRY(
        Emit(*job, "suspect",
             json{{"job_id", job_id},
                  {"frames", frames},
                  {"worker_id", worker.id},
                  {"message", "these frames came from worker " + worker.name + ", whose frame " +
                                  std::to_string(caught.frame) + " of job " + std::to_string(caught.job_id) +
                                  " was rejected; they are being checked again, and a frame that "
                                  "fails is rendered again by another worker"}}
                 .dump()));
  }
  return Ok();
}

Result<void> Scheduler::Escalate(const domain::Job& job, const domain::Task& task, domain::Output& out) {
  INFERIX_TRY(store_.UpdateOutput(out));
  if (task.level == domain::kLayer1Only) return QueueCheck(out, domain::kRegions);
  if (task.level == domain::kRegions) return QueueCheck(out, domain::kMoreRegions);
  return NewReplica(job, out);
}

Result<void> Scheduler::NewReplica(const domain::Job& job, const domain::Output& original) {
  auto f = Found(store_.GetFrame(job.id, original.frame), "frame");
  if (!f) return f.error();
  if (f->state != FrameState::kVerifying || f->output_id != original.id || domain::IsFinal(job.state))
    return Ok();
  auto tasks = store_.ListJobTasks(job.id);
  if (!tasks) return tasks.error();
  domain::Task t;
  t.job_id = job.id;
  t.kind = TaskKind::kRender;
  t.frames = {original.frame};
  t.output_id = original.id;
  t.level = domain::kReplicaCheck;
  t.excluded_nodes = f->excluded_nodes;
  t.excluded_nodes.push_back(original.node_id);
  int replicas = 0;
  for (const auto& other : *tasks) {
    if (other.kind != TaskKind::kRender || other.level != domain::kReplicaCheck ||
        other.output_id != original.id)
      continue;
    ++replicas;
    if (other.node_id != 0 && !Contains(t.excluded_nodes, other.node_id))
      t.excluded_nodes.push_back(other.node_id);
  }
  if (replicas >= options_.trust.max_replicas) {
    return FailFrame(job, original.frame, original.id,
                     "could not be verified: the check stayed inconclusive with more regions and " +
                         std::to_string(replicas) + " second renders (" +
                         original.verdict_detail.substr(0, 500) + ")");
  }
  t.created_ms = clock_.NowMs();
  auto id = InsertTask(t);
  return id ? Ok() : Result<void>(id.error());
}

Result<void> Scheduler::ReplicaEnded(const domain::Task& task) {
  auto job = Found(store_.GetJob(task.job_id), "job");
  if (!job) return job.error();
  auto original = Found(store_.GetOutput(task.output_id), "output");
  if (!original) return original.error();
  return NewReplica(*job, *original);
}

Result<void> Scheduler::SettleReplica(const domain::Job& job, domain::Output& replica, CheckVerdict verdict,
                                      const VerdictReport& report) {
  auto original = Found(store_.GetOutput(replica.replica_of), "output");
  if (!original) return original.error();
  auto f = Found(store_.GetFrame(job.id, replica.frame), "frame");
  if (!f) return f.error();
  const bool open = f->state == FrameState::kVerifying && f->output_id == original->id &&
                    original->verdict == domain::Verdict::kPending;
  if (verdict == CheckVerdict::kRejected) {
    INFERIX_TRY(Reject(job, replica, report.detail, false));
    return open ? NewReplica(job, *original) : Ok();
  }
  if (verdict == CheckVerdict::kInconclusive || !report.matches_original.has_value()) {
    INFERIX_TRY(store_.UpdateOutput(replica));
    return open ? NewReplica(job, *original) : Ok();
  }
  auto second = Found(store_.GetNode(replica.node_id), "worker");
  if (!second) return second.error();
  domain::RecordCheck(*second, domain::CheckOutcome::kPassed);
  INFERIX_TRY(SaveNode(*second));
  // Checked work earns, delivered or not.
  INFERIX_TRY(Settled(job, replica, domain::Settlement::kAccept, "a check accepted the second render"));
  INFERIX_TRY(store_.UpdateOutput(replica));
  if (!open) return Ok();
  domain::VerificationRecord record = VerificationRecordFromJson(original->method);
  record.settled_by_output = replica.id;
  record.matches_second_render = *report.matches_original;
  original->method = VerificationRecordToJson(record);
  if (*report.matches_original) {
    auto first = Found(store_.GetNode(original->node_id), "worker");
    if (!first) return first.error();
    domain::RecordCheck(*first, domain::CheckOutcome::kPassed);
    INFERIX_TRY(SaveNode(*first));
    return Deliver(job, *original, domain::Settlement::kAccept);
  }
  INFERIX_TRY(Reject(job, *original,
                     "a second worker's render of the frame, itself verified, differs from it: " +
                         report.detail.substr(0, 500),
                     false));
  auto g = Found(store_.GetFrame(job.id, replica.frame), "frame");
  if (!g) return g.error();
  if (!Contains(g->excluded_nodes, original->node_id)) g->excluded_nodes.push_back(original->node_id);
  g->output_id = replica.id;
  INFERIX_TRY(store_.PutFrame(*g));
  return Deliver(job, replica, domain::Settlement::kAccept);
}

Result<void> Scheduler::FailFrame(const domain::Job& job, int frame, int64_t output_id,
                                  const std::string& why) {
  auto f = Found(store_.GetFrame(job.id, frame), "frame");
  if (!f) return f.error();
  if (f->state == FrameState::kVerifying && f->output_id == output_id) {
    INFERIX_TRY(domain::Transition(*f, FrameState::kFailed, "its check could not be settled"));
    f->errors += why + "\n";
    INFERIX_TRY(store_.PutFrame(*f));
  }
  return UpdateJobState(job.id);
}

}  // namespace inferix::manager
