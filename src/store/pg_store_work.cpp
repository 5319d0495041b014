// The PostgreSQL store's jobs, frames, tasks and outputs. Inside a Transaction every read locks the rows it
// returns (FOR UPDATE); batch calls are one statement each.
#include <map>
#include <string>
#include <utility>

#include "domain/capabilities.hpp"
#include "store/pg_rows.hpp"
#include "store/pg_store.hpp"
#include "store/pg_store_impl.hpp"

namespace inferix::store::pg {

using domain::Frame;
using domain::Job;
using domain::Output;
using domain::Task;

namespace {
std::string Select(const char* cols, const char* rest, bool locking) {
  return std::string("SELECT ") + cols + " " + rest + ForUpdate(locking);
}
template <class T, class Reader>
Result<std::optional<T>> One(const Result<Rows>& r, Reader read) {
  if (!r) return r.error();
  return ReadFirst<T>(*r, read);
}
template <class T, class Reader>
Result<std::vector<T>> All(const Result<Rows>& r, Reader read) {
  if (!r) return r.error();
  return ReadAll<T>(*r, read);
}
Result<int64_t> Id(const Result<Rows>& r) {
  if (!r) return r.error();
  if (r->empty()) return MakeError(Errc::kInternal, "database: the insert returned no id");
  return r->Int(0, 0);
}
Result<void> Done(const Result<Rows>& r) {
  if (!r) return r.error();
  return Ok();
}
}  // namespace

Result<int64_t> PgStore::CreateJob(const Job& j) {
  Params p;
  p.Add(j.user_id).Add(j.name).Add(j.main_file).Add(EncodeFiles(j.files)).Add(j.frames_spec);
  p.Add(std::string(domain::ToString(j.format))).Add(j.chunk_size).Add(j.priority);
  p.Add(std::string(domain::ToString(j.state))).Add(j.message).Add(j.created_ms).Add(j.finished_ms);
  p.Add(j.fps).Add(j.started_ms).Add(j.scene_root).Add(j.blender_version).Add(JoinWords(j.denoisers));
  p.Add(j.without_denoiser ? 1 : 0)
      .Add(j.resolution_percentage)
      .Add(domain::EncodeRequirements(j.requirements))
      .Add(j.engine);
  return Id(Exec(
      "INSERT INTO jobs (user_id, name, main_file, files, frames_spec, format, chunk_size, priority, state, "
      "message, created_ms, finished_ms, fps, started_ms, scene_root, blender_version, denoisers, "
      "without_denoiser, resolution_percentage, requirements, engine) VALUES ($1::bigint, $2, $3, $4, $5, "
      "$6, $7::bigint, $8::bigint, $9, $10, $11::bigint, $12::bigint, $13::double precision, $14::bigint, "
      "$15, $16::bigint, $17, $18::bigint, $19::bigint, $20, $21) RETURNING id",
      p));
}
Result<std::optional<Job>> PgStore::GetJob(int64_t id) {
  return One<Job>(Exec(Select(kJobCols, "FROM jobs WHERE id = $1::bigint", locking()), Params().Add(id)),
                  ReadJob);
}
Result<std::vector<Job>> PgStore::GetJobs(const std::vector<int64_t>& ids) {
  return All<Job>(Exec(Select(kJobCols, "FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY id", locking()),
                       Params().Add(ArrayInts(ids))),
                  ReadJob);
}
Result<std::vector<Job>> PgStore::ListJobs(int64_t user_id) {
  return All<Job>(Exec(Select(kJobCols, "FROM jobs WHERE user_id = $1::bigint ORDER BY id", locking()),
                       Params().Add(user_id)),
                  ReadJob);
}
Result<std::vector<Job>> PgStore::ListJobsInState(domain::JobState state) {
  return All<Job>(Exec(Select(kJobCols, "FROM jobs WHERE state = $1 ORDER BY id", locking()),
                       Params().Add(std::string(domain::ToString(state)))),
                  ReadJob);
}
Result<void> PgStore::UpdateJob(const Job& j) {
  Params p;
  p.Add(std::string(domain::ToString(j.state))).Add(j.message).Add(j.priority).Add(j.finished_ms);
  p.Add(j.video_state).Add(j.video_key).Add(j.started_ms).Add(j.id);
  return Done(
      Exec("UPDATE jobs SET state = $1, message = $2, priority = $3::bigint, finished_ms = $4::bigint, "
           "video_state = $5, video_key = $6, started_ms = $7::bigint WHERE id = $8::bigint",
           p));
}

namespace {}  // namespace

Result<void> PgStore::PutFrame(const Frame& f) {
  Params p;
  p.Add(f.job_id).Add(f.number).Add(std::string(domain::ToString(f.state))).Add(f.task_id).Add(f.output_id);
  p.Add(f.failures).Add(f.errors).Add(JoinInts(f.excluded_nodes));
  return Done(Exec(std::string("INSERT INTO frames (") + kFrameCols +
                       ") VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5::bigint, $6::bigint, $7, $8)" +
                       kFrameUpsert,
                   p));
}
Result<void> PgStore::PutFrames(const std::vector<Frame>& frames) {
  // The last of several frames with one number wins, as if put one by one (one statement cannot update a
  // row twice).
  std::map<std::pair<int64_t, int>, const Frame*> last;
  for (const auto& f : frames) last[{f.job_id, f.number}] = &f;
  if (last.empty()) return Ok();
  std::vector<int64_t> job_ids, task_ids, output_ids;
  std::vector<int> numbers, failures;
  std::vector<std::string> states, errors, excluded;
  for (const auto& [key, f] : last) {
    job_ids.push_back(f->job_id);
    numbers.push_back(f->number);
    states.emplace_back(domain::ToString(f->state));
    task_ids.push_back(f->task_id);
    output_ids.push_back(f->output_id);
    failures.push_back(f->failures);
    errors.push_back(f->errors);
    excluded.push_back(JoinInts(f->excluded_nodes));
  }
  Params p;
  p.Add(ArrayInts(job_ids)).Add(ArrayInts(numbers)).Add(ArrayTexts(states)).Add(ArrayInts(task_ids));
  p.Add(ArrayInts(output_ids)).Add(ArrayInts(failures)).Add(ArrayTexts(errors)).Add(ArrayTexts(excluded));
  return Done(Exec(std::string("INSERT INTO frames (") + kFrameCols +
                       ") SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], "
                       "$5::bigint[], $6::bigint[], $7::text[], $8::text[])" +
                       kFrameUpsert,
                   p));
}
Result<std::optional<Frame>> PgStore::GetFrame(int64_t job_id, int number) {
  return One<Frame>(
      Exec(Select(kFrameCols, "FROM frames WHERE job_id = $1::bigint AND number = $2::bigint", locking()),
           Params().Add(job_id).Add(number)),
      ReadFrame);
}
Result<std::vector<Frame>> PgStore::GetFrames(int64_t job_id, const std::vector<int>& numbers) {
  return All<Frame>(
      Exec(Select(kFrameCols,
                  "FROM frames WHERE job_id = $1::bigint AND number = ANY($2::bigint[]) ORDER BY number",
                  locking()),
           Params().Add(job_id).Add(ArrayInts(numbers))),
      ReadFrame);
}
Result<std::vector<Frame>> PgStore::ListFrames(int64_t job_id) {
  return All<Frame>(
      Exec(Select(kFrameCols, "FROM frames WHERE job_id = $1::bigint ORDER BY number", locking()),
           Params().Add(job_id)),
      ReadFrame);
}
Result<std::map<int64_t, domain::FrameCounts>> PgStore::CountFramesByJob(int64_t user_id) {
  auto r = Exec(
      "SELECT c.job_id, c.state, c.n FROM frame_counts c JOIN jobs j ON j.id = c.job_id WHERE j.user_id = "
      "$1::bigint AND c.n > 0",
      Params().Add(user_id));
  if (!r) return r.error();
  std::map<int64_t, domain::FrameCounts> out;
  for (int i = 0; i < r->size(); ++i) {
    auto state = domain::ParseFrameState(r->Text(i, 1));
    if (!state) continue;
    domain::AddFrames(out[r->Int(i, 0)], *state, static_cast<int>(r->Int(i, 2)));
  }
  return out;
}

Result<domain::FrameCounts> PgStore::CountJobFrames(int64_t job_id) {
  auto r =
      Exec("SELECT state, n FROM frame_counts WHERE job_id = $1::bigint AND n > 0", Params().Add(job_id));
  if (!r) return r.error();
  domain::FrameCounts out;
  for (int i = 0; i < r->size(); ++i) {
    auto state = domain::ParseFrameState(r->Text(i, 0));
    if (state) domain::AddFrames(out, *state, static_cast<int>(r->Int(i, 1)));
  }
  return out;
}

Result<int64_t> PgStore::CreateTask(const Task& t) {
  Params p;
  p.Add(t.job_id).Add(std::string(domain::ToString(t.kind))).Add(std::string(domain::ToString(t.state)));
  p.Add(JoinInts(t.frames)).Add(t.output_id).Add(t.node_id).Add(t.lease_expires_ms);
  p.Add(JoinInts(t.excluded_nodes)).Add(t.message).Add(t.created_ms).Add(t.level).Add(t.progress);
  p.Add(t.progress_ms);
  auto id = Id(
      Exec("INSERT INTO tasks (job_id, kind, state, frames, output_id, node_id, lease_expires_ms, excluded, "
           "message, created_ms, level, progress, progress_ms, priority) VALUES ($1::bigint, $2, $3, $4, "
           "$5::bigint, $6::bigint, $7::bigint, $8, $9, $10::bigint, $11::bigint, $12::bigint, $13::bigint, "
           "COALESCE((SELECT priority FROM jobs WHERE id = $1::bigint), 0)) RETURNING id",
           p));
  if (id && t.state == domain::TaskState::kQueued) INFERIX_TRY(NotifyQueued(t.kind));
  return id;
}
Result<std::optional<Task>> PgStore::GetTask(int64_t id) {
  return One<Task>(Exec(Select(kTaskCols, "FROM tasks WHERE id = $1::bigint", locking()), Params().Add(id)),
                   ReadTask);
}
Result<void> PgStore::UpdateTask(const Task& t) {
  Params p;
  p.Add(std::string(domain::ToString(t.state)))
      .Add(JoinInts(t.frames))
      .Add(t.node_id)
      .Add(t.lease_expires_ms);
  p.Add(JoinInts(t.excluded_nodes)).Add(t.message).Add(t.progress).Add(t.progress_ms).Add(t.id).Add(t.slot);
  INFERIX_TRY(Done(Exec(
      "UPDATE tasks SET state = $1, frames = $2, node_id = $3::bigint, lease_expires_ms = $4::bigint, "
      "excluded = $5, message = $6, progress = $7::bigint, progress_ms = $8::bigint, slot = $10 WHERE id = "
      "$9::bigint",
      p)));
  if (t.state == domain::TaskState::kQueued) return NotifyQueued(t.kind);
  return Ok();
}

Result<void> PgStore::NotifyQueued(domain::TaskKind kind) {
  // A wake-up for waiting claims on every manager, sent at commit; PostgreSQL folds repeats of one payload in
  // a transaction into one, so a job's many new tasks cost one notification per kind.
  return Done(
      Exec("SELECT pg_notify($1, $2)", Params().Add(kTasksChannel).Add(std::string(domain::ToString(kind)))));
}
Result<std::vector<Task>> PgStore::ListNodeTasks(int64_t node_id) {
  return All<Task>(
      Exec(Select(kTaskCols, "FROM tasks WHERE state = 'active' AND node_id = $1::bigint ORDER BY id",
                  locking()),
           Params().Add(node_id)),
      ReadTask);
}
Result<std::vector<Task>> PgStore::ListExpiredTasks(int64_t now_ms) {
  return All<Task>(
      Exec(
          Select(kTaskCols, "FROM tasks WHERE state = 'active' AND lease_expires_ms < $1::bigint ORDER BY id",
                 locking()),
          Params().Add(now_ms)),
      ReadTask);
}
Result<std::vector<Task>> PgStore::ListActiveTasks() {
  return All<Task>(
      Exec(Select(kTaskCols, "FROM tasks WHERE state = 'active' ORDER BY node_id, id", locking())), ReadTask);
}
Result<std::vector<Task>> PgStore::ListJobTasks(int64_t job_id) {
  return All<Task>(Exec(Select(kTaskCols, "FROM tasks WHERE job_id = $1::bigint ORDER BY id", locking()),
                        Params().Add(job_id)),
                   ReadTask);
}

Result<int64_t> PgStore::CreateOutput(const Output& o) {
  Params p;
  p.Add(o.job_id).Add(o.frame).Add(o.task_id).Add(o.node_id).Add(o.blob_key).Add(o.sha256);
  p.Add(o.render_seconds).Add(std::string(domain::ToString(o.verdict))).Add(o.verdict_detail);
  p.Add(o.verifier_node_id)
      .Add(o.verify_seconds)
      .Add(o.created_ms)
      .Add(o.render_cpu_seconds)
      .Add(o.det_class);
  p.Add(o.replica_of).Add(o.preview_key).Add(o.verify_cpu_seconds).Add(o.method).Add(o.credited ? 1 : 0);
  return Id(Exec(
      "INSERT INTO outputs (job_id, frame, task_id, node_id, blob_key, sha256, render_seconds, verdict, "
      "verdict_detail, verifier_node_id, verify_seconds, created_ms, render_cpu_seconds, det_class, "
      "replica_of, preview_key, verify_cpu_seconds, method, credited) VALUES ($1::bigint, $2::bigint, "
      "$3::bigint, $4::bigint, $5, $6, $7::double precision, $8, $9, $10::bigint, $11::double precision, "
      "$12::bigint, $13::double precision, $14, $15::bigint, $16, $17::double precision, $18, $19::bigint) "
      "RETURNING id",
      p));
}
Result<std::optional<Output>> PgStore::GetOutput(int64_t id) {
  return One<Output>(
      Exec(Select(kOutputCols, "FROM outputs WHERE id = $1::bigint", locking()), Params().Add(id)),
      ReadOutput);
}
Result<std::vector<Output>> PgStore::GetOutputs(const std::vector<int64_t>& ids) {
  return All<Output>(
      Exec(Select(kOutputCols, "FROM outputs WHERE id = ANY($1::bigint[]) ORDER BY id", locking()),
           Params().Add(ArrayInts(ids))),
      ReadOutput);
}
Result<std::optional<Output>> PgStore::FindOutput(int64_t task_id, int frame) {
  return One<Output>(
      Exec(Select(kOutputCols, "FROM outputs WHERE task_id = $1::bigint AND frame = $2::bigint", locking()),
           Params().Add(task_id).Add(frame)),
      ReadOutput);
}
Result<std::vector<Output>> PgStore::ListOutputs(int64_t job_id) {
  return All<Output>(
      Exec(Select(kOutputCols, "FROM outputs WHERE job_id = $1::bigint ORDER BY frame, id", locking()),
           Params().Add(job_id)),
      ReadOutput);
}
Result<std::vector<Output>> PgStore::ListNodeOutputs(int64_t node_id, int limit) {
  return All<Output>(
      Exec(Select(kOutputCols, "FROM outputs WHERE node_id = $1::bigint ORDER BY id DESC LIMIT $2::bigint",
                  locking()),
           Params().Add(node_id).Add(limit)),
      ReadOutput);
}
Result<std::vector<Output>> PgStore::FindOutputsBySha(const std::string& sha256) {
  return All<Output>(Exec(Select(kOutputCols, "FROM outputs WHERE sha256 = $1 ORDER BY id", locking()),
                          Params().Add(sha256)),
                     ReadOutput);
}
Result<void> PgStore::UpdateOutput(const Output& o) {
  Params p;
  p.Add(std::string(domain::ToString(o.verdict))).Add(o.verdict_detail).Add(o.verifier_node_id);
  p.Add(o.verify_seconds).Add(o.preview_key).Add(o.verify_cpu_seconds).Add(o.method).Add(o.credited ? 1 : 0);
  p.Add(o.id);
  return Done(Exec(
      "UPDATE outputs SET verdict = $1, verdict_detail = $2, verifier_node_id = $3::bigint, verify_seconds = "
      "$4::double precision, preview_key = $5, verify_cpu_seconds = $6::double precision, method = $7, "
      "credited = $8::bigint WHERE id = $9::bigint",
      p));
}

}  // namespace inferix::store::pg
