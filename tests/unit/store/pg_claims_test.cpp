// The PostgreSQL adapter's claims and retention under several managers at once: what only a database server
// shows (row locks held by another connection's open transaction). Needs the `postgres` ctest fixture's
// engine (INFERIX_TEST_POSTGRES names its JSON file).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/pg_conn.hpp"
#include "store/pg_migrations.hpp"
#include "store/pg_parts.hpp"

namespace inferix::store::pg {
namespace {

using ::testing::ElementsAre;

std::vector<int64_t> Ids(const std::vector<domain::Task>& tasks) {
  std::vector<int64_t> out;
  out.reserve(tasks.size());
  for (const auto& t : tasks) out.push_back(t.id);
  return out;
}

// A connection to `url`, or nullptr with the test failed.
std::unique_ptr<Conn> Connect(const std::string& url) {
  auto options = ParseUrl(url);
  if (!options) {
    ADD_FAILURE() << url << ": " << options.error().message;
    return nullptr;
  }
  auto conn = Conn::Open(*options);
  if (!conn) {
    ADD_FAILURE() << "PostgreSQL at " << url << " does not answer: " << conn.error().message;
    return nullptr;
  }
  return std::move(*conn);
}

// Runs a statement that must work; its rows.
Rows Must(Conn& conn, const std::string& sql, const Params& params = {}) {
  auto rows = conn.Exec(sql, params);
  EXPECT_TRUE(rows.ok()) << sql << ": " << (rows.ok() ? "" : rows.error().message);
  return rows.ok() ? std::move(*rows) : Rows();
}

// Each test gets a new database with the whole schema, and two connections to it: two managers.
class PgClaims : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* file = std::getenv("INFERIX_TEST_POSTGRES");
    if (file == nullptr || *file == '\0') {
      GTEST_SKIP() << "set INFERIX_TEST_POSTGRES to a postgres.json (the `postgres` ctest fixture writes "
                      "<build>/engines/postgres.json) to run the PostgreSQL tests";
    }
    std::ifstream in(file);
    ASSERT_TRUE(in) << "INFERIX_TEST_POSTGRES names " << file << ", which cannot be read";
    const auto config = nlohmann::json::parse(in, nullptr, false);
    ASSERT_TRUE(config.is_object() && config.contains("url")) << file << " has no \"url\"";
    const std::string server = config["url"].get<std::string>();
    admin_ = Connect(server);
    ASSERT_NE(admin_, nullptr);
    std::random_device random;
    db_ = "inferix_claims_" + std::to_string(random()) + std::to_string(random());
    Must(*admin_, "CREATE DATABASE " + db_);
    const size_t slash = server.rfind('/');
    ASSERT_NE(slash, std::string::npos) << server;
    const size_t query = server.find('?', slash);
    const std::string url =
        server.substr(0, slash + 1) + db_ + (query == std::string::npos ? "" : server.substr(query));
    a_ = Connect(url);
    b_ = Connect(url);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    for (const auto& m : PostgresMigrations()) ASSERT_TRUE(a_->ExecScript(m.sql).ok()) << m.version;
    user_ = Must(*a_, "INSERT INTO users (name) VALUES ('alice') RETURNING id").Int(0, 0);
  }

  void TearDown() override {
    a_.reset();
    b_.reset();
    if (admin_ && !db_.empty()) (void)admin_->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  int64_t NewJob(const std::string& state = "queued") {
    return Must(*a_,
                "INSERT INTO jobs (user_id, name, main_file, files, frames_spec, format, chunk_size, state, "
                "created_ms) VALUES ($1, 'shot', 'shot.blend', '', '1-2', 'png', 1, $2, 1000) RETURNING id",
                Params().Add(user_).Add(state))
        .Int(0, 0);
  }
  int64_t NewTask(int64_t job, int frame) {
    return Must(*a_,
                "INSERT INTO tasks (job_id, kind, state, frames, created_ms) VALUES ($1, 'render', 'queued', "
                "$2, "
                "2000) RETURNING id",
                Params().Add(job).Add(std::to_string(frame)))
        .Int(0, 0);
  }
  int64_t NewEvent(int64_t job) {
    return Must(*a_,
                "INSERT INTO events (user_id, job_id, type, data, created_ms) VALUES ($1, $2, 'job', '{}', "
                "10) "
                "RETURNING id",
                Params().Add(user_).Add(job))
        .Int(0, 0);
  }

  // Waits until `conn`'s server process waits for a lock another transaction holds.
  bool WaitsForLock(int64_t pid) {
    for (int i = 0; i < 1000; ++i) {
      auto rows =
          Must(*admin_, "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
               Params().Add(pid));
      if (rows.Int(0, 0) > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<Conn> admin_;
  std::unique_ptr<Conn> a_;
  std::unique_ptr<Conn> b_;
  std::string db_;
  int64_t user_ = 0;
};

TEST_F(PgClaims, ALockedTaskIsSkippedInsideATransactionWithoutWaiting) {
  const int64_t job = NewJob();
  const int64_t first = NewTask(job, 1);
  const int64_t second = NewTask(job, 2);
  // Manager A holds the first task (it is claiming it in a transaction that has not committed).
  Must(*a_, "BEGIN");
  Must(*a_, "SELECT id FROM tasks WHERE id = $1 FOR UPDATE", Params().Add(first));

  // Manager B, claiming inside its own transaction, gets the next task at once. Were it to wait for A's lock,
  // the lock timeout would fail the call instead of hanging the test.
  Must(*b_, "BEGIN");
  Must(*b_, "SET LOCAL lock_timeout = '5s'");
  auto claimable = ListClaimableTasks(*b_, true, domain::ClaimFilter{}, 10, 0);
  ASSERT_TRUE(claimable.ok()) << claimable.error().message;
  EXPECT_THAT(Ids(*claimable), ElementsAre(second));
  // And B now holds what it listed: A cannot take it.
  auto taken = a_->Exec("SELECT id FROM tasks WHERE id = $1 FOR UPDATE NOWAIT", Params().Add(second));
  EXPECT_FALSE(taken.ok());
  Must(*b_, "ROLLBACK");
  Must(*a_, "ROLLBACK");
}

TEST_F(PgClaims, OutsideATransactionALockedTaskIsStillListed) {
  const int64_t job = NewJob();
  const int64_t first = NewTask(job, 1);
  const int64_t second = NewTask(job, 2);
  Must(*a_, "BEGIN");
  Must(*a_, "SELECT id FROM tasks WHERE id = $1 FOR UPDATE", Params().Add(first));

  auto claimable = ListClaimableTasks(*b_, false, domain::ClaimFilter{}, 10, 0);
  ASSERT_TRUE(claimable.ok()) << claimable.error().message;
  EXPECT_THAT(Ids(*claimable), ElementsAre(first, second));
  // Listing took no lock: A can still lock the second task.
  EXPECT_TRUE(a_->Exec("SELECT id FROM tasks WHERE id = $1 FOR UPDATE NOWAIT", Params().Add(second)).ok());
  Must(*a_, "ROLLBACK");
}

TEST_F(PgClaims, TheEventsMarkOnlyRisesWhenTwoManagersRemoveEventsAtOnce) {
  const int64_t old_job = NewJob("completed");
  const int64_t old_event = NewEvent(old_job);
  const int64_t job = NewJob("completed");
  const int64_t last_event = NewEvent(job);
  Must(*a_, "UPDATE events SET created_ms = 5000 WHERE id = $1", Params().Add(last_event));

  // Manager A removes the job (and its newest event) in a transaction that has not committed yet.
  Must(*a_, "BEGIN");
  ASSERT_TRUE(DeleteJob(*a_, job).ok());
  // Manager B removes the older event meanwhile: it waits for A's mark, then keeps the higher of the two.
  const int64_t b_pid = Must(*b_, "SELECT pg_backend_pid()").Int(0, 0);
  Result<int64_t> removed = int64_t{0};
  std::thread b([&] { removed = DeleteEventsBefore(*b_, 1000, 10); });
  const bool waited = WaitsForLock(b_pid);
  Must(*a_, "COMMIT");
  b.join();
  EXPECT_TRUE(waited);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 1);
  EXPECT_LT(old_event, last_event);
  auto through = EventsRemovedThrough(*a_);
  ASSERT_TRUE(through.ok()) << through.error().message;
  EXPECT_EQ(*through, last_event);
}

TEST_F(PgClaims, TwoManagersRemovingOneJobAtOnceBothSucceedAndItIsGone) {
  const int64_t job = NewJob("completed");
  const int64_t event = NewEvent(job);
  NewTask(job, 1);
  Must(*a_, "UPDATE tasks SET state = 'done' WHERE job_id = $1", Params().Add(job));

  Must(*a_, "BEGIN");
  ASSERT_TRUE(DeleteJob(*a_, job).ok());
  const int64_t b_pid = Must(*b_, "SELECT pg_backend_pid()").Int(0, 0);
  Result<void> second = Ok();
  std::thread b([&] {
    second = [&]() -> Result<void> {
      INFERIX_TRY(b_->Exec("BEGIN"));
      INFERIX_TRY(DeleteJob(*b_, job));
      INFERIX_TRY(b_->Exec("COMMIT"));
      return Ok();
    }();
  });
  const bool waited = WaitsForLock(b_pid);
  Must(*a_, "COMMIT");
  b.join();
  EXPECT_TRUE(waited);
  EXPECT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(Must(*a_, "SELECT COUNT(*) FROM jobs WHERE id = $1", Params().Add(job)).Int(0, 0), 0);
  EXPECT_EQ(Must(*a_, "SELECT COUNT(*) FROM tasks WHERE job_id = $1", Params().Add(job)).Int(0, 0), 0);
  auto through = EventsRemovedThrough(*a_);
  ASSERT_TRUE(through.ok()) << through.error().message;
  EXPECT_EQ(*through, event);
}

TEST_F(PgClaims, AJobGivenNewWorkByAnotherManagerWhileBeingRemovedIsKept) {
  const int64_t job = NewJob("completed");
  // Manager B queues a check of the completed job and has not committed yet.
  Must(*b_, "BEGIN");
  const int64_t check =
      Must(*b_,
           "INSERT INTO tasks (job_id, kind, state, frames, created_ms) VALUES ($1, 'verify', "
           "'queued', '1', 3000) RETURNING id",
           Params().Add(job))
          .Int(0, 0);
  // Manager A's removal waits for it, then sees the queued check and leaves the job alone.
  const int64_t a_pid = Must(*a_, "SELECT pg_backend_pid()").Int(0, 0);
  Result<void> removal = Ok();
  std::thread a([&] {
    removal = [&]() -> Result<void> {
      INFERIX_TRY(a_->Exec("BEGIN"));
      auto r = DeleteJob(*a_, job);
      (void)a_->Exec(r.ok() ? "COMMIT" : "ROLLBACK");
      return r;
    }();
  });
  const bool waited = WaitsForLock(a_pid);
  Must(*b_, "COMMIT");
  a.join();
  EXPECT_TRUE(waited);
  ASSERT_FALSE(removal.ok());
  EXPECT_EQ(removal.error().code, Errc::kConflict) << removal.error().message;
  EXPECT_EQ(Must(*a_, "SELECT COUNT(*) FROM jobs WHERE id = $1", Params().Add(job)).Int(0, 0), 1);
  EXPECT_EQ(Must(*a_, "SELECT COUNT(*) FROM tasks WHERE id = $1", Params().Add(check)).Int(0, 0), 1);
}

}  // namespace
}  // namespace inferix::store::pg
