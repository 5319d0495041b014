// What only a database server shared by several managers must do: a manager claiming skips the tasks another
// manager's open claim holds, without waiting for it. Each manager is a Store of its own, opened with
// OpenStore on the test's database. (Concurrent migrations and concurrent claims that never take one task
// twice are tests/unit/store/pg_store_test.cpp's.)
#include <gtest/gtest.h>

#include <thread>

#include "pg_test_server.hpp"
#include "store/store_url.hpp"
#include "store_contract.hpp"

namespace inferix::store::pg {
namespace {

using contract::MakeJob;
using contract::MakeTask;
using domain::ClaimFilter;
using domain::JobState;
using domain::Task;
using domain::TaskKind;
using domain::TaskState;

class PgStoreConcurrencyTest : public testing::PgServerTest {
 protected:
  std::unique_ptr<domain::Store> OpenManager(const std::string& params = "") const {
    auto store = OpenStore(params.empty() ? url_ : testing::WithParam(url_, params));
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  // One claim as a manager makes it: inside a Transaction, the first claimable task, leased to `node`.
  // nullopt when none is left.
  static Result<std::optional<int64_t>> ClaimOne(domain::Store& store, int64_t node) {
    std::optional<int64_t> claimed;
    auto done = store.Transaction([&]() -> Result<void> {
      auto found = store.ListClaimableTasks(ClaimFilter{TaskKind::kRender, node, std::nullopt}, 1);
      if (!found.ok()) return found.error();
      if (found->empty()) return {};
      Task task = found->front();
      task.state = TaskState::kActive;
      task.node_id = node;
      task.lease_expires_ms = 60'000;
      auto updated = store.UpdateTask(task);
      if (!updated.ok()) return updated.error();
      claimed = task.id;
      return {};
    });
    if (!done.ok()) return done.error();
    return claimed;
  }
};

TEST_F(PgStoreConcurrencyTest, AClaimSkipsTasksAnotherManagerHoldsWithoutWaiting) {
  auto a = OpenManager();
  // Were b to wait on a's lock, its statement would be cut after 2 s and the claim fail.
  auto b = OpenManager("statement_timeout_ms=2000");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  auto user = a->CreateUser("alice", "hash-alice");
  ASSERT_TRUE(user.ok()) << user.error().message;
  auto job = a->CreateJob(MakeJob(*user, 0, JobState::kActive));
  ASSERT_TRUE(job.ok()) << job.error().message;
  auto first = a->CreateTask(MakeTask(*job, {1}));
  auto second = a->CreateTask(MakeTask(*job, {2}));
  ASSERT_TRUE(first.ok() && second.ok());

  Result<std::optional<int64_t>> b_claim = std::optional<int64_t>();
  auto held = a->Transaction([&]() -> Result<void> {
    auto found = a->ListClaimableTasks(ClaimFilter{TaskKind::kRender, 101, std::nullopt}, 1);
    if (!found.ok()) return found.error();
    EXPECT_EQ(found->size(), 1U);
    if (found->empty()) return {};
    EXPECT_EQ(found->front().id, *first);
    // While a holds the first task's row, b claims in a thread of its own.
    std::thread other([&] { b_claim = ClaimOne(*b, 202); });
    other.join();
    return {};
  });
  ASSERT_TRUE(held.ok()) << held.error().message;
  ASSERT_TRUE(b_claim.ok()) << b_claim.error().message;
  ASSERT_TRUE(b_claim->has_value());
  EXPECT_EQ(**b_claim, *second);
}

}  // namespace
}  // namespace inferix::store::pg
