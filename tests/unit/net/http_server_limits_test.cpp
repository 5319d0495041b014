// Limits before work (issue #14): admission from the head, spooled bodies, deadlines for headers and bodies,
// connection caps, and the per-credential rate limiter.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/crypto.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/limits.hpp"
#include "net_test_util.hpp"

namespace inferix::net {
namespace {

using testing::RawConnection;
using testing::TempDir;
using testing::WaitFor;

using testing::StartServer;
using testing::Text;

std::string Put(const std::string& path, uint64_t length) {
  return "PUT " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
}

TEST(HttpServerLimitsTest, RefusedAdmissionIsAnsweredBeforeAnyBodyByte) {
  std::atomic<int> handled = 0;
  std::atomic<int> admitted = 0;
  ServerOptions options;
  options.admit = [&](const HttpRequest& head) {
    ++admitted;
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.body_size, uint64_t{1} << 30);  // the announced length
    if (head.Header("authorization") != "Bearer good")
      return Admission{Refusal(401, "unauthenticated", "who are you?"), 0, false};
    return Admission{std::nullopt, 1024, false};
  };
  auto server = StartServer(
      [&](const HttpRequest&) {
        ++handled;
        return Text("stored");
      },
      options);
  RawConnection connection(server->port());
  // Only the head of a 1 GiB body is sent: the answer must come without a single body byte.
  ASSERT_TRUE(connection.Send(Put("/upload", uint64_t{1} << 30)));
  auto answer = connection.Read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 401);
  EXPECT_NE(answer->body.find("who are you?"), std::string::npos);
  EXPECT_NE(answer->head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(admitted, 1);
  EXPECT_EQ(handled, 0);

  // Admitted, but announcing more than the route's limit: 413, again before the body.
  RawConnection too_big(server->port());
  ASSERT_TRUE(
      too_big.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\nContent-Length: " +
                   std::to_string(uint64_t{1} << 30) + "\r\n\r\n"));
  auto refused = too_big.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(server->counters().too_large, 1u);
}

TEST(HttpServerLimitsTest, RefusalWithoutBodyKeepsTheConnection) {
  ServerOptions options;
  options.admit = [](const HttpRequest& head) {
    if (head.path == "/no") return Admission{Refusal(429, "rate_limited", "slow down", 3), 0, false};
    return Admission{std::nullopt, 1024, false};
  };
  auto server = StartServer([](const HttpRequest&) { return Text("yes"); }, options);
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("GET /no HTTP/1.1\r\nHost: x\r\n\r\nGET /yes HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = connection.Read();
  auto second = connection.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 429);
  EXPECT_NE(first->head.find("Retry-After: 3"), std::string::npos) << first->head;
  EXPECT_EQ(second->body, "yes");
}

TEST(HttpServerLimitsTest, SpooledBodyArrivesAsAFileWithItsDigest) {
  TempDir dir;
  const auto spool = dir.path() / "spool";
  std::filesystem::create_directories(spool);
  testing::WriteBytes(spool / "leftover", "from a crash");
  ServerOptions options;
  options.spool_dir = spool;
  options.max_memory_body_bytes = 1024;  // the spooled body is far larger than memory may hold
  options.admit = [](const HttpRequest&) { return Admission{std::nullopt, 64 << 20, true}; };
  std::mutex mu;
  std::filesystem::path seen_file;
  std::string seen_content, seen_sha, seen_body;
  uint64_t seen_size = 0;
  auto server = StartServer(
      [&](const HttpRequest& request) {
        std::lock_guard lock(mu);
        seen_file = request.body_file;
        seen_content = testing::ReadBytes(request.body_file);
        seen_sha = request.body_sha256;
        seen_size = request.body_size;
        seen_body = request.body;
        return Text("stored");
      },
      options);
  EXPECT_FALSE(std::filesystem::exists(spool / "leftover"));  // emptied at Start

  const std::string content = testing::RandomBytes(3 * 1024 * 1024 + 5, 7);
  testing::WriteBytes(dir.path() / "upload.bin", content);
  HttpClient client;
  auto answer = client.UploadFile("PUT", "http://127.0.0.1:" + std::to_string(server->port()) + "/files/x",
                                  dir.path() / "upload.bin");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen_file.parent_path(), spool);
  EXPECT_TRUE(seen_content == content);
  EXPECT_EQ(seen_sha, Sha256Hex(content));
  EXPECT_EQ(seen_size, content.size());
  EXPECT_TRUE(seen_body.empty());
  EXPECT_TRUE(WaitFor([&] { return !std::filesystem::exists(seen_file); }));  // removed after the answer
}

TEST(HttpServerLimitsTest, HeadersTricklingPastTheirDeadlineGet408) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(400);
  auto server = StartServer([](const HttpRequest&) { return Text("late"); }, options);
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("GET / HTTP/1.1\r\n"));
  // A byte every 100 ms keeps each read short: only a deadline for the whole head cuts this off.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!connection.Send("X")) break;
  }
  auto answer = connection.Read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(server->counters().header_timeouts, 1u);

  // A request sent at once is unaffected.
  RawConnection quick(server->port());
  ASSERT_TRUE(quick.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto fine = quick.Read();
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->body, "late");
}

TEST(HttpServerLimitsTest, BodyTricklingBelowTheMinimumRateGet408) {
  ServerOptions options;
  options.body_timeout = std::chrono::milliseconds(300);
  options.min_body_rate = 1000;  // bytes per second
  std::atomic<int> handled = 0;
  auto server = StartServer(
      [&](const HttpRequest&) {
        ++handled;
        return Text("got it");
      },
      options);
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
  for (int i = 0; i < 10; ++i) {  // 10 bytes a second, far below 1000
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!connection.Send("b")) break;
  }
  auto answer = connection.Read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 408);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(server->counters().body_timeouts, 1u);

  // A body at a good pace passes, although it takes longer than the base allowance.
  RawConnection steady(server->port());
  ASSERT_TRUE(steady.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n"));
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(steady.Send(std::string(100, 'c')));
  }
  auto fine = steady.Read();
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->body, "got it");
}

TEST(HttpServerLimitsTest, ConnectionsOverThePerAddressCapGet429) {
  ServerOptions options;
  options.max_connections_per_address = 2;
  auto server = StartServer([](const HttpRequest&) { return Text("ok"); }, options);
  auto first = std::make_unique<RawConnection>(server->port());
  RawConnection second(server->port());
  ASSERT_TRUE(first->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(first->Read());  // both held open, idle
  ASSERT_TRUE(second.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(second.Read());
  RawConnection third(server->port());
  auto refused = third.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_NE(refused->head.find("Retry-After:"), std::string::npos);
  EXPECT_TRUE(third.ReadsEof());
  EXPECT_EQ(server->counters().connections_per_address, 1u);

  first.reset();  // one closes: room for another
  ASSERT_TRUE(WaitFor([&] {
    RawConnection again(server->port());
    if (!again.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) return false;
    auto answer = again.Read();
    return answer && answer->status == 200;
  }));
}

TEST(HttpServerLimitsTest, ConnectionsOverTheTotalCapGet503) {
  ServerOptions options;
  options.max_connections = 1;
  auto server = StartServer([](const HttpRequest&) { return Text("ok"); }, options);
  RawConnection held(server->port());
  ASSERT_TRUE(held.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(held.Read());
  RawConnection extra(server->port());
  auto refused = extra.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(server->counters().connections_total, 1u);
}

TEST(RateLimiterTest, RefillsAtItsRateAfterTheBurst) {
  FakeClock clock;
  RateLimiter limiter(clock, 2.0, 3.0);
  EXPECT_EQ(limiter.Take("a"), 0);
  EXPECT_EQ(limiter.Take("a"), 0);
  EXPECT_EQ(limiter.Take("a"), 0);
  EXPECT_EQ(limiter.Take("a"), 500);  // the next token in half a second
  EXPECT_EQ(limiter.Take("b"), 0);    // another credential has its own bucket
  clock.Advance(250);
  EXPECT_EQ(limiter.Take("a"), 250);
  clock.Advance(250);
  EXPECT_EQ(limiter.Take("a"), 0);
  EXPECT_GT(limiter.Take("a"), 0);
  clock.Advance(60'000);  // refills to the burst, no more
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a"), 0);
  EXPECT_GT(limiter.Take("a"), 0);
}

TEST(RateLimiterTest, ZeroRateMeansNoLimit) {
  FakeClock clock;
  RateLimiter limiter(clock, 0.0, 1.0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("a"), 0);
}

TEST(LimitsTest, BodyAllowanceGrowsWithWhatArrived) {
  using std::chrono::milliseconds;
  EXPECT_EQ(BodyAllowance(0, milliseconds(60'000), 65536), milliseconds(60'000));
  EXPECT_EQ(BodyAllowance(65536 * 10, milliseconds(60'000), 65536), milliseconds(70'000));
  EXPECT_GT(BodyAllowance(uint64_t{1} << 62, milliseconds(0), 1), milliseconds(0));  // no overflow
}

}  // namespace
}  // namespace inferix::net
