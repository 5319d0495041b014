#include "manager/scheduler.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "domain/capabilities.hpp"
#include "domain/job_compiler.hpp"
#include "domain/state_machine.hpp"
#include "manager/codec.hpp"
#include "manager/scheduler_internal.hpp"

namespace inferix::manager {

using domain::FrameState;
using domain::JobState;
using domain::TaskKind;
using domain::TaskState;
using json = nlohmann::json;
using internal::Contains;
using internal::Found;
using internal::FrameEvent;
using internal::JobEvent;

using internal::NotARenderTask;

namespace {

// Claimable tasks read from the store at a time.
constexpr int kClaimPage = 200;

Error NotHeld(int64_t task_id) {
  return MakeError(Errc::kConflict, "task " + std::to_string(task_id) +
                                        " is not leased to this node any more; drop it and claim another");
}

}  // namespace

Result<void> Scheduler::SaveNode(const domain::Node& node) {
  INFERIX_TRY(store_.UpdateNode(node));
  if (node.banned) NodesChanged(node.role);  // a banned verifier checks no more
  return WorkerChanged(node.id);
}

Result<domain::Job> Scheduler::CreateJob(int64_t user_id, domain::Job job) {
  job.user_id = user_id;
  job.state = JobState::kQueued;
  job.created_ms = clock_.NowMs();
  job.started_ms = 0;
  job.finished_ms = 0;
  auto compiled = domain::CompileJob(job, job.created_ms);
  if (!compiled) return compiled.error();
  INFERIX_TRY(Atomically([&]() -> Result<void> {
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
      auto tid = InsertTask(t);
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
  INFERIX_TRY(Atomically([&]() -> Result<void> {
    // The job as stored now: it may have ended since the caller read it, and then it stays as it ended.
    auto stored = Found(store_.GetJob(job_in.id), "job " + std::to_string(job_in.id));
    if (!stored) return stored.error();
    job = std::move(*stored);
    if (domain::IsFinal(job.state)) return Ok();
    INFERIX_TRY(CancelOpenTasks(job.id, why));
    auto frames = store_.ListFrames(job.id);
    if (!frames) return frames.error();
    for (auto& f : *frames) {
      // Delivered frames stay delivered.
      if (domain::CanTransition(f.state, FrameState::kCanceled)) {
        INFERIX_TRY(domain::Transition(f, FrameState::kCanceled, "its job was canceled"));
        INFERIX_TRY(store_.PutFrame(f));
      }
    }
    INFERIX_TRY(domain::Transition(job, JobState::kCanceled, why));
    job.message = why;
    job.finished_ms = clock_.NowMs();
    INFERIX_TRY(store_.UpdateJob(job));
    return Emit(job, "job", JobEvent(job));
  }));
  return job;
}

Result<std::optional<Claim>> Scheduler::ClaimTask(const domain::Node& node,
                                                  const std::vector<std::string>& cached_files,
                                                  const std::string& slot) {
  INFERIX_TRY(SlotDevice(node, slot));
  const TaskKind kind = node.role == domain::NodeRole::kWorker ? TaskKind::kRender : TaskKind::kVerify;
  // Renders whose outputs no verifier could check now are held back (Unverifiable), not left to wait in
  // `verifying` for ever. The census is cached, so a claim seldom reads the nodes, and never inside its
  // transaction (on PostgreSQL that would lock every node's row).
  std::shared_ptr<const Census> census;
  if (kind == TaskKind::kRender) {
    auto read = FarmCensus();
    if (!read) return read.error();
    census = std::move(*read);
  }
  std::optional<Claim> claim;
  INFERIX_TRY(Atomically([&]() -> Result<void> {
    auto capped = ClaimCaps(node);
    if (!capped) return capped.error();
    if (capped->has_value()) return Ok();
    const auto builds = BuildsOf(node);
    const auto classes = ClassesOf(node, builds, slot);
    const domain::SlotOffer offer = OfferOf(node, slot);
    // A slot none of whose classes a verifier checks takes nothing, whatever the job: no need to read the
    // queue.
    if (census && std::none_of(classes.begin(), classes.end(), [&](const std::string& c) {
          return Unverifiable(node, c, "", *census).empty();
        }))
      return Ok();
    // The store leaves out what this node may never take (tasks that exclude it, jobs it is kept off, its own
    // outputs, checks of another class); the rest (Blender builds and denoisers) is checked here, page by
    // page in the store's order, until a task is found: no number of tasks ahead hides one it can take.
    domain::ClaimFilter filter;
    filter.kind = kind;
    filter.node_id = node.id;
    if (kind == TaskKind::kVerify) filter.classes = classes;
    std::optional<domain::Task> best;
    domain::Job best_job;
    bool best_cached = false;
    std::string best_build;
    bool searching = true;
    for (int offset = 0; searching; offset += kClaimPage) {
      auto tasks = store_.ListClaimableTasks(filter, kClaimPage, offset);
      if (!tasks) return tasks.error();
      if (static_cast<int>(tasks->size()) < kClaimPage) searching = false;
      // What the candidates need, read in two statements per page rather than one per task (a claim is the
      // hottest call: every idle node long-polls it).
      std::vector<int64_t> job_ids;
      std::vector<int64_t> output_ids;
      for (const auto& t : *tasks) {
        job_ids.push_back(t.job_id);
        if (kind == TaskKind::kVerify) output_ids.push_back(t.output_id);
      }
      auto jobs = store_.GetJobs(job_ids);
      if (!jobs) return jobs.error();
      std::map<int64_t, const domain::Job*> job_of;
      for (const auto& j : *jobs) job_of[j.id] = &j;
      auto outputs = store_.GetOutputs(output_ids);
      if (!outputs) return outputs.error();
      std::map<int64_t, const domain::Output*> output_of;
      for (const auto& o : *outputs) output_of[o.id] = &o;

      for (const auto& t : *tasks) {
        if (Contains(t.excluded_nodes, node.id)) continue;
        auto found = job_of.find(t.job_id);
        if (found == job_of.end()) continue;
        const domain::Job& job = *found->second;
        // Tasks come by priority: a held scene is preferred only among tasks as urgent as the first one
        // found.
        if (best && job.priority < best_job.priority) {
          searching = false;
          break;
        }
        // A Blender build that can open the scene (as new as the Blender that saved it) with the denoisers it
        // asks for, unless its user waived them.
        // A render goes only to a slot that meets what the job's user requires of the device.
        if (kind == TaskKind::kRender && !domain::SlotMeets(job.requirements, offer)) continue;
        const auto needs = domain::NeedsOf(job);
        auto opens = needs;
        if (kind == TaskKind::kVerify) {
          opens.denoisers.clear();  // layer 1 only opens the scene; layer 2: below
          opens.requirements = {};
        }
        auto build = domain::ChooseBuild(opens, builds);
        if (kind == TaskKind::kVerify) {
          auto out_it = output_of.find(t.output_id);
          const domain::Output* out = out_it == output_of.end() ? nullptr : out_it->second;
          // Never let a node verify its own output.
          if (out != nullptr && out->node_id == node.id) continue;
          // Layer 2 compares renders: only a verifier build of the worker's determinism class may do it.
          if (t.level >= domain::kRegions && out != nullptr && !out->det_class.empty()) {
            build.reset();
            // (and the denoisers the job renders with: the class names the build, not what it was built with)
            for (size_t i = 0; i < builds.size() && !build; ++i) {
              if (classes[i] == out->det_class && domain::CanRender(needs, builds[i])) build = i;
            }
          }
        }
        if (!build) continue;
        if (census && !Unverifiable(node, classes[*build], job.engine, *census).empty()) continue;
        const std::string& main_sha = [&]() -> const std::string& {
          for (const auto& f : job.files) {
            if (f.path == job.main_file) return f.sha256;
          }
          return job.main_file;
        }();
        bool cached = std::find(cached_files.begin(), cached_files.end(), main_sha) != cached_files.end();
        if (!best || (cached && !best_cached)) {
          best = t;
          best_job = job;
          best_cached = cached;
          best_build = builds[*build].version;
          if (cached || cached_files.empty()) {
            searching = false;
            break;
          }
        }
      }
    }
    if (!best) return Ok();
    domain::Task task = *best;
    INFERIX_TRY(domain::Transition(task, TaskState::kActive, "claimed by node " + std::to_string(node.id)));
    task.node_id = node.id;
    task.slot = slot;
    task.lease_expires_ms = clock_.NowMs() + options_.lease_ms;
    task.progress = 0;
    task.progress_ms = clock_.NowMs();
    INFERIX_TRY(WriteTask(task));
    INFERIX_TRY(store_.CountNodeClaim(node.id, clock_.NowMs()));
    INFERIX_TRY(WorkerChanged(node.id));  // now busy
    Claim c{task, best_job, std::nullopt, std::nullopt, best_build};
    if (kind == TaskKind::kRender) {
      auto frames = store_.GetFrames(task.job_id, task.frames);
      if (!frames) return frames.error();
      std::vector<domain::Frame> starting;
      for (auto& f : *frames) {
        if (f.state != FrameState::kQueued) continue;
        INFERIX_TRY(domain::Transition(f, FrameState::kRendering, "a worker claimed its task"));
        f.task_id = task.id;
        starting.push_back(f);
      }
      INFERIX_TRY(store_.PutFrames(starting));
      if (best_job.state == JobState::kQueued) {
        INFERIX_TRY(domain::Transition(c.job, JobState::kActive, "its first frame began rendering"));
        c.job.started_ms = clock_.NowMs();
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
  if (task->node_id != node.id || task->state != TaskState::kActive) return NotHeld(task_id);
  return task;
}

Result<std::optional<domain::Task>> Scheduler::EndingTask(const domain::Node& node, int64_t task_id,
                                                          TaskState ended) {
  auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
  if (!task) return task.error();
  if (task->node_id == node.id && task->state == ended) return std::optional<domain::Task>();
  if (task->node_id != node.id || task->state != TaskState::kActive) return NotHeld(task_id);
  return std::optional<domain::Task>(std::move(*task));
}

Result<HeartbeatAction> Scheduler::Heartbeat(const domain::Node& node, int64_t task_id,
                                             std::optional<int64_t> progress) {
  HeartbeatAction action = HeartbeatAction::kContinue;
  INFERIX_TRY(Atomically([&]() -> Result<void> {
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
    const int64_t now = clock_.NowMs();
    if (progress && *progress > task->progress) {
      task->progress = *progress;
      task->progress_ms = now;
    }
    // Renewed only up to stall_ms after the last progress: a node that renders nothing cannot keep it.
    task->lease_expires_ms = task->kind == TaskKind::kRender
                                 ? std::min(now + options_.lease_ms, task->progress_ms + options_.stall_ms)
                                 : now + options_.lease_ms;
    return WriteTask(*task);
  }));
  return action;
}

Result<ReportOutcome> Scheduler::ReportFrame(const domain::Node& node, int64_t task_id, int frame,
                                             const std::string& sha256, const std::string& blob_key,
                                             double render_seconds, double render_cpu_seconds,
                                             const std::string& forged) {
  ReportOutcome outcome = ReportOutcome::kAccepted;
  INFERIX_TRY(Atomically([&]() -> Result<void> {
    // The task first: its row lock (PostgreSQL) makes a report repeated through another manager at the same
    // time wait for this one, and then find its output (a duplicate) rather than a frame no longer expected.
    auto task = Found(store_.GetTask(task_id), "task " + std::to_string(task_id));
    if (!task) return task.error();
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
    if (task->node_id != node.id || task->state != TaskState::kActive) return NotHeld(task_id);
    if (task->kind != TaskKind::kRender ||
        std::find(task->frames.begin(), task->frames.end(), frame) == task->frames.end()) {
      return MakeError(Errc::kInvalidArgument,
                       "frame " + std::to_string(frame) + " is not part of task " + std::to_string(task_id));
    }
    // The job before its frames, as every transaction locks them (PostgreSQL): no deadlock between two.
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    auto f = Found(store_.GetFrame(task->job_id, frame), "frame " + std::to_string(frame));
    if (!f) return f.error();
    const bool replica = task->level == domain::kReplicaCheck && task->output_id != 0;
    if (replica && !forged.empty()) return MakeError(Errc::kConflict, forged);
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
    // The class of the build this node renders the job with (the claim chose it the same way).
    const auto builds = BuildsOf(node);
    const auto build = domain::ChooseBuild(domain::NeedsOf(*job), builds);
    out.det_class = build ? ClassOf(node, builds[*build], task->slot) : node.det_class;
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
      INFERIX_TRY(domain::Transition(*f, FrameState::kVerifying, "its image was reported"));
      f->output_id = out.id;
      INFERIX_TRY(store_.PutFrame(*f));
    }
    if (!forged.empty()) {
      // The node signed a digest its upload does not have: proof of a lie, no check needed.
      outcome = ReportOutcome::kForged;
      INFERIX_TRY(Reject(*job, out, forged, true));
      return UpdateJobState(job->id);
    }
    INFERIX_TRY(QueueCheck(out, level));
    task->lease_expires_ms = clock_.NowMs() + options_.lease_ms;
    task->progress_ms = clock_.NowMs();  // a reported frame is progress
    INFERIX_TRY(WriteTask(*task));
    if (replica) return Ok();
    return Emit(*job, "frame",
                FrameEvent(*job, frame, FrameState::kVerifying, domain::Verdict::kPending, out));
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
  auto id = InsertTask(verify);
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
  auto stored = store_.GetFrames(job.id, frames);
  if (!stored) return stored.error();
  if (stored->size() != frames.size()) {
    return MakeError(Errc::kInternal,
                     "job " + std::to_string(job.id) + ": a frame to render again is missing");
  }
  for (const auto& f : *stored) {
    for (int64_t node : f.excluded_nodes) {
      if (!Contains(t.excluded_nodes, node)) t.excluded_nodes.push_back(node);
    }
  }
  t.created_ms = clock_.NowMs();
  auto id = InsertTask(t);
  if (!id) return id.error();
  for (auto& f : *stored) {
    INFERIX_TRY(domain::Transition(f, FrameState::kQueued, "it is rendered again"));
    f.task_id = *id;
  }
  return store_.PutFrames(*stored);
}

Result<void> Scheduler::UpdateJobState(int64_t job_id) {
  auto job = Found(store_.GetJob(job_id), "job " + std::to_string(job_id));
  if (!job) return job.error();
  // Counted by the store (one row per state), not by listing the frames: this runs on every change of a
  // frame, and the job's frames are listed only on the one change that ends it.
  auto counts = store_.CountJobFrames(job_id);
  if (!counts) return counts.error();
  JobState next = domain::DeriveJobState(job->state, *counts);
  if (next == job->state) return Ok();
  Result<std::vector<domain::Frame>> frames = std::vector<domain::Frame>{};
  if (next == JobState::kCompleted || next == JobState::kFailed) frames = store_.ListFrames(job_id);
  if (!frames) return frames.error();
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
  INFERIX_TRY(domain::Transition(*job, next, "its frames' states"));
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
    if (next == JobState::kFailed) INFERIX_TRY(CancelOpenTasks(job_id, "job failed"));
  }
  INFERIX_TRY(store_.UpdateJob(*job));
  INFERIX_TRY(Emit(*job, "job", JobEvent(*job)));
  if (next == JobState::kCompleted && on_job_completed_) on_job_completed_(*job);
  return Ok();
}

Result<void> Scheduler::CancelOpenTasks(int64_t job_id, const std::string& why) {
  auto tasks = store_.ListJobTasks(job_id);
  if (!tasks) return tasks.error();
  for (auto& t : *tasks) {
    if (t.state == TaskState::kQueued || t.state == TaskState::kActive) {
      const bool held = t.state == TaskState::kActive && t.node_id != 0;
      INFERIX_TRY(domain::Transition(t, TaskState::kCanceled, why));
      t.message = why;
      INFERIX_TRY(WriteTask(t));
      if (held) {
        INFERIX_TRY(WorkerChanged(t.node_id));  // now idle
      }
    }
  }
  return Ok();
}

Result<void> Scheduler::CompleteTask(const domain::Node& node, int64_t task_id) {
  return Atomically([&]() -> Result<void> {
    auto ending = EndingTask(node, task_id, TaskState::kDone);
    if (!ending) return ending.error();
    if (!ending->has_value()) return Ok();  // repeated report
    auto task = &**ending;
    // A verify task ends only with a verdict: ending it here would leave its frame verifying for ever.
    if (task->kind != TaskKind::kRender) return NotARenderTask(task_id);
    INFERIX_TRY(WorkerChanged(node.id));  // now idle
    if (task->level == domain::kReplicaCheck) {
      INFERIX_TRY(domain::Transition(*task, TaskState::kDone, "its node completed it"));
      INFERIX_TRY(WriteTask(*task));
      auto reported = store_.FindOutput(task_id, task->frames.empty() ? 0 : task->frames.front());
      if (!reported) return reported.error();
      return reported->has_value() ? Ok() : ReplicaEnded(*task);
    }
    INFERIX_TRY(ReleaseRenderTask(*task, TaskState::kDone, task->message, {}));
    return UpdateJobState(task->job_id);
  });
}

Result<void> Scheduler::ReleaseRenderTask(domain::Task& t, domain::TaskState end, const std::string& why,
                                          const std::vector<int64_t>& excluded) {
  auto job = Found(store_.GetJob(t.job_id), "job");  // locked before its frames (ReportFrame)
  if (!job) return job.error();
  std::vector<int> unreported;
  for (int n : t.frames) {
    auto f = store_.GetFrame(t.job_id, n);
    if (!f) return f.error();
    if (f->has_value() && (*f)->state == FrameState::kRendering && (*f)->task_id == t.id)
      unreported.push_back(n);
  }
  INFERIX_TRY(domain::Transition(t, end, why.empty() ? "its node ended it" : why));
  t.message = why;
  INFERIX_TRY(WriteTask(t));
  return RequeueFrames(*job, unreported, excluded);
}

Result<int> Scheduler::ExpireLeases() {
  auto released = ReleaseBannedWork();
  if (!released) return released.error();
  int expired = *released;
  INFERIX_TRY(Atomically([&]() -> Result<void> {
    auto tasks = store_.ListExpiredTasks(clock_.NowMs());
    if (!tasks) return tasks.error();
    for (auto& t : *tasks) {
      ++expired;
      INFERIX_TRY(WorkerChanged(t.node_id));  // no longer holds it
      if (t.kind == TaskKind::kVerify || t.level == domain::kReplicaCheck) {
        INFERIX_TRY(domain::Transition(t, TaskState::kQueued, "its lease expired; offered again"));
        t.node_id = 0;
        INFERIX_TRY(WriteTask(t));
        continue;
      }
      const bool stalled = t.progress_ms + options_.stall_ms <= clock_.NowMs();
      INFERIX_TRY(ReleaseRenderTask(t, TaskState::kFailed,
                                    stalled ? "lease expired: no progress for " +
                                                  std::to_string(options_.stall_ms / 1000) +
                                                  " s (frames reported or render progress)"
                                            : "lease expired: the node stopped answering",
                                    {}));
    }
    return Ok();
  }));
  return expired;
}

}  // namespace inferix::manager
