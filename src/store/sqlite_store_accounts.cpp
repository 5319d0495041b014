// The SQLite store's accounts (issue #14): users with their role and limits, API tokens with their times,
// what counts against the limits, the audit log, and nodes' one-time enrollment tokens. Called by SqliteStore
// (sqlite_store.cpp) on its connection.
#include <sqlite3.h>

#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::store::accounts {
namespace {

using domain::AuditEntry;
using domain::User;
using domain::UserToken;
using sqlite::QueryAll;
using sqlite::QueryOne;
using sqlite::Stmt;

constexpr const char* kTokenCols =
    "t.id, t.user_id, t.label, t.created_ms, t.expires_ms, t.last_used_ms, t.revoked_ms";
constexpr int kUserColCount = 8;

// A limit column: NULL (the manager's default) reads as nullopt.
template <class T>
std::optional<T> Limit(const Stmt& r, int col) {
  if (r.Text(col).empty()) return std::nullopt;
  return static_cast<T>(r.Int(col));
}

User ReadUser(const Stmt& r) {
  User u;
  u.id = r.Int(0);
  u.name = r.Text(1);
  u.role = domain::ParseUserRole(r.Text(2)).value_or(domain::UserRole::kUser);
  u.limits.max_priority = Limit<int>(r, 3);
  u.limits.stored_bytes = Limit<int64_t>(r, 4);
  u.limits.active_jobs = Limit<int64_t>(r, 5);
  u.limits.frames_per_job = Limit<int64_t>(r, 6);
  u.limits.frames_in_flight = Limit<int64_t>(r, 7);
  return u;
}

UserToken ReadToken(const Stmt& r, int first) {
  UserToken t;
  t.id = r.Int(first);
  t.user_id = r.Int(first + 1);
  t.label = r.Text(first + 2);
  t.created_ms = r.Int(first + 3);
  t.expires_ms = r.Int(first + 4);
  t.last_used_ms = r.Int(first + 5);
  t.revoked_ms = r.Int(first + 6);
  return t;
}

// Binds a limit for "CASE WHEN ? THEN ? END": whether it is set, then its value.
template <class T>
void BindLimit(Stmt& s, const std::optional<T>& v) {
  s.Bind(v.has_value() ? 1 : 0).Bind(static_cast<int64_t>(v.value_or(0)));
}

void BindLimits(Stmt& s, const domain::UserLimits& l) {
  BindLimit(s, l.max_priority);
  BindLimit(s, l.stored_bytes);
  BindLimit(s, l.active_jobs);
  BindLimit(s, l.frames_per_job);
  BindLimit(s, l.frames_in_flight);
}

}  // namespace

const char* const kUserCols =
    "u.id, u.name, u.role, u.max_priority, u.quota_stored_bytes, u.quota_active_jobs, "
    "u.quota_frames_per_job, u.quota_frames_in_flight";

Result<std::optional<User>> FindUserByName(sqlite3* db, const std::string& name) {
  Stmt s(db, (std::string("SELECT ") + kUserCols + " FROM users u WHERE u.name = ?").c_str());
  s.Bind(name);
  return QueryOne<User>(s, ReadUser);
}

Result<std::optional<User>> GetUser(sqlite3* db, int64_t id) {
  Stmt s(db, (std::string("SELECT ") + kUserCols + " FROM users u WHERE u.id = ?").c_str());
  s.Bind(id);
  return QueryOne<User>(s, ReadUser);
}

Result<std::vector<User>> ListUsers(sqlite3* db) {
  Stmt s(db, (std::string("SELECT ") + kUserCols + " FROM users u ORDER BY u.id").c_str());
  return QueryAll<User>(s, ReadUser);
}

Result<int64_t> AddUser(sqlite3* db, const User& user) {
  Stmt s(db,
         "INSERT INTO users (name, role, max_priority, quota_stored_bytes, quota_active_jobs, "
         "quota_frames_per_job, quota_frames_in_flight) VALUES (?, ?, CASE WHEN ? THEN ? END, "
         "CASE WHEN ? THEN ? END, CASE WHEN ? THEN ? END, CASE WHEN ? THEN ? END, CASE WHEN ? THEN ? END)");
  s.Bind(user.name).Bind(domain::ToString(user.role));
  BindLimits(s, user.limits);
  INFERIX_TRY(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

Result<void> UpdateUser(sqlite3* db, const User& user) {
  Stmt s(db,
         "UPDATE users SET role = ?, max_priority = CASE WHEN ? THEN ? END, quota_stored_bytes = CASE WHEN ? "
         "THEN ? END, quota_active_jobs = CASE WHEN ? THEN ? END, quota_frames_per_job = CASE WHEN ? THEN ? "
         "END, quota_frames_in_flight = CASE WHEN ? THEN ? END WHERE id = ?");
  s.Bind(domain::ToString(user.role));
  BindLimits(s, user.limits);
  s.Bind(user.id);
  return s.Run();
}

Result<int64_t> AddUserToken(sqlite3* db, const UserToken& t, const std::string& token_hash) {
  Stmt s(db,
         "INSERT INTO user_tokens (token_hash, user_id, label, created_ms, expires_ms, last_used_ms, "
         "revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
  s.Bind(token_hash).Bind(t.user_id).Bind(t.label).Bind(t.created_ms).Bind(t.expires_ms);
  s.Bind(t.last_used_ms).Bind(t.revoked_ms);
  INFERIX_TRY(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

Result<std::optional<std::pair<User, UserToken>>> FindUserToken(sqlite3* db, const std::string& token_hash) {
  Stmt s(db, (std::string("SELECT ") + kUserCols + ", " + kTokenCols +
              " FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?")
                 .c_str());
  s.Bind(token_hash);
  return QueryOne<std::pair<User, UserToken>>(
      s, [](const Stmt& r) { return std::make_pair(ReadUser(r), ReadToken(r, kUserColCount)); });
}

Result<std::optional<User>> FindUserByLiveTokenHash(sqlite3* db, const std::string& token_hash) {
  Stmt s(db,
         (std::string("SELECT ") + kUserCols +
          " FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_ms = 0")
             .c_str());
  s.Bind(token_hash);
  return QueryOne<User>(s, ReadUser);
}

Result<std::optional<User>> FindUserBySession(sqlite3* db, const std::string& token_hash, int64_t now_ms) {
  Stmt s(db, (std::string("SELECT ") + kUserCols +
              " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_ms > ?")
                 .c_str());
  s.Bind(token_hash).Bind(now_ms);
  return QueryOne<User>(s, ReadUser);
}

Result<std::vector<UserToken>> ListUserTokens(sqlite3* db, int64_t user_id) {
  Stmt s(db, (std::string("SELECT ") + kTokenCols +
              " FROM user_tokens t WHERE ? = 0 OR t.user_id = ? ORDER BY t.id")
                 .c_str());
  s.Bind(user_id).Bind(user_id);
  return QueryAll<UserToken>(s, [](const Stmt& r) { return ReadToken(r, 0); });
}

Result<bool> RevokeUserToken(sqlite3* db, int64_t token_id, int64_t now_ms) {
  Stmt s(db, "UPDATE user_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0");
  s.Bind(now_ms).Bind(token_id);
  INFERIX_TRY(s.Run());
  return sqlite3_changes(db) > 0;
}

Result<void> TouchUserToken(sqlite3* db, int64_t token_id, int64_t now_ms) {
  Stmt s(db, "UPDATE user_tokens SET last_used_ms = MAX(last_used_ms, ?) WHERE id = ?");
  s.Bind(now_ms).Bind(token_id);
  return s.Run();
}

Result<domain::UserUsage> GetUserUsage(sqlite3* db, int64_t user_id) {
  // One statement: three sums over the user's rows (files; open jobs by the jobs_by_user index; their
  // frames by the frames' primary key).
  Stmt s(db,
         "SELECT (SELECT COALESCE(SUM(size), 0) FROM user_files WHERE user_id = ?1), "
         "(SELECT COUNT(*) FROM jobs WHERE user_id = ?1 AND state IN (?2, ?3)), "
         "(SELECT COUNT(*) FROM jobs j JOIN frames f ON f.job_id = j.id WHERE j.user_id = ?1 "
         "AND j.state IN (?2, ?3) AND f.state IN (?4, ?5, ?6))");
  s.Bind(user_id)
      .Bind(domain::ToString(domain::JobState::kQueued))
      .Bind(domain::ToString(domain::JobState::kActive));
  s.Bind(domain::ToString(domain::FrameState::kQueued))
      .Bind(domain::ToString(domain::FrameState::kRendering))
      .Bind(domain::ToString(domain::FrameState::kVerifying));
  domain::UserUsage usage;
  if (s.Step()) {
    usage.stored_bytes = s.Int(0);
    usage.active_jobs = s.Int(1);
    usage.frames_in_flight = s.Int(2);
  }
  INFERIX_TRY(s.Status());
  return usage;
}

Result<int64_t> AppendAudit(sqlite3* db, const AuditEntry& e) {
  Stmt s(db, "INSERT INTO audit_log (created_ms, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)");
  s.Bind(e.created_ms).Bind(e.actor).Bind(e.action).Bind(e.target).Bind(e.detail);
  INFERIX_TRY(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

Result<std::vector<AuditEntry>> ListAudit(sqlite3* db, int limit) {
  Stmt s(db, "SELECT id, created_ms, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?");
  s.Bind(limit);
  return QueryAll<AuditEntry>(s, [](const Stmt& r) {
    return AuditEntry{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5)};
  });
}

namespace {
domain::EnrollmentGrant ReadGrant(const Stmt& s) {
  return {domain::ParseNodeRole(s.Text(0)).value_or(domain::NodeRole::kWorker), s.Int(1)};
}
}  // namespace

Result<void> CreateEnrollment(sqlite3* db, const std::string& token_hash,
                              const domain::EnrollmentGrant& grant, int64_t expires_ms) {
  Stmt s(db, "INSERT INTO enrollments (token_hash, role, expires_ms, owner_id) VALUES (?, ?, ?, ?)");
  s.Bind(token_hash).Bind(domain::ToString(grant.role)).Bind(expires_ms).Bind(grant.owner_id);
  return s.Run();
}

Result<std::optional<domain::EnrollmentGrant>> FindEnrollment(sqlite3* db, const std::string& token_hash,
                                                              int64_t now_ms) {
  Stmt s(db,
         "SELECT role, owner_id FROM enrollments WHERE token_hash = ? AND used_ms = 0 AND expires_ms > ?");
  s.Bind(token_hash).Bind(now_ms);
  return QueryOne<domain::EnrollmentGrant>(s, ReadGrant);
}

Result<std::optional<domain::EnrollmentGrant>> ConsumeEnrollment(sqlite3* db, const std::string& token_hash,
                                                                 int64_t now_ms) {
  Stmt s(db,
         "UPDATE enrollments SET used_ms = ? WHERE token_hash = ? AND used_ms = 0 AND expires_ms > ? "
         "RETURNING role, owner_id");
  s.Bind(now_ms).Bind(token_hash).Bind(now_ms);
  return QueryOne<domain::EnrollmentGrant>(s, ReadGrant);
}

}  // namespace inferix::store::accounts
