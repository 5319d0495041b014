// The PostgreSQL change feed (store/change_feed.hpp): other managers' wake-ups, heard on a connection of its
// own. Against the test server (INFERIX_TEST_POSTGRES); skipped without it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pg_test_server.hpp"
#include "store/change_feed.hpp"
#include "store/store_url.hpp"

namespace inferix::store::pg::testing {
namespace {

using std::chrono::milliseconds;

// Waits up to 10 s for `done`.
template <class F>
bool Eventually(F done) {
  for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(milliseconds(50));
  return done();
}

class PgListenTest : public PgServerTest {};

TEST_F(PgListenTest, QueuedTasksAndAppendedEventsWakeTheFeed) {
  auto store = OpenStore(url_);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto feed = OpenChangeFeed(url_);
  ASSERT_TRUE(feed.ok()) << feed.error().message;
  ASSERT_NE(*feed, nullptr);
  ASSERT_TRUE(Eventually([&] { return (*feed)->Listening(); }));
  // Connecting counts as a change (what happened before it is unknown); afterwards only notifications do.
  EXPECT_GT((*feed)->TasksChangedMs(), 0);
  std::this_thread::sleep_for(milliseconds(20));
  const int64_t tasks_before = (*feed)->TasksChangedMs();
  const int64_t events_before = (*feed)->EventsChangedMs();

  auto user = (*store)->CreateUser("alice", "hash-alice");
  ASSERT_TRUE(user.ok());
  domain::Job job;
  job.user_id = *user;
  job.name = "j";
  job.main_file = "a.blend";
  job.frames_spec = "1";
  job.chunk_size = 1;
  auto job_id = (*store)->CreateJob(job);
  ASSERT_TRUE(job_id.ok()) << job_id.error().message;
  // A task that is not queued wakes nobody; nor does anything else.
  domain::Task active;
  active.job_id = *job_id;
  active.state = domain::TaskState::kActive;
  active.frames = {1};
  ASSERT_TRUE((*store)->CreateTask(active).ok());
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ((*feed)->TasksChangedMs(), tasks_before);
  EXPECT_EQ((*feed)->EventsChangedMs(), events_before);

  domain::Task queued = active;
  queued.state = domain::TaskState::kQueued;
  // Inside a transaction the wake-up is sent when it commits.
  ASSERT_TRUE((*store)
                  ->Transaction([&]() -> Result<void> {
                    auto id = (*store)->CreateTask(queued);
                    if (!id) return id.error();
                    return Ok();
                  })
                  .ok());
  EXPECT_TRUE(Eventually([&] { return (*feed)->TasksChangedMs() > tasks_before; }));
  EXPECT_EQ((*feed)->EventsChangedMs(), events_before);

  ASSERT_TRUE((*store)->AppendEvent({0, *user, *job_id, "job", "{}", 1}).ok());
  EXPECT_TRUE(Eventually([&] { return (*feed)->EventsChangedMs() > events_before; }));
  (*feed)->Stop();
  EXPECT_FALSE((*feed)->Listening());
}

TEST_F(PgListenTest, SqliteHasNoFeedAndOtherUrlsAreRefused) {
  auto none = OpenChangeFeed("sqlite::memory:");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  EXPECT_FALSE(OpenChangeFeed("mysql://x/y").ok());
}

}  // namespace
}  // namespace inferix::store::pg::testing
