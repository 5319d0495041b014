// The SQLite store's figures for GET /metrics (domain::Store's metrics block, issue #16) and its count of
// commits that wrote. Kept apart from sqlite_store.cpp, which holds the rest of the store.
#include <sqlite3.h>

#include <string>

#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_metrics.hpp"

namespace inferix::store::detail {

using sqlite::Stmt;

SqliteFigures::SqliteFigures(sqlite3* db) : fdb_(db) {
  // SQLite calls the commit hook for every commit that held the write lock: a Transaction (BEGIN IMMEDIATE
  // takes it even when it only reads) or a single writing statement (even one that changed nothing); never
  // for a plain read. What changed a row is told by the update hook, called for each row as it changes
  // (total_changes would not do: a single statement's changes are added to it only after its commit).
  sqlite3_commit_hook(db, &SqliteFigures::OnCommit, this);
  sqlite3_rollback_hook(db, &SqliteFigures::OnRollback, this);
  sqlite3_update_hook(db, &SqliteFigures::OnUpdate, this);
}

int SqliteFigures::OnCommit(void* self) {
  auto* figures = static_cast<SqliteFigures*>(self);
  if (figures->changed_) MetricsOf(Engine::kSqlite).writes.Inc();
  figures->changed_ = false;
  return 0;  // the commit goes ahead
}

void SqliteFigures::OnRollback(void* self) { static_cast<SqliteFigures*>(self)->changed_ = false; }

void SqliteFigures::OnUpdate(void* self, int /*op*/, const char* /*db*/, const char* /*table*/,
                             sqlite3_int64 /*rowid*/) {
  static_cast<SqliteFigures*>(self)->changed_ = true;
}

Result<std::map<std::pair<domain::TaskKind, std::string>, int64_t>> SqliteFigures::CountQueuedTasks() {
  // The jobs ListClaimableTasks takes tasks from; a render task that renders a frame again for a check names
  // an output too, whose class is not the task's.
  Stmt s(fdb_,
         "SELECT t.kind, COALESCE(o.det_class, ''), COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id "
         "LEFT JOIN outputs o ON o.id = t.output_id AND t.kind = 'verify' WHERE t.state = 'queued' AND "
         "(j.state IN ('queued', 'active') OR (t.kind = 'verify' AND j.state = 'completed')) "
         "GROUP BY t.kind, COALESCE(o.det_class, '')");
  std::map<std::pair<domain::TaskKind, std::string>, int64_t> out;
  while (s.Step()) {
    if (auto kind = domain::ParseTaskKind(s.Text(0))) out[{*kind, s.Text(1)}] = s.Int(2);
  }
  INFERIX_TRY(s.Status());
  return out;
}

Result<int64_t> SqliteFigures::MaxEventId() {
  Stmt s(fdb_,
         "SELECT MAX(COALESCE((SELECT MAX(id) FROM events), 0), COALESCE((SELECT value FROM retention_marks "
         "WHERE name = 'events_removed_through'), 0))");
  const int64_t id = s.Step() ? s.Int(0) : 0;
  INFERIX_TRY(s.Status());
  return id;
}

}  // namespace inferix::store::detail
