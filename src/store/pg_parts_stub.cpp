// TEMPORARY (deleted at merge): stand-ins for the claims, accounts and retention calls that branch
// i15-pgparts implements in pg_store_claims.cpp, pg_store_accounts.cpp and pg_store_retention.cpp.
#include "store/pg_parts.hpp"

namespace inferix::store::pg {
namespace {
Error NotYet(const char* what) { return MakeError(Errc::kInternal, std::string(what) + ": not yet"); }
}  // namespace

Result<std::vector<domain::Task>> ListClaimableTasks(Conn&, bool, const domain::ClaimFilter&, int, int) {
  return NotYet("ListClaimableTasks");
}
Result<void> CountNodeClaim(Conn&, int64_t, int64_t) { return NotYet("CountNodeClaim"); }
Result<domain::NodeClaims> NodeClaimsInDay(Conn&, int64_t, int64_t) { return NotYet("NodeClaimsInDay"); }
Result<std::vector<domain::Task>> ListBannedNodesTasks(Conn&, bool) { return NotYet("ListBannedNodesTasks"); }
Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(Conn&, bool, int) {
  return NotYet("ListBannedNodesPendingOutputs");
}
Result<std::map<std::string, int64_t>> CountClassBoundChecks(Conn&) {
  return NotYet("CountClassBoundChecks");
}
Result<void> AddToBlocklist(Conn&, const domain::BlocklistEntry&) { return NotYet("AddToBlocklist"); }
Result<std::vector<domain::BlocklistEntry>> ListBlocklist(Conn&, int64_t) { return NotYet("ListBlocklist"); }
Result<std::vector<int64_t>> ListBlocklistedJobs(Conn&, int64_t) { return NotYet("ListBlocklistedJobs"); }

Result<std::optional<domain::User>> FindUserByName(Conn&, bool, const std::string&) {
  return NotYet("FindUserByName");
}
Result<std::optional<domain::User>> GetUser(Conn&, bool, int64_t) { return NotYet("GetUser"); }
Result<std::vector<domain::User>> ListUsers(Conn&) { return NotYet("ListUsers"); }
Result<int64_t> AddUser(Conn&, const domain::User&) { return NotYet("AddUser"); }
Result<void> UpdateUser(Conn&, const domain::User&) { return NotYet("UpdateUser"); }
Result<int64_t> AddUserToken(Conn&, const domain::UserToken&, const std::string&) {
  return NotYet("AddUserToken");
}
Result<std::optional<std::pair<domain::User, domain::UserToken>>> FindUserToken(Conn&, bool,
                                                                                const std::string&) {
  return NotYet("FindUserToken");
}
Result<std::optional<domain::User>> FindUserByLiveTokenHash(Conn&, const std::string&) {
  return NotYet("FindUserByLiveTokenHash");
}
Result<std::optional<domain::User>> FindUserBySession(Conn&, const std::string&, int64_t) {
  return NotYet("FindUserBySession");
}
Result<std::vector<domain::UserToken>> ListUserTokens(Conn&, int64_t) { return NotYet("ListUserTokens"); }
Result<bool> RevokeUserToken(Conn&, int64_t, int64_t) { return NotYet("RevokeUserToken"); }
Result<void> TouchUserToken(Conn&, int64_t, int64_t) { return NotYet("TouchUserToken"); }
Result<domain::UserUsage> GetUserUsage(Conn&, int64_t) { return NotYet("GetUserUsage"); }
Result<int64_t> AppendAudit(Conn&, const domain::AuditEntry&) { return NotYet("AppendAudit"); }
Result<std::vector<domain::AuditEntry>> ListAudit(Conn&, int) { return NotYet("ListAudit"); }

Result<std::vector<domain::Job>> ListExpiredJobs(Conn&, bool, int64_t, int) {
  return NotYet("ListExpiredJobs");
}
Result<void> DeleteJob(Conn&, int64_t) { return NotYet("DeleteJob"); }
Result<std::vector<domain::Output>> ListExpiredRejectedOutputs(Conn&, bool, int64_t, int) {
  return NotYet("ListExpiredRejectedOutputs");
}
Result<void> ForgetOutputObjects(Conn&, int64_t) { return NotYet("ForgetOutputObjects"); }
Result<int64_t> DeleteEventsBefore(Conn&, int64_t, int) { return NotYet("DeleteEventsBefore"); }
Result<int64_t> EventsRemovedThrough(Conn&) { return NotYet("EventsRemovedThrough"); }
Result<int64_t> DeleteExpiredSessions(Conn&, int64_t, int) { return NotYet("DeleteExpiredSessions"); }
Result<int64_t> TrimUserSessions(Conn&, int64_t, int) { return NotYet("TrimUserSessions"); }
Result<std::vector<std::string>> ReferencedOutputKeys(Conn&, const std::vector<std::string>&) {
  return NotYet("ReferencedOutputKeys");
}

}  // namespace inferix::store::pg
