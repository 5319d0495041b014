#include "store/sqlite_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "store/migrations.hpp"
#include "store/store_url.hpp"
#include "store_contract.hpp"

namespace inferix::store {

using contract::StoreContract;

namespace {

namespace fs = std::filesystem;
using contract::FrameOf;
using contract::kSceneSha;
using contract::MakeJob;
using contract::MakeTask;
using contract::StoreBackend;
using domain::Frame;
using domain::FrameState;
using domain::Job;
using domain::JobState;
using domain::Task;
using domain::TaskState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::unique_ptr<domain::Store> OpenOrDie(const fs::path& path) {
  auto s = OpenSqliteStore(path);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

// A second, independent connection to a database file, for what the Store interface does not show.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The first column of every row of `sql`, as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out.emplace_back(p ? p : "");
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string One(const std::string& sql) {
    auto col = Column(sql);
    EXPECT_EQ(col.size(), 1u) << sql;
    return col.empty() ? "" : col[0];
  }

 private:
  sqlite3* db_ = nullptr;
};

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("inferix_store_test_" + RandomHex(8))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(SqliteStoreFile, MigrationsCreateTheSchema) {
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(fs::exists(path));

  RawDb raw(path);
  auto tables = raw.Column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  std::set<std::string> have(tables.begin(), tables.end());
  for (const char* t : {"schema_migrations", "users", "user_tokens", "enrollments", "nodes", "user_files",
                        "jobs", "frames", "tasks", "outputs"}) {
    EXPECT_TRUE(have.count(t)) << "missing table " << t;
  }
  auto versions = raw.Column("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(versions.size(), SqliteMigrations().size());
  for (size_t i = 0; i < versions.size(); ++i)
    EXPECT_EQ(versions[i], std::to_string(SqliteMigrations()[i].version));
  EXPECT_EQ(versions.back(), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");
}

TEST(SqliteStoreFile, EveryCommitIsSynchronous) {
  // Reports, verdicts, credits and bans are all written through this connection: each commit must reach the
  // disk before it is acknowledged (FULL, 2), in WAL mode. Durability is per connection, so ask the store's.
  TempDir dir;
  auto store = OpenOrDie(dir.path() / "manager.db");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*PragmaValue(*store, "synchronous"), "2");
  EXPECT_EQ(*PragmaValue(*store, "journal_mode"), "wal");
  EXPECT_EQ(*PragmaValue(*store, "foreign_keys"), "1");
  EXPECT_FALSE(PragmaValue(*store, "synchronous; DROP TABLE jobs").ok());
}

TEST(SqliteStoreFile, BlocklistKeepsOneEntryPerWorkerAndJob) {
  TempDir dir;
  auto store = OpenOrDie(dir.path() / "manager.db");
  ASSERT_NE(store, nullptr);
  const int64_t user = *store->CreateUser("eve", "hash-eve");
  const int64_t job = *store->CreateJob(MakeJob(user, 3));
  ASSERT_TRUE(store->AddToBlocklist({job, 7, "failed 3 tasks", 100}).ok());
  ASSERT_TRUE(store->AddToBlocklist({job, 7, "again", 200}).ok());  // already listed: unchanged
  ASSERT_TRUE(store->AddToBlocklist({job, 8, "failed 3 tasks too", 150}).ok());
  auto list = *store->ListBlocklist(job);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].node_id, 7);
  EXPECT_EQ(list[0].reason, "failed 3 tasks");
  EXPECT_EQ(list[1].node_id, 8);
  EXPECT_TRUE(store->ListBlocklist(job + 1)->empty());
}

TEST(SqliteStoreFile, MigrationVersionsIncrease) {
  const auto& m = SqliteMigrations();
  ASSERT_FALSE(m.empty());
  for (size_t i = 1; i < m.size(); ++i) EXPECT_GT(m[i].version, m[i - 1].version);
  EXPECT_EQ(SqliteSchemaVersion(), m.back().version);
}

TEST(SqliteStoreFile, ReopenKeepsDataAndDoesNotRerunMigrations) {
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  int64_t user = 0;
  int64_t job = 0;
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    user = *store->CreateUser("bob", "hash-bob");
    job = *store->CreateJob(MakeJob(user, 5));
    ASSERT_TRUE(store->PutFrame(Frame{job, 3, FrameState::kRendering, 0, 0, 1, "e\n", {4}}).ok());
  }
  for (int round = 0; round < 2; ++round) {
    auto store = OpenOrDie(path);  // migration 1 would fail on existing tables if it ran again
    ASSERT_NE(store, nullptr);
    auto u = store->FindUserByTokenHash("hash-bob");
    ASSERT_TRUE(u.ok());
    ASSERT_TRUE(u->has_value());
    EXPECT_EQ((*u)->id, user);
    auto j = store->GetJob(job);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE(j->has_value());
    EXPECT_EQ((*j)->priority, 5);
    auto f = store->GetFrame(job, 3);
    ASSERT_TRUE(f.ok() && f->has_value());
    EXPECT_EQ((*f)->state, FrameState::kRendering);

    RawDb raw(path);
    EXPECT_EQ(raw.One("SELECT COUNT(*) FROM schema_migrations"), std::to_string(SqliteMigrations().size()));
    EXPECT_EQ(raw.One("SELECT COUNT(*) FROM users"), "1");
  }
}

TEST(SqliteStoreFile, UpgradeGivesStartedJobsTheirSubmissionAsStart) {
  // A manager.db of schema 5, as the release before wrote it, with a job waiting and a job rendering.
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  {
    std::string sql = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY);";
    for (const auto& m : SqliteMigrations()) {
      if (m.version > 5) break;
      sql += std::string(m.sql) + "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ");";
    }
    sql += "INSERT INTO users (id, name) VALUES (1, 'old');";
    for (const char* row :
         {"(1, 'queued', 1000)", "(2, 'active', 2000)", "(3, 'completed', 3000)", "(4, 'canceled', 4000)"}) {
      sql += std::string(
                 "INSERT INTO jobs (id, user_id, name, main_file, files, frames_spec, format, chunk_size, "
                 "state, created_ms) SELECT column1, 1, 'j', 'a.blend', '[]', '1', 'PNG', 1, column2, "
                 "column3 FROM (VALUES ") +
             row + ");";
    }
    // Workers took work from jobs 2 and 3; job 4 was canceled while it waited.
    for (const char* task : {"(2, 'active')", "(3, 'done')", "(4, 'canceled')"}) {
      sql += std::string(
                 "INSERT INTO tasks (job_id, kind, state, frames, created_ms) SELECT column1, 'render', "
                 "column2, '1', 0 FROM (VALUES ") +
             task + ");";
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ((*store->GetJob(1))->started_ms, 0);  // still waiting: not started
  EXPECT_EQ((*store->GetJob(2))->started_ms, 2000);
  EXPECT_EQ((*store->GetJob(3))->started_ms, 3000);
  EXPECT_EQ((*store->GetJob(3))->state, JobState::kCompleted);
  EXPECT_EQ((*store->GetJob(4))->started_ms, 0);  // ended before it ever started
}

TEST(SqliteStoreFile, UpgradeKeepsOlderJobsWithTheDefaultSceneFields) {
  // A manager.db of schema 6, as the release before issue #12 wrote it, with one job.
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  {
    std::string sql = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY);";
    for (const auto& m : SqliteMigrations()) {
      if (m.version > 6) break;
      sql += std::string(m.sql) + "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ");";
    }
    sql += "INSERT INTO users (id, name) VALUES (1, 'old');";
    sql +=
        "INSERT INTO jobs (id, user_id, name, main_file, files, frames_spec, format, chunk_size, state, "
        "created_ms, started_ms) VALUES (1, 1, 'before', 'a.blend', '', '1-3', 'PNG', 1, 'active', 1000, "
        "1500);";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  auto got = store->GetJob(1);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  const Job& j = **got;
  EXPECT_EQ(j.name, "before");
  EXPECT_EQ(j.frames_spec, "1-3");
  EXPECT_EQ(j.state, JobState::kActive);
  EXPECT_EQ(j.started_ms, 1500);
  EXPECT_EQ(j.scene_root, "");
  EXPECT_EQ(j.blender_version, 0);
  EXPECT_THAT(j.denoisers, IsEmpty());
  EXPECT_FALSE(j.without_denoiser);
  EXPECT_EQ(j.resolution_percentage, 0);
  auto listed = store->ListJobs(1);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].scene_root, "");
  EXPECT_EQ((*listed)[0].blender_version, 0);

  RawDb raw(path);
  EXPECT_EQ(raw.One("SELECT MAX(version) FROM schema_migrations"), std::to_string(SqliteSchemaVersion()));
  // A new job beside it keeps its own.
  Job next = MakeJob(1);
  next.scene_root = "/home/a/proj";
  next.blender_version = 402;
  auto id = store->CreateJob(next);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ((*store->GetJob(*id))->scene_root, "/home/a/proj");
  EXPECT_EQ((*store->GetJob(*id))->blender_version, 402);
}

TEST(SqliteStoreFile, CommittedRowsAreVisibleToAnotherConnection) {
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser("carol", "hash-carol").ok());
  RawDb raw(path);
  EXPECT_EQ(raw.One("SELECT name FROM users"), "carol");
  EXPECT_EQ(raw.One("SELECT user_id FROM user_tokens WHERE token_hash = 'hash-carol'"),
            raw.One("SELECT id FROM users WHERE name = 'carol'"));
}

TEST(SqliteStoreFile, FailedTransactionLeavesNothingWritten) {
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  auto user = *store->CreateUser("dave", "hash-dave");
  auto r = store->Transaction([&]() -> Result<void> {
    auto job = store->CreateJob(MakeJob(user));
    if (!job) return job.error();
    INFERIX_TRY(store->PutFrame(FrameOf(*job, 1)));
    auto t = store->CreateTask(MakeTask(*job, {1}));
    if (!t) return t.error();
    INFERIX_TRY(store->AddUserFile(user, kSceneSha, 10));
    return MakeError(Errc::kConflict, "changed my mind");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConflict);
  EXPECT_EQ(r.error().message, "changed my mind");

  RawDb raw(path);
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM jobs"), "0");
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM frames"), "0");
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM tasks"), "0");
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM user_files"), "0");
  EXPECT_TRUE(store->ListJobs(user)->empty());
  EXPECT_FALSE(*store->UserHasFile(user, kSceneSha));
}

TEST(SqliteStoreFile, CreateUserIsAtomic) {
  TempDir dir;
  const auto path = dir.path() / "manager.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser("erin", "same-hash").ok());
  // The token is taken: the new user must not be left behind without a token.
  auto r = store->CreateUser("frank", "same-hash");
  ASSERT_FALSE(r.ok());
  RawDb raw(path);
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM users"), "1");
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM user_tokens"), "1");
}

TEST(SqliteStoreFile, OpenInMissingFolderFails) {
  TempDir dir;
  auto s = OpenSqliteStore(dir.path() / "no" / "such" / "manager.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kInternal);
  EXPECT_THAT(s.error().message, HasSubstr("manager.db"));
}

TEST(SqliteStoreFile, OpenOnGarbageFileFails) {
  TempDir dir;
  const auto path = dir.path() / "garbage.db";
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kInternal);
}

// ---- Transactions ---------------------------------------------------------------------------------------

// ---- Users and enrollment -------------------------------------------------------------------------------

// ---- Nodes ----------------------------------------------------------------------------------------------

// ---- User files -----------------------------------------------------------------------------------------

// ---- Jobs -----------------------------------------------------------------------------------------------

// ---- Frames ---------------------------------------------------------------------------------------------

// ---- Tasks ----------------------------------------------------------------------------------------------

// ---- Outputs --------------------------------------------------------------------------------------------

// ---- The Store contract, against SQLite in memory and in a file -----------------------------------------

std::unique_ptr<domain::Store> OpenUrlOrDie(const std::string& url) {
  auto s = OpenStore(url);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StoreContract,
    ::testing::Values(StoreBackend{"memory", [] { return OpenUrlOrDie("sqlite::memory:"); }},
                      StoreBackend{"file",
                                   [] {
                                     static TempDir dir;
                                     return OpenUrlOrDie("sqlite:" +
                                                         (dir.path() / RandomHex(8) / "m.db").string());
                                   }}),
    contract::BackendName);

TEST(StoreUrl, UnknownSchemesAreRefusedByName) {
  auto s = OpenStore("mysql://root:secret@localhost/inferix");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(s.error().message, HasSubstr("sqlite:PATH"));
  EXPECT_THAT(s.error().message, HasSubstr("postgresql://"));
  EXPECT_THAT(s.error().message, ::testing::Not(HasSubstr("secret")));
  EXPECT_FALSE(OpenStore("sqlite:").ok());
  EXPECT_EQ(DefaultStoreUrl("/srv/inferix"), "sqlite:/srv/inferix/manager.db");
}

}  // namespace
}  // namespace inferix::store
