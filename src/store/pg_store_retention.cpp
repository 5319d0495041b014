// The PostgreSQL store's retention calls (domain::Store's retention block), on one connection: the same
// answers as the SQLite store's (sqlite_store_retention.cpp), safe when several managers' chores run at once:
// the mark of removed events only rises (GREATEST in one upsert), and a job's removal locks its row first.
#include <string>

#include "store/pg_parts.hpp"
#include "store/pg_rows.hpp"

namespace inferix::store::pg {
namespace {

constexpr const char* kEventsMark = "events_removed_through";
// A job is live while it has not ended, or while one of its tasks may still be handed out or worked on (a
// delivered frame is checked again after its job completed when its worker was caught cheating).
constexpr const char* kEnded = "state IN ('completed', 'failed', 'canceled')";
constexpr const char* kNoLiveTask =
    "NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = jobs.id AND t.state IN ('queued', 'active'))";
// Raises the mark to the highest id of `removed` (a CTE of deleted events' ids), never lowers it; nothing
// when none was removed. Two managers raising it at once: the second's insert waits for the first's row and
// then updates it, so the larger of the two stays.
constexpr const char* kRaiseMark =
    "INSERT INTO retention_marks (name, value) SELECT $1::text, MAX(id) FROM removed HAVING COUNT(*) > 0 "
    "ON CONFLICT (name) DO UPDATE SET value = GREATEST(retention_marks.value, EXCLUDED.value)";

// A LIMIT's value: a negative limit is none, as in SQLite (NULL: LIMIT ALL).
void AddLimit(Params& p, int limit) {
  if (limit < 0) {
    p.AddNull();
  } else {
    p.Add(limit);
  }
}

template <class T, class Reader>
Result<std::vector<T>> All(Conn& conn, const std::string& sql, const Params& params, Reader read) {
  auto rows = conn.Exec(sql, params);
  if (!rows) return rows.error();
  return ReadAll<T>(*rows, read);
}

Result<int64_t> Affected(const Result<Rows>& result) {
  if (!result) return result.error();
  return result->Affected();
}

// A PostgreSQL array literal of text values ({"a","b"}), for "unnest($1::text[])".
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

Result<std::vector<domain::Job>> ListExpiredJobs(Conn& conn, bool locking, int64_t before_ms, int limit) {
  // Jobs ended before finish times were recorded have finished_ms 0: their submission time stands in.
  Params p;
  p.Add(before_ms);
  AddLimit(p, limit);
  return All<domain::Job>(
      conn,
      std::string("SELECT ") + kJobCols + " FROM jobs WHERE " + kEnded +
          " AND finished_ms < $1::bigint AND (finished_ms > 0 OR created_ms < $1::bigint) AND " +
          kNoLiveTask + " ORDER BY finished_ms, id LIMIT $2::bigint" + ForUpdate(locking),
      p, ReadJob);
}

Result<void> DeleteJob(Conn& conn, int64_t job_id) {
  // The job's row is locked first: a second manager removing the same job waits here, then finds no row. A
  // task inserted for the job meanwhile waits on this lock too (its foreign key) and then fails.
  auto locked = conn.Exec("SELECT id FROM jobs WHERE id = $1::bigint FOR UPDATE", Params().Add(job_id));
  if (!locked) return locked.error();
  if (locked->empty()) return Ok();
  // A statement of its own after the lock, so it sees every task committed before the lock was granted.
  auto removable =
      conn.Exec(std::string("SELECT ") + kEnded + " AND " + kNoLiveTask + " FROM jobs WHERE id = $1",
                Params().Add(job_id));
  if (!removable) return removable.error();
  if (removable->empty()) return Ok();
  if (removable->Int(0, 0) == 0) {
    return MakeError(Errc::kConflict, "job " + std::to_string(job_id) +
                                          " has not ended or still has work queued; it is not removed");
  }
  auto events =
      conn.Exec(std::string("WITH removed AS (DELETE FROM events WHERE job_id = $2::bigint RETURNING id) ") +
                    kRaiseMark,
                Params().Add(kEventsMark).Add(job_id));
  if (!events) return events.error();
  // Rows that name others go before those they name: frames name outputs and tasks, outputs name tasks,
  // and all of them name the job.
  for (const char* sql : {"DELETE FROM job_blocklist WHERE job_id = $1",
                          "DELETE FROM frames WHERE job_id = $1", "DELETE FROM outputs WHERE job_id = $1",
                          "DELETE FROM tasks WHERE job_id = $1", "DELETE FROM jobs WHERE id = $1"}) {
    auto d = conn.Exec(sql, Params().Add(job_id));
    if (!d) return d.error();
  }
  return Ok();
}

Result<std::vector<domain::Output>> ListExpiredRejectedOutputs(Conn& conn, bool locking, int64_t before_ms,
                                                               int limit) {
  Params p;
  p.Add(before_ms);
  AddLimit(p, limit);
  return All<domain::Output>(
      conn,
      std::string("SELECT ") + kOutputCols +
          " FROM outputs o WHERE verdict = 'rejected' AND blob_key <> '' AND created_ms < $1::bigint"
          " AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.output_id = o.id)"
          " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.output_id = o.id AND t.state IN ('queued', "
          "'active'))"
          " ORDER BY created_ms, id LIMIT $2::bigint" +
          ForUpdate(locking),
      p, ReadOutput);
}

Result<void> ForgetOutputObjects(Conn& conn, int64_t output_id) {
  auto result =
      conn.Exec("UPDATE outputs SET blob_key = '', preview_key = '' WHERE id = $1", Params().Add(output_id));
  if (!result) return result.error();
  return Ok();
}

Result<int64_t> DeleteEventsBefore(Conn& conn, int64_t before_ms, int limit) {
  // One statement: the events and the mark go together. Two managers at once pick the same oldest events;
  // the second waits for the first's delete and then removes only what is left.
  Params p;
  p.Add(kEventsMark).Add(before_ms);
  AddLimit(p, limit);
  auto result =
      conn.Exec(std::string("WITH removed AS (DELETE FROM events WHERE id IN (SELECT id FROM events "
                            "WHERE created_ms < $2::bigint ORDER BY created_ms, id LIMIT $3::bigint) "
                            "RETURNING id), marked AS (") +
                    kRaiseMark + ") SELECT COUNT(*) FROM removed",
                p);
  if (!result) return result.error();
  return result->empty() ? 0 : result->Int(0, 0);
}

Result<int64_t> EventsRemovedThrough(Conn& conn) {
  auto result = conn.Exec("SELECT value FROM retention_marks WHERE name = $1", Params().Add(kEventsMark));
  if (!result) return result.error();
  return result->empty() ? 0 : result->Int(0, 0);
}

Result<int64_t> DeleteExpiredSessions(Conn& conn, int64_t now_ms, int limit) {
  Params p;
  p.Add(now_ms);
  AddLimit(p, limit);
  return Affected(
      conn.Exec("DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_ms "
                "<= $1::bigint "
                "ORDER BY expires_ms, token_hash LIMIT $2::bigint)",
                p));
}

Result<int64_t> TrimUserSessions(Conn& conn, int64_t user_id, int keep) {
  // Sessions that expire at the same time are kept by their hash (SQLite keeps the later made: PostgreSQL
  // rows have no stable insertion order).
  return Affected(conn.Exec(
      "DELETE FROM sessions WHERE user_id = $1::bigint AND token_hash NOT IN (SELECT token_hash FROM "
      "sessions WHERE user_id = $1::bigint ORDER BY expires_ms DESC, token_hash DESC LIMIT $2::bigint)",
      Params().Add(user_id).Add(keep < 0 ? 0 : keep)));
}

Result<std::vector<std::string>> ReferencedOutputKeys(Conn& conn, const std::vector<std::string>& keys) {
  if (keys.empty()) return std::vector<std::string>();
  return All<std::string>(conn,
                          "SELECT k.key FROM unnest($1::text[]) WITH ORDINALITY AS k(key, n) "
                          "WHERE EXISTS (SELECT 1 FROM outputs WHERE blob_key = k.key) "
                          "OR EXISTS (SELECT 1 FROM outputs WHERE preview_key = k.key AND preview_key <> '') "
                          "ORDER BY k.n",
                          Params().Add(TextArray(keys)), [](const Rows& r, int i) { return r.Text(i, 0); });
}

}  // namespace inferix::store::pg
