// The PostgreSQL store's figures for GET /metrics (domain::Store's metrics block, issue #16).
#include <string>

#include "store/pg_store_impl.hpp"
#include "store/store_metrics.hpp"

namespace inferix::store::pg {

void PgStore::CountWrites(int64_t commits) {
  MetricsOf(Engine::kPostgres).writes.Inc(static_cast<double>(commits));
}

Result<std::map<std::pair<domain::TaskKind, std::string>, int64_t>> PgStore::CountQueuedTasks() {
  // The jobs ListClaimableTasks takes tasks from; a render task that renders a frame again for a check names
  // an output too, whose class is not the task's.
  auto rows = Exec(
      "SELECT t.kind, COALESCE(o.det_class, ''), COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id "
      "LEFT JOIN outputs o ON o.id = t.output_id AND t.kind = 'verify' WHERE t.state = 'queued' AND "
      "(j.state IN ('queued', 'active') OR (t.kind = 'verify' AND j.state = 'completed')) "
      "GROUP BY t.kind, COALESCE(o.det_class, '')");
  if (!rows) return rows.error();
  std::map<std::pair<domain::TaskKind, std::string>, int64_t> out;
  for (int i = 0; i < rows->size(); ++i) {
    if (auto kind = domain::ParseTaskKind(rows->Text(i, 0))) out[{*kind, rows->Text(i, 1)}] = rows->Int(i, 2);
  }
  return out;
}

Result<int64_t> PgStore::MaxEventId() {
  auto rows = Exec(
      "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM events), 0), COALESCE((SELECT value FROM "
      "retention_marks WHERE name = 'events_removed_through'), 0))");
  if (!rows) return rows.error();
  return rows->empty() ? 0 : rows->Int(0, 0);
}

}  // namespace inferix::store::pg
