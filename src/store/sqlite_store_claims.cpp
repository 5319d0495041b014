#include <string>

#include "domain/trust.hpp"
#include "store/sqlite_claims.hpp"
#include "store/sqlite_rows.hpp"

namespace inferix::store::sqlite {

using domain::Task;

namespace {

constexpr int64_t kHoursPerDay = 24;

// The task columns of `t` in a joined query.
std::string TaskColsOf(const char* alias) {
  std::string out;
  std::string cols = kTaskCols;
  size_t start = 0;
  while (start <= cols.size()) {
    size_t end = cols.find(',', start);
    if (end == std::string::npos) end = cols.size();
    std::string col = cols.substr(start, end - start);
    while (!col.empty() && col.front() == ' ') col.erase(col.begin());
    if (!out.empty()) out += ", ";
    out += std::string(alias) + "." + col;
    start = end + 1;
  }
  return out;
}

}  // namespace

Result<std::vector<Task>> ListClaimableTasks(sqlite3* db, const domain::ClaimFilter& filter, int limit,
                                             int offset) {
  // Everything a claim can decide from rows is decided here, so that tasks the node cannot take (another
  // class's checks, a job it is kept off) never fill a page ahead of one it can.
  std::string sql = "SELECT " + TaskColsOf("t") +
                    " FROM tasks t JOIN jobs j ON j.id = t.job_id LEFT JOIN outputs o ON o.id = t.output_id "
                    "WHERE t.state = 'queued' AND t.kind = ? AND (j.state IN ('queued', 'active') OR "
                    "(t.kind = 'verify' AND j.state = 'completed'))";
  const bool verify = filter.kind == domain::TaskKind::kVerify;
  if (filter.node_id != 0) {
    sql += " AND (',' || t.excluded || ',') NOT LIKE ('%,' || ? || ',%')";
    if (verify) {
      sql += " AND (o.node_id IS NULL OR o.node_id <> ?)";
    } else {
      sql += " AND NOT EXISTS (SELECT 1 FROM job_blocklist b WHERE b.job_id = t.job_id AND b.node_id = ?)";
    }
  }
  if (verify && filter.classes) {
    std::string marks;
    for (size_t i = 0; i < filter.classes->size(); ++i) marks += i == 0 ? "?" : ", ?";
    sql += " AND (t.level < ? OR o.det_class IS NULL OR o.det_class = ''";
    if (!marks.empty()) sql += " OR o.det_class IN (" + marks + ")";
    sql += ")";
  }
  sql += " ORDER BY t.priority DESC, t.id LIMIT ? OFFSET ?";  // tasks_claim_order: no sort
  Stmt s(db, sql.c_str());
  s.Bind(domain::ToString(filter.kind));
  if (filter.node_id != 0) s.Bind(std::to_string(filter.node_id)).Bind(filter.node_id);
  if (verify && filter.classes) {
    s.Bind(static_cast<int>(domain::kRegions));
    for (const auto& c : *filter.classes) s.Bind(c);
  }
  s.Bind(limit).Bind(offset);
  return QueryAll<Task>(s, ReadTask);
}

Result<void> CountNodeClaim(sqlite3* db, int64_t node_id, int64_t now_ms) {
  const int64_t hour = now_ms / domain::kClaimHourMs;
  Stmt forget(db, "DELETE FROM node_claims WHERE node_id = ? AND hour <= ?");
  forget.Bind(node_id).Bind(hour - kHoursPerDay);
  INFERIX_TRY(forget.Run());
  Stmt s(db,
         "INSERT INTO node_claims (node_id, hour, count) VALUES (?, ?, 1) "
         "ON CONFLICT (node_id, hour) DO UPDATE SET count = count + 1");
  s.Bind(node_id).Bind(hour);
  return s.Run();
}

Result<domain::NodeClaims> NodeClaimsInDay(sqlite3* db, int64_t node_id, int64_t now_ms) {
  const int64_t hour = now_ms / domain::kClaimHourMs;
  Stmt s(db,
         "SELECT COALESCE(SUM(count), 0), COALESCE(MIN(hour), 0) FROM node_claims WHERE node_id = ? AND "
         "hour > ?");
  s.Bind(node_id).Bind(hour - kHoursPerDay);
  domain::NodeClaims claims;
  if (s.Step()) {
    claims.count = s.Int(0);
    claims.oldest_hour = s.Int(1);
  }
  INFERIX_TRY(s.Status());
  return claims;
}

Result<std::vector<Task>> ListBannedNodesTasks(sqlite3* db) {
  Stmt s(db, (std::string("SELECT ") + kTaskCols +
              " FROM tasks WHERE state = 'active' AND node_id IN (SELECT id FROM nodes WHERE banned = 1) "
              "ORDER BY id")
                 .c_str());
  return QueryAll<Task>(s, ReadTask);
}

Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(sqlite3* db, int limit) {
  Stmt s(db,
         (std::string("SELECT ") + kOutputCols +
          " FROM outputs WHERE verdict = 'pending' AND node_id IN (SELECT id FROM nodes WHERE banned = 1) "
          "ORDER BY id LIMIT ?")
             .c_str());
  s.Bind(limit);
  return QueryAll<domain::Output>(s, ReadOutput);
}

Result<std::map<std::string, int64_t>> CountClassBoundChecks(sqlite3* db) {
  Stmt s(db,
         "SELECT o.det_class, COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN outputs o ON o.id = "
         "t.output_id WHERE t.state = 'queued' AND t.kind = 'verify' AND t.level >= ? AND o.det_class <> '' "
         "AND j.state IN ('queued', 'active', 'completed') GROUP BY o.det_class ORDER BY o.det_class");
  s.Bind(static_cast<int>(domain::kRegions));
  std::map<std::string, int64_t> out;
  while (s.Step()) out[s.Text(0)] = s.Int(1);
  INFERIX_TRY(s.Status());
  return out;
}

Result<void> AddToBlocklist(sqlite3* db, const domain::BlocklistEntry& e) {
  Stmt s(db, "INSERT OR IGNORE INTO job_blocklist (job_id, node_id, reason, created_ms) VALUES (?, ?, ?, ?)");
  s.Bind(e.job_id).Bind(e.node_id).Bind(e.reason).Bind(e.created_ms);
  return s.Run();
}

Result<std::vector<domain::BlocklistEntry>> ListBlocklist(sqlite3* db, int64_t job_id) {
  Stmt s(db,
         "SELECT job_id, node_id, reason, created_ms FROM job_blocklist WHERE job_id = ? "
         "ORDER BY created_ms, node_id");
  s.Bind(job_id);
  return QueryAll<domain::BlocklistEntry>(s, [](const Stmt& r) {
    return domain::BlocklistEntry{r.Int(0), r.Int(1), r.Text(2), r.Int(3)};
  });
}

Result<std::vector<int64_t>> ListBlocklistedJobs(sqlite3* db, int64_t node_id) {
  Stmt s(db, "SELECT job_id FROM job_blocklist WHERE node_id = ? ORDER BY job_id");
  s.Bind(node_id);
  return QueryAll<int64_t>(s, [](const Stmt& r) { return r.Int(0); });
}

Result<std::map<int64_t, domain::FrameCounts>> CountFramesByJob(sqlite3* db, int64_t user_id) {
  Stmt s(db,
         "SELECT c.job_id, c.state, c.n FROM frame_counts c JOIN jobs j ON j.id = c.job_id "
         "WHERE j.user_id = ? AND c.n > 0");
  s.Bind(user_id);
  std::map<int64_t, domain::FrameCounts> out;
  while (s.Step()) {
    auto state = domain::ParseFrameState(s.Text(1));
    if (!state) continue;
    domain::AddFrames(out[s.Int(0)], *state, static_cast<int>(s.Int(2)));
  }
  INFERIX_TRY(s.Status());
  return out;
}

Result<domain::FrameCounts> CountJobFrames(sqlite3* db, int64_t job_id) {
  Stmt s(db, "SELECT state, n FROM frame_counts WHERE job_id = ? AND n > 0");
  s.Bind(job_id);
  domain::FrameCounts out;
  while (s.Step()) {
    auto state = domain::ParseFrameState(s.Text(0));
    if (state) domain::AddFrames(out, *state, static_cast<int>(s.Int(1)));
  }
  INFERIX_TRY(s.Status());
  return out;
}

}  // namespace inferix::store::sqlite
