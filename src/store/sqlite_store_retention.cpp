// The SQLite store's retention calls (domain::Store's retention block): bounded deletes of what the manager's
// chores remove. Kept apart from sqlite_store.cpp, which holds the rest of the store.
#include <sqlite3.h>

#include <string>

#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::store::detail {
namespace {

using sqlite::kJobCols;
using sqlite::kOutputCols;
using sqlite::QueryAll;
using sqlite::QueryOne;
using sqlite::Stmt;

constexpr const char* kEventsMark = "events_removed_through";
// A job is live while it has not ended, or while one of its tasks may still be handed out or worked on (a
// delivered frame is checked again after its job completed when its worker was caught cheating).
constexpr const char* kEnded = "state IN ('completed', 'failed', 'canceled')";
constexpr const char* kNoLiveTask =
    "NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = jobs.id AND t.state IN ('queued', 'active'))";

int64_t Changes(sqlite3* db) { return sqlite3_changes(db); }

}  // namespace

Result<std::vector<domain::Job>> SqliteRetention::ListExpiredJobs(int64_t before_ms, int limit) {
  // Jobs ended before finish times were recorded have finished_ms 0: their submission time stands in.
  const std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE " + kEnded +
                          " AND finished_ms < ? AND (finished_ms > 0 OR created_ms < ?) AND " + kNoLiveTask +
                          " ORDER BY finished_ms, id LIMIT ?";
  Stmt s(rdb_, sql.c_str());
  s.Bind(before_ms).Bind(before_ms).Bind(limit);
  return QueryAll<domain::Job>(s, sqlite::ReadJob);
}

Result<void> SqliteRetention::DeleteJob(int64_t job_id) {
  return Transaction([&]() -> Result<void> {
    const std::string check =
        std::string("SELECT ") + kEnded + " AND " + kNoLiveTask + " FROM jobs WHERE id = ?";
    Stmt s(rdb_, check.c_str());
    s.Bind(job_id);
    auto removable = QueryOne<bool>(s, [](const Stmt& r) { return r.Int(0) != 0; });
    if (!removable) return removable.error();
    if (!removable->has_value()) return Ok();
    if (!**removable) {
      return MakeError(Errc::kConflict, "job " + std::to_string(job_id) +
                                            " has not ended or still has work queued; it is not removed");
    }
    Stmt last(rdb_, "SELECT COALESCE(MAX(id), 0) FROM events WHERE job_id = ?");
    last.Bind(job_id);
    auto through = QueryOne<int64_t>(last, [](const Stmt& r) { return r.Int(0); });
    if (!through) return through.error();
    for (const char* sql :
         {"DELETE FROM events WHERE job_id = ?", "DELETE FROM job_blocklist WHERE job_id = ?",
          "DELETE FROM outputs WHERE job_id = ?", "DELETE FROM frames WHERE job_id = ?",
          "DELETE FROM tasks WHERE job_id = ?", "DELETE FROM jobs WHERE id = ?"}) {
      Stmt d(rdb_, sql);
      d.Bind(job_id);
      INFERIX_TRY(d.Run());
    }
    return MarkEventsRemoved(through->value_or(0));
  });
}

Result<std::vector<domain::Output>> SqliteRetention::ListExpiredRejectedOutputs(int64_t before_ms,
                                                                                int limit) {
  const std::string sql =
      std::string("SELECT ") + kOutputCols +
      " FROM outputs o WHERE verdict = 'rejected' AND blob_key <> '' AND created_ms < ?"
      " AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.output_id = o.id)"
      " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.output_id = o.id AND t.state IN ('queued', 'active'))"
      " ORDER BY created_ms, id LIMIT ?";
  Stmt s(rdb_, sql.c_str());
  s.Bind(before_ms).Bind(limit);
  return QueryAll<domain::Output>(s, sqlite::ReadOutput);
}

Result<void> SqliteRetention::ForgetOutputObjects(int64_t output_id) {
  Stmt s(rdb_, "UPDATE outputs SET blob_key = '', preview_key = '' WHERE id = ?");
  s.Bind(output_id);
  return s.Run();
}

Result<int64_t> SqliteRetention::DeleteEventsBefore(int64_t before_ms, int limit) {
  int64_t removed = 0;
  INFERIX_TRY(Transaction([&]() -> Result<void> {
    constexpr const char* kOldest = "SELECT id FROM events WHERE created_ms < ? ORDER BY created_ms LIMIT ?";
    Stmt last(rdb_, (std::string("SELECT COALESCE(MAX(id), 0) FROM (") + kOldest + ")").c_str());
    last.Bind(before_ms).Bind(limit);
    auto through = QueryOne<int64_t>(last, [](const Stmt& r) { return r.Int(0); });
    if (!through) return through.error();
    Stmt d(rdb_, (std::string("DELETE FROM events WHERE id IN (") + kOldest + ")").c_str());
    d.Bind(before_ms).Bind(limit);
    INFERIX_TRY(d.Run());
    removed = Changes(rdb_);
    return MarkEventsRemoved(through->value_or(0));
  }));
  return removed;
}

Result<int64_t> SqliteRetention::EventsRemovedThrough() {
  Stmt s(rdb_, "SELECT value FROM retention_marks WHERE name = ?");
  s.Bind(kEventsMark);
  auto v = QueryOne<int64_t>(s, [](const Stmt& r) { return r.Int(0); });
  if (!v) return v.error();
  return v->value_or(0);
}

Result<void> SqliteRetention::MarkEventsRemoved(int64_t through_id) {
  if (through_id <= 0) return Ok();
  Stmt s(rdb_,
         "INSERT INTO retention_marks (name, value) VALUES (?, ?) "
         "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)");
  s.Bind(kEventsMark).Bind(through_id);
  return s.Run();
}

Result<int64_t> SqliteRetention::DeleteExpiredSessions(int64_t now_ms, int limit) {
  Stmt s(rdb_,
         "DELETE FROM sessions WHERE rowid IN "
         "(SELECT rowid FROM sessions WHERE expires_ms <= ? ORDER BY expires_ms LIMIT ?)");
  s.Bind(now_ms).Bind(limit);
  INFERIX_TRY(s.Run());
  return Changes(rdb_);
}

Result<int64_t> SqliteRetention::TrimUserSessions(int64_t user_id, int keep) {
  Stmt s(rdb_,
         "DELETE FROM sessions WHERE user_id = ? AND rowid NOT IN "
         "(SELECT rowid FROM sessions WHERE user_id = ? ORDER BY expires_ms DESC, rowid DESC LIMIT ?)");
  s.Bind(user_id).Bind(user_id).Bind(keep < 0 ? 0 : keep);
  INFERIX_TRY(s.Run());
  return Changes(rdb_);
}

Result<std::vector<std::string>> SqliteRetention::ReferencedOutputKeys(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) {
    Stmt s(rdb_,
           "SELECT EXISTS (SELECT 1 FROM outputs WHERE blob_key = ?1) "
           "OR EXISTS (SELECT 1 FROM outputs WHERE preview_key = ?1 AND preview_key <> '')");
    s.Bind(key);
    auto found = QueryOne<bool>(s, [](const Stmt& r) { return r.Int(0) != 0; });
    if (!found) return found.error();
    if (found->value_or(false)) out.push_back(key);
  }
  return out;
}

}  // namespace inferix::store::detail
