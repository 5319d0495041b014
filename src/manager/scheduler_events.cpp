// The scheduler's transactions and the events they record. Events are appended at the end of a transaction,
// after every row it locks: on PostgreSQL an append holds the network-wide events lock until commit
// (docs/store-postgresql.md), and a transaction that took it before a row lock deadlocks with one that holds
// that row and waits to append. Part of Scheduler; see scheduler.hpp.
#include <nlohmann/json.hpp>
#include <utility>

#include "manager/scheduler.hpp"

namespace inferix::manager {

Result<void> Scheduler::Atomically(const std::function<Result<void>()>& fn) {
  const bool outermost = depth_ == 0;
  if (outermost) queued_.clear();
  auto done = store_.Transaction([&]() -> Result<void> {
    const bool outer = depth_ == 0;
    if (outer) pending_events_.clear();
    ++depth_;
    Result<void> done = Ok();
    try {
      done = fn();
    } catch (...) {
      --depth_;
      throw;
    }
    --depth_;
    if (!done || !outer) return done;
    std::vector<domain::Event> events = std::move(pending_events_);
    pending_events_.clear();
    for (const auto& e : events) {
      auto id = store_.AppendEvent(e);
      if (!id) return id.error();
    }
    return Ok();
  });
  if (outermost) {
    if (done) {
      TellQueued();
    } else {
      queued_.clear();  // rolled back: nothing was queued
    }
  }
  return done;
}

Result<int64_t> Scheduler::InsertTask(const domain::Task& task) {
  auto id = store_.CreateTask(task);
  if (id && task.state == domain::TaskState::kQueued) {
    ++queued_[task.kind];
    if (depth_ == 0) TellQueued();
  }
  return id;
}

Result<void> Scheduler::WriteTask(const domain::Task& task) {
  INFERIX_TRY(store_.UpdateTask(task));
  if (task.state == domain::TaskState::kQueued) {
    ++queued_[task.kind];
    if (depth_ == 0) TellQueued();
  }
  return Ok();
}

void Scheduler::TellQueued() {
  auto queued = std::move(queued_);
  queued_.clear();
  if (!on_tasks_queued_) return;
  for (const auto& [kind, n] : queued) on_tasks_queued_(kind, n);
}

Result<void> Scheduler::Record(domain::Event event) {
  if (depth_ > 0) {
    pending_events_.push_back(std::move(event));
    return Ok();
  }
  auto id = store_.AppendEvent(event);
  return id ? Ok() : Result<void>(id.error());
}

Result<void> Scheduler::Emit(const domain::Job& job, const std::string& type, const std::string& data_json) {
  domain::Event e;
  e.user_id = job.user_id;
  e.job_id = job.id;
  e.type = type;
  e.data = data_json;
  e.created_ms = clock_.NowMs();
  return Record(std::move(e));
}

Result<void> AppendWorkerEvent(domain::Store& store, int64_t node_id, int64_t now_ms) {
  domain::Event e;
  e.user_id = domain::kNetworkUser;
  e.type = "worker";
  e.data = nlohmann::json{{"worker_id", node_id}}.dump();
  e.created_ms = now_ms;
  auto id = store.AppendEvent(e);
  return id ? Ok() : Result<void>(id.error());
}

Result<void> Scheduler::WorkerChanged(int64_t node_id) {
  if (depth_ == 0) return AppendWorkerEvent(store_, node_id, clock_.NowMs());
  domain::Event e;
  e.user_id = domain::kNetworkUser;
  e.type = "worker";
  e.data = nlohmann::json{{"worker_id", node_id}}.dump();
  e.created_ms = clock_.NowMs();
  return Record(std::move(e));
}

}  // namespace inferix::manager
