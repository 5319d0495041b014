#pragma once
// The PostgreSQL adapter's claims, accounts and retention calls (domain::Store's blocks of the same names),
// as free functions on one connection: the PostgreSQL store calls them on the connection it borrowed, or on
// its Transaction's. Only src/store includes it.
//
// `locking` says "inside a Store::Transaction": then a list whose rows the caller may write back locks them
// (FOR UPDATE), and ListClaimableTasks skips the tasks another transaction holds (FOR UPDATE OF t SKIP
// LOCKED), so managers never wait on each other's claims and never hand one task twice. Outside a
// Transaction nothing locks. Calls that only write, or only aggregate, take no `locking`.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "domain/ports.hpp"
#include "store/pg_conn.hpp"

namespace inferix::store::pg {

// Claims (pg_store_claims.cpp).
Result<std::vector<domain::Task>> ListClaimableTasks(Conn& conn, bool locking,
                                                     const domain::ClaimFilter& filter, int limit,
                                                     int offset);
/// One statement (a forgetting DELETE and an INSERT ... ON CONFLICT DO UPDATE): atomic across managers.
Result<void> CountNodeClaim(Conn& conn, int64_t node_id, int64_t now_ms);
Result<domain::NodeClaims> NodeClaimsInDay(Conn& conn, int64_t node_id, int64_t now_ms);
Result<std::vector<domain::Task>> ListBannedNodesTasks(Conn& conn, bool locking);
Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(Conn& conn, bool locking, int limit);
Result<std::map<std::string, int64_t>> CountClassBoundChecks(Conn& conn);
Result<void> AddToBlocklist(Conn& conn, const domain::BlocklistEntry& entry);
Result<std::vector<domain::BlocklistEntry>> ListBlocklist(Conn& conn, int64_t job_id);
Result<std::vector<int64_t>> ListBlocklistedJobs(Conn& conn, int64_t node_id);

// Accounts (pg_store_accounts.cpp).
Result<std::optional<domain::User>> FindUserByName(Conn& conn, bool locking, const std::string& name);
Result<std::optional<domain::User>> GetUser(Conn& conn, bool locking, int64_t id);
Result<std::vector<domain::User>> ListUsers(Conn& conn);
Result<int64_t> AddUser(Conn& conn, const domain::User& user);
Result<void> UpdateUser(Conn& conn, const domain::User& user);
Result<int64_t> AddUserToken(Conn& conn, const domain::UserToken& token, const std::string& token_hash);
/// With `locking`, the token's row and its user's are locked.
Result<std::optional<std::pair<domain::User, domain::UserToken>>> FindUserToken(
    Conn& conn, bool locking, const std::string& token_hash);
/// The user of a token that is not revoked.
Result<std::optional<domain::User>> FindUserByLiveTokenHash(Conn& conn, const std::string& token_hash);
/// The user of a session that has not expired.
Result<std::optional<domain::User>> FindUserBySession(Conn& conn, const std::string& token_hash,
                                                      int64_t now_ms);
Result<std::vector<domain::UserToken>> ListUserTokens(Conn& conn, int64_t user_id);
Result<bool> RevokeUserToken(Conn& conn, int64_t token_id, int64_t now_ms);
Result<void> TouchUserToken(Conn& conn, int64_t token_id, int64_t now_ms);
Result<domain::UserUsage> GetUserUsage(Conn& conn, int64_t user_id);
Result<int64_t> AppendAudit(Conn& conn, const domain::AuditEntry& entry);
Result<std::vector<domain::AuditEntry>> ListAudit(Conn& conn, int limit);

// The credits ledger (pg_store_ledger.cpp). AppendPosting runs inside a transaction; a posting refused for
// want of funds sets `refused` and returns false, so that the caller's transaction is not marked failed.
Result<bool> AppendPosting(Conn& conn, const domain::Posting& posting, std::optional<Error>& refused);
Result<int64_t> AccountBalance(Conn& conn, const domain::Account& account);
Result<std::vector<domain::Entry>> ListBalances(Conn& conn);
Result<std::vector<domain::Posting>> ListPostings(Conn& conn, int64_t user_id, int64_t job_id, int limit);

// Retention (pg_store_retention.cpp).
Result<std::vector<domain::Job>> ListExpiredJobs(Conn& conn, bool locking, int64_t before_ms, int limit);
/// Several statements: the caller runs it inside one transaction. It locks the job's row first, so two
/// managers deleting one job at once wait on each other, and the second finds nothing left.
Result<void> DeleteJob(Conn& conn, int64_t job_id);
Result<std::vector<domain::Output>> ListExpiredRejectedOutputs(Conn& conn, bool locking, int64_t before_ms,
                                                               int limit);
Result<void> ForgetOutputObjects(Conn& conn, int64_t output_id);
/// One statement: the delete and the raised mark (EventsRemovedThrough) are atomic together.
Result<int64_t> DeleteEventsBefore(Conn& conn, int64_t before_ms, int limit);
Result<int64_t> EventsRemovedThrough(Conn& conn);
Result<int64_t> DeleteExpiredSessions(Conn& conn, int64_t now_ms, int limit);
Result<int64_t> TrimUserSessions(Conn& conn, int64_t user_id, int keep);
/// One statement for any number of keys.
Result<std::vector<std::string>> ReferencedOutputKeys(Conn& conn, const std::vector<std::string>& keys);

}  // namespace inferix::store::pg
