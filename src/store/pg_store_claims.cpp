// The PostgreSQL store's claim queries (domain::Store's "Claims" block), on one connection: the same answers
// as the SQLite store's (sqlite_store_claims.cpp), and inside a Transaction the locks that let several
// managers claim at once (pg_parts.hpp).
#include <string>

#include "domain/trust.hpp"
#include "store/pg_parts.hpp"
#include "store/pg_rows.hpp"

namespace inferix::store::pg {

using domain::Task;

namespace {

constexpr int64_t kHoursPerDay = 24;

// Adds a parameter; its placeholder ("$3").
template <class T>
std::string Arg(Params& p, T value) {
  p.Add(value);
  return "$" + std::to_string(p.size());
}

// A LIMIT's parameter: a negative limit is none, as in SQLite (NULL: LIMIT ALL).
std::string LimitArg(Params& p, int limit) {
  if (limit < 0) {
    p.AddNull();
  } else {
    p.Add(limit);
  }
  return "$" + std::to_string(p.size()) + "::bigint";
}

template <class T, class Reader>
Result<std::vector<T>> All(Conn& conn, const std::string& sql, const Params& params, Reader read) {
  auto rows = conn.Exec(sql, params);
  if (!rows) return rows.error();
  return ReadAll<T>(*rows, read);
}

}  // namespace

Result<std::vector<Task>> ListClaimableTasks(Conn& conn, bool locking, const domain::ClaimFilter& filter,
                                             int limit, int offset) {
  // Everything a claim can decide from rows is decided here, so that tasks the node cannot take (another
  // class's checks, a job it is kept off) never fill a page ahead of one it can. Inside a Transaction the
  // tasks are locked, and those another manager holds are skipped rather than waited for.
  Params p;
  std::string sql = "SELECT " + Prefixed("t", kTaskCols) +
                    " FROM tasks t JOIN jobs j ON j.id = t.job_id LEFT JOIN outputs o ON o.id = t.output_id "
                    "WHERE t.state = 'queued' AND t.kind = " +
                    Arg(p, std::string(domain::ToString(filter.kind))) +
                    " AND (j.state IN ('queued', 'active') OR (t.kind = 'verify' AND j.state = 'completed'))";
  const bool verify = filter.kind == domain::TaskKind::kVerify;
  if (filter.node_id != 0) {
    sql += " AND (',' || t.excluded || ',') NOT LIKE ('%,' || " + Arg(p, std::to_string(filter.node_id)) +
           "::text || ',%')";
    if (verify) {
      sql += " AND (o.node_id IS NULL OR o.node_id <> " + Arg(p, filter.node_id) + "::bigint)";
    } else {
      sql += " AND NOT EXISTS (SELECT 1 FROM job_blocklist b WHERE b.job_id = t.job_id AND b.node_id = " +
             Arg(p, filter.node_id) + "::bigint)";
    }
  }
  if (verify && filter.classes) {
    sql += " AND (t.level < " + Arg(p, static_cast<int>(domain::kRegions)) +
           "::bigint OR o.det_class IS NULL OR o.det_class = ''";
    std::string marks;
    for (const auto& c : *filter.classes) marks += (marks.empty() ? "" : ", ") + Arg(p, c) + "::text";
    if (!marks.empty()) sql += " OR o.det_class IN (" + marks + ")";
    sql += ")";
  }
  sql += " ORDER BY t.priority DESC, t.id LIMIT " + LimitArg(p, limit) + " OFFSET " +
         Arg(p, offset < 0 ? 0 : offset) + "::bigint";
  if (locking) sql += " FOR UPDATE OF t SKIP LOCKED";
  return All<Task>(conn, sql, p, ReadTask);
}

Result<void> CountNodeClaim(Conn& conn, int64_t node_id, int64_t now_ms) {
  // One statement, so the forgetting and the count are atomic together; two managers counting the same hour
  // at once both count (the second's insert becomes an update of the first's row).
  const int64_t hour = now_ms / domain::kClaimHourMs;
  auto result = conn.Exec(
      "WITH forgotten AS (DELETE FROM node_claims WHERE node_id = $1::bigint AND hour <= $3::bigint) "
      "INSERT INTO node_claims (node_id, hour, count) VALUES ($1::bigint, $2::bigint, 1) "
      "ON CONFLICT (node_id, hour) DO UPDATE SET count = node_claims.count + 1",
      Params().Add(node_id).Add(hour).Add(hour - kHoursPerDay));
  if (!result) return result.error();
  return Ok();
}

Result<domain::NodeClaims> NodeClaimsInDay(Conn& conn, int64_t node_id, int64_t now_ms) {
  const int64_t hour = now_ms / domain::kClaimHourMs;
  auto result = conn.Exec(
      "SELECT COALESCE(SUM(count), 0), COALESCE(MIN(hour), 0) FROM node_claims WHERE node_id = $1::bigint "
      "AND hour > $2::bigint",
      Params().Add(node_id).Add(hour - kHoursPerDay));
  if (!result) return result.error();
  domain::NodeClaims claims;
  if (!result->empty()) {
    claims.count = result->Int(0, 0);
    claims.oldest_hour = result->Int(0, 1);
  }
  return claims;
}

Result<std::vector<Task>> ListBannedNodesTasks(Conn& conn, bool locking) {
  return All<Task>(
      conn,
      std::string("SELECT ") + kTaskCols +
          " FROM tasks WHERE state = 'active' AND node_id IN (SELECT id FROM nodes WHERE banned = 1) "
          "ORDER BY id" +
          ForUpdate(locking),
      Params(), ReadTask);
}

Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(Conn& conn, bool locking, int limit) {
  Params p;
  const std::string sql =
      std::string("SELECT ") + kOutputCols +
      " FROM outputs WHERE verdict = 'pending' AND node_id IN (SELECT id FROM nodes WHERE banned = 1) "
      "ORDER BY id LIMIT " +
      LimitArg(p, limit) + ForUpdate(locking);
  return All<domain::Output>(conn, sql, p, ReadOutput);
}

Result<std::map<std::string, int64_t>> CountClassBoundChecks(Conn& conn) {
  auto result = conn.Exec(
      "SELECT o.det_class, COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN outputs o ON o.id = "
      "t.output_id WHERE t.state = 'queued' AND t.kind = 'verify' AND t.level >= $1::bigint AND "
      "o.det_class <> '' AND j.state IN ('queued', 'active', 'completed') GROUP BY o.det_class "
      "ORDER BY o.det_class",
      Params().Add(static_cast<int>(domain::kRegions)));
  if (!result) return result.error();
  std::map<std::string, int64_t> out;
  for (int i = 0; i < result->size(); ++i) out[result->Text(i, 0)] = result->Int(i, 1);
  return out;
}

Result<void> AddToBlocklist(Conn& conn, const domain::BlocklistEntry& e) {
  auto result = conn.Exec(
      "INSERT INTO job_blocklist (job_id, node_id, reason, created_ms) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (job_id, node_id) DO NOTHING",
      Params().Add(e.job_id).Add(e.node_id).Add(e.reason).Add(e.created_ms));
  if (!result) return result.error();
  return Ok();
}

Result<std::vector<domain::BlocklistEntry>> ListBlocklist(Conn& conn, int64_t job_id) {
  return All<domain::BlocklistEntry>(
      conn,
      "SELECT job_id, node_id, reason, created_ms FROM job_blocklist WHERE job_id = $1::bigint "
      "ORDER BY created_ms, node_id",
      Params().Add(job_id), [](const Rows& r, int i) {
        return domain::BlocklistEntry{r.Int(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3)};
      });
}

Result<std::vector<int64_t>> ListBlocklistedJobs(Conn& conn, int64_t node_id) {
  return All<int64_t>(conn, "SELECT job_id FROM job_blocklist WHERE node_id = $1::bigint ORDER BY job_id",
                      Params().Add(node_id), [](const Rows& r, int i) { return r.Int(i, 0); });
}

}  // namespace inferix::store::pg
