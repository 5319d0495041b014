// The PostgreSQL store's accounts (issue #14's users, API tokens, usage and audit log), on one connection:
// the same rows and answers as the SQLite store's (sqlite_store_accounts.cpp).
#include <string>

#include "store/pg_parts.hpp"
#include "store/pg_rows.hpp"

namespace inferix::store::pg {
namespace {

using domain::AuditEntry;
using domain::User;
using domain::UserToken;

constexpr const char* kUserCols =
    "u.id, u.name, u.role, u.max_priority, u.quota_stored_bytes, u.quota_active_jobs, "
    "u.quota_frames_per_job, u.quota_frames_in_flight";
constexpr const char* kTokenCols =
    "t.id, t.user_id, t.label, t.created_ms, t.expires_ms, t.last_used_ms, t.revoked_ms";
constexpr int kUserColCount = 8;

// A limit column: NULL (the manager's default) reads as nullopt.
template <class T>
std::optional<T> Limit(const Rows& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  return static_cast<T>(r.Int(row, col));
}

User ReadUser(const Rows& r, int row) {
  User u;
  u.id = r.Int(row, 0);
  u.name = r.Text(row, 1);
  u.role = domain::ParseUserRole(r.Text(row, 2)).value_or(domain::UserRole::kUser);
  u.limits.max_priority = Limit<int>(r, row, 3);
  u.limits.stored_bytes = Limit<int64_t>(r, row, 4);
  u.limits.active_jobs = Limit<int64_t>(r, row, 5);
  u.limits.frames_per_job = Limit<int64_t>(r, row, 6);
  u.limits.frames_in_flight = Limit<int64_t>(r, row, 7);
  return u;
}

UserToken ReadToken(const Rows& r, int row, int first) {
  UserToken t;
  t.id = r.Int(row, first);
  t.user_id = r.Int(row, first + 1);
  t.label = r.Text(row, first + 2);
  t.created_ms = r.Int(row, first + 3);
  t.expires_ms = r.Int(row, first + 4);
  t.last_used_ms = r.Int(row, first + 5);
  t.revoked_ms = r.Int(row, first + 6);
  return t;
}

// A limit parameter: SQL NULL when the user has none of their own.
template <class T>
void AddLimit(Params& p, const std::optional<T>& v) {
  if (v.has_value()) {
    p.Add(static_cast<int64_t>(*v));
  } else {
    p.AddNull();
  }
}

void AddLimits(Params& p, const domain::UserLimits& l) {
  AddLimit(p, l.max_priority);
  AddLimit(p, l.stored_bytes);
  AddLimit(p, l.active_jobs);
  AddLimit(p, l.frames_per_job);
  AddLimit(p, l.frames_in_flight);
}

Result<std::optional<User>> OneUser(Conn& conn, const std::string& sql, const Params& params) {
  auto result = conn.Exec(sql, params);
  if (!result) return result.error();
  return ReadFirst<User>(*result, ReadUser);
}

// The id a statement's "RETURNING id" gave.
Result<int64_t> ReturnedId(const Result<Rows>& result) {
  if (!result) return result.error();
  if (result->empty()) return MakeError(Errc::kInternal, "database: the insert returned no id");
  return result->Int(0, 0);
}

}  // namespace

Result<std::optional<User>> FindUserByName(Conn& conn, bool locking, const std::string& name) {
  return OneUser(conn,
                 std::string("SELECT ") + kUserCols + " FROM users u WHERE u.name = $1" + ForUpdate(locking),
                 Params().Add(name));
}

Result<std::optional<User>> GetUser(Conn& conn, bool locking, int64_t id) {
  return OneUser(
      conn, std::string("SELECT ") + kUserCols + " FROM users u WHERE u.id = $1::bigint" + ForUpdate(locking),
      Params().Add(id));
}

Result<std::vector<User>> ListUsers(Conn& conn) {
  auto result = conn.Exec(std::string("SELECT ") + kUserCols + " FROM users u ORDER BY u.id");
  if (!result) return result.error();
  const Rows& rows = *result;
  return ReadAll<User>(rows, ReadUser);
}

Result<int64_t> AddUser(Conn& conn, const User& user) {
  Params p;
  p.Add(user.name).Add(domain::ToString(user.role));
  AddLimits(p, user.limits);
  return ReturnedId(conn.Exec(
      "INSERT INTO users (name, role, max_priority, quota_stored_bytes, quota_active_jobs, "
      "quota_frames_per_job, quota_frames_in_flight) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
      p));
}

Result<void> UpdateUser(Conn& conn, const User& user) {
  Params p;
  p.Add(domain::ToString(user.role));
  AddLimits(p, user.limits);
  p.Add(user.id);
  INFERIX_TRY(conn.Exec(
      "UPDATE users SET role = $1, max_priority = $2, quota_stored_bytes = $3, quota_active_jobs = $4, "
      "quota_frames_per_job = $5, quota_frames_in_flight = $6 WHERE id = $7",
      p));
  return Ok();
}

Result<int64_t> AddUserToken(Conn& conn, const UserToken& t, const std::string& token_hash) {
  Params p;
  p.Add(token_hash).Add(t.user_id).Add(t.label).Add(t.created_ms).Add(t.expires_ms).Add(t.last_used_ms);
  p.Add(t.revoked_ms);
  return ReturnedId(
      conn.Exec("INSERT INTO user_tokens (token_hash, user_id, label, created_ms, expires_ms, last_used_ms, "
                "revoked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                p));
}

Result<std::optional<std::pair<User, UserToken>>> FindUserToken(Conn& conn, bool locking,
                                                                const std::string& token_hash) {
  auto result = conn.Exec(std::string("SELECT ") + kUserCols + ", " + kTokenCols +
                              " FROM user_tokens t JOIN users u ON u.id = t.user_id "
                              "WHERE t.token_hash = $1" +
                              ForUpdate(locking),
                          Params().Add(token_hash));
  if (!result) return result.error();
  const Rows& rows = *result;
  if (rows.empty()) return std::optional<std::pair<User, UserToken>>();
  return std::optional<std::pair<User, UserToken>>(
      std::make_pair(ReadUser(rows, 0), ReadToken(rows, 0, kUserColCount)));
}

Result<std::optional<User>> FindUserByLiveTokenHash(Conn& conn, const std::string& token_hash) {
  return OneUser(conn,
                 std::string("SELECT ") + kUserCols +
                     " FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 "
                     "AND t.revoked_ms = 0",
                 Params().Add(token_hash));
}

Result<std::optional<User>> FindUserBySession(Conn& conn, const std::string& token_hash, int64_t now_ms) {
  return OneUser(conn,
                 std::string("SELECT ") + kUserCols +
                     " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 "
                     "AND s.expires_ms > $2::bigint",
                 Params().Add(token_hash).Add(now_ms));
}

Result<std::vector<UserToken>> ListUserTokens(Conn& conn, int64_t user_id) {
  auto result = conn.Exec(std::string("SELECT ") + kTokenCols +
                              " FROM user_tokens t WHERE $1::bigint = 0 OR t.user_id = $1::bigint "
                              "ORDER BY t.id",
                          Params().Add(user_id));
  if (!result) return result.error();
  const Rows& rows = *result;
  return ReadAll<UserToken>(rows, [](const Rows& r, int i) { return ReadToken(r, i, 0); });
}

Result<bool> RevokeUserToken(Conn& conn, int64_t token_id, int64_t now_ms) {
  auto result = conn.Exec("UPDATE user_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms = 0",
                          Params().Add(now_ms).Add(token_id));
  if (!result) return result.error();
  const Rows& rows = *result;
  return rows.Affected() > 0;
}

Result<void> TouchUserToken(Conn& conn, int64_t token_id, int64_t now_ms) {
  INFERIX_TRY(
      conn.Exec("UPDATE user_tokens SET last_used_ms = GREATEST(last_used_ms, $1::bigint) WHERE id = $2",
                Params().Add(now_ms).Add(token_id)));
  return Ok();
}

Result<domain::UserUsage> GetUserUsage(Conn& conn, int64_t user_id) {
  // One statement: three sums over the user's rows (files; open jobs by the jobs_by_user index; their
  // frames by the frames' primary key).
  Params p;
  p.Add(user_id)
      .Add(domain::ToString(domain::JobState::kQueued))
      .Add(domain::ToString(domain::JobState::kActive));
  p.Add(domain::ToString(domain::FrameState::kQueued))
      .Add(domain::ToString(domain::FrameState::kRendering))
      .Add(domain::ToString(domain::FrameState::kVerifying));
  auto result = conn.Exec(
      "SELECT (SELECT COALESCE(SUM(size), 0) FROM user_files WHERE user_id = $1), "
      "(SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND state IN ($2, $3)), "
      "(SELECT COUNT(*) FROM jobs j JOIN frames f ON f.job_id = j.id "
      "WHERE j.user_id = $1 AND j.state IN ($2, $3) AND f.state IN ($4, $5, $6))",
      p);
  if (!result) return result.error();
  const Rows& rows = *result;
  domain::UserUsage usage;
  if (!rows.empty()) {
    usage.stored_bytes = rows.Int(0, 0);
    usage.active_jobs = rows.Int(0, 1);
    usage.frames_in_flight = rows.Int(0, 2);
  }
  return usage;
}

Result<int64_t> AppendAudit(Conn& conn, const AuditEntry& e) {
  return ReturnedId(conn.Exec(
      "INSERT INTO audit_log (created_ms, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5) "
      "RETURNING id",
      Params().Add(e.created_ms).Add(e.actor).Add(e.action).Add(e.target).Add(e.detail)));
}

Result<std::vector<AuditEntry>> ListAudit(Conn& conn, int limit) {
  auto result = conn.Exec(
      "SELECT id, created_ms, actor, action, target, detail FROM audit_log "
      "ORDER BY id DESC LIMIT $1",
      Params().Add(limit));
  if (!result) return result.error();
  return ReadAll<AuditEntry>(*result, [](const Rows& r, int i) {
    return AuditEntry{r.Int(i, 0), r.Int(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4), r.Text(i, 5)};
  });
}

}  // namespace inferix::store::pg
