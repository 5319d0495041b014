#pragma once
// The embedded Store: SQLite in WAL mode with numbered migrations.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "domain/ports.hpp"

struct sqlite3;  // the accounts functions below work on the store's connection

namespace inferix::store {

namespace detail {
/// The SQLite store's metrics calls (domain::Store's metrics block, issue #16) and its count of commits that
/// wrote (inferix_store_write_transactions_total), kept in sqlite_store_metrics.cpp: hooks on the connection
/// see every commit, a Transaction's or a single statement's.
class SqliteFigures : public domain::Store {
 public:
  /// Hooks `db`'s commits, rollbacks and row changes; `db` is closed before this object goes (the store's
  /// destructor closes it), so no hook outlives it.
  explicit SqliteFigures(sqlite3* db);
  Result<std::map<std::pair<domain::TaskKind, std::string>, int64_t>> CountQueuedTasks() override;
  Result<int64_t> MaxEventId() override;

 private:
  static int OnCommit(void* self);
  static void OnRollback(void* self);
  /// `rowid` is an sqlite3_int64 (long long), which this header does not include.
  static void OnUpdate(void* self, int op, const char* db, const char* table, long long rowid);
  sqlite3* fdb_;
  bool changed_ = false;  ///< a row changed since the last commit or rollback
};

/// The SQLite store's retention calls (domain::Store's retention block, issue #14), kept in
/// sqlite_store_retention.cpp: the SQLite store derives from this class, which works on its connection.
class SqliteRetention : public SqliteFigures {
 public:
  explicit SqliteRetention(sqlite3* db) : SqliteFigures(db), rdb_(db) {}
  Result<std::vector<domain::Job>> ListExpiredJobs(int64_t before_ms, int limit) override;
  Result<void> DeleteJob(int64_t job_id) override;
  Result<std::vector<domain::Output>> ListExpiredRejectedOutputs(int64_t before_ms, int limit) override;
  Result<void> ForgetOutputObjects(int64_t output_id) override;
  Result<int64_t> DeleteEventsBefore(int64_t before_ms, int limit) override;
  Result<int64_t> EventsRemovedThrough() override;
  Result<int64_t> DeleteExpiredSessions(int64_t now_ms, int limit) override;
  Result<int64_t> TrimUserSessions(int64_t user_id, int keep) override;
  Result<std::vector<std::string>> ReferencedOutputKeys(const std::vector<std::string>& keys) override;

 private:
  Result<void> MarkEventsRemoved(int64_t through_id);
  sqlite3* rdb_;
};
}  // namespace detail

/// Opens (creating and migrating) the database at `path`; ":memory:" gives a private in-memory database.
/// Not thread-safe: one thread uses it (the manager's store thread, or an admin command).
Result<std::unique_ptr<domain::Store>> OpenSqliteStore(const std::filesystem::path& path);

/// The value of a PRAGMA (lower-case letters and '_' only) on the store's own connection, e.g.
/// "synchronous" (2: FULL) or "journal_mode" ("wal"): durability is per connection, so only the store can
/// say. kInvalidArgument for another kind of store or name.
Result<std::string> PragmaValue(domain::Store& store, const std::string& name);

/// The schema version this build migrates to.
int SqliteSchemaVersion();

// Accounts (issue #14): the SQLite store's users, API tokens, usage and audit log, in
// sqlite_store_accounts.cpp. The store's Store overrides call these on its own connection (inside its
// transactions where a call must be atomic); nothing else does.
namespace accounts {
/// The columns ReadUser reads, of `users` as `u`.
extern const char* const kUserCols;
Result<std::optional<domain::User>> FindUserByName(sqlite3* db, const std::string& name);
Result<std::optional<domain::User>> GetUser(sqlite3* db, int64_t id);
Result<std::vector<domain::User>> ListUsers(sqlite3* db);
Result<int64_t> AddUser(sqlite3* db, const domain::User& user);
Result<void> UpdateUser(sqlite3* db, const domain::User& user);
Result<int64_t> AddUserToken(sqlite3* db, const domain::UserToken& token, const std::string& token_hash);
Result<std::optional<std::pair<domain::User, domain::UserToken>>> FindUserToken(
    sqlite3* db, const std::string& token_hash);
/// The user of a token that is not revoked.
Result<std::optional<domain::User>> FindUserByLiveTokenHash(sqlite3* db, const std::string& token_hash);
/// The user of a session that has not expired.
Result<std::optional<domain::User>> FindUserBySession(sqlite3* db, const std::string& token_hash,
                                                      int64_t now_ms);
Result<std::vector<domain::UserToken>> ListUserTokens(sqlite3* db, int64_t user_id);
Result<bool> RevokeUserToken(sqlite3* db, int64_t token_id, int64_t now_ms);
Result<void> TouchUserToken(sqlite3* db, int64_t token_id, int64_t now_ms);
Result<domain::UserUsage> GetUserUsage(sqlite3* db, int64_t user_id);
Result<int64_t> AppendAudit(sqlite3* db, const domain::AuditEntry& entry);
Result<std::vector<domain::AuditEntry>> ListAudit(sqlite3* db, int limit);
Result<void> CreateEnrollment(sqlite3* db, const std::string& token_hash,
                              const domain::EnrollmentGrant& grant, int64_t expires_ms);
Result<std::optional<domain::EnrollmentGrant>> FindEnrollment(sqlite3* db, const std::string& token_hash,
                                                              int64_t now_ms);
/// One statement: of two connections consuming one token at once, exactly one gets its grant.
Result<std::optional<domain::EnrollmentGrant>> ConsumeEnrollment(sqlite3* db, const std::string& token_hash,
                                                                 int64_t now_ms);
}  // namespace accounts

/// The credits ledger's calls (sqlite_store_ledger.cpp): domain::Store's ledger block, on the store's
/// connection; AppendPosting inside one of its transactions.
namespace books {
Result<bool> AppendPosting(sqlite3* db, const domain::Posting& posting);
Result<int64_t> AccountBalance(sqlite3* db, const domain::Account& account);
Result<std::vector<domain::Entry>> ListBalances(sqlite3* db);
Result<std::vector<domain::Posting>> ListPostings(sqlite3* db, int64_t user_id, int64_t job_id, int limit);
}  // namespace books

}  // namespace inferix::store
