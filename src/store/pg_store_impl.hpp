#pragma once
// The PostgreSQL Store's class, its calls defined in pg_store.cpp (transactions, migrations, users,
// enrollments, nodes, files, events) and pg_store_work.cpp (jobs, frames, tasks, outputs); claims, accounts
// and retention are pg_parts.hpp's functions. Only src/store includes it.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/ports.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_parts.hpp"

namespace inferix::store::pg {

class PgStore final : public domain::Store {
 public:
  explicit PgStore(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

  /// Applies the migrations the database lacks, under the migrations advisory lock.
  Result<void> Migrate();

  Result<void> Transaction(const std::function<Result<void>()>& fn) override;

  Result<int64_t> CreateUser(const std::string& name, const std::string& token_hash) override;
  Result<std::optional<domain::User>> FindUserByTokenHash(const std::string& token_hash) override {
    return With([&](Conn& c, bool) { return pg::FindUserByLiveTokenHash(c, token_hash); });
  }
  Result<void> CreateSession(const std::string& token_hash, int64_t user_id, int64_t expires_ms) override;
  Result<std::optional<domain::User>> FindUserBySession(const std::string& token_hash,
                                                        int64_t now_ms) override {
    return With([&](Conn& c, bool) { return pg::FindUserBySession(c, token_hash, now_ms); });
  }
  Result<void> DeleteSession(const std::string& token_hash, int64_t now_ms) override;
  Result<void> CreateEnrollment(const std::string& token_hash, const domain::EnrollmentGrant& grant,
                                int64_t expires_ms) override;
  Result<std::optional<domain::EnrollmentGrant>> FindEnrollment(const std::string& token_hash,
                                                                int64_t now_ms) override;
  Result<std::optional<domain::EnrollmentGrant>> ConsumeEnrollment(const std::string& token_hash,
                                                                   int64_t now_ms) override;

  // The credits ledger: pg_parts.hpp. A posting is booked in a transaction (the caller's, or its own).
  Result<bool> AppendPosting(const domain::Posting& posting) override {
    INFERIX_TRY(domain::CheckPosting(posting));
    bool booked = false;
    std::optional<Error> refused;
    INFERIX_TRY(Transaction([&]() -> Result<void> {
      auto r = With([&](Conn& c, bool) { return pg::AppendPosting(c, posting, refused); });
      if (!r) return r.error();
      booked = *r;
      return Ok();
    }));
    if (refused) return *refused;
    return booked;
  }
  Result<int64_t> AccountBalance(const domain::Account& account) override {
    return With([&](Conn& c, bool) { return pg::AccountBalance(c, account); });
  }
  Result<std::vector<domain::Entry>> ListBalances() override {
    return With([&](Conn& c, bool) { return pg::ListBalances(c); });
  }
  Result<std::vector<domain::Posting>> ListPostings(int64_t user_id, int64_t job_id, int limit) override {
    return With([&](Conn& c, bool) { return pg::ListPostings(c, user_id, job_id, limit); });
  }

  // Accounts: pg_parts.hpp.
  Result<std::optional<domain::User>> FindUserByName(const std::string& name) override {
    return With([&](Conn& c, bool locking) { return pg::FindUserByName(c, locking, name); });
  }
  Result<std::optional<domain::User>> GetUser(int64_t id) override {
    return With([&](Conn& c, bool locking) { return pg::GetUser(c, locking, id); });
  }
  Result<std::vector<domain::User>> ListUsers() override {
    return With([&](Conn& c, bool) { return pg::ListUsers(c); });
  }
  Result<int64_t> AddUser(const domain::User& user) override {
    return With([&](Conn& c, bool) { return pg::AddUser(c, user); });
  }
  Result<void> UpdateUser(const domain::User& user) override {
    return With([&](Conn& c, bool) { return pg::UpdateUser(c, user); });
  }
  Result<int64_t> AddUserToken(const domain::UserToken& token, const std::string& token_hash) override {
    return With([&](Conn& c, bool) { return pg::AddUserToken(c, token, token_hash); });
  }
  Result<std::optional<std::pair<domain::User, domain::UserToken>>> FindUserToken(
      const std::string& token_hash) override {
    return With([&](Conn& c, bool locking) { return pg::FindUserToken(c, locking, token_hash); });
  }
  Result<std::vector<domain::UserToken>> ListUserTokens(int64_t user_id) override {
    return With([&](Conn& c, bool) { return pg::ListUserTokens(c, user_id); });
  }
  Result<bool> RevokeUserToken(int64_t token_id, int64_t now_ms) override {
    return With([&](Conn& c, bool) { return pg::RevokeUserToken(c, token_id, now_ms); });
  }
  Result<void> TouchUserToken(int64_t token_id, int64_t now_ms) override {
    return With([&](Conn& c, bool) { return pg::TouchUserToken(c, token_id, now_ms); });
  }
  Result<domain::UserUsage> GetUserUsage(int64_t user_id) override {
    return With([&](Conn& c, bool) { return pg::GetUserUsage(c, user_id); });
  }
  Result<int64_t> AppendAudit(const domain::AuditEntry& entry) override {
    return With([&](Conn& c, bool) { return pg::AppendAudit(c, entry); });
  }
  Result<std::vector<domain::AuditEntry>> ListAudit(int limit) override {
    return With([&](Conn& c, bool) { return pg::ListAudit(c, limit); });
  }

  Result<int64_t> CreateNode(const domain::Node& node, const std::string& token_hash) override;
  Result<std::optional<domain::Node>> FindNodeByTokenHash(const std::string& token_hash) override;
  Result<std::optional<domain::Node>> GetNode(int64_t id) override;
  Result<std::vector<domain::Node>> ListNodes() override;
  Result<std::vector<domain::Node>> GetNodes(const std::vector<int64_t>& ids) override;
  Result<void> UpdateNode(const domain::Node& node) override;
  Result<void> TouchNode(int64_t id, int64_t now_ms) override;
  Result<void> SetNodeAvailability(int64_t id, const std::string& availability,
                                   const std::string& reason) override;
  Result<void> AddUserFile(int64_t user_id, const std::string& sha256, int64_t size) override;
  Result<bool> UserHasFile(int64_t user_id, const std::string& sha256) override;

  // Jobs, frames, tasks and outputs: pg_store_work.cpp.
  Result<int64_t> CreateJob(const domain::Job& job) override;
  Result<std::optional<domain::Job>> GetJob(int64_t id) override;
  Result<std::vector<domain::Job>> GetJobs(const std::vector<int64_t>& ids) override;
  Result<std::vector<domain::Job>> ListJobs(int64_t user_id) override;
  Result<std::vector<domain::Job>> ListJobsInState(domain::JobState state) override;
  Result<void> UpdateJob(const domain::Job& job) override;
  Result<void> PutFrame(const domain::Frame& frame) override;
  Result<void> PutFrames(const std::vector<domain::Frame>& frames) override;
  Result<std::optional<domain::Frame>> GetFrame(int64_t job_id, int number) override;
  Result<std::vector<domain::Frame>> GetFrames(int64_t job_id, const std::vector<int>& numbers) override;
  Result<std::vector<domain::Frame>> ListFrames(int64_t job_id) override;
  Result<std::map<int64_t, domain::FrameCounts>> CountFramesByJob(int64_t user_id) override;
  Result<domain::FrameCounts> CountJobFrames(int64_t job_id) override;
  Result<int64_t> CreateTask(const domain::Task& task) override;
  Result<std::optional<domain::Task>> GetTask(int64_t id) override;
  Result<void> UpdateTask(const domain::Task& task) override;
  Result<std::vector<domain::Task>> ListExpiredTasks(int64_t now_ms) override;
  Result<std::vector<domain::Task>> ListNodeTasks(int64_t node_id) override;
  Result<std::vector<domain::Task>> ListActiveTasks() override;
  Result<std::vector<domain::Task>> ListJobTasks(int64_t job_id) override;
  Result<int64_t> CreateOutput(const domain::Output& output) override;
  Result<std::optional<domain::Output>> GetOutput(int64_t id) override;
  Result<std::vector<domain::Output>> GetOutputs(const std::vector<int64_t>& ids) override;
  Result<std::optional<domain::Output>> FindOutput(int64_t task_id, int frame) override;
  Result<std::vector<domain::Output>> ListOutputs(int64_t job_id) override;
  Result<void> UpdateOutput(const domain::Output& output) override;
  Result<std::vector<domain::Output>> ListNodeOutputs(int64_t node_id, int limit) override;
  Result<std::vector<domain::Output>> FindOutputsBySha(const std::string& sha256) override;

  // Claims and blocklists: pg_parts.hpp.
  Result<std::vector<domain::Task>> ListClaimableTasks(const domain::ClaimFilter& filter, int limit,
                                                       int offset) override {
    return With(
        [&](Conn& c, bool locking) { return pg::ListClaimableTasks(c, locking, filter, limit, offset); });
  }
  Result<void> CountNodeClaim(int64_t node_id, int64_t now_ms) override {
    return With([&](Conn& c, bool) { return pg::CountNodeClaim(c, node_id, now_ms); });
  }
  Result<domain::NodeClaims> NodeClaimsInDay(int64_t node_id, int64_t now_ms) override {
    return With([&](Conn& c, bool) { return pg::NodeClaimsInDay(c, node_id, now_ms); });
  }
  Result<std::vector<domain::Task>> ListBannedNodesTasks() override {
    return With([&](Conn& c, bool locking) { return pg::ListBannedNodesTasks(c, locking); });
  }
  Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(int limit) override {
    return With([&](Conn& c, bool locking) { return pg::ListBannedNodesPendingOutputs(c, locking, limit); });
  }
  Result<std::map<std::string, int64_t>> CountClassBoundChecks() override {
    return With([&](Conn& c, bool) { return pg::CountClassBoundChecks(c); });
  }
  Result<void> AddToBlocklist(const domain::BlocklistEntry& entry) override {
    return With([&](Conn& c, bool) { return pg::AddToBlocklist(c, entry); });
  }
  Result<std::vector<domain::BlocklistEntry>> ListBlocklist(int64_t job_id) override {
    return With([&](Conn& c, bool) { return pg::ListBlocklist(c, job_id); });
  }
  Result<std::vector<int64_t>> ListBlocklistedJobs(int64_t node_id) override {
    return With([&](Conn& c, bool) { return pg::ListBlocklistedJobs(c, node_id); });
  }

  Result<int64_t> AppendEvent(const domain::Event& event) override;
  Result<int64_t> LastEventId(int64_t user_id) override;
  Result<std::vector<domain::Event>> ListEvents(int64_t user_id, int64_t job_id, int64_t after_id, int limit,
                                                bool network) override;

  // Retention: pg_parts.hpp.
  Result<std::vector<domain::Job>> ListExpiredJobs(int64_t before_ms, int limit) override {
    return With([&](Conn& c, bool locking) { return pg::ListExpiredJobs(c, locking, before_ms, limit); });
  }
  Result<void> DeleteJob(int64_t job_id) override {
    return Transaction([&]() { return With([&](Conn& c, bool) { return pg::DeleteJob(c, job_id); }); });
  }
  Result<std::vector<domain::Output>> ListExpiredRejectedOutputs(int64_t before_ms, int limit) override {
    return With(
        [&](Conn& c, bool locking) { return pg::ListExpiredRejectedOutputs(c, locking, before_ms, limit); });
  }
  Result<void> ForgetOutputObjects(int64_t output_id) override {
    return With([&](Conn& c, bool) { return pg::ForgetOutputObjects(c, output_id); });
  }
  Result<int64_t> DeleteEventsBefore(int64_t before_ms, int limit) override {
    return With([&](Conn& c, bool) { return pg::DeleteEventsBefore(c, before_ms, limit); });
  }
  Result<int64_t> EventsRemovedThrough() override {
    return With([&](Conn& c, bool) { return pg::EventsRemovedThrough(c); });
  }
  Result<int64_t> DeleteExpiredSessions(int64_t now_ms, int limit) override {
    return With([&](Conn& c, bool) { return pg::DeleteExpiredSessions(c, now_ms, limit); });
  }
  Result<int64_t> TrimUserSessions(int64_t user_id, int keep) override {
    return With([&](Conn& c, bool) { return pg::TrimUserSessions(c, user_id, keep); });
  }
  Result<std::vector<std::string>> ReferencedOutputKeys(const std::vector<std::string>& keys) override {
    return With([&](Conn& c, bool) { return pg::ReferencedOutputKeys(c, keys); });
  }

  // Metrics: pg_store_metrics.cpp.
  Result<std::map<std::pair<domain::TaskKind, std::string>, int64_t>> CountQueuedTasks() override;
  Result<int64_t> MaxEventId() override;

 private:
  /// Wakes the managers' waiting claims (a task of `kind` was queued).
  Result<void> NotifyQueued(domain::TaskKind kind);
  /// Runs fn(conn, locking) on the Transaction's connection (locking: true), or on one borrowed for the
  /// call (false). A failure inside a Transaction marks it: PostgreSQL aborts a transaction at its first
  /// failed statement, so its COMMIT must fail too (Transaction returns that first error).
  template <class F>
  auto With(F&& fn) -> decltype(fn(std::declval<Conn&>(), true)) {
    if (tx_ != nullptr) {
      auto r = fn(*tx_, true);
      if (r) return r;
      if (!tx_error_) tx_error_ = r.error();
      return Described(r.error());
    }
    auto lease = pool_->Borrow();
    if (!lease) return lease.error();
    const int64_t writes = (*lease)->writes();
    auto r = fn(**lease, false);
    // Each writing statement outside a Transaction commits on its own.
    if (const int64_t wrote = (*lease)->writes() - writes; wrote > 0) CountWrites(wrote);
    if (r) return r;
    return Described(r.error());
  }
  /// Counts commits that wrote (inferix_store_write_transactions_total).
  static void CountWrites(int64_t commits);
  /// The error, a missing reference named as the Store contract names it ("FOREIGN KEY").
  static Error Described(const Error& e);
  /// One statement on With's connection (callers that read rows append ForUpdate(locking())).
  Result<Rows> Exec(std::string_view sql, const Params& params = {}) {
    return With([&](Conn& c, bool) { return c.Exec(sql, params); });
  }
  /// Whether this call runs inside a Transaction (then reads lock what they return).
  bool locking() const { return tx_ != nullptr; }

  std::shared_ptr<Pool> pool_;
  Conn* tx_ = nullptr;             ///< the open Transaction's connection
  std::optional<Error> tx_error_;  ///< the first failure inside it
};

}  // namespace inferix::store::pg
