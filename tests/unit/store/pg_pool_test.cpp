// The PostgreSQL connection pool: its bound, waiting borrowers, what a returned connection carries over, a
// server that never answers, and recovery after the server restarts.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "pg_test_server.hpp"
#include "store/pg_conn.hpp"

namespace inferix::store::pg {
namespace {

using testing::PgServerTest;
using testing::WithDatabase;
using PgPoolTest = PgServerTest;

// Connections of this test's database as the server counts them (from another connection).
int64_t ServerConnections(Conn& observer, const std::string& db) {
  auto rows =
      observer.Exec("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                    Params().Add(db));
  EXPECT_TRUE(rows.ok()) << rows.error().message;
  return rows.ok() ? rows->Int(0, 0) : -1;
}

int64_t BackendPid(Conn& conn) {
  auto rows = conn.Exec("SELECT pg_backend_pid()");
  EXPECT_TRUE(rows.ok()) << rows.error().message;
  return rows.ok() ? rows->Int(0, 0) : -1;
}

TEST_F(PgPoolTest, NeverOpensMoreThanPoolSize) {
  auto pool = Pool::Open(Options("pool=2"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  auto observer = Connect();
  ASSERT_NE(observer, nullptr);
  auto a = (*pool)->Borrow();
  auto b = (*pool)->Borrow();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = (*pool)->Borrow(std::chrono::milliseconds(50));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::kUnavailable);
  EXPECT_NE(c.error().message.find("pool="), std::string::npos) << c.error().message;
  EXPECT_EQ(ServerConnections(*observer, db_), 2);
  EXPECT_NE(BackendPid(**a), BackendPid(**b));
}

TEST_F(PgPoolTest, ManyThreadsShareAtMostPoolSizeConnections) {
  auto pool = Pool::Open(Options("pool=3"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  constexpr int kThreads = 8;
  std::mutex mu;
  std::set<int64_t> pids;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 20; ++n) {
        auto lease = (*pool)->Borrow(std::chrono::milliseconds(30'000));
        std::lock_guard lock(mu);
        if (!lease.ok()) {
          errors.push_back(lease.error().message);
          return;
        }
        pids.insert(BackendPid(**lease));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_GE(pids.size(), 1U);
  EXPECT_LE(pids.size(), 3U) << "the pool opened more connections than pool=3";
}

TEST_F(PgPoolTest, AWaitingBorrowerGetsTheReturnedConnection) {
  auto pool = Pool::Open(Options("pool=1"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  auto held = (*pool)->Borrow();
  ASSERT_TRUE(held.ok()) << held.error().message;
  const int64_t pid = BackendPid(**held);
  std::atomic<bool> got{false};
  int64_t waiter_pid = 0;
  std::thread waiter([&] {
    auto lease = (*pool)->Borrow(std::chrono::milliseconds(30'000));
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    got = true;
    waiter_pid = BackendPid(**lease);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got) << "a second connection was lent from a pool of one";
  { auto returned = std::move(*held); }  // the lease ends here
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(waiter_pid, pid);
}

TEST_F(PgPoolTest, MovingALeaseOntoAnotherReturnsTheOldConnection) {
  auto pool = Pool::Open(Options("pool=2"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  auto a = (*pool)->Borrow();
  auto b = (*pool)->Borrow();
  ASSERT_TRUE(a.ok() && b.ok());
  *a = std::move(*b);  // a's first connection goes back to the pool
  auto c = (*pool)->Borrow(std::chrono::milliseconds(1000));
  EXPECT_TRUE(c.ok()) << c.error().message;
}

TEST_F(PgPoolTest, AReturnedConnectionCarriesNoOpenTransaction) {
  auto pool = Pool::Open(Options("pool=1"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  {
    auto lease = (*pool)->Borrow();
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    ASSERT_TRUE((*lease)->ExecScript("CREATE TABLE t (k INT)").ok());
    ASSERT_TRUE((*lease)->ExecScript("BEGIN; INSERT INTO t VALUES (1)").ok());
  }  // returned without COMMIT
  auto lease = (*pool)->Borrow();
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  auto rows = (*lease)->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->Int(0, 0), 0);
}

TEST_F(PgPoolTest, OpeningAPoolOnAnUnknownDatabaseFails) {
  auto pool = Pool::Open(ParseUrl(WithDatabase(server_url_, db_ + "_missing")).value());
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, Errc::kUnavailable);
  EXPECT_NE(pool.error().message.find(db_ + "_missing"), std::string::npos) << pool.error().message;
}

TEST_F(PgPoolTest, RecoversAfterTheServerRestarts) {
  if (restart_cmd_.empty()) GTEST_SKIP() << "postgres.json has no restart_cmd";
  auto pool = Pool::Open(Options("pool=2"));
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  {
    auto a = (*pool)->Borrow();
    auto b = (*pool)->Borrow();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->Exec("SELECT 1").ok());
    ASSERT_TRUE((*b)->Exec("SELECT 1").ok());
  }
  ASSERT_EQ(std::system(restart_cmd_.c_str()), 0) << restart_cmd_;
  // Each pooled connection may fail one statement (the server closed it), never more; then a new one works.
  int failures = 0;
  bool worked = false;
  for (int attempt = 0; attempt <= 2 && !worked; ++attempt) {
    auto lease = (*pool)->Borrow();
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    auto rows = (*lease)->Exec("SELECT 1");
    if (rows.ok()) {
      worked = true;
    } else {
      ++failures;
      EXPECT_EQ(rows.error().code, Errc::kUnavailable) << rows.error().message;
      EXPECT_FALSE((*lease)->Healthy());
    }
  }
  EXPECT_TRUE(worked);
  EXPECT_LE(failures, 2);
}

// A server that accepts the TCP connection and then says nothing: the connect timeout ends the wait.
TEST(PgConnectTimeoutTest, ASilentServerIsUnavailableAfterTheConnectTimeout) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto options = ParseUrl("postgresql://u@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                          "/db?connect_timeout_s=2");
  ASSERT_TRUE(options.ok()) << options.error().message;
  auto pool = Pool::Open(*options);
  close(listener);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, Errc::kUnavailable);
  EXPECT_NE(pool.error().message.find("timeout"), std::string::npos) << pool.error().message;
}

}  // namespace
}  // namespace inferix::store::pg
