#include "manager/scheduler.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "domain/job_compiler.hpp"
#include "domain/state_machine.hpp"

namespace inferix::manager {

using domain::FrameState;
using domain::JobState;
using domain::TaskKind;
using domain::TaskState;
using json = nlohmann::json;

namespace {

bool Contains(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Error NotARenderTask(int64_t task_id) {
  return MakeError(Errc::kInvalidArgument,
                   "task " + std::to_string(task_id) + " is a verification task; report its verdict instead");
}

template <class T>
Result<T> Found(Result<std::optional<T>> r, const std::string& what) {
  if (!r) return r.error();
  if (!r->has_value()) return MakeError(Errc::kNotFound, what + " not found");
  return std::move(**r);
}

}  // namespace

Result<void> Scheduler::Emit(const domain::Job& job, const std::string& type, const std::string& data_json) {
  domain::Event e;
  e.user_id = job.user_id;
  e.job_id = job.id;
  e.type = type;
  e.data = data_json;
  e.created_ms = clock_.NowMs();
  auto id = store_.AppendEvent(e);
  return id ? Ok() : Result<void>(id.error());
}

namespace {

std::string JobEvent(const domain::Job& job) {
  return json{{"job_id", job.id}, {"state", domain::ToString(job.state)}, {"message", job.message}}.dump();
}
std::string FrameEvent(const domain::Job& job, int frame, domain::FrameState state,
                       const std::string& verdict, const domain::Output& out) {
  json j = {{"job_id", job.id}, {"frame", frame}, {"state", domain::ToString(state)}};
  if (!verdict.empty()) j["verdict"] = verdict;
  if (out.node_id != 0) {
    j["worker_id"] = out.node_id;
    j["output_id"] = out.id;
    j["class"] = out.det_class;
  }
  json method = json::parse(out.method.empty() ? "{}" : out.method, nullptr, false);
  if (method.is_object() && !method.empty()) j["method"] = method;
  return j.dump();
}

json ParseObject(const std::string& text) {
  json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

Result<domain::Job> Scheduler::CreateJob(int64_t user_id, domain::Job job) {
  job.user_id = user_id;
  job.state = JobState::kQueued;
  job.created_ms = clock_.NowMs();
  auto compiled = domain::CompileJob(job, job.created_ms);
  if (!compiled) return compiled.error();
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    for (const auto& f : job.files) {
      auto has = store_.UserHasFile(user_id, f.sha256);
      if (!has) return has.error();
      if (!*has) {
        return MakeError(Errc::kInvalidArgument,
                         "file \"" + f.path + "\" (" + f.sha256.substr(0, 12) +
                             "...) was never uploaded; upload it with PUT /api/v1/files/" + f.sha256 +
                             " first");
      }
    }
    auto id = store_.CreateJob(job);
    if (!id) return id.error();
    job.id = *id;
    for (auto& t : compiled->tasks) {
      t.job_id = job.id;
      auto tid = store_.CreateTask(t);
      if (!tid) return tid.error();
      for (int n : t.frames) {
        domain::Frame f;
        f.job_id = job.id;
        f.number = n;
        f.task_id = *tid;
        INFERIX_TRY(store_.PutFrame(f));
      }
    }
    return Emit(job, "job", JobEvent(job));
  }));
  return job;
}

Result<domain::Job> Scheduler::CancelJob(const domain::Job& job_in, const std::string& why) {
  domain::Job job = job_in;
  if (domain::IsFinal(job.state)) return job;
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    auto tasks = store_.ListJobTasks(job.id);
    if (!tasks) return tasks.error();
    for (auto& t : *tasks) {
      if (t.state == TaskState::kQueued || t.state == TaskState::kActive) {
        t.state = TaskState::kCanceled;
        t.message = why;
        INFERIX_TRY(store_.UpdateTask(t));
      }
    }
    auto frames = store_.ListFrames(job.id);
    if (!frames) return frames.error();
    for (auto& f : *frames) {
      if (domain::CanTransition(f.state, FrameState::kCanceled)) {
        f.state = FrameState::kCanceled;
        INFERIX_TRY(store_.PutFrame(f));
      }
    }
    job.state = JobState::kCanceled;
    job.message = why;
    job.finished_ms = clock_.NowMs();
    INFERIX_TRY(store_.UpdateJob(job));
    return Emit(job, "job", JobEvent(job));
  }));
  return job;
}

Result<std::optional<Claim>> Scheduler::ClaimTask(const domain::Node& node,
                                                  const std::vector<std::string>& cached_files) {
  const TaskKind kind = node.role == domain::NodeRole::kWorker ? TaskKind::kRender : TaskKind::kVerify;
  std::optional<Claim> claim;
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    auto tasks = store_.ListClaimableTasks(kind, 200);
    if (!tasks) return tasks.error();
    const domain::Task* best = nullptr;
    domain::Job best_job;
    bool best_cached = false;
    for (const auto& t : *tasks) {
      if (Contains(t.excluded_nodes, node.id)) continue;
      auto job = store_.GetJob(t.job_id);
      if (!job) return job.error();
      if (!job->has_value()) continue;
      if (kind == TaskKind::kVerify) {
        // Never let a node verify its own output.
        auto out = store_.GetOutput(t.output_id);
        if (!out) return out.error();
        if (out->has_value() && (*out)->node_id == node.id) continue;
        // Layer 2 compares renders: only a verifier of the worker's determinism class may do it.
        if (t.level >= domain::kRegions && out->has_value() && !(*out)->det_class.empty() &&
            (*out)->det_class != node.det_class)
          continue;
      }
      const std::string& main_sha = [&]() -> const std::string& {
        for (const auto& f : (*job)->files) {
          if (f.path == (*job)->main_file) return f.sha256;
        }
        return (*job)->main_file;
      }();
      bool cached = std::find(cached_files.begin(), cached_files.end(), main_sha) != cached_files.end();
      if (best == nullptr || (cached && !best_cached)) {
        best = &t;
        best_job = **job;
        best_cached = cached;
        if (cached || cached_files.empty()) break;
      }
    }
    if (best == nullptr) return Ok();
    domain::Task task = *best;
    task.state = TaskState::kActive;
    task.node_id = node.id;
    task.lease_expires_ms = clock_.NowMs() + options_.lease_ms;
    INFERIX_TRY(store_.UpdateTask(task));
    Claim c{task, best_job, std::nullopt, std::nullopt};
    if (kind == TaskKind::kRender) {
      for (int n : task.frames) {
        auto f = store_.GetFrame(task.job_id, n);
        if (!f) return f.error();
        if (!f->has_value() || (*f)->state != FrameState::kQueued) continue;
        (*f)->state = FrameState::kRendering;
        (*f)->task_id = task.id;
        INFERIX_TRY(store_.PutFrame(**f));
      }
      if (best_job.state == JobState::kQueued) {
        c.job.state = JobState::kActive;
        INFERIX_TRY(store_.UpdateJob(c.job));
        INFERIX_TRY(Emit(c.job, "job", JobEvent(c.job)));
      }
    } else {
      auto out = store_.GetOutput(task.output_id);
      if (!out) return out.error();
      c.output = out->value_or(domain::Output{});
      if (c.output->replica_of != 0) {
        auto original = store_.GetOutput(c.output->replica_of);
        if (!original) return original.error();
        if (original->has_value()) c.original = **original;
      }
    }
    claim = std::move(c);
    return Ok();
  }));
  return claim;
}

Result<domain::Task> Scheduler::HeldTask(const domain::Node& node, int64_t task_id) {
  auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
  if (!task) return task.error();
  if (task->node_id != node.id || task->state != TaskState::kActive) {
    return MakeError(Errc::kConflict, "task " + std::to_string(task_id) +
                                          " is not leased to this node any more; drop it and claim another");
  }
  return task;
}

Result<HeartbeatAction> Scheduler::Heartbeat(const domain::Node& node, int64_t task_id) {
  HeartbeatAction action = HeartbeatAction::kContinue;
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
    if (!task) return task.error();
    if (task->node_id != node.id) {
      action = HeartbeatAction::kAbort;
      return Ok();
    }
    if (task->state == TaskState::kCanceled) {
      action = HeartbeatAction::kCancel;
      return Ok();
    }
    if (task->state != TaskState::kActive) {
      action = HeartbeatAction::kAbort;
      return Ok();
    }
    task->lease_expires_ms = clock_.NowMs() + options_.lease_ms;
    return store_.UpdateTask(*task);
  }));
  return action;
}

Result<ReportOutcome> Scheduler::ReportFrame(const domain::Node& node, int64_t task_id, int frame,
                                             const std::string& sha256, const std::string& blob_key,
                                             double render_seconds, double render_cpu_seconds) {
  ReportOutcome outcome = ReportOutcome::kAccepted;
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    auto existing = store_.FindOutput(task_id, frame);
    if (!existing) return existing.error();
    if (existing->has_value()) {
      if ((*existing)->sha256 != sha256 || (*existing)->node_id != node.id) {
        return MakeError(Errc::kConflict, "frame " + std::to_string(frame) + " of task " +
                                              std::to_string(task_id) +
                                              " was already reported with another image");
      }
      outcome = ReportOutcome::kDuplicate;
      return Ok();
    }
    auto task = HeldTask(node, task_id);
    if (!task) return task.error();
    if (task->kind != TaskKind::kRender ||
        std::find(task->frames.begin(), task->frames.end(), frame) == task->frames.end()) {
      return MakeError(Errc::kInvalidArgument,
                       "frame " + std::to_string(frame) + " is not part of task " + std::to_string(task_id));
    }
    auto f = Found(store_.GetFrame(task->job_id, frame), "frame " + std::to_string(frame));
    if (!f) return f.error();
    const bool replica = task->level == domain::kReplicaCheck && task->output_id != 0;
    if (replica ? (f->state != FrameState::kVerifying || f->output_id != task->output_id)
                : (f->state != FrameState::kRendering || f->task_id != task_id)) {
      return MakeError(Errc::kConflict,
                       "frame " + std::to_string(frame) + " is no longer expected from this task");
    }
    domain::Output out;
    out.job_id = task->job_id;
    out.frame = frame;
    out.task_id = task_id;
    out.node_id = node.id;
    out.blob_key = blob_key;
    out.sha256 = sha256;
    out.render_seconds = render_seconds;
    out.render_cpu_seconds = render_cpu_seconds;
    out.det_class = node.det_class;
    out.replica_of = replica ? task->output_id : 0;
    out.created_ms = clock_.NowMs();
    auto out_id = store_.CreateOutput(out);
    if (!out_id) return out_id.error();
    out.id = *out_id;
    int level = domain::kReplicaCheck;
    if (!replica) {
      // An image this worker or another already reported for another frame is checked whatever the trust.
      auto same = store_.FindOutputsBySha(sha256);
      if (!same) return same.error();
      const bool reused = std::any_of(same->begin(), same->end(), [&](const domain::Output& o) {
        return o.id != out.id && (o.job_id != out.job_id || o.frame != out.frame);
      });
      const double rate = domain::CheckRate(options_.trust, node.streak);
      level = reused || rate >= 1.0 || rng_.Unit() < rate ? domain::kRegions : domain::kLayer1Only;
      f->state = FrameState::kVerifying;
      f->output_id = out.id;
      INFERIX_TRY(store_.PutFrame(*f));
    }
    INFERIX_TRY(QueueCheck(out, level));
    task->lease_expires_ms = clock_.NowMs() + options_.lease_ms;
    INFERIX_TRY(store_.UpdateTask(*task));
    if (replica) return Ok();
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    return Emit(*job, "frame", FrameEvent(*job, frame, FrameState::kVerifying, "pending", out));
  }));
  return outcome;
}

Result<void> Scheduler::QueueCheck(const domain::Output& out, int level) {
  domain::Task verify;
  verify.job_id = out.job_id;
  verify.kind = TaskKind::kVerify;
  verify.frames = {out.frame};
  verify.output_id = out.id;
  verify.level = level;
  verify.created_ms = clock_.NowMs();
  auto id = store_.CreateTask(verify);
  return id ? Ok() : Result<void>(id.error());
}

Result<void> Scheduler::RequeueFrames(const domain::Job& job, const std::vector<int>& frames,
                                      const std::vector<int64_t>& excluded) {
  if (frames.empty() || domain::IsFinal(job.state)) return Ok();
  domain::Task t;
  t.job_id = job.id;
  t.kind = TaskKind::kRender;
  t.frames = frames;
  t.excluded_nodes = excluded;
  // A frame keeps its exclusions (workers whose output for it was rejected) however it comes back.
  for (int n : frames) {
    auto f = store_.GetFrame(job.id, n);
    if (!f) return f.error();
    if (!f->has_value()) continue;
    for (int64_t node : (*f)->excluded_nodes) {
      if (!Contains(t.excluded_nodes, node)) t.excluded_nodes.push_back(node);
    }
  }
  t.created_ms = clock_.NowMs();
  auto id = store_.CreateTask(t);
  if (!id) return id.error();
  for (int n : frames) {
    auto f = Found(store_.GetFrame(job.id, n), "frame " + std::to_string(n));
    if (!f) return f.error();
    f->state = FrameState::kQueued;
    f->task_id = *id;
    INFERIX_TRY(store_.PutFrame(*f));
  }
  return Ok();
}

Result<void> Scheduler::UpdateJobState(int64_t job_id) {
  auto job = Found(store_.GetJob(job_id), "job " + std::to_string(job_id));
  if (!job) return job.error();
  auto frames = store_.ListFrames(job_id);
  if (!frames) return frames.error();
  JobState next = domain::DeriveJobState(job->state, domain::CountFrames(*frames));
  if (next == job->state) return Ok();
  if (next == JobState::kCompleted) {
    // A delivered frame being checked again (its worker was caught) keeps the job open: the job completes
    // only with frames whose checks are settled, so a frame that fails its re-check is rendered again.
    auto tasks = store_.ListJobTasks(job_id);
    if (!tasks) return tasks.error();
    for (const auto& t : *tasks) {
      if (t.kind != TaskKind::kVerify || (t.state != TaskState::kQueued && t.state != TaskState::kActive))
        continue;
      for (const auto& f : *frames) {
        if (f.output_id == t.output_id && f.state == FrameState::kDelivered) return Ok();
      }
    }
  }
  job->state = next;
  if (next == JobState::kCompleted) job->video_state = "pending";
  if (domain::IsFinal(next)) {
    job->finished_ms = clock_.NowMs();
    if (next == JobState::kFailed && job->message.empty()) {
      for (const auto& f : *frames) {
        if (f.state == FrameState::kFailed) {
          job->message += "frame " + std::to_string(f.number) + " failed on every attempt:\n" + f.errors;
        }
      }
    }
    if (next == JobState::kFailed) {
      auto tasks = store_.ListJobTasks(job_id);
      if (!tasks) return tasks.error();
      for (auto& t : *tasks) {
        if (t.state == TaskState::kQueued || t.state == TaskState::kActive) {
          t.state = TaskState::kCanceled;
          t.message = "job failed";
          INFERIX_TRY(store_.UpdateTask(t));
        }
      }
    }
  }
  INFERIX_TRY(store_.UpdateJob(*job));
  INFERIX_TRY(Emit(*job, "job", JobEvent(*job)));
  if (next == JobState::kCompleted && on_job_completed_) on_job_completed_(*job);
  return Ok();
}

Result<void> Scheduler::CompleteTask(const domain::Node& node, int64_t task_id) {
  return store_.Transaction([&]() -> Result<void> {
    auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
    if (!task) return task.error();
    if (task->node_id == node.id && task->state == TaskState::kDone) return Ok();  // repeated report
    auto held = HeldTask(node, task_id);
    if (!held) return held.error();
    // A verify task ends only with a verdict: ending it here would leave its frame verifying for ever.
    if (task->kind != TaskKind::kRender) return NotARenderTask(task_id);
    if (task->level == domain::kReplicaCheck) {
      task->state = TaskState::kDone;
      INFERIX_TRY(store_.UpdateTask(*task));
      auto reported = store_.FindOutput(task_id, task->frames.empty() ? 0 : task->frames.front());
      if (!reported) return reported.error();
      return reported->has_value() ? Ok() : ReplicaEnded(*task);
    }
    std::vector<int> unreported;
    for (int n : task->frames) {
      auto f = store_.GetFrame(task->job_id, n);
      if (!f) return f.error();
      if (f->has_value() && (*f)->state == FrameState::kRendering && (*f)->task_id == task_id)
        unreported.push_back(n);
    }
    task->state = TaskState::kDone;
    INFERIX_TRY(store_.UpdateTask(*task));
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    INFERIX_TRY(RequeueFrames(*job, unreported, {}));
    return UpdateJobState(task->job_id);
  });
}

Result<void> Scheduler::FailTask(const domain::Node& node, int64_t task_id, const std::string& error) {
  return store_.Transaction([&]() -> Result<void> {
    auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
    if (!task) return task.error();
    if (task->node_id == node.id && task->state == TaskState::kFailed) return Ok();  // repeated report
    auto held = HeldTask(node, task_id);
    if (!held) return held.error();
    if (task->kind != TaskKind::kRender) return NotARenderTask(task_id);
    task->state = TaskState::kFailed;
    task->message = error.substr(0, 4000);
    INFERIX_TRY(store_.UpdateTask(*task));
    if (task->level == domain::kReplicaCheck) return ReplicaEnded(*task);
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    std::vector<int> retry;
    for (int n : task->frames) {
      auto f = Found(store_.GetFrame(task->job_id, n), "frame");
      if (!f) return f.error();
      if (f->state != FrameState::kRendering || f->task_id != task_id) continue;
      f->failures++;
      f->errors += node.name + ": " + error.substr(0, 1000) + "\n";
      if (f->failures >= domain::kMaxFrameFailures) {
        f->state = FrameState::kFailed;
      } else {
        retry.push_back(n);
      }
      INFERIX_TRY(store_.PutFrame(*f));
    }
    INFERIX_TRY(RequeueFrames(*job, retry, {}));
    return UpdateJobState(task->job_id);
  });
}

Result<void> Scheduler::RecordVerdict(const domain::Node& verifier, int64_t task_id,
                                      const VerdictReport& report) {
  return store_.Transaction([&]() -> Result<void> {
    auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
    if (!task) return task.error();
    if (task->node_id == verifier.id && task->state == TaskState::kDone) return Ok();  // repeated report
    auto held = HeldTask(verifier, task_id);
    if (!held) return held.error();
    if (task->kind != TaskKind::kVerify) return MakeError(Errc::kInvalidArgument, "not a verification task");
    const std::string& verdict = report.verdict;
    if (verdict != "accepted" && verdict != "rejected" && verdict != "inconclusive") {
      return MakeError(Errc::kInvalidArgument, "verdict must be accepted, rejected or inconclusive");
    }
    auto out = Found(store_.GetOutput(task->output_id), "output");
    if (!out) return out.error();
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    task->state = TaskState::kDone;
    task->message = verdict;
    INFERIX_TRY(store_.UpdateTask(*task));
    out->verifier_node_id = verifier.id;
    out->verify_seconds += report.verify_seconds;
    out->verify_cpu_seconds += report.verify_cpu_seconds;
    const std::string previous_detail = out->verdict_detail;
    out->verdict_detail = report.detail.substr(0, 4000);
    // Only what the verifier alone knows comes from its report; the rest is the manager's record.
    const json reported = ParseObject(report.method_json);
    json method = json::object();
    if (reported.contains("layers") && reported["layers"].is_number_integer())
      method["layers"] = reported["layers"];
    if (reported.contains("regions") && reported["regions"].is_array())
      method["regions"] = reported["regions"];
    method["level"] = task->level;
    method["verifier_id"] = verifier.id;
    method["verifier"] = verifier.name;
    method["verifier_class"] = verifier.det_class;
    method["worker_class"] = out->det_class;
    method["verdict"] = verdict;
    json history = ParseObject(out->method).value("history", json::array());
    if (!history.is_array()) history = json::array();
    if (!out->method.empty()) {
      json previous = ParseObject(out->method);
      // What stays true of the output whatever later checks find.
      for (const char* key : {"discarded_because", "rechecked", "settled_by_output"}) {
        if (previous.contains(key)) method[key] = previous[key];
      }
      previous.erase("history");
      history.push_back(previous);
    }
    if (!history.empty()) method["history"] = history;
    out->method = method.dump();
    const bool recheck = task->level == domain::kWholeFrame || out->verdict == domain::Verdict::kAccepted;
    if (out->verdict == domain::Verdict::kRejected) {
      // Discarded unchecked when its worker was caught: still checked, for the record. A rejection counts
      // towards the worker's ban (a fast cheater cannot hide many bad frames behind one verdict); the frame
      // was rendered elsewhere either way, and a discarded output earns nothing.
      const bool discarded = ParseObject(out->method).contains("discarded_because");
      out->verdict_detail =
          (previous_detail + "; checked afterwards: " + verdict + ": " + report.detail).substr(0, 4000);
      if (discarded && verdict == "rejected") {
        json m = ParseObject(out->method);
        m["discard_check"] = "rejected";
        out->method = m.dump();
        INFERIX_TRY(store_.UpdateOutput(*out));
        auto worker = Found(store_.GetNode(out->node_id), "worker");
        if (!worker) return worker.error();
        worker->rejected++;
        worker->streak = 0;
        return CountRejection(*worker, *job, *out, report.detail);
      }
      return store_.UpdateOutput(*out);
    }
    if (recheck && verdict != "rejected") {
      // A delivered frame checked again after its worker was caught: it stands (nothing more to do unless the
      // check rejects it; an inconclusive re-check leaves the earlier verdict).
      if (verdict == "accepted") out->verdict = domain::Verdict::kAccepted;
      INFERIX_TRY(store_.UpdateOutput(*out));
      return UpdateJobState(job->id);
    }
    if (task->level == domain::kReplicaCheck) return SettleReplica(*job, *out, report);
    if (verdict == "inconclusive") return Escalate(*job, *task, *out, report.detail);
    if (verdict == "rejected") return Reject(*job, *out, report.detail, true);
    if (task->level != domain::kLayer1Only) {
      auto worker = Found(store_.GetNode(out->node_id), "worker");
      if (!worker) return worker.error();
      worker->accepted++;
      worker->streak++;
      INFERIX_TRY(store_.UpdateNode(*worker));
    }
    return Deliver(
        *job, *out,
        task->level == domain::kLayer1Only ? domain::Verdict::kTrusted : domain::Verdict::kAccepted);
  });
}

Result<void> Scheduler::Deliver(const domain::Job& job, domain::Output& out, domain::Verdict verdict) {
  out.verdict = verdict;
  out.credited = true;  // the worker earns for a checked (or trusted) render
  INFERIX_TRY(store_.UpdateOutput(out));
  auto f = Found(store_.GetFrame(job.id, out.frame), "frame");
  if (!f) return f.error();
  if (f->state == FrameState::kVerifying && f->output_id == out.id) {
    f->state = FrameState::kDelivered;
    INFERIX_TRY(store_.PutFrame(*f));
    INFERIX_TRY(Emit(job, "frame",
                     FrameEvent(job, f->number, f->state, std::string(domain::ToString(verdict)), out)));
    if (on_frame_delivered_) on_frame_delivered_(job, out);
  }
  return UpdateJobState(job.id);
}

Result<void> Scheduler::Reject(const domain::Job& job, domain::Output& out, const std::string& why,
                               bool requeue) {
  const bool was_delivered = out.verdict == domain::Verdict::kTrusted;
  out.verdict = domain::Verdict::kRejected;
  out.credited = false;  // nothing earned for a rejected frame
  INFERIX_TRY(store_.UpdateOutput(out));
  auto worker = Found(store_.GetNode(out.node_id), "worker");
  if (!worker) return worker.error();
  worker->rejected++;
  worker->streak = 0;
  auto f = Found(store_.GetFrame(job.id, out.frame), "frame");
  if (!f) return f.error();
  if (requeue && f->output_id == out.id &&
      (f->state == FrameState::kVerifying ||
       (f->state == FrameState::kDelivered && !domain::IsFinal(job.state)))) {
    if (!Contains(f->excluded_nodes, out.node_id)) f->excluded_nodes.push_back(out.node_id);
    f->output_id = 0;
    INFERIX_TRY(store_.PutFrame(*f));
    INFERIX_TRY(RequeueFrames(job, {f->number}, f->excluded_nodes));
    INFERIX_TRY(Emit(job, "frame", FrameEvent(job, f->number, FrameState::kQueued, "rejected", out)));
  } else if (was_delivered) {
    // Delivered after layer 1 only, in a job that has ended: the user is told; the frame is not re-rendered.
    INFERIX_TRY(Emit(job, "frame",
                     json{{"job_id", job.id},
                          {"frame", out.frame},
                          {"state", domain::ToString(f->state)},
                          {"verdict", "rejected"},
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
    const json m = ParseObject(o.method);
    if (o.verdict == domain::Verdict::kAccepted) ++checked;
    if (o.verdict == domain::Verdict::kRejected &&
        (!m.contains("discarded_because") || m.value("discard_check", "") == "rejected")) {
      ++checked;
      ++rejected;
    }
  }
  const bool ban = !worker.banned && domain::ShouldBan(options_.trust, rejected);
  if (ban) {
    worker.banned = true;
    worker.ban_reason = std::to_string(rejected) + " of its last " + std::to_string(checked) +
                        " checked frames were rejected; the last: frame " + std::to_string(out.frame) +
                        " of job " + std::to_string(job.id) + ": " + why.substr(0, 300);
  }
  INFERIX_TRY(store_.UpdateNode(worker));
  if (ban) {
    // Its leases end now: what it holds is rendered elsewhere without waiting for the lease to run out.
    auto held = store_.ListNodeTasks(worker.id);
    if (!held) return held.error();
    for (auto& t : *held) {
      if (t.level == domain::kReplicaCheck) {
        t.state = TaskState::kFailed;
        t.message = "the node was banned";
        INFERIX_TRY(store_.UpdateTask(t));
        INFERIX_TRY(ReplicaEnded(t));
      } else {
        INFERIX_TRY(ReleaseRenderTask(t, "the node was banned", {worker.id}));
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
      if (ParseObject(o.method).value("rechecked", false)) continue;
      json m = ParseObject(o.method);
      m["rechecked"] = true;
      o.method = m.dump();
      INFERIX_TRY(store_.UpdateOutput(o));
      suspect[o.job_id].push_back(o.frame);
      INFERIX_TRY(QueueCheck(o, open ? domain::kWholeFrame : domain::kRegions));
      continue;
    }
    if (o.verdict != domain::Verdict::kPending) continue;
    o.verdict = domain::Verdict::kRejected;
    o.credited = false;
    o.verdict_detail = "discarded unchecked: the same worker's frame " + std::to_string(caught.frame) +
                       " of job " + std::to_string(caught.job_id) + " was rejected";
    o.method = json{{"discarded_because", caught.id}}.dump();
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
      INFERIX_TRY(Emit(*job, "frame", FrameEvent(*job, f->number, FrameState::kQueued, "rejected", o)));
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

Result<void> Scheduler::Escalate(const domain::Job& job, const domain::Task& task, domain::Output& out,
                                 const std::string& detail) {
  INFERIX_TRY(store_.UpdateOutput(out));
  (void)detail;
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
  auto id = store_.CreateTask(t);
  return id ? Ok() : Result<void>(id.error());
}

Result<void> Scheduler::ReplicaEnded(const domain::Task& task) {
  auto job = Found(store_.GetJob(task.job_id), "job");
  if (!job) return job.error();
  auto original = Found(store_.GetOutput(task.output_id), "output");
  if (!original) return original.error();
  return NewReplica(*job, *original);
}

Result<void> Scheduler::SettleReplica(const domain::Job& job, domain::Output& replica,
                                      const VerdictReport& report) {
  auto original = Found(store_.GetOutput(replica.replica_of), "output");
  if (!original) return original.error();
  auto f = Found(store_.GetFrame(job.id, replica.frame), "frame");
  if (!f) return f.error();
  const bool open = f->state == FrameState::kVerifying && f->output_id == original->id &&
                    original->verdict == domain::Verdict::kPending;
  if (report.verdict == "rejected") {
    INFERIX_TRY(Reject(job, replica, report.detail, false));
    return open ? NewReplica(job, *original) : Ok();
  }
  if (report.verdict == "inconclusive" || !report.matches_original.has_value()) {
    INFERIX_TRY(store_.UpdateOutput(replica));
    return open ? NewReplica(job, *original) : Ok();
  }
  auto second = Found(store_.GetNode(replica.node_id), "worker");
  if (!second) return second.error();
  second->accepted++;
  second->streak++;
  INFERIX_TRY(store_.UpdateNode(*second));
  replica.verdict = domain::Verdict::kAccepted;
  replica.credited = true;
  INFERIX_TRY(store_.UpdateOutput(replica));
  if (!open) return Ok();
  json method = ParseObject(original->method);
  method["settled_by_output"] = replica.id;
  method["matches_second_render"] = *report.matches_original;
  original->method = method.dump();
  if (*report.matches_original) {
    auto first = Found(store_.GetNode(original->node_id), "worker");
    if (!first) return first.error();
    first->accepted++;
    first->streak++;
    INFERIX_TRY(store_.UpdateNode(*first));
    return Deliver(job, *original, domain::Verdict::kAccepted);
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
  return Deliver(job, replica, domain::Verdict::kAccepted);
}

Result<void> Scheduler::FailFrame(const domain::Job& job, int frame, int64_t output_id,
                                  const std::string& why) {
  auto f = Found(store_.GetFrame(job.id, frame), "frame");
  if (!f) return f.error();
  if (f->state == FrameState::kVerifying && f->output_id == output_id) {
    f->state = FrameState::kFailed;
    f->errors += why + "\n";
    INFERIX_TRY(store_.PutFrame(*f));
  }
  return UpdateJobState(job.id);
}

Result<void> Scheduler::ReleaseRenderTask(domain::Task& t, const std::string& why,
                                          const std::vector<int64_t>& excluded) {
  std::vector<int> unreported;
  for (int n : t.frames) {
    auto f = store_.GetFrame(t.job_id, n);
    if (!f) return f.error();
    if (f->has_value() && (*f)->state == FrameState::kRendering && (*f)->task_id == t.id)
      unreported.push_back(n);
  }
  t.state = TaskState::kFailed;
  t.message = why;
  INFERIX_TRY(store_.UpdateTask(t));
  auto job = Found(store_.GetJob(t.job_id), "job");
  if (!job) return job.error();
  return RequeueFrames(*job, unreported, excluded);
}

Result<int> Scheduler::ExpireLeases() {
  int expired = 0;
  INFERIX_TRY(store_.Transaction([&]() -> Result<void> {
    auto tasks = store_.ListExpiredTasks(clock_.NowMs());
    if (!tasks) return tasks.error();
    for (auto& t : *tasks) {
      ++expired;
      if (t.kind == TaskKind::kVerify || t.level == domain::kReplicaCheck) {
        t.state = TaskState::kQueued;
        t.node_id = 0;
        INFERIX_TRY(store_.UpdateTask(t));
        continue;
      }
      INFERIX_TRY(ReleaseRenderTask(t, "lease expired: the node stopped answering", {}));
    }
    return Ok();
  }));
  return expired;
}

}  // namespace inferix::manager
