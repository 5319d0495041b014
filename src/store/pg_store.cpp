#include "store/pg_store.hpp"

#include <string>
#include <utility>

#include "store/pg_migrations.hpp"
#include "store/pg_rows.hpp"
#include "store/pg_store_impl.hpp"
#include "store/store_metrics.hpp"

namespace inferix::store {
namespace pg {

using domain::Node;

Error PgStore::Described(const Error& e) {
  if (e.message.find("SQLSTATE 23503") == std::string::npos ||
      e.message.find("FOREIGN KEY constraint failed") != std::string::npos) {
    return e;  // not a foreign key, or already worded so by the connection
  }
  return MakeError(e.code, "FOREIGN KEY constraint failed: " + e.message);
}

Result<void> PgStore::Transaction(const std::function<Result<void>()>& fn) {
  if (tx_ != nullptr) return fn();  // nested: part of the outer transaction
  auto lease = pool_->Borrow();
  if (!lease) return lease.error();
  Conn& conn = **lease;
  TransactionTimer timer(Engine::kPostgres);
  const int64_t writes = conn.writes();
  INFERIX_TRY(conn.ExecScript("BEGIN"));
  tx_ = &conn;
  tx_error_.reset();
  Result<void> r = Ok();
  try {
    r = fn();
  } catch (...) {
    tx_ = nullptr;
    (void)conn.ExecScript("ROLLBACK");
    throw;
  }
  tx_ = nullptr;
  // PostgreSQL aborts a transaction at its first failed statement, even one whose error `fn` chose to
  // ignore: nothing of it can commit then, and the caller learns why.
  if (r && tx_error_) r = MakeError(tx_error_->code, "transaction rolled back: " + tx_error_->message);
  tx_error_.reset();
  if (!r) {
    (void)conn.ExecScript("ROLLBACK");
    return r;
  }
  // A COMMIT that fails (serialization failure, deadlock, lost connection) leaves nothing committed.
  auto c = timer.Commit(conn.ExecScript("COMMIT"));
  if (!c) (void)conn.ExecScript("ROLLBACK");
  if (c && conn.writes() != writes) MetricsOf(Engine::kPostgres).writes.Inc();
  return c;
}

Result<void> PgStore::Migrate() {
  auto lease = pool_->Borrow();
  if (!lease) return lease.error();
  Conn& conn = **lease;
  // Managers starting at once take turns here: the first applies what is missing, the others then find it
  // applied. The lock belongs to the session, so a manager that dies holding it releases it.
  INFERIX_TRY(conn.Exec("SELECT pg_advisory_lock($1::bigint)", Params().Add(kMigrationsLockKey)));
  auto migrate = [&]() -> Result<void> {
    INFERIX_TRY(
        conn.ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                        "applied_ms BIGINT NOT NULL "
                        "DEFAULT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)"));
    auto newest = conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!newest) return newest.error();
    const int64_t have = newest->Int(0, 0);
    if (have > PostgresSchemaVersion()) {
      return MakeError(Errc::kInternal, "database schema version " + std::to_string(have) +
                                            " is newer than this build's (" +
                                            std::to_string(PostgresSchemaVersion()) +
                                            "): run a newer Inferix on this database");
    }
    for (const auto& m : PostgresMigrations()) {
      if (m.version <= have) continue;
      INFERIX_TRY(conn.ExecScript("BEGIN"));
      auto applied = conn.ExecScript(m.sql);
      if (applied) {
        auto ins =
            conn.Exec("INSERT INTO schema_migrations (version) VALUES ($1::bigint)", Params().Add(m.version));
        if (!ins) applied = ins.error();
      }
      if (applied) applied = conn.ExecScript("COMMIT");
      if (!applied) {
        (void)conn.ExecScript("ROLLBACK");
        return MakeError(applied.error().code,
                         "migration " + std::to_string(m.version) + ": " + applied.error().message);
      }
    }
    return Ok();
  };
  auto r = migrate();
  auto unlock = conn.Exec("SELECT pg_advisory_unlock($1::bigint)", Params().Add(kMigrationsLockKey));
  INFERIX_TRY(r);
  if (!unlock) return unlock.error();
  return Ok();
}

Result<int64_t> PgStore::CreateUser(const std::string& name, const std::string& token_hash) {
  int64_t id = 0;
  INFERIX_TRY(Transaction([&]() -> Result<void> {
    // One statement finds or makes the user, so two managers creating one name at once agree on its id.
    auto user = Exec(
        "WITH made AS (INSERT INTO users (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id) "
        "SELECT id FROM made UNION ALL SELECT id FROM users WHERE name = $1",
        Params().Add(name));
    if (!user) return user.error();
    if (user->empty()) return MakeError(Errc::kInternal, "database: user " + name + " was not created");
    id = user->Int(0, 0);
    auto tok = Exec("INSERT INTO user_tokens (token_hash, user_id) VALUES ($1, $2::bigint)",
                    Params().Add(token_hash).Add(id));
    if (!tok) return tok.error();
    return Ok();
  }));
  return id;
}

Result<void> PgStore::CreateSession(const std::string& token_hash, int64_t user_id, int64_t expires_ms) {
  auto r = Exec("INSERT INTO sessions (token_hash, user_id, expires_ms) VALUES ($1, $2::bigint, $3::bigint)",
                Params().Add(token_hash).Add(user_id).Add(expires_ms));
  if (!r) return r.error();
  return Ok();
}

Result<void> PgStore::DeleteSession(const std::string& token_hash, int64_t now_ms) {
  auto r = Exec("DELETE FROM sessions WHERE token_hash = $1 OR expires_ms <= $2::bigint",
                Params().Add(token_hash).Add(now_ms));
  if (!r) return r.error();
  return Ok();
}

Result<void> PgStore::CreateEnrollment(const std::string& token_hash, const domain::EnrollmentGrant& grant,
                                       int64_t expires_ms) {
  auto r = Exec(
      "INSERT INTO enrollments (token_hash, role, expires_ms, owner_id) VALUES ($1, $2, $3::bigint, "
      "$4::bigint)",
      Params()
          .Add(token_hash)
          .Add(std::string(domain::ToString(grant.role)))
          .Add(expires_ms)
          .Add(grant.owner_id));
  if (!r) return r.error();
  return Ok();
}

namespace {
Result<std::optional<domain::EnrollmentGrant>> GrantOf(const Result<Rows>& rows) {
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<domain::EnrollmentGrant>();
  return std::optional<domain::EnrollmentGrant>(domain::EnrollmentGrant{
      domain::ParseNodeRole(rows->Text(0, 0)).value_or(domain::NodeRole::kWorker), rows->Int(0, 1)});
}
}  // namespace

Result<std::optional<domain::EnrollmentGrant>> PgStore::FindEnrollment(const std::string& token_hash,
                                                                       int64_t now_ms) {
  return GrantOf(
      Exec(std::string("SELECT role, owner_id FROM enrollments WHERE token_hash = $1 AND used_ms = 0 "
                       "AND expires_ms > $2::bigint") +
               ForUpdate(locking()),
           Params().Add(token_hash).Add(now_ms)));
}

Result<std::optional<domain::EnrollmentGrant>> PgStore::ConsumeEnrollment(const std::string& token_hash,
                                                                          int64_t now_ms) {
  // One statement: of two managers consuming one token at once, exactly one gets its grant.
  return GrantOf(Exec(
      "UPDATE enrollments SET used_ms = $2::bigint WHERE token_hash = $1 AND used_ms = 0 AND expires_ms > "
      "$2::bigint RETURNING role, owner_id",
      Params().Add(token_hash).Add(now_ms)));
}

Result<int64_t> PgStore::CreateNode(const Node& n, const std::string& token_hash) {
  Params p;
  p.Add(n.name).Add(std::string(domain::ToString(n.role))).Add(n.public_key).Add(token_hash);
  p.Add(n.capabilities_json).Add(n.last_seen_ms).Add(n.det_class).Add(n.banned ? 1 : 0).Add(n.ban_reason);
  p.Add(n.accepted).Add(n.rejected).Add(n.streak).Add(n.owner_id);
  auto r = Exec(
      "INSERT INTO nodes (name, role, public_key, token_hash, capabilities, last_seen_ms, det_class, banned, "
      "ban_reason, accepted, rejected, streak, owner_id) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, "
      "$8::bigint, "
      "$9, $10::bigint, $11::bigint, $12::bigint, $13::bigint) RETURNING id",
      p);
  if (!r) return r.error();
  return r->Int(0, 0);
}

Result<std::optional<Node>> PgStore::FindNodeByTokenHash(const std::string& token_hash) {
  auto r =
      Exec(std::string("SELECT ") + kNodeCols + " FROM nodes WHERE token_hash = $1" + ForUpdate(locking()),
           Params().Add(token_hash));
  if (!r) return r.error();
  return ReadFirst<Node>(*r, ReadNode);
}

Result<std::optional<Node>> PgStore::GetNode(int64_t id) {
  auto r =
      Exec(std::string("SELECT ") + kNodeCols + " FROM nodes WHERE id = $1::bigint" + ForUpdate(locking()),
           Params().Add(id));
  if (!r) return r.error();
  return ReadFirst<Node>(*r, ReadNode);
}

Result<std::vector<Node>> PgStore::ListNodes() {
  auto r = Exec(std::string("SELECT ") + kNodeCols + " FROM nodes ORDER BY id" + ForUpdate(locking()));
  if (!r) return r.error();
  return ReadAll<Node>(*r, ReadNode);
}

Result<std::vector<Node>> PgStore::GetNodes(const std::vector<int64_t>& ids) {
  auto r = Exec(std::string("SELECT ") + kNodeCols + " FROM nodes WHERE id = ANY($1::bigint[]) ORDER BY id" +
                    ForUpdate(locking()),
                Params().Add(ArrayInts(ids)));
  if (!r) return r.error();
  return ReadAll<Node>(*r, ReadNode);
}

Result<void> PgStore::TouchNode(int64_t id, int64_t now_ms) {
  auto r = Exec("UPDATE nodes SET last_seen_ms = GREATEST(last_seen_ms, $1::bigint) WHERE id = $2::bigint",
                Params().Add(now_ms).Add(id));
  if (!r) return r.error();
  return Ok();
}

Result<void> PgStore::SetNodeAvailability(int64_t id, const std::string& availability,
                                          const std::string& reason) {
  auto r = Exec("UPDATE nodes SET availability = $1, availability_reason = $2 WHERE id = $3::bigint",
                Params().Add(availability).Add(reason).Add(id));
  if (!r) return r.error();
  return Ok();
}

Result<void> PgStore::UpdateNode(const Node& n) {
  Params p;
  p.Add(n.name).Add(n.capabilities_json).Add(n.banned ? 1 : 0).Add(n.last_seen_ms).Add(n.accepted);
  p.Add(n.rejected).Add(n.ban_reason).Add(n.det_class).Add(n.streak).Add(n.id);
  auto r = Exec(
      "UPDATE nodes SET name = $1, capabilities = $2, banned = $3::bigint, last_seen_ms = $4::bigint, "
      "accepted = $5::bigint, rejected = $6::bigint, ban_reason = $7, det_class = $8, streak = $9::bigint "
      "WHERE id = $10::bigint",
      p);
  if (!r) return r.error();
  return Ok();
}

Result<void> PgStore::AddUserFile(int64_t user_id, const std::string& sha256, int64_t size) {
  auto r = Exec(
      "INSERT INTO user_files (user_id, sha256, size) VALUES ($1::bigint, $2, $3::bigint) ON CONFLICT DO "
      "NOTHING",
      Params().Add(user_id).Add(sha256).Add(size));
  if (!r) return r.error();
  return Ok();
}

Result<bool> PgStore::UserHasFile(int64_t user_id, const std::string& sha256) {
  auto r = Exec("SELECT 1 FROM user_files WHERE user_id = $1::bigint AND sha256 = $2",
                Params().Add(user_id).Add(sha256));
  if (!r) return r.error();
  return !r->empty();
}

Result<int64_t> PgStore::AppendEvent(const domain::Event& e) {
  int64_t id = 0;
  // In a transaction of its own when called outside one. The advisory lock, held to the commit, makes
  // appends take turns: ids become visible in increasing order, so a reader that saw id N never misses a
  // smaller id committed later.
  INFERIX_TRY(Transaction([&]() -> Result<void> {
    auto lock = Exec("SELECT pg_advisory_xact_lock($1::bigint)", Params().Add(kEventsLockKey));
    if (!lock) return lock.error();
    auto r = Exec(
        "INSERT INTO events (user_id, job_id, type, data, created_ms) VALUES ($1::bigint, $2::bigint, $3, "
        "$4, "
        "$5::bigint) RETURNING id",
        Params().Add(e.user_id).Add(e.job_id).Add(e.type).Add(e.data).Add(e.created_ms));
    if (!r) return r.error();
    id = r->Int(0, 0);
    // A wake-up for other managers' event streams (sent at commit; one per user per transaction).
    auto notify =
        Exec("SELECT pg_notify($1, $2)", Params().Add(kEventsChannel).Add(std::to_string(e.user_id)));
    if (!notify) return notify.error();
    return Ok();
  }));
  return id;
}

Result<int64_t> PgStore::LastEventId(int64_t user_id) {
  auto r = Exec("SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id IN ($1::bigint, $2::bigint)",
                Params().Add(user_id).Add(domain::kNetworkUser));
  if (!r) return r.error();
  return r->empty() ? 0 : r->Int(0, 0);
}

Result<std::vector<domain::Event>> PgStore::ListEvents(int64_t user_id, int64_t job_id, int64_t after_id,
                                                       int limit, bool network) {
  std::string sql = "SELECT id, user_id, job_id, type, data, created_ms FROM events ";
  Params p;
  p.Add(user_id).Add(after_id);
  if (job_id != 0) {
    sql += "WHERE user_id = $1::bigint AND id > $2::bigint AND job_id = $3::bigint ORDER BY id LIMIT $4";
    p.Add(job_id);
  } else if (network) {
    sql += "WHERE user_id IN ($1::bigint, $3::bigint) AND id > $2::bigint ORDER BY id LIMIT $4";
    p.Add(domain::kNetworkUser);
  } else {
    sql += "WHERE user_id = $1::bigint AND id > $2::bigint ORDER BY id LIMIT $3";
  }
  p.Add(limit);
  auto r = Exec(sql, p);
  if (!r) return r.error();
  return ReadAll<domain::Event>(*r, [](const Rows& rows, int i) {
    return domain::Event{rows.Int(i, 0),  rows.Int(i, 1),  rows.Int(i, 2),
                         rows.Text(i, 3), rows.Text(i, 4), rows.Int(i, 5)};
  });
}

}  // namespace pg

int PostgresSchemaVersion() { return PostgresMigrations().back().version; }

Result<std::unique_ptr<domain::Store>> OpenPostgresStore(std::shared_ptr<pg::Pool> pool) {
  if (pool == nullptr) return MakeError(Errc::kInvalidArgument, "no PostgreSQL connection pool");
  auto store = std::make_unique<pg::PgStore>(std::move(pool));
  INFERIX_TRY(store->Migrate());
  return std::unique_ptr<domain::Store>(std::move(store));
}

Result<std::unique_ptr<domain::Store>> OpenPostgresStore(const std::string& url) {
  auto options = pg::ParseUrl(url);
  if (!options) return options.error();
  auto pool = pg::Pool::Open(*options);
  if (!pool) return pool.error();
  return OpenPostgresStore(std::move(*pool));
}

}  // namespace inferix::store
