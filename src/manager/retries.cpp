// Failed renders: retries on other workers, the job blocklist, and failing a job no worker can render
// (Flamenco's task failure and job blocklist are the model). Part of Scheduler; see scheduler.hpp.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "domain/state_machine.hpp"
#include "manager/scheduler.hpp"
#include "manager/scheduler_internal.hpp"

namespace inferix::manager {

using domain::FrameState;
using domain::JobState;
using domain::TaskKind;
using domain::TaskState;
using internal::Contains;
using internal::Found;
using internal::JobEvent;
using internal::NotARenderTask;

Result<std::vector<domain::Node>> Scheduler::EligibleWorkers(const domain::Job& job,
                                                             const std::vector<int64_t>& excluded) {
  auto nodes = store_.ListNodes();
  if (!nodes) return nodes.error();
  auto blocked = store_.ListBlocklist(job.id);
  if (!blocked) return blocked.error();
  const int64_t since = clock_.NowMs() - options_.lease_ms;
  std::vector<domain::Node> out;
  for (const auto& n : *nodes) {
    if (n.role != domain::NodeRole::kWorker || n.banned || n.last_seen_ms < since || Contains(excluded, n.id))
      continue;
    bool on_list = false;
    for (const auto& b : *blocked) on_list = on_list || b.node_id == n.id;
    if (!on_list) out.push_back(n);
  }
  return out;
}

Result<void> Scheduler::FailTask(const domain::Node& node, int64_t task_id, const std::string& error) {
  return Atomically([&]() -> Result<void> {
    auto ending = EndingTask(node, task_id, TaskState::kFailed);
    if (!ending) return ending.error();
    if (!ending->has_value()) return Ok();  // repeated report
    auto task = &**ending;
    if (task->kind != TaskKind::kRender) return NotARenderTask(task_id);
    INFERIX_TRY(domain::Transition(*task, TaskState::kFailed, "its node reported the render failed"));
    task->message = error.substr(0, 4000);
    INFERIX_TRY(WriteTask(*task));
    INFERIX_TRY(WorkerChanged(node.id));  // now idle
    if (task->level == domain::kReplicaCheck) return ReplicaEnded(*task);
    auto job = Found(store_.GetJob(task->job_id), "job");
    if (!job) return job.error();
    // Live workers other than this one; a frame is kept off this worker only while one of them can take it.
    auto others = EligibleWorkers(*job, {node.id});
    if (!others) return others.error();
    std::vector<int> retry;
    for (int n : task->frames) {
      auto f = Found(store_.GetFrame(task->job_id, n), "frame");
      if (!f) return f.error();
      if (f->state != FrameState::kRendering || f->task_id != task_id) continue;
      f->failures++;
      f->errors += node.name + ": " + error.substr(0, 1000) + "\n";
      if (f->failures >= options_.max_frame_failures) {
        INFERIX_TRY(domain::Transition(*f, FrameState::kFailed, "it failed on every attempt"));
      } else {
        retry.push_back(n);
        const bool someone_else = std::any_of(others->begin(), others->end(), [&](const domain::Node& o) {
          return !Contains(f->excluded_nodes, o.id);
        });
        if (someone_else && !Contains(f->excluded_nodes, node.id)) f->excluded_nodes.push_back(node.id);
      }
      INFERIX_TRY(store_.PutFrame(*f));
    }
    INFERIX_TRY(RequeueFrames(*job, retry, {}));
    INFERIX_TRY(UpdateJobState(task->job_id));
    auto now = Found(store_.GetJob(task->job_id), "job");
    if (!now) return now.error();
    if (domain::IsFinal(now->state)) return Ok();
    return MaybeBlocklist(node, *now, error);
  });
}

Result<void> Scheduler::ReleaseTask(const domain::Node& node, int64_t task_id, const std::string& reason) {
  return Atomically([&]() -> Result<void> {
    auto ending = EndingTask(node, task_id, TaskState::kCanceled);
    if (!ending) return ending.error();
    if (!ending->has_value()) return Ok();  // handed back already
    auto& task = **ending;
    INFERIX_TRY(WorkerChanged(node.id));  // no longer holds it
    const std::string why = "handed back by its node: " + reason.substr(0, 1000);
    if (task.kind == TaskKind::kVerify || task.level == domain::kReplicaCheck) {
      INFERIX_TRY(domain::Transition(task, TaskState::kQueued, why + "; offered again"));
      task.node_id = 0;
      return WriteTask(task);
    }
    return ReleaseRenderTask(task, TaskState::kCanceled, why, {});
  });
}

Result<void> Scheduler::SetAvailability(const domain::Node& node, const std::string& availability,
                                        const std::string& reason) {
  return Atomically([&]() -> Result<void> {
    auto now = Found(store_.GetNode(node.id), "node");
    if (!now) return now.error();
    if (now->availability == availability && now->availability_reason == reason) return Ok();
    INFERIX_TRY(store_.SetNodeAvailability(node.id, availability, reason));
    return WorkerChanged(node.id);
  });
}

Result<void> Scheduler::MaybeBlocklist(const domain::Node& node, domain::Job& job, const std::string& error) {
  auto tasks = store_.ListJobTasks(job.id);
  if (!tasks) return tasks.error();
  int failed = 0;
  for (const auto& t : *tasks) {
    if (t.kind == TaskKind::kRender && t.node_id == node.id && t.state == TaskState::kFailed &&
        t.level != domain::kReplicaCheck)
      ++failed;
  }
  if (failed < options_.blocklist_after) return Ok();
  auto listed = store_.ListBlocklist(job.id);
  if (!listed) return listed.error();
  for (const auto& b : *listed) {
    if (b.node_id == node.id) return Ok();
  }
  const std::string reason =
      "failed " + std::to_string(failed) + " tasks of this job; the last: " + error.substr(0, 500);
  listed->push_back({job.id, node.id, reason, clock_.NowMs()});
  INFERIX_TRY(store_.AddToBlocklist(listed->back()));
  INFERIX_TRY(Emit(
      job, "blocklist",
      nlohmann::json{{"job_id", job.id}, {"worker_id", node.id}, {"worker", node.name}, {"reason", reason}}
          .dump()));
  auto left = EligibleWorkers(job, {});
  if (!left) return left.error();
  if (!left->empty()) return Ok();
  // Nobody left to render it: waiting would be for ever, so the job fails with what each worker said.
  auto nodes = store_.ListNodes();
  if (!nodes) return nodes.error();
  INFERIX_TRY(domain::Transition(job, JobState::kFailed, "every available worker was kept off it"));
  job.message = "every available worker failed this job and was kept off it:\n";
  for (const auto& b : *listed) {
    std::string name = "worker " + std::to_string(b.node_id);
    for (const auto& n : *nodes) {
      if (n.id == b.node_id) name = n.name;
    }
    job.message += name + ": " + b.reason + "\n";
  }
  job.finished_ms = clock_.NowMs();
  INFERIX_TRY(CancelOpenTasks(job.id, "job failed"));
  INFERIX_TRY(store_.UpdateJob(job));
  return Emit(job, "job", JobEvent(job));
}

}  // namespace inferix::manager
