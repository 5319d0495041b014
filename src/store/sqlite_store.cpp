#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "domain/capabilities.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_claims.hpp"
#include "store/sqlite_rows.hpp"
#include "store/store_metrics.hpp"

namespace inferix::store {
namespace {

using domain::Frame;
using domain::Job;
using domain::Node;
using domain::Output;
using domain::Task;
using sqlite::EncodeFiles;
using sqlite::JoinInts;
using sqlite::JoinWords;
using sqlite::JsonInts;
using sqlite::kFrameCols;
using sqlite::kJobCols;
using sqlite::kNodeCols;
using sqlite::kOutputCols;
using sqlite::kTaskCols;
using sqlite::QueryAll;
using sqlite::QueryOne;
using sqlite::ReadFrame;
using sqlite::ReadJob;
using sqlite::ReadNode;
using sqlite::ReadOutput;
using sqlite::ReadTask;
using sqlite::Stmt;

class SqliteStore final : public detail::SqliteRetention {
 public:
  explicit SqliteStore(sqlite3* db) : SqliteRetention(db), db_(db) {}
  ~SqliteStore() override { sqlite3_close(db_); }

  Result<void> Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return MakeError(Errc::kInternal, "database: " + msg);
    }
    return Ok();
  }

  Result<void> Migrate() {
    INFERIX_TRY(Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"));
    for (const auto& m : SqliteMigrations()) {
      Stmt q(db_, "SELECT 1 FROM schema_migrations WHERE version = ?");
      q.Bind(m.version);
      if (q.Step()) continue;
      INFERIX_TRY(q.Status());
      auto r = Transaction([&]() -> Result<void> {
        INFERIX_TRY(Exec(std::string(m.sql)));
        Stmt ins(db_, "INSERT INTO schema_migrations (version) VALUES (?)");
        ins.Bind(m.version);
        return ins.Run();
      });
      if (!r)
        return MakeError(Errc::kInternal,
                         "migration " + std::to_string(m.version) + ": " + r.error().message);
    }
    return Ok();
  }

  Result<void> Transaction(const std::function<Result<void>()>& fn) override {
    if (in_transaction_) return fn();         // nested: part of the outer transaction
    TransactionTimer timer(Engine::kSqlite);  // the wait for the write lock (BEGIN IMMEDIATE) included
    INFERIX_TRY(Exec("BEGIN IMMEDIATE"));
    in_transaction_ = true;
    Result<void> r = Ok();
    try {
      r = fn();
    } catch (...) {
      in_transaction_ = false;
      (void)Exec("ROLLBACK");
      throw;
    }
    in_transaction_ = false;
    if (!r) {
      (void)Exec("ROLLBACK");
      return r;
    }
    auto c = timer.Commit(Exec("COMMIT"));
    if (!c) (void)Exec("ROLLBACK");
    return c;
  }

  Result<int64_t> CreateUser(const std::string& name, const std::string& token_hash) override {
    int64_t id = 0;
    INFERIX_TRY(Transaction([&]() -> Result<void> {
      Stmt find(db_, "SELECT id FROM users WHERE name = ?");
      find.Bind(name);
      if (find.Step()) {
        id = find.Int(0);
      } else {
        INFERIX_TRY(find.Status());
        Stmt ins(db_, "INSERT INTO users (name) VALUES (?)");
        ins.Bind(name);
        INFERIX_TRY(ins.Run());
        id = sqlite3_last_insert_rowid(db_);
      }
      Stmt tok(db_, "INSERT INTO user_tokens (token_hash, user_id) VALUES (?, ?)");
      tok.Bind(token_hash).Bind(id);
      return tok.Run();
    }));
    return id;
  }

  Result<std::optional<domain::User>> FindUserByTokenHash(const std::string& token_hash) override {
    return accounts::FindUserByLiveTokenHash(db_, token_hash);
  }

  Result<void> CreateSession(const std::string& token_hash, int64_t user_id, int64_t expires_ms) override {
    Stmt s(db_, "INSERT INTO sessions (token_hash, user_id, expires_ms) VALUES (?, ?, ?)");
    s.Bind(token_hash).Bind(user_id).Bind(expires_ms);
    return s.Run();
  }

  Result<std::optional<domain::User>> FindUserBySession(const std::string& token_hash,
                                                        int64_t now_ms) override {
    return accounts::FindUserBySession(db_, token_hash, now_ms);
  }

  Result<void> DeleteSession(const std::string& token_hash, int64_t now_ms) override {
    Stmt s(db_, "DELETE FROM sessions WHERE token_hash = ? OR expires_ms <= ?");
    s.Bind(token_hash).Bind(now_ms);
    return s.Run();
  }

  // Accounts (issue #14): sqlite_store_accounts.cpp.
  Result<std::optional<domain::User>> FindUserByName(const std::string& name) override {
    return accounts::FindUserByName(db_, name);
  }
  Result<std::optional<domain::User>> GetUser(int64_t id) override { return accounts::GetUser(db_, id); }
  Result<std::vector<domain::User>> ListUsers() override { return accounts::ListUsers(db_); }
  Result<int64_t> AddUser(const domain::User& user) override { return accounts::AddUser(db_, user); }
  Result<void> UpdateUser(const domain::User& user) override { return accounts::UpdateUser(db_, user); }
  Result<int64_t> AddUserToken(const domain::UserToken& token, const std::string& token_hash) override {
    return accounts::AddUserToken(db_, token, token_hash);
  }
  Result<std::optional<std::pair<domain::User, domain::UserToken>>> FindUserToken(
      const std::string& token_hash) override {
    return accounts::FindUserToken(db_, token_hash);
  }
  Result<std::vector<domain::UserToken>> ListUserTokens(int64_t user_id) override {
    return accounts::ListUserTokens(db_, user_id);
  }
  Result<bool> RevokeUserToken(int64_t token_id, int64_t now_ms) override {
    return accounts::RevokeUserToken(db_, token_id, now_ms);
  }
  Result<void> TouchUserToken(int64_t token_id, int64_t now_ms) override {
    return accounts::TouchUserToken(db_, token_id, now_ms);
  }
  Result<domain::UserUsage> GetUserUsage(int64_t id) override { return accounts::GetUserUsage(db_, id); }
  Result<int64_t> AppendAudit(const domain::AuditEntry& entry) override {
    return accounts::AppendAudit(db_, entry);
  }
  Result<std::vector<domain::AuditEntry>> ListAudit(int limit) override {
    return accounts::ListAudit(db_, limit);
  }

  Result<bool> AppendPosting(const domain::Posting& posting) override {
    bool booked = false;
    INFERIX_TRY(Transaction([&]() -> Result<void> {
      auto r = books::AppendPosting(db_, posting);
      if (!r) return r.error();
      booked = *r;
      return Ok();
    }));
    return booked;
  }
  Result<int64_t> AccountBalance(const domain::Account& a) override { return books::AccountBalance(db_, a); }
  Result<std::vector<domain::Entry>> ListBalances() override { return books::ListBalances(db_); }
  Result<std::vector<domain::Posting>> ListPostings(int64_t user_id, int64_t job_id, int limit) override {
    return books::ListPostings(db_, user_id, job_id, limit);
  }

  Result<void> CreateEnrollment(const std::string& token_hash, const domain::EnrollmentGrant& grant,
                                int64_t expires_ms) override {
    return accounts::CreateEnrollment(db_, token_hash, grant, expires_ms);
  }
  Result<std::optional<domain::EnrollmentGrant>> FindEnrollment(const std::string& token_hash,
                                                                int64_t now_ms) override {
    return accounts::FindEnrollment(db_, token_hash, now_ms);
  }
  Result<std::optional<domain::EnrollmentGrant>> ConsumeEnrollment(const std::string& token_hash,
                                                                   int64_t now_ms) override {
    return accounts::ConsumeEnrollment(db_, token_hash, now_ms);
  }

  Result<int64_t> CreateNode(const Node& n, const std::string& token_hash) override {
    Stmt s(db_,
           "INSERT INTO nodes (name, role, public_key, token_hash, capabilities, last_seen_ms, det_class, "
           "banned, ban_reason, accepted, rejected, streak, owner_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
           "?, ?, "
           "?)");
    s.Bind(n.name).Bind(domain::ToString(n.role)).Bind(n.public_key).Bind(token_hash);
    s.Bind(n.capabilities_json);
    s.Bind(n.last_seen_ms).Bind(n.det_class).Bind(n.banned ? 1 : 0).Bind(n.ban_reason).Bind(n.accepted);
    s.Bind(n.rejected).Bind(n.streak).Bind(n.owner_id);
    INFERIX_TRY(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Result<std::optional<Node>> FindNodeByTokenHash(const std::string& token_hash) override {
    Stmt s(db_, (std::string("SELECT ") + kNodeCols + " FROM nodes WHERE token_hash = ?").c_str());
    s.Bind(token_hash);
    return QueryOne<Node>(s, ReadNode);
  }
  Result<std::optional<Node>> GetNode(int64_t id) override {
    Stmt s(db_, (std::string("SELECT ") + kNodeCols + " FROM nodes WHERE id = ?").c_str());
    s.Bind(id);
    return QueryOne<Node>(s, ReadNode);
  }
  Result<std::vector<Node>> ListNodes() override {
    Stmt s(db_, (std::string("SELECT ") + kNodeCols + " FROM nodes ORDER BY id").c_str());
    return QueryAll<Node>(s, ReadNode);
  }
  Result<std::vector<Node>> GetNodes(const std::vector<int64_t>& ids) override {
    Stmt s(db_, (std::string("SELECT ") + kNodeCols +
                 " FROM nodes WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
                    .c_str());
    s.Bind(JsonInts(ids));
    return QueryAll<Node>(s, ReadNode);
  }
  Result<void> TouchNode(int64_t id, int64_t now_ms) override {
    Stmt s(db_, "UPDATE nodes SET last_seen_ms = MAX(last_seen_ms, ?) WHERE id = ?");
    s.Bind(now_ms).Bind(id);
    return s.Run();
  }
  Result<void> SetNodeAvailability(int64_t id, const std::string& availability,
                                   const std::string& reason) override {
    Stmt s(db_, "UPDATE nodes SET availability = ?, availability_reason = ? WHERE id = ?");
    s.Bind(availability).Bind(reason).Bind(id);
    return s.Run();
  }
  Result<void> UpdateNode(const Node& n) override {
    Stmt s(db_,
           "UPDATE nodes SET name = ?, capabilities = ?, banned = ?, last_seen_ms = ?, accepted = ?, "
           "rejected = ?, ban_reason = ?, det_class = ?, streak = ? WHERE id = ?");
    s.Bind(n.name).Bind(n.capabilities_json).Bind(n.banned ? 1 : 0).Bind(n.last_seen_ms).Bind(n.accepted);
    s.Bind(n.rejected).Bind(n.ban_reason).Bind(n.det_class).Bind(n.streak).Bind(n.id);
    return s.Run();
  }
  Result<void> AddUserFile(int64_t user_id, const std::string& sha256, int64_t size) override {
    Stmt s(db_, "INSERT OR IGNORE INTO user_files (user_id, sha256, size) VALUES (?, ?, ?)");
    s.Bind(user_id).Bind(sha256).Bind(size);
    return s.Run();
  }
  Result<bool> UserHasFile(int64_t user_id, const std::string& sha256) override {
    Stmt s(db_, "SELECT 1 FROM user_files WHERE user_id = ? AND sha256 = ?");
    s.Bind(user_id).Bind(sha256);
    bool found = s.Step();
    INFERIX_TRY(s.Status());
    return found;
  }

  Result<int64_t> CreateJob(const Job& j) override {
    Stmt s(
        db_,
        "INSERT INTO jobs (user_id, name, main_file, files, frames_spec, format, chunk_size, priority, "
        "state, "
        "message, created_ms, finished_ms, fps, started_ms, scene_root, blender_version, denoisers, "
        "without_denoiser, resolution_percentage, requirements, engine) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(j.user_id).Bind(j.name).Bind(j.main_file).Bind(EncodeFiles(j.files)).Bind(j.frames_spec);
    s.Bind(domain::ToString(j.format)).Bind(j.chunk_size).Bind(j.priority).Bind(domain::ToString(j.state));
    s.Bind(j.message).Bind(j.created_ms).Bind(j.finished_ms).Bind(j.fps).Bind(j.started_ms);
    s.Bind(j.scene_root)
        .Bind(j.blender_version)
        .Bind(JoinWords(j.denoisers))
        .Bind(j.without_denoiser ? 1 : 0)
        .Bind(j.resolution_percentage)
        .Bind(domain::EncodeRequirements(j.requirements))
        .Bind(j.engine);
    INFERIX_TRY(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Result<std::optional<Job>> GetJob(int64_t id) override {
    Stmt s(db_, (std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?").c_str());
    s.Bind(id);
    return QueryOne<Job>(s, ReadJob);
  }
  Result<std::vector<Job>> GetJobs(const std::vector<int64_t>& ids) override {
    Stmt s(db_, (std::string("SELECT ") + kJobCols +
                 " FROM jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
                    .c_str());
    s.Bind(JsonInts(ids));
    return QueryAll<Job>(s, ReadJob);
  }
  Result<std::vector<Job>> ListJobs(int64_t user_id) override {
    Stmt s(db_, (std::string("SELECT ") + kJobCols + " FROM jobs WHERE user_id = ? ORDER BY id").c_str());
    s.Bind(user_id);
    return QueryAll<Job>(s, ReadJob);
  }
  Result<std::vector<Job>> ListJobsInState(domain::JobState state) override {
    Stmt s(db_, (std::string("SELECT ") + kJobCols + " FROM jobs WHERE state = ? ORDER BY id").c_str());
    s.Bind(domain::ToString(state));
    return QueryAll<Job>(s, ReadJob);
  }
  Result<void> UpdateJob(const Job& j) override {
    Stmt s(db_,
           "UPDATE jobs SET state = ?, message = ?, priority = ?, finished_ms = ?, video_state = ?, "
           "video_key = ?, started_ms = ? "
           "WHERE id = ?");
    s.Bind(domain::ToString(j.state))
        .Bind(j.message)
        .Bind(j.priority)
        .Bind(j.finished_ms)
        .Bind(j.video_state);
    s.Bind(j.video_key).Bind(j.started_ms).Bind(j.id);
    return s.Run();
  }

  Result<void> PutFrame(const Frame& f) override {
    Stmt s(db_, (std::string("INSERT INTO frames (") + kFrameCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)" +
                 kFrameUpsert)
                    .c_str());
    s.Bind(f.job_id).Bind(f.number).Bind(domain::ToString(f.state)).Bind(f.task_id).Bind(f.output_id);
    s.Bind(f.failures).Bind(f.errors).Bind(JoinInts(f.excluded_nodes));
    return s.Run();
  }
  Result<void> PutFrames(const std::vector<Frame>& frames) override {
    return Transaction([&]() -> Result<void> {
      for (const auto& f : frames) INFERIX_TRY(PutFrame(f));
      return Ok();
    });
  }
  Result<std::optional<Frame>> GetFrame(int64_t job_id, int number) override {
    Stmt s(db_,
           (std::string("SELECT ") + kFrameCols + " FROM frames WHERE job_id = ? AND number = ?").c_str());
    s.Bind(job_id).Bind(number);
    return QueryOne<Frame>(s, ReadFrame);
  }
  Result<std::vector<Frame>> ListFrames(int64_t job_id) override {
    Stmt s(db_,
           (std::string("SELECT ") + kFrameCols + " FROM frames WHERE job_id = ? ORDER BY number").c_str());
    s.Bind(job_id);
    return QueryAll<Frame>(s, ReadFrame);
  }

  Result<std::vector<Frame>> GetFrames(int64_t job_id, const std::vector<int>& numbers) override {
    Stmt s(db_,
           (std::string("SELECT ") + kFrameCols +
            " FROM frames WHERE job_id = ? AND number IN (SELECT value FROM json_each(?)) ORDER BY number")
               .c_str());
    s.Bind(job_id).Bind(JsonInts(numbers));
    return QueryAll<Frame>(s, ReadFrame);
  }
  Result<std::map<int64_t, domain::FrameCounts>> CountFramesByJob(int64_t user_id) override {
    return sqlite::CountFramesByJob(db_, user_id);
  }
  Result<domain::FrameCounts> CountJobFrames(int64_t job_id) override {
    return sqlite::CountJobFrames(db_, job_id);
  }

  Result<int64_t> CreateTask(const Task& t) override {
    Stmt s(db_,
           "INSERT INTO tasks (job_id, kind, state, frames, output_id, node_id, lease_expires_ms, excluded, "
           "message, created_ms, level, progress, progress_ms, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
           "?, ?, ?, ?, "
           "COALESCE((SELECT priority FROM jobs WHERE id = ?1), 0))");
    s.Bind(t.job_id).Bind(domain::ToString(t.kind)).Bind(domain::ToString(t.state)).Bind(JoinInts(t.frames));
    s.Bind(t.output_id)
        .Bind(t.node_id)
        .Bind(t.lease_expires_ms)
        .Bind(JoinInts(t.excluded_nodes))
        .Bind(t.message);
    s.Bind(t.created_ms).Bind(t.level).Bind(t.progress).Bind(t.progress_ms);
    INFERIX_TRY(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Result<std::optional<Task>> GetTask(int64_t id) override {
    Stmt s(db_, (std::string("SELECT ") + kTaskCols + " FROM tasks WHERE id = ?").c_str());
    s.Bind(id);
    return QueryOne<Task>(s, ReadTask);
  }
  Result<void> UpdateTask(const Task& t) override {
    Stmt s(db_,
           "UPDATE tasks SET state = ?, frames = ?, node_id = ?, lease_expires_ms = ?, excluded = ?, message "
           "= ?, progress = ?, progress_ms = ?, slot = ? WHERE id = ?");
    s.Bind(domain::ToString(t.state)).Bind(JoinInts(t.frames)).Bind(t.node_id).Bind(t.lease_expires_ms);
    s.Bind(JoinInts(t.excluded_nodes)).Bind(t.message).Bind(t.progress).Bind(t.progress_ms).Bind(t.slot);
    s.Bind(t.id);
    return s.Run();
  }
  // Claims: sqlite_store_claims.cpp.
  Result<std::vector<Task>> ListClaimableTasks(const domain::ClaimFilter& filter, int limit,
                                               int offset) override {
    return sqlite::ListClaimableTasks(db_, filter, limit, offset);
  }
  Result<void> CountNodeClaim(int64_t node_id, int64_t now_ms) override {
    return sqlite::CountNodeClaim(db_, node_id, now_ms);
  }
  Result<domain::NodeClaims> NodeClaimsInDay(int64_t node_id, int64_t now_ms) override {
    return sqlite::NodeClaimsInDay(db_, node_id, now_ms);
  }
  Result<std::vector<Task>> ListBannedNodesTasks() override { return sqlite::ListBannedNodesTasks(db_); }
  Result<std::vector<Output>> ListBannedNodesPendingOutputs(int limit) override {
    return sqlite::ListBannedNodesPendingOutputs(db_, limit);
  }
  Result<std::map<std::string, int64_t>> CountClassBoundChecks() override {
    return sqlite::CountClassBoundChecks(db_);
  }
  Result<std::vector<Task>> ListNodeTasks(int64_t node_id) override {
    Stmt s(db_, (std::string("SELECT ") + kTaskCols +
                 " FROM tasks WHERE state = 'active' AND node_id = ? ORDER BY id")
                    .c_str());
    s.Bind(node_id);
    return QueryAll<Task>(s, ReadTask);
  }
  Result<std::vector<Task>> ListExpiredTasks(int64_t now_ms) override {
    Stmt s(db_, (std::string("SELECT ") + kTaskCols +
                 " FROM tasks WHERE state = 'active' AND lease_expires_ms < ?")
                    .c_str());
    s.Bind(now_ms);
    return QueryAll<Task>(s, ReadTask);
  }
  Result<std::vector<Task>> ListActiveTasks() override {
    Stmt s(db_,
           (std::string("SELECT ") + kTaskCols + " FROM tasks WHERE state = 'active' ORDER BY node_id, id")
               .c_str());
    return QueryAll<Task>(s, ReadTask);
  }
  Result<std::vector<Task>> ListJobTasks(int64_t job_id) override {
    Stmt s(db_, (std::string("SELECT ") + kTaskCols + " FROM tasks WHERE job_id = ? ORDER BY id").c_str());
    s.Bind(job_id);
    return QueryAll<Task>(s, ReadTask);
  }

  Result<int64_t> CreateOutput(const Output& o) override {
    Stmt s(db_,
           "INSERT INTO outputs (job_id, frame, task_id, node_id, blob_key, sha256, render_seconds, verdict, "
           "verdict_detail, verifier_node_id, verify_seconds, created_ms, render_cpu_seconds, det_class, "
           "replica_of, preview_key, verify_cpu_seconds, method, credited) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(o.job_id).Bind(o.frame).Bind(o.task_id).Bind(o.node_id).Bind(o.blob_key).Bind(o.sha256);
    s.Bind(o.render_seconds)
        .Bind(domain::ToString(o.verdict))
        .Bind(o.verdict_detail)
        .Bind(o.verifier_node_id);
    s.Bind(o.verify_seconds)
        .Bind(o.created_ms)
        .Bind(o.render_cpu_seconds)
        .Bind(o.det_class)
        .Bind(o.replica_of);
    s.Bind(o.preview_key).Bind(o.verify_cpu_seconds).Bind(o.method).Bind(o.credited ? 1 : 0);
    INFERIX_TRY(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Result<std::optional<Output>> GetOutput(int64_t id) override {
    Stmt s(db_, (std::string("SELECT ") + kOutputCols + " FROM outputs WHERE id = ?").c_str());
    s.Bind(id);
    return QueryOne<Output>(s, ReadOutput);
  }
  Result<std::vector<Output>> GetOutputs(const std::vector<int64_t>& ids) override {
    Stmt s(db_, (std::string("SELECT ") + kOutputCols +
                 " FROM outputs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
                    .c_str());
    s.Bind(JsonInts(ids));
    return QueryAll<Output>(s, ReadOutput);
  }
  Result<std::optional<Output>> FindOutput(int64_t task_id, int frame) override {
    Stmt s(db_,
           (std::string("SELECT ") + kOutputCols + " FROM outputs WHERE task_id = ? AND frame = ?").c_str());
    s.Bind(task_id).Bind(frame);
    return QueryOne<Output>(s, ReadOutput);
  }
  Result<std::vector<Output>> ListOutputs(int64_t job_id) override {
    Stmt s(
        db_,
        (std::string("SELECT ") + kOutputCols + " FROM outputs WHERE job_id = ? ORDER BY frame, id").c_str());
    s.Bind(job_id);
    return QueryAll<Output>(s, ReadOutput);
  }
  Result<std::vector<Output>> ListNodeOutputs(int64_t node_id, int limit) override {
    Stmt s(db_,
           (std::string("SELECT ") + kOutputCols + " FROM outputs WHERE node_id = ? ORDER BY id DESC LIMIT ?")
               .c_str());
    s.Bind(node_id).Bind(limit);
    return QueryAll<Output>(s, ReadOutput);
  }
  Result<std::vector<Output>> FindOutputsBySha(const std::string& sha256) override {
    Stmt s(db_,
           (std::string("SELECT ") + kOutputCols + " FROM outputs WHERE sha256 = ? ORDER BY id").c_str());
    s.Bind(sha256);
    return QueryAll<Output>(s, ReadOutput);
  }
  Result<void> UpdateOutput(const Output& o) override {
    Stmt s(db_,
           "UPDATE outputs SET verdict = ?, verdict_detail = ?, verifier_node_id = ?, verify_seconds = ?, "
           "preview_key = ?, verify_cpu_seconds = ?, method = ?, credited = ? WHERE id = ?");
    s.Bind(domain::ToString(o.verdict))
        .Bind(o.verdict_detail)
        .Bind(o.verifier_node_id)
        .Bind(o.verify_seconds);
    s.Bind(o.preview_key).Bind(o.verify_cpu_seconds).Bind(o.method).Bind(o.credited ? 1 : 0).Bind(o.id);
    return s.Run();
  }

  Result<int64_t> AppendEvent(const domain::Event& e) override {
    Stmt s(db_, "INSERT INTO events (user_id, job_id, type, data, created_ms) VALUES (?, ?, ?, ?, ?)");
    s.Bind(e.user_id).Bind(e.job_id).Bind(e.type).Bind(e.data).Bind(e.created_ms);
    INFERIX_TRY(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }
  Result<int64_t> LastEventId(int64_t user_id) override {
    Stmt s(db_, "SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id IN (?, ?)");
    s.Bind(user_id).Bind(domain::kNetworkUser);
    auto id = QueryOne<int64_t>(s, [](const Stmt& r) { return r.Int(0); });
    if (!id) return id.error();
    return id->value_or(0);
  }

  Result<std::vector<domain::Event>> ListEvents(int64_t user_id, int64_t job_id, int64_t after_id, int limit,
                                                bool network) override {
    constexpr const char* kSelect = "SELECT id, user_id, job_id, type, data, created_ms FROM events ";
    std::string sql = kSelect;
    if (job_id != 0) {
      sql += "WHERE user_id = ? AND id > ? AND job_id = ? ORDER BY id LIMIT ?";
    } else if (network) {
      sql += "WHERE user_id IN (?, ?) AND id > ? ORDER BY id LIMIT ?";
    } else {
      sql += "WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?";
    }
    Stmt s(db_, sql.c_str());
    s.Bind(user_id);
    if (job_id == 0 && network) s.Bind(domain::kNetworkUser);
    s.Bind(after_id);
    if (job_id != 0) s.Bind(job_id);
    s.Bind(limit);
    return QueryAll<domain::Event>(s, [](const Stmt& r) {
      return domain::Event{r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Text(4), r.Int(5)};
    });
  }

  // Blocklists decide claims: sqlite_store_claims.cpp.
  Result<void> AddToBlocklist(const domain::BlocklistEntry& e) override {
    return sqlite::AddToBlocklist(db_, e);
  }
  Result<std::vector<domain::BlocklistEntry>> ListBlocklist(int64_t job_id) override {
    return sqlite::ListBlocklist(db_, job_id);
  }
  Result<std::vector<int64_t>> ListBlocklistedJobs(int64_t node_id) override {
    return sqlite::ListBlocklistedJobs(db_, node_id);
  }

  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  bool in_transaction_ = false;
};

}  // namespace

Result<std::string> PragmaValue(domain::Store& store, const std::string& name) {
  auto* sqlite = dynamic_cast<SqliteStore*>(&store);
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(),
                                                  [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  if (sqlite == nullptr || !plain) return MakeError(Errc::kInvalidArgument, "no PRAGMA " + name + " here");
  Stmt s(sqlite->db(), ("PRAGMA " + name).c_str());
  if (!s.Step()) return MakeError(Errc::kNotFound, "PRAGMA " + name + " has no value");
  return s.Text(0);
}

int SqliteSchemaVersion() { return SqliteMigrations().back().version; }

Result<std::unique_ptr<domain::Store>> OpenSqliteStore(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return MakeError(Errc::kInternal, "cannot open database " + path.string() + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_busy_timeout(db, 10000);
  // Every write here carries completed work or money (reports, verdicts, credits, bans): a committed row must
  // survive a power cut, so every commit is synchronous (docs/operations.md, "Durability").
  INFERIX_TRY(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  INFERIX_TRY(store->Migrate());
  return std::unique_ptr<domain::Store>(std::move(store));
}

}  // namespace inferix::store
