// Long polls parked under a key and woken by HttpServer::Wake (issue #16).
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net_test_util.hpp"

namespace inferix::net {
namespace {

using testing::RawConnection;
using testing::StartServer;
using testing::Text;
using testing::Url;
using testing::WaitFor;

// Waits a minute under "claims" until `ready`, then answers.
HttpResponse WaitUnlessReady(const std::atomic<bool>& ready, std::atomic<int>& calls) {
  ++calls;
  if (ready) return Text("work");
  HttpResponse wait;
  wait.retry_after_ms = 60'000;
  wait.wait_key = "claims";
  return wait;
}

TEST(HttpServerWakeTest, AWokenLongPollRunsItsHandlerAgainAtOnce) {
  std::atomic<bool> ready = false;
  std::atomic<int> calls = 0;
  auto server = StartServer([&](const HttpRequest&) { return WaitUnlessReady(ready, calls); });
  auto poll = std::async(std::launch::async, [&] {
    HttpClient client;
    return client.Request("POST", Url(*server, "/claim"), "{}", {}, 30);
  });
  ASSERT_TRUE(WaitFor([&] { return server->Waiting("claims") == 1; }));
  EXPECT_EQ(server->Wake("other", 5), 0u);  // another key wakes nothing
  ready = true;
  EXPECT_EQ(server->Wake("claims", 5), 1u);
  auto response = poll.get();  // within the client's 30 s: well before the minute's wait ends
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "work");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(server->Waiting("claims"), 0u);
}

TEST(HttpServerWakeTest, WakesOnlyAsManyAsAskedOldestFirst) {
  std::atomic<int> calls = 0;
  std::atomic<bool> never = false;
  auto server = StartServer([&](const HttpRequest& r) {
    if (r.path == "/ok") return Text("ok");
    return WaitUnlessReady(never, calls);
  });
  RawConnection first(server->port());
  RawConnection second(server->port());
  ASSERT_TRUE(first.Send("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return server->Waiting("claims") == 1; }));
  ASSERT_TRUE(second.Send("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return server->Waiting("claims") == 2; }));
  EXPECT_EQ(server->Wake("claims", 1), 1u);
  // The woken one ran again and, still without work, parked again behind the other.
  ASSERT_TRUE(WaitFor([&] { return calls == 3 && server->Waiting("claims") == 2; }));
  // A connection that closes leaves the list; the server answers other requests as before.
  first.Close();
  ASSERT_TRUE(WaitFor([&] { return server->Waiting("claims") == 1; }));
  EXPECT_EQ(server->Wake("claims", 10), 1u);
  ASSERT_TRUE(WaitFor([&] { return calls == 4 && server->Waiting("claims") == 1; }));
  HttpClient client;
  auto ok = client.Request("GET", Url(*server, "/ok"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body, "ok");
}

}  // namespace
}  // namespace inferix::net
