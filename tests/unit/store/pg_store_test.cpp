// The PostgreSQL store: the contract suite, plus what only a server shared by several managers has
// (migrations applied once when managers start at once, claims and enrollments that two stores race for,
// events visible in id order). Needs the server INFERIX_TEST_POSTGRES names (ctest's `postgres` fixture).
#include "store/pg_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/pg_conn.hpp"
#include "store/store_url.hpp"
#include "store_contract.hpp"

namespace inferix::store {

using contract::StoreContract;

namespace {

using contract::FrameOf;
using contract::MakeJob;
using contract::MakeTask;
using contract::StoreBackend;
using domain::Frame;
using domain::FrameState;
using domain::Task;
using domain::TaskState;
using ::testing::HasSubstr;

// The test server's URL (its "postgres" database), from the JSON file INFERIX_TEST_POSTGRES names; the
// test is skipped when the variable is unset, and fails when the file is unreadable.
void ServerUrl(std::string* url) {
  const char* path = std::getenv("INFERIX_TEST_POSTGRES");
  if (path == nullptr) {
    GTEST_SKIP() << "no PostgreSQL: set INFERIX_TEST_POSTGRES to a postgres.json (ctest's postgres fixture "
                    "writes <build>/engines/postgres.json)";
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "INFERIX_TEST_POSTGRES: cannot read " << path;
  const auto json = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(json.is_object() && json.contains("url")) << path << " is not a postgres.json with a \"url\"";
  *url = json.at("url").get<std::string>();
}

// `url` with its database replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t query = url.find('?');
  const size_t slash = url.rfind('/', query == std::string::npos ? url.size() : query);
  return url.substr(0, slash) + "/" + db + (query == std::string::npos ? "" : url.substr(query));
}

std::unique_ptr<pg::Conn> Connect(const std::string& url) {
  auto options = pg::ParseUrl(url);
  EXPECT_TRUE(options.ok()) << options.error().message;
  if (!options.ok()) return nullptr;
  auto conn = pg::Conn::Open(*options);
  EXPECT_TRUE(conn.ok()) << conn.error().message;
  return conn.ok() ? std::move(*conn) : nullptr;
}

// A new, empty database on the test server; its URL, or "" (the test skipped or failed).
std::string NewDatabase() {
  std::string server;
  ServerUrl(&server);
  if (server.empty()) return "";
  auto admin = Connect(server);
  if (admin == nullptr) return "";
  std::random_device random;
  const std::string db = "inferix_pgstore_" + std::to_string(random()) + "_" + std::to_string(random());
  auto created = admin->Exec("CREATE DATABASE " + db);
  EXPECT_TRUE(created.ok()) << created.error().message;
  return created.ok() ? WithDatabase(server, db) : "";
}

std::unique_ptr<domain::Store> OpenOrDie(const std::string& url) {
  auto s = OpenStore(url);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

// The contract suite's store: an empty, migrated database of its own.
std::unique_ptr<domain::Store> NewStore() {
  const std::string url = NewDatabase();
  return url.empty() ? nullptr : OpenOrDie(url);
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract, ::testing::Values(StoreBackend{"postgres", NewStore}),
                         contract::BackendName);

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = NewDatabase();
    if (IsSkipped() || HasFailure()) return;
    ASSERT_FALSE(url_.empty());
  }
  // The first column of every row of `sql`, as text, read on a connection of its own.
  std::vector<std::string> Column(const std::string& sql) const {
    std::vector<std::string> out;
    auto conn = Connect(url_);
    if (conn == nullptr) return out;
    auto rows = conn->Exec(sql);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    for (int i = 0; rows.ok() && i < rows->size(); ++i) out.push_back(rows->Text(i, 0));
    return out;
  }
  std::string url_;
};

TEST_F(PgStoreTest, ManagersStartingAtOnceApplyEachMigrationOnce) {
  constexpr int kManagers = 8;
  std::vector<std::future<Result<std::unique_ptr<domain::Store>>>> opened;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  opened.reserve(kManagers);
  for (int i = 0; i < kManagers; ++i) {
    opened.push_back(std::async(std::launch::async, [&, start] {
      start.wait();
      return OpenStore(url_);
    }));
  }
  go.set_value();
  for (auto& f : opened) {
    auto store = f.get();
    EXPECT_TRUE(store.ok()) << store.error().message;
  }
  std::vector<std::string> expected;
  for (int v = 1; v <= PostgresSchemaVersion(); ++v) expected.push_back(std::to_string(v));
  EXPECT_EQ(Column("SELECT version FROM schema_migrations ORDER BY version"), expected);
}

TEST_F(PgStoreTest, ADatabaseWithANewerSchemaIsRefused) {
  ASSERT_NE(OpenOrDie(url_), nullptr);
  const std::string newer = std::to_string(PostgresSchemaVersion() + 1);
  Column("INSERT INTO schema_migrations (version) VALUES (" + newer + ") RETURNING version");
  auto again = OpenStore(url_);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().message, HasSubstr("schema version " + newer + " is newer than this build's"));
}

TEST_F(PgStoreTest, AnUnreachableServerIsUnavailable) {
  // A port nothing listens on (the test server's port is elsewhere), with a short connect timeout.
  auto s = OpenStore("postgresql://inferix@127.0.0.1:1/inferix?connect_timeout_s=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kUnavailable) << s.error().message;
}

// Managers holding a user's credits at once never spend more than the user has (issue #18): of 12 holds of 3
// against 20, exactly 6 are booked, and the balance ends at 2.
TEST_F(PgStoreTest, ConcurrentHoldsNeverOverdrawAcrossManagers) {
  auto first = OpenOrDie(url_);
  ASSERT_NE(first, nullptr);
  auto user = first->CreateUser("payer", "hash-payer");
  ASSERT_TRUE(user.ok());
  ASSERT_TRUE(first->AppendPosting(*domain::Grant(*user, 20, "grant", 1)).ok());
  constexpr int kManagers = 12;
  std::vector<std::unique_ptr<domain::Store>> stores;
  stores.reserve(kManagers);
  for (int i = 0; i < kManagers; ++i) stores.push_back(OpenOrDie(url_));
  std::atomic<int> booked{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  threads.reserve(stores.size());
  for (int i = 0; i < kManagers; ++i) {
    threads.emplace_back([&, i, s = stores[static_cast<size_t>(i)].get()] {
      auto hold = domain::Hold(*user, 1, i + 1, 3, "hold:" + std::to_string(i), 2);
      ASSERT_TRUE(hold.ok());
      auto r = s->AppendPosting(*hold);
      if (r.ok() && *r) ++booked;
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, Errc::kConflict) << r.error().message;
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(booked.load(), 6);
  EXPECT_EQ(refused.load(), 6);
  EXPECT_EQ(*first->AccountBalance(domain::UserAvailable(*user)), 2);
  EXPECT_EQ(*first->AccountBalance(domain::UserHeld(*user)), 18);
}

TEST_F(PgStoreTest, OneEnrollmentIsConsumedOnceAcrossManagers) {
  auto first = OpenOrDie(url_);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->CreateEnrollment("enroll-1", {domain::NodeRole::kWorker, 0}, 10'000).ok());
  constexpr int kManagers = 6;
  std::vector<std::unique_ptr<domain::Store>> stores;
  stores.reserve(kManagers);
  for (int i = 0; i < kManagers; ++i) stores.push_back(OpenOrDie(url_));
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  threads.reserve(stores.size());
  for (auto& store : stores) {
    threads.emplace_back([&granted, s = store.get()] {
      auto role = s->ConsumeEnrollment("enroll-1", 5'000);
      EXPECT_TRUE(role.ok()) << role.error().message;
      if (role.ok() && role->has_value()) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1);
}

TEST_F(PgStoreTest, EventIdsBecomeVisibleInIncreasingOrder) {
  auto writer = OpenOrDie(url_);
  auto other = OpenOrDie(url_);
  auto reader = OpenOrDie(url_);
  ASSERT_TRUE(writer && other && reader);
  std::promise<void> appended;
  std::promise<void> release;
  std::future<void> released = release.get_future();
  std::thread held([&] {
    auto r = writer->Transaction([&]() -> Result<void> {
      INFERIX_TRY(writer->AppendEvent({0, domain::kNetworkUser, 0, "first", "{}", 1}));
      appended.set_value();
      released.wait();
      return Ok();
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
  });
  appended.get_future().wait();
  // A second append while the first is uncommitted: it waits for the first's commit, so no reader sees the
  // later id before the earlier one.
  auto later = std::async(std::launch::async, [&] {
    return other->AppendEvent({0, 0, 0, "second", "{}", 2});
  });
  EXPECT_EQ(later.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto seen = reader->ListEvents(domain::kNetworkUser, 0, 0, 10, true);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_TRUE(seen->empty()) << "an event became visible before an earlier id committed";
  release.set_value();
  held.join();
  auto second = later.get();
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto all = reader->ListEvents(domain::kNetworkUser, 0, 0, 10, true);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].type, "first");
  EXPECT_EQ((*all)[1].id, *second);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
}

TEST_F(PgStoreTest, AFailedStatementInsideATransactionFailsItsCommit) {
  // PostgreSQL aborts a transaction at its first failed statement: a caller that ignores that failure still
  // learns that nothing committed, instead of a silent rollback.
  auto store = OpenOrDie(url_);
  ASSERT_NE(store, nullptr);
  auto user = store->CreateUser("alice", "hash-alice");
  ASSERT_TRUE(user.ok()) << user.error().message;
  auto r = store->Transaction([&]() -> Result<void> {
    INFERIX_TRY(store->CreateJob(MakeJob(*user)));
    (void)store->CreateUser("bob", "hash-alice");  // the token hash repeats: this statement fails
    return Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("transaction rolled back"));
  auto jobs = store->ListJobs(*user);
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  EXPECT_TRUE(jobs->empty());
  // The store goes on working.
  EXPECT_TRUE(store->CreateJob(MakeJob(*user)).ok());
}

TEST_F(PgStoreTest, PutFramesKeepsAnyTextAndTheLastOfRepeatedNumbers) {
  auto store = OpenOrDie(url_);
  ASSERT_NE(store, nullptr);
  auto user = store->CreateUser("alice", "hash-alice");
  ASSERT_TRUE(user.ok()) << user.error().message;
  auto job = store->CreateJob(MakeJob(*user));
  ASSERT_TRUE(job.ok()) << job.error().message;
  Frame a = FrameOf(*job, 1);
  a.errors = R"(quote " backslash \ comma, {braces} NULL)"
             "\nline two";
  a.excluded_nodes = {3, 4};
  Frame b = FrameOf(*job, 2);
  b.errors = "first";
  Frame b2 = FrameOf(*job, 2);
  b2.errors = "";
  b2.state = FrameState::kDelivered;
  b2.failures = 2;
  ASSERT_TRUE(store->PutFrames({a, b, b2}).ok());
  auto frames = store->GetFrames(*job, {1, 2});
  ASSERT_TRUE(frames.ok()) << frames.error().message;
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].errors, a.errors);
  EXPECT_EQ((*frames)[0].excluded_nodes, a.excluded_nodes);
  EXPECT_EQ((*frames)[1].errors, "");
  EXPECT_EQ((*frames)[1].state, FrameState::kDelivered);
  EXPECT_EQ((*frames)[1].failures, 2);
}

// TODO(merge): needs i15-pgparts' ListClaimableTasks; fails against pg_parts_stub.cpp until then.
TEST_F(PgStoreTest, TwoManagersClaimingAtOnceNeverTakeOneTask) {
  auto setup = OpenOrDie(url_);
  ASSERT_NE(setup, nullptr);
  auto user = setup->CreateUser("alice", "hash-alice");
  ASSERT_TRUE(user.ok()) << user.error().message;
  auto job = setup->CreateJob(MakeJob(*user));
  ASSERT_TRUE(job.ok()) << job.error().message;
  constexpr int kTasks = 30;
  for (int i = 0; i < kTasks; ++i) ASSERT_TRUE(setup->CreateTask(MakeTask(*job, {i})).ok());
  auto claim_all = [&](int64_t node) {
    auto store = OpenOrDie(url_);
    std::vector<int64_t> mine;
    for (bool more = true; more && store != nullptr;) {
      auto r = store->Transaction([&]() -> Result<void> {
        auto tasks = store->ListClaimableTasks(domain::ClaimFilter{}, 1, 0);
        if (!tasks) return tasks.error();
        more = !tasks->empty();
        if (!more) return Ok();
        Task t = tasks->front();
        t.state = TaskState::kActive;
        t.node_id = node;
        INFERIX_TRY(store->UpdateTask(t));
        mine.push_back(t.id);
        return Ok();
      });
      EXPECT_TRUE(r.ok()) << r.error().message;
      if (!r) break;
    }
    return mine;
  };
  auto a = std::async(std::launch::async, claim_all, 1);
  auto b = std::async(std::launch::async, claim_all, 2);
  std::vector<int64_t> first = a.get();
  std::vector<int64_t> second = b.get();
  std::set<int64_t> all(first.begin(), first.end());
  for (int64_t id : second) EXPECT_TRUE(all.insert(id).second) << "task " << id << " was claimed twice";
  EXPECT_EQ(all.size(), static_cast<size_t>(kTasks));
}

TEST(StoreUrlPostgres, PostgresUrlsOpenThePostgresStore) {
  // Both schemes reach the adapter (which then refuses the parameter by name, before connecting).
  for (const std::string scheme : {"postgresql", "postgres"}) {
    auto s = OpenStore(scheme + "://inferix@127.0.0.1:1/inferix?pool=zero");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument) << s.error().message;
    EXPECT_THAT(s.error().message, HasSubstr("pool")) << scheme;
  }
}

}  // namespace
}  // namespace inferix::store
