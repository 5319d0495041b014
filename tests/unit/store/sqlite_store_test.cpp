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

namespace inferix::store {
namespace {

namespace fs = std::filesystem;
using domain::Frame;
using domain::FrameState;
using domain::Job;
using domain::JobState;
using domain::Node;
using domain::NodeRole;
using domain::Output;
using domain::Task;
using domain::TaskKind;
using domain::TaskState;
using domain::Verdict;
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

const std::string kSceneSha = Sha256Hex("scene");
const std::string kTexSha = Sha256Hex("tex");

Job MakeJob(int64_t user_id, int priority = 0, JobState state = JobState::kQueued) {
  Job j;
  j.user_id = user_id;
  j.name = "shot 010";
  j.main_file = "shot.blend";
  j.files = {{"shot.blend", kSceneSha, 1234}, {"tex/wood grain 2.png", kTexSha, 56}};
  j.frames_spec = "1-10x2";
  j.format = domain::OutputFormat::kExr;
  j.chunk_size = 3;
  j.priority = priority;
  j.state = state;
  j.created_ms = 1000;
  return j;
}

Frame FrameOf(int64_t job_id, int number) {
  Frame f;
  f.job_id = job_id;
  f.number = number;
  return f;
}

Task MakeTask(int64_t job_id, std::vector<int> frames, TaskKind kind = TaskKind::kRender) {
  Task t;
  t.job_id = job_id;
  t.kind = kind;
  t.frames = std::move(frames);
  t.created_ms = 2000;
  return t;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(":memory:");
    ASSERT_NE(store_, nullptr);
    auto u = store_->CreateUser("alice", "hash-alice");
    ASSERT_TRUE(u.ok()) << u.error().message;
    alice_ = *u;
  }
  int64_t NewJob(int priority = 0, JobState state = JobState::kQueued) {
    auto id = store_->CreateJob(MakeJob(alice_, priority, state));
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  int64_t NewTask(const Task& t) {
    auto id = store_->CreateTask(t);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  std::vector<int64_t> Ids(const std::vector<Task>& tasks) {
    std::vector<int64_t> ids;
    for (const auto& t : tasks) ids.push_back(t.id);
    return ids;
  }
  std::unique_ptr<domain::Store> store_;
  int64_t alice_ = 0;
};

// ---- Sessions and events ---------------------------------------------------------------------------------

TEST_F(StoreTest, SessionsFindTheirUserUntilTheyExpireOrEnd) {
  ASSERT_TRUE(store_->CreateSession("s1", alice_, 10'000).ok());
  ASSERT_TRUE(store_->CreateSession("s2", alice_, 5'000).ok());
  auto found = store_->FindUserBySession("s1", 9'999);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alice_);
  EXPECT_EQ((*found)->name, "alice");
  EXPECT_FALSE(store_->FindUserBySession("s1", 10'000)->has_value());  // expired
  EXPECT_FALSE(store_->FindUserBySession("nope", 0)->has_value());
  // Signing out ends that session and sweeps the expired ones, not the others.
  ASSERT_TRUE(store_->CreateSession("s3", alice_, 20'000).ok());
  ASSERT_TRUE(store_->DeleteSession("s1", 6'000).ok());
  EXPECT_FALSE(store_->FindUserBySession("s1", 6'000)->has_value());
  EXPECT_TRUE(store_->FindUserBySession("s3", 6'000)->has_value());
  EXPECT_FALSE(store_->FindUserBySession("s2", 0)->has_value());  // removed as expired
}

TEST_F(StoreTest, TouchNodeMovesLastSeenForwardOnly) {
  Node n;
  n.name = "w";
  n.public_key = "k";
  n.last_seen_ms = 100;
  const int64_t id = *store_->CreateNode(n, "hash-w");
  ASSERT_TRUE(store_->TouchNode(id, 500).ok());
  EXPECT_EQ((*store_->GetNode(id))->last_seen_ms, 500);
  ASSERT_TRUE(store_->TouchNode(id, 300).ok());  // a late request never moves it back
  EXPECT_EQ((*store_->GetNode(id))->last_seen_ms, 500);
}

TEST_F(StoreTest, LastEventIdIsTheUsersOwn) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  EXPECT_EQ(*store_->LastEventId(alice_), 0);
  const int64_t job = NewJob();
  auto a = store_->AppendEvent({0, alice_, job, "job", "{}", 1});
  auto b = store_->AppendEvent({0, bob, 0, "job", "{}", 2});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*store_->LastEventId(alice_), *a);
  EXPECT_EQ(*store_->LastEventId(bob), *b);
  // The network's events are everyone's: a new stream starts after them too.
  auto w = store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", R"({"worker_id":1})", 3});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*store_->LastEventId(alice_), *w);
  EXPECT_EQ(*store_->LastEventId(bob), *w);
}

TEST_F(StoreTest, TheNetworksEventsOnlyWhenAsked) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  const int64_t job = NewJob();
  const int64_t a1 = *store_->AppendEvent({0, alice_, job, "job", "{}", 1});
  const int64_t w1 = *store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", "{}", 2});
  ASSERT_TRUE(store_->AppendEvent({0, bob, 0, "job", "{}", 3}).ok());
  const int64_t w2 = *store_->AppendEvent({0, domain::kNetworkUser, 0, "worker", "{}", 4});
  const int64_t a2 = *store_->AppendEvent({0, alice_, job, "frame", "{}", 5});
  auto ids = [](const std::vector<domain::Event>& events) {
    std::vector<int64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
  };
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 100, false)), ElementsAre(a1, a2));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 100, true)), ElementsAre(a1, w1, w2, a2));  // never bob's
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, w1, 100, true)), ElementsAre(w2, a2));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, 0, 0, 2, true)), ElementsAre(a1, w1));
  EXPECT_THAT(ids(*store_->ListEvents(alice_, job, 0, 100, true)), ElementsAre(a1, a2));  // a job's: its own
}

// ---- Migrations and files -------------------------------------------------------------------------------

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

TEST_F(StoreTest, TransactionCommits) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    auto id = store_->CreateJob(MakeJob(alice_));
    if (!id) return id.error();
    job = *id;
    return store_->PutFrame(FrameOf(job, 1));
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(store_->GetJob(job)->has_value());
  EXPECT_TRUE(store_->GetFrame(job, 1)->has_value());
}

TEST_F(StoreTest, TransactionRollsBackOnError) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    job = *store_->CreateJob(MakeJob(alice_));
    INFERIX_TRY(store_->PutFrame(FrameOf(job, 1)));
    return MakeError(Errc::kInvalidArgument, "no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  ASSERT_NE(job, 0);
  EXPECT_FALSE(store_->GetJob(job)->has_value());
  EXPECT_FALSE(store_->GetFrame(job, 1)->has_value());
  // The store is usable afterwards.
  EXPECT_NE(NewJob(), 0);
}

TEST_F(StoreTest, NestedTransactionIsPartOfTheOuterOne) {
  int64_t job = 0;
  auto r = store_->Transaction([&]() -> Result<void> {
    INFERIX_TRY(store_->Transaction([&]() -> Result<void> {
      job = *store_->CreateJob(MakeJob(alice_));
      return Ok();
    }));
    return MakeError(Errc::kInternal, "outer fails");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(store_->GetJob(job)->has_value());
}

TEST_F(StoreTest, FailedStatementInsideTransactionRollsBackEarlierWrites) {
  auto r = store_->Transaction([&]() -> Result<void> {
    INFERIX_TRY(store_->AddUserFile(alice_, kSceneSha, 1));
    auto bad = store_->CreateJob(MakeJob(alice_ + 1000));  // no such user: foreign key
    if (!bad) return bad.error();
    return Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInternal);
  EXPECT_THAT(r.error().message, HasSubstr("database"));
  EXPECT_FALSE(*store_->UserHasFile(alice_, kSceneSha));
}

TEST_F(StoreTest, ExceptionRollsBackAndPropagates) {
  int64_t job = 0;
  EXPECT_THROW((void)store_->Transaction([&]() -> Result<void> {
    job = *store_->CreateJob(MakeJob(alice_));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->GetJob(job)->has_value());
  // Not stuck inside a transaction: a new one commits.
  auto r = store_->Transaction([&]() -> Result<void> { return store_->AddUserFile(alice_, kTexSha, 1); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*store_->UserHasFile(alice_, kTexSha));
}

// ---- Users and enrollment -------------------------------------------------------------------------------

TEST_F(StoreTest, UsersAndTokens) {
  auto found = store_->FindUserByTokenHash("hash-alice");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alice_);
  EXPECT_EQ((*found)->name, "alice");

  auto unknown = store_->FindUserByTokenHash("nope");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());

  // A second token for the same name is the same user.
  auto again = store_->CreateUser("alice", "hash-alice-2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice-2"))->id, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice"))->id, alice_);

  auto bob = store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_NE(*bob, alice_);
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-bob"))->name, "bob");

  // A token hash belongs to one user only.
  EXPECT_FALSE(store_->CreateUser("bob", "hash-alice").ok());
  EXPECT_EQ((*store_->FindUserByTokenHash("hash-alice"))->id, alice_);
}

TEST_F(StoreTest, EnrollmentIsOneTime) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-1", NodeRole::kVerifier, 10'000).ok());
  auto first = store_->ConsumeEnrollment("enroll-1", 5'000);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, NodeRole::kVerifier);
  auto second = store_->ConsumeEnrollment("enroll-1", 5'001);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

TEST_F(StoreTest, FindingAnEnrollmentDoesNotUseItUp) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-f", NodeRole::kVerifier, 10'000).ok());
  for (int i = 0; i < 2; ++i) {
    auto found = store_->FindEnrollment("enroll-f", 5'000);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, NodeRole::kVerifier);
  }
  EXPECT_FALSE(store_->FindEnrollment("enroll-f", 10'000)->has_value());  // expired then
  EXPECT_FALSE(store_->FindEnrollment("unknown", 0)->has_value());
  ASSERT_TRUE(store_->ConsumeEnrollment("enroll-f", 5'000)->has_value());
  EXPECT_FALSE(store_->FindEnrollment("enroll-f", 5'000)->has_value());  // used
}

TEST_F(StoreTest, EnrollmentExpires) {
  ASSERT_TRUE(store_->CreateEnrollment("enroll-w", NodeRole::kWorker, 10'000).ok());
  auto at_expiry = store_->ConsumeEnrollment("enroll-w", 10'000);
  ASSERT_TRUE(at_expiry.ok());
  EXPECT_FALSE(at_expiry->has_value());
  auto late = store_->ConsumeEnrollment("enroll-w", 20'000);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());
  // A refused attempt does not mark the token used.
  auto early = store_->ConsumeEnrollment("enroll-w", 9'999);
  ASSERT_TRUE(early.ok());
  ASSERT_TRUE(early->has_value());
  EXPECT_EQ(**early, NodeRole::kWorker);
}

TEST_F(StoreTest, EnrollmentUnknownOrDuplicate) {
  auto unknown = store_->ConsumeEnrollment("never-created", 0);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  ASSERT_TRUE(store_->CreateEnrollment("dup", NodeRole::kWorker, 10).ok());
  EXPECT_FALSE(store_->CreateEnrollment("dup", NodeRole::kVerifier, 10).ok());
  EXPECT_EQ(**store_->ConsumeEnrollment("dup", 0), NodeRole::kWorker);
}

// ---- Nodes ----------------------------------------------------------------------------------------------

TEST_F(StoreTest, NodesRoundTrip) {
  Node w;
  w.name = "gpu-box";
  w.role = NodeRole::kWorker;
  w.public_key = std::string(64, 'a');
  w.capabilities_json = R"({"blender":"3.4.1","gpus":["RTX 4090"]})";
  w.last_seen_ms = 777;
  auto wid = store_->CreateNode(w, "node-hash-w");
  ASSERT_TRUE(wid.ok()) << wid.error().message;
  Node v = w;
  v.name = "checker";
  v.role = NodeRole::kVerifier;
  v.public_key = std::string(64, 'b');
  auto vid = store_->CreateNode(v, "node-hash-v");
  ASSERT_TRUE(vid.ok());
  EXPECT_NE(*wid, *vid);

  auto got = store_->GetNode(*wid);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, *wid);
  EXPECT_EQ((*got)->name, "gpu-box");
  EXPECT_EQ((*got)->role, NodeRole::kWorker);
  EXPECT_EQ((*got)->public_key, std::string(64, 'a'));
  EXPECT_EQ((*got)->capabilities_json, w.capabilities_json);
  EXPECT_EQ((*got)->last_seen_ms, 777);
  EXPECT_FALSE((*got)->banned);
  EXPECT_EQ((*got)->accepted, 0);
  EXPECT_EQ((*got)->rejected, 0);

  auto by_token = store_->FindNodeByTokenHash("node-hash-v");
  ASSERT_TRUE(by_token.ok() && by_token->has_value());
  EXPECT_EQ((*by_token)->id, *vid);
  EXPECT_EQ((*by_token)->role, NodeRole::kVerifier);
  EXPECT_FALSE(store_->FindNodeByTokenHash("node-hash-x")->has_value());
  EXPECT_FALSE(store_->GetNode(*vid + 100)->has_value());

  auto all = store_->ListNodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, *wid);
  EXPECT_EQ((*all)[1].id, *vid);

  // One credential, one node.
  EXPECT_FALSE(store_->CreateNode(w, "node-hash-w").ok());
}

TEST_F(StoreTest, UpdateNode) {
  Node n;
  n.name = "w";
  n.public_key = "k";
  auto id = *store_->CreateNode(n, "h");
  n.id = id;
  n.name = "renamed";
  n.capabilities_json = R"({"threads":8})";
  n.banned = true;
  n.last_seen_ms = 42;
  n.accepted = 7;
  n.rejected = 2;
  ASSERT_TRUE(store_->UpdateNode(n).ok());
  auto got = **store_->GetNode(id);
  EXPECT_EQ(got.name, "renamed");
  EXPECT_EQ(got.capabilities_json, R"({"threads":8})");
  EXPECT_TRUE(got.banned);
  EXPECT_EQ(got.last_seen_ms, 42);
  EXPECT_EQ(got.accepted, 7);
  EXPECT_EQ(got.rejected, 2);
  EXPECT_EQ(got.public_key, "k");  // the key is not changed by updates
}

// ---- User files -----------------------------------------------------------------------------------------

TEST_F(StoreTest, UserFilesArePerUser) {
  auto bob = *store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 100).ok());
  ASSERT_TRUE(store_->AddUserFile(alice_, kSceneSha, 100).ok());  // repeated upload is fine
  EXPECT_TRUE(*store_->UserHasFile(alice_, kSceneSha));
  EXPECT_FALSE(*store_->UserHasFile(bob, kSceneSha));
  EXPECT_FALSE(*store_->UserHasFile(alice_, kTexSha));
  ASSERT_TRUE(store_->AddUserFile(bob, kSceneSha, 100).ok());
  EXPECT_TRUE(*store_->UserHasFile(bob, kSceneSha));
}

// ---- Jobs -----------------------------------------------------------------------------------------------

TEST_F(StoreTest, JobRoundTrip) {
  Job in = MakeJob(alice_, 7, JobState::kActive);
  in.message = "multi\nline";
  in.started_ms = 42;
  in.finished_ms = 99;
  auto id = store_->CreateJob(in);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto got = store_->GetJob(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  const Job& j = **got;
  EXPECT_EQ(j.id, *id);
  EXPECT_EQ(j.user_id, alice_);
  EXPECT_EQ(j.name, "shot 010");
  EXPECT_EQ(j.main_file, "shot.blend");
  ASSERT_EQ(j.files.size(), 2u);
  EXPECT_EQ(j.files[0].path, "shot.blend");
  EXPECT_EQ(j.files[0].sha256, kSceneSha);
  EXPECT_EQ(j.files[0].size, 1234);
  EXPECT_EQ(j.files[1].path, "tex/wood grain 2.png");  // spaces in paths survive
  EXPECT_EQ(j.files[1].sha256, kTexSha);
  EXPECT_EQ(j.files[1].size, 56);
  EXPECT_EQ(j.frames_spec, "1-10x2");
  EXPECT_EQ(j.format, domain::OutputFormat::kExr);
  EXPECT_EQ(j.chunk_size, 3);
  EXPECT_EQ(j.priority, 7);
  EXPECT_EQ(j.state, JobState::kActive);
  EXPECT_EQ(j.message, "multi\nline");
  EXPECT_EQ(j.created_ms, 1000);
  EXPECT_EQ(j.started_ms, 42);
  EXPECT_EQ(j.finished_ms, 99);

  EXPECT_FALSE(store_->GetJob(*id + 1)->has_value());
}

TEST_F(StoreTest, JobSceneFieldsRoundTrip) {
  Job in = MakeJob(alice_);
  in.scene_root = "/home/a/My Project (v2)";
  in.blender_version = 402;
  in.denoisers = {"OPENIMAGEDENOISE", "OPTIX"};
  in.without_denoiser = true;
  in.resolution_percentage = 50;
  auto id = store_->CreateJob(in);
  ASSERT_TRUE(id.ok()) << id.error().message;
  const Job got = **store_->GetJob(*id);
  EXPECT_EQ(got.scene_root, "/home/a/My Project (v2)");
  EXPECT_EQ(got.blender_version, 402);
  EXPECT_THAT(got.denoisers, ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
  EXPECT_TRUE(got.without_denoiser);
  EXPECT_EQ(got.resolution_percentage, 50);

  auto listed = store_->ListJobs(alice_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const Job& l = (*listed)[0];
  EXPECT_EQ(l.scene_root, "/home/a/My Project (v2)");
  EXPECT_EQ(l.blender_version, 402);
  EXPECT_THAT(l.denoisers, ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
  EXPECT_TRUE(l.without_denoiser);
  EXPECT_EQ(l.resolution_percentage, 50);
  auto active = store_->ListJobsInState(JobState::kQueued);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].scene_root, "/home/a/My Project (v2)");
}

TEST_F(StoreTest, JobSceneFieldsDefaultToNoneAndOneDenoiserIsKept) {
  Job in = MakeJob(alice_);
  in.denoisers = {"OPTIX"};
  const Job one = **store_->GetJob(*store_->CreateJob(in));
  EXPECT_THAT(one.denoisers, ElementsAre("OPTIX"));
  EXPECT_EQ(one.scene_root, "");
  EXPECT_EQ(one.blender_version, 0);
  EXPECT_FALSE(one.without_denoiser);
  EXPECT_EQ(one.resolution_percentage, 0);
  const Job none = **store_->GetJob(*store_->CreateJob(MakeJob(alice_)));
  EXPECT_THAT(none.denoisers, IsEmpty());
}

TEST_F(StoreTest, UpdateJobKeepsTheSceneFields) {
  Job in = MakeJob(alice_);
  in.scene_root = "/";
  in.blender_version = 304;
  in.denoisers = {"OPENIMAGEDENOISE"};
  in.resolution_percentage = 25;
  const int64_t id = *store_->CreateJob(in);
  Job j = **store_->GetJob(id);
  j.state = JobState::kActive;
  j.started_ms = 77;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  const Job got = **store_->GetJob(id);
  EXPECT_EQ(got.state, JobState::kActive);
  EXPECT_EQ(got.scene_root, "/");
  EXPECT_EQ(got.blender_version, 304);
  EXPECT_THAT(got.denoisers, ElementsAre("OPENIMAGEDENOISE"));
  EXPECT_EQ(got.resolution_percentage, 25);
}

TEST_F(StoreTest, JobNeedsAnExistingUser) {
  auto r = store_->CreateJob(MakeJob(alice_ + 999));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("FOREIGN KEY"));
}

TEST_F(StoreTest, ListJobsPerUserAndState) {
  auto bob = *store_->CreateUser("bob", "hash-bob");
  auto a1 = NewJob();
  auto b1 = *store_->CreateJob(MakeJob(bob, 0, JobState::kActive));
  auto a2 = NewJob(0, JobState::kActive);
  auto a3 = NewJob(0, JobState::kCanceled);

  auto alice_jobs = store_->ListJobs(alice_);
  ASSERT_TRUE(alice_jobs.ok());
  std::vector<int64_t> ids;
  for (const auto& j : *alice_jobs) ids.push_back(j.id);
  EXPECT_THAT(ids, ElementsAre(a1, a2, a3));
  ASSERT_EQ(store_->ListJobs(bob)->size(), 1u);
  EXPECT_EQ((*store_->ListJobs(bob))[0].id, b1);
  EXPECT_THAT(*store_->ListJobs(bob + 100), IsEmpty());

  auto active = store_->ListJobsInState(JobState::kActive);
  ASSERT_TRUE(active.ok());
  ids.clear();
  for (const auto& j : *active) ids.push_back(j.id);
  EXPECT_THAT(ids, ElementsAre(b1, a2));
  EXPECT_THAT(*store_->ListJobsInState(JobState::kCompleted), IsEmpty());
}

TEST_F(StoreTest, UpdateJob) {
  auto id = NewJob();
  Job j = **store_->GetJob(id);
  j.state = JobState::kFailed;
  j.message = "frame 3 failed";
  j.priority = 9;
  j.started_ms = 2500;
  j.finished_ms = 5000;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  Job got = **store_->GetJob(id);
  EXPECT_EQ(got.started_ms, 2500);
  EXPECT_EQ(got.state, JobState::kFailed);
  EXPECT_EQ(got.message, "frame 3 failed");
  EXPECT_EQ(got.priority, 9);
  EXPECT_EQ(got.finished_ms, 5000);
  EXPECT_EQ(got.name, "shot 010");
  EXPECT_EQ(got.files.size(), 2u);
}

// ---- Frames ---------------------------------------------------------------------------------------------

TEST_F(StoreTest, FramesRoundTripAndReplace) {
  auto job = NewJob();
  Frame f;
  f.job_id = job;
  f.number = -5;
  f.state = FrameState::kVerifying;
  f.task_id = 11;
  f.output_id = 12;
  f.failures = 2;
  f.errors = "w1: crashed\nw2: out of memory\n";
  f.excluded_nodes = {3, 1234567890123};
  ASSERT_TRUE(store_->PutFrame(f).ok());
  ASSERT_TRUE(store_->PutFrame(FrameOf(job, 10)).ok());
  ASSERT_TRUE(store_->PutFrame(FrameOf(job, 2)).ok());

  auto got = store_->GetFrame(job, -5);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->number, -5);
  EXPECT_EQ((*got)->state, FrameState::kVerifying);
  EXPECT_EQ((*got)->task_id, 11);
  EXPECT_EQ((*got)->output_id, 12);
  EXPECT_EQ((*got)->failures, 2);
  EXPECT_EQ((*got)->errors, f.errors);
  EXPECT_THAT((*got)->excluded_nodes, ElementsAre(3, 1234567890123));

  auto plain = **store_->GetFrame(job, 10);
  EXPECT_EQ(plain.state, FrameState::kQueued);
  EXPECT_THAT(plain.excluded_nodes, IsEmpty());

  // Put replaces.
  f.state = FrameState::kDelivered;
  f.excluded_nodes.clear();
  ASSERT_TRUE(store_->PutFrame(f).ok());
  EXPECT_EQ((*store_->GetFrame(job, -5))->state, FrameState::kDelivered);
  EXPECT_THAT((*store_->GetFrame(job, -5))->excluded_nodes, IsEmpty());

  auto all = store_->ListFrames(job);
  ASSERT_TRUE(all.ok());
  std::vector<int> numbers;
  for (const auto& fr : *all) numbers.push_back(fr.number);
  EXPECT_THAT(numbers, ElementsAre(-5, 2, 10));
  EXPECT_FALSE(store_->GetFrame(job, 3)->has_value());
  EXPECT_THAT(*store_->ListFrames(job + 1), IsEmpty());
}

// ---- Tasks ----------------------------------------------------------------------------------------------

TEST_F(StoreTest, TaskRoundTripAndUpdate) {
  auto job = NewJob();
  Task t = MakeTask(job, {-2, -1, 0, 1});
  t.excluded_nodes = {4, 5};
  t.message = "m";
  auto id = NewTask(t);
  auto got = store_->GetTask(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, id);
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->kind, TaskKind::kRender);
  EXPECT_EQ((*got)->state, TaskState::kQueued);
  EXPECT_THAT((*got)->frames, ElementsAre(-2, -1, 0, 1));
  EXPECT_THAT((*got)->excluded_nodes, ElementsAre(4, 5));
  EXPECT_EQ((*got)->message, "m");
  EXPECT_EQ((*got)->created_ms, 2000);
  EXPECT_EQ((*got)->node_id, 0);

  Task u = **got;
  u.state = TaskState::kActive;
  u.node_id = 9;
  u.lease_expires_ms = 123456;
  u.frames = {1};
  u.excluded_nodes = {};
  u.message = "";
  ASSERT_TRUE(store_->UpdateTask(u).ok());
  Task after = **store_->GetTask(id);
  EXPECT_EQ(after.state, TaskState::kActive);
  EXPECT_EQ(after.node_id, 9);
  EXPECT_EQ(after.lease_expires_ms, 123456);
  EXPECT_THAT(after.frames, ElementsAre(1));
  EXPECT_THAT(after.excluded_nodes, IsEmpty());
  EXPECT_EQ(after.message, "");

  Task v = MakeTask(job, {1}, TaskKind::kVerify);
  v.output_id = 77;
  auto vid = NewTask(v);
  EXPECT_EQ((*store_->GetTask(vid))->kind, TaskKind::kVerify);
  EXPECT_EQ((*store_->GetTask(vid))->output_id, 77);
  EXPECT_FALSE(store_->GetTask(vid + 100)->has_value());
  EXPECT_THAT(Ids(*store_->ListJobTasks(job)), ElementsAre(id, vid));
}

TEST_F(StoreTest, ClaimableTasksByPriorityThenId) {
  auto low = NewJob(0);
  auto high = NewJob(10, JobState::kActive);
  auto mid = NewJob(5);
  auto t1 = NewTask(MakeTask(low, {1}));
  auto t2 = NewTask(MakeTask(high, {1}));
  auto t3 = NewTask(MakeTask(mid, {1}));
  auto t4 = NewTask(MakeTask(high, {2}));
  auto t5 = NewTask(MakeTask(low, {2}));
  auto claimable = store_->ListClaimableTasks(TaskKind::kRender, 100);
  ASSERT_TRUE(claimable.ok()) << claimable.error().message;
  EXPECT_THAT(Ids(*claimable), ElementsAre(t2, t4, t3, t1, t5));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(TaskKind::kRender, 2)), ElementsAre(t2, t4));
}

TEST_F(StoreTest, ClaimableTasksSkipFinishedJobsOtherStatesAndKinds) {
  auto live = NewJob(0, JobState::kActive);
  auto canceled = NewJob(100, JobState::kCanceled);
  auto completed = NewJob(100, JobState::kCompleted);
  auto failed = NewJob(100, JobState::kFailed);
  NewTask(MakeTask(canceled, {1}));
  NewTask(MakeTask(completed, {1}));
  NewTask(MakeTask(failed, {1}));
  auto queued = NewTask(MakeTask(live, {1}));
  Task active = MakeTask(live, {2});
  active.state = TaskState::kActive;
  NewTask(active);
  Task done = MakeTask(live, {3});
  done.state = TaskState::kDone;
  NewTask(done);
  Task verify = MakeTask(live, {1}, TaskKind::kVerify);
  auto vid = NewTask(verify);

  EXPECT_THAT(Ids(*store_->ListClaimableTasks(TaskKind::kRender, 100)), ElementsAre(queued));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(TaskKind::kVerify, 100)), ElementsAre(vid));

  // A job canceled later takes its queued tasks out of the queue.
  Job j = **store_->GetJob(live);
  j.state = JobState::kCanceled;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  EXPECT_THAT(*store_->ListClaimableTasks(TaskKind::kRender, 100), IsEmpty());
  EXPECT_THAT(*store_->ListClaimableTasks(TaskKind::kVerify, 100), IsEmpty());
}

TEST_F(StoreTest, ExpiredTasks) {
  auto job = NewJob(0, JobState::kActive);
  auto lease = [&](int64_t expires, TaskState state) {
    Task t = MakeTask(job, {1});
    t.state = state;
    t.node_id = 1;
    t.lease_expires_ms = expires;
    return NewTask(t);
  };
  auto old = lease(900, TaskState::kActive);
  lease(1000, TaskState::kActive);  // ends exactly now: not yet expired
  lease(5000, TaskState::kActive);
  lease(100, TaskState::kDone);
  lease(100, TaskState::kQueued);
  auto older = lease(1, TaskState::kActive);
  auto expired = store_->ListExpiredTasks(1000);
  ASSERT_TRUE(expired.ok());
  std::set<int64_t> ids;
  for (const auto& t : *expired) ids.insert(t.id);
  EXPECT_EQ(ids, (std::set<int64_t>{old, older}));
  EXPECT_THAT(*store_->ListExpiredTasks(0), IsEmpty());
}

// ---- Outputs --------------------------------------------------------------------------------------------

TEST_F(StoreTest, OutputsRoundTrip) {
  auto job = NewJob();
  Output o;
  o.job_id = job;
  o.frame = 3;
  o.task_id = 21;
  o.node_id = 4;
  o.blob_key = "outputs/1/21_3_abc";
  o.sha256 = kTexSha;
  o.render_seconds = 12.5;
  o.created_ms = 3000;
  auto id = store_->CreateOutput(o);
  ASSERT_TRUE(id.ok()) << id.error().message;

  auto got = store_->GetOutput(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, *id);
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->frame, 3);
  EXPECT_EQ((*got)->task_id, 21);
  EXPECT_EQ((*got)->node_id, 4);
  EXPECT_EQ((*got)->blob_key, "outputs/1/21_3_abc");
  EXPECT_EQ((*got)->sha256, kTexSha);
  EXPECT_DOUBLE_EQ((*got)->render_seconds, 12.5);
  EXPECT_EQ((*got)->verdict, Verdict::kPending);
  EXPECT_EQ((*got)->created_ms, 3000);

  auto by_task = store_->FindOutput(21, 3);
  ASSERT_TRUE(by_task.ok() && by_task->has_value());
  EXPECT_EQ((*by_task)->id, *id);
  EXPECT_FALSE(store_->FindOutput(21, 4)->has_value());
  EXPECT_FALSE(store_->FindOutput(22, 3)->has_value());

  // One output per task and frame.
  EXPECT_FALSE(store_->CreateOutput(o).ok());

  Output u = **got;
  u.verdict = Verdict::kRejected;
  u.verdict_detail = "region 2: 40% of pixels differ";
  u.verifier_node_id = 8;
  u.verify_seconds = 1.75;
  ASSERT_TRUE(store_->UpdateOutput(u).ok());
  Output after = **store_->GetOutput(*id);
  EXPECT_EQ(after.verdict, Verdict::kRejected);
  EXPECT_EQ(after.verdict_detail, "region 2: 40% of pixels differ");
  EXPECT_EQ(after.verifier_node_id, 8);
  EXPECT_DOUBLE_EQ(after.verify_seconds, 1.75);
  EXPECT_EQ(after.sha256, kTexSha);
}

TEST_F(StoreTest, ListOutputsByFrameThenId) {
  auto job = NewJob();
  auto other = NewJob();
  auto add = [&](int64_t job_id, int frame, int64_t task) {
    Output o;
    o.job_id = job_id;
    o.frame = frame;
    o.task_id = task;
    o.blob_key = "k";
    o.sha256 = kSceneSha;
    return *store_->CreateOutput(o);
  };
  auto a = add(job, 5, 1);
  auto b = add(job, 1, 2);
  auto c = add(job, 5, 3);
  add(other, 1, 4);
  auto list = store_->ListOutputs(job);
  ASSERT_TRUE(list.ok());
  std::vector<int64_t> ids;
  for (const auto& o : *list) ids.push_back(o.id);
  EXPECT_THAT(ids, ElementsAre(b, a, c));
}

}  // namespace
}  // namespace inferix::store
