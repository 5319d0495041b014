#include "net/wait_list.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace inferix::net {
namespace {

TEST(WaitListTest, WakesTheOldestFirstAndAtMostN) {
  WaitList list;
  std::vector<int> woken;
  for (int i = 0; i < 4; ++i) list.Park("claims", [&woken, i] { woken.push_back(i); });
  list.Park("other", [&woken] { woken.push_back(99); });
  EXPECT_EQ(list.Waiting("claims"), 4u);
  EXPECT_EQ(list.Wake("claims", 2), 2u);
  EXPECT_EQ(woken, (std::vector<int>{0, 1}));
  EXPECT_EQ(list.Wake("claims", 5), 2u);
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(list.Waiting("claims"), 0u);
  EXPECT_EQ(list.Waiting("other"), 1u);
  EXPECT_EQ(list.Wake("nobody", 3), 0u);
}

TEST(WaitListTest, AWaiterThatLeftIsNotWokenAndLeaveSaysWhetherItWas) {
  WaitList list;
  int calls = 0;
  auto first = list.Park("k", [&] { ++calls; });
  auto second = list.Park("k", [&] { ++calls; });
  EXPECT_TRUE(list.Leave(first));  // its wait ended on its own
  EXPECT_EQ(list.Wake("k", 1), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(list.Leave(second));  // woken: already gone
  EXPECT_FALSE(list.Leave(first));   // twice: nothing
  EXPECT_EQ(list.Waiting("k"), 0u);
}

TEST(WaitListTest, AWakeUpBetweenALookAndItsParkIsNotLost) {
  WaitList list;
  int calls = 0;
  const uint64_t before = list.Wakes();  // the handler looks for work: none
  EXPECT_EQ(list.Wake("k", 1), 0u);      // work arrives before the waiter parks: nobody to wake
  EXPECT_EQ(list.Wake("other", 1), 0u);
  EXPECT_EQ(list.Park(
                "k", [&] { ++calls; }, before),
            0u);  // woken at once instead of parked
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(list.Waiting("k"), 0u);
  // A waiter that looked after the last wake-up of its key parks, whatever other keys did since.
  const uint64_t after = list.Wakes();
  EXPECT_EQ(list.Wake("other", 1), 0u);
  auto token = list.Park(
      "k", [&] { ++calls; }, after);
  EXPECT_NE(token, 0u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(list.Wake("k", 1), 1u);
  EXPECT_EQ(calls, 2);
}

TEST(WaitListTest, ParkWakeAndLeaveFromManyThreads) {
  WaitList list;
  std::atomic<int> woken = 0;
  std::atomic<int> left_unwoken = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto token = list.Park("k", [&] { ++woken; });
        if (i % 3 == 0) list.Wake("k", 1);
        if (list.Leave(token)) ++left_unwoken;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken + left_unwoken, 4 * 2000);  // each waiter either woken once or left unwoken, never both
  EXPECT_EQ(list.Waiting("k"), 0u);
}

}  // namespace
}  // namespace inferix::net
