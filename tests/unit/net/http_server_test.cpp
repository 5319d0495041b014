#include "net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "net/http_client.hpp"
#include "net_test_util.hpp"

namespace inferix::net {
namespace {

using testing::RawConnection;
using testing::TempDir;
using testing::WaitFor;

using testing::StartServer;
using testing::Text;
using testing::Url;

TEST(HttpRequestTest, HeaderLookupIgnoresCase) {
  HttpRequest request;
  request.headers["content-type"] = "application/json";
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(request.Header("x-missing"), "");
}

TEST(HttpServerTest, AnswersOnAnyFreePort) {
  auto server = StartServer([](const HttpRequest& request) {
    HttpResponse response = Text("hello " + request.query.at("name"));
    response.headers["X-Custom"] = "yes";
    return response;
  });
  ASSERT_NE(server->port(), 0);
  HttpClient client;
  auto response = client.Request("GET", Url(*server, "/hello?name=world"));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello world");
  EXPECT_EQ(response->content_type, "text/plain");
  EXPECT_EQ(response->headers["x-custom"], "yes");
  EXPECT_EQ(response->headers["server"], "inferix");
}

TEST(HttpServerTest, RoundTripsMethodsBodiesAndHeaders) {
  auto server = StartServer([](const HttpRequest& request) {
    return Text(request.method + "|" + request.path + "|" + request.body + "|" + request.Header("X-Test") +
                "|" + request.Header("content-type"));
  });
  HttpClient client;
  auto get = client.Request("GET", Url(*server, "/a"), "", {{"X-Test", "1"}});
  ASSERT_TRUE(get.ok()) << get.error().message;
  EXPECT_EQ(get->body, "GET|/a||1|");
  auto post = client.Request("POST", Url(*server, "/b"), "{\"x\":1}");
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_EQ(post->body, "POST|/b|{\"x\":1}||application/json");
  auto put = client.Request("PUT", Url(*server, "/c"), "data", {{"Content-Type", "text/plain"}});
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->body, "PUT|/c|data||text/plain");
  auto del = client.Request("DELETE", Url(*server, "/d"));
  ASSERT_TRUE(del.ok()) << del.error().message;
  EXPECT_EQ(del->body, "DELETE|/d|||");
  auto head = client.Request("HEAD", Url(*server, "/e"));
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->headers["content-length"], "10");  // the length of "HEAD|/e|||"
}

TEST(HttpServerTest, ReturnsStatusesAsResponses) {
  auto server = StartServer([](const HttpRequest& request) {
    if (request.path == "/none") return Text("", 204);
    return Text("{\"error\":{}}", 409);
  });
  HttpClient client;
  auto conflict = client.Request("POST", Url(*server, "/x"), "{}");
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->status, 409);
  EXPECT_EQ(conflict->body, "{\"error\":{}}");
  auto none = client.Request("GET", Url(*server, "/none"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 204);
}

TEST(HttpServerTest, KeepsConnectionsAlive) {
  auto server = StartServer([](const HttpRequest& request) { return Text("path " + request.path); });
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = connection.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "path /one");
  // Two pipelined requests on the same connection.
  ASSERT_TRUE(connection.Send("GET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = connection.Read();
  auto third = connection.Read();
  ASSERT_TRUE(second && third);
  EXPECT_EQ(second->body, "path /two");
  EXPECT_EQ(third->body, "path /three");
  ASSERT_TRUE(connection.Send("GET /four HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto fourth = connection.Read();
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->body, "path /four");
  EXPECT_NE(fourth->head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(connection.ReadsEof());
}

TEST(HttpServerTest, RejectsOversizedBodiesWith413) {
  std::atomic<int> calls = 0;
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(
      [&](const HttpRequest& request) {
        ++calls;
        return Text("ok " + std::to_string(request.body.size()));
      },
      options);
  HttpClient client;
  auto too_big = client.Request("POST", Url(*server, "/upload"), std::string(2000, 'x'));
  ASSERT_TRUE(too_big.ok()) << too_big.error().message;
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->content_type, "application/json");
  EXPECT_NE(too_big->body.find("\"code\":\"too_large\""), std::string::npos) << too_big->body;

  // Chunked bodies have no announced length; the limit applies as they arrive.
  RawConnection connection(server->port());
  std::string chunk(600, 'y');
  ASSERT_TRUE(
      connection.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
                      chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto chunked = connection.Read();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);

  auto exact = client.Request("POST", Url(*server, "/upload"), std::string(1024, 'x'));
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->status, 200);
  EXPECT_EQ(exact->body, "ok 1024");
  EXPECT_EQ(calls, 1);
}

TEST(HttpServerTest, ClientsSeeThe413EvenWhenTheyAlreadySentTheBody) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer([](const HttpRequest&) { return Text("accepted"); }, options);
  TempDir dir;
  const std::string big(4 << 20, 'a');
  testing::WriteBytes(dir.path() / "big.bin", big);
  HttpClient client;
  // An empty Expect header stops curl from waiting for "100 Continue": the body is on its way at once.
  for (const std::string& expect : {std::string("100-continue"), std::string("")}) {
    auto in_memory = client.Request("POST", Url(*server, "/x"), big, {{"Expect", expect}});
    ASSERT_TRUE(in_memory.ok()) << in_memory.error().message;
    EXPECT_EQ(in_memory->status, 413);
    auto streamed =
        client.UploadFile("PUT", Url(*server, "/x"), dir.path() / "big.bin", {{"Expect", expect}});
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    EXPECT_EQ(streamed->status, 413);
  }
  auto small = client.Request("POST", Url(*server, "/x"), "{}");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->body, "accepted");
}

TEST(HttpServerTest, MalformedRequestsDoNotHurtTheServer) {
  auto server = StartServer([](const HttpRequest&) { return Text("fine"); });
  for (const std::string& garbage :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET http://absolute.example/x HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n"), std::string("\x01\x02\x03\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort")}) {
    RawConnection connection(server->port());
    ASSERT_TRUE(connection.Send(garbage));
    if (garbage.ends_with("short")) {
      connection.Close();  // partial body, then gone
      continue;
    }
    auto response = connection.Read();
    ASSERT_TRUE(response) << garbage;
    EXPECT_EQ(response->status, 400) << garbage;
  }
  HttpClient client;
  auto response = client.Request("GET", Url(*server, "/"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body, "fine");
}

TEST(HttpServerTest, LongPollRetriesUntilTheHandlerAnswers) {
  std::atomic<int> calls = 0;
  std::vector<int64_t> received;
  std::vector<int64_t> previous;
  auto server = StartServer([&](const HttpRequest& request) {
    received.push_back(request.received_ms);
    previous.push_back(request.previous_attempt_ms);
    if (++calls < 4) {
      HttpResponse wait;
      wait.retry_after_ms = 10;
      return wait;
    }
    return Text("done after " + std::to_string(calls.load()));
  });
  HttpClient client;
  const auto start = std::chrono::steady_clock::now();
  auto response = client.Request("POST", Url(*server, "/claim"), "{}");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "done after 4");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(received.front(), received.back());  // the same request each time
  // Each retry says when the handler last ran for it (issue #15: a long poll skips reading the tables when
  // nothing was heard since): 0 the first time, then rising, each at least the retry's wait after the last.
  ASSERT_EQ(previous.size(), 4u);
  EXPECT_EQ(previous[0], 0);
  EXPECT_GE(previous[1], received[0]);
  for (size_t i = 2; i < previous.size(); ++i) EXPECT_GE(previous[i], previous[i - 1] + 10);
}

TEST(HttpServerTest, LongPollEndsWhenTheClientLeaves) {
  std::atomic<int> calls = 0;
  auto server = StartServer([&](const HttpRequest&) {
    ++calls;
    HttpResponse wait;
    wait.retry_after_ms = 5;
    return wait;
  });
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return calls >= 3; }));
  connection.Close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int after_close = calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls, after_close);
}

TEST(HttpServerTest, HandlerExceptionGives500AndTheServerStaysUp) {
  auto server = StartServer([](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/throw") throw std::runtime_error("boom");
    return Text("alive");
  });
  HttpClient client;
  auto failed = client.Request("GET", Url(*server, "/throw"));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, 500);
  EXPECT_NE(failed->body.find("\"code\":\"internal\""), std::string::npos);
  auto next = client.Request("GET", Url(*server, "/ok"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "alive");
}

TEST(HttpServerTest, DecodesPathAndQuery) {
  HttpRequest seen;
  auto server = StartServer([&](const HttpRequest& request) {
    seen = request;
    return Text("ok");
  });
  HttpClient client;
  auto response = client.Request("GET", Url(*server, "/files/a%20b/c%2Fd?x=1%202&y=%26&plus=a+b&empty&e="));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(seen.target, "/files/a%20b/c%2Fd?x=1%202&y=%26&plus=a+b&empty&e=");
  EXPECT_EQ(seen.path, "/files/a b/c/d");
  EXPECT_EQ(seen.query["x"], "1 2");
  EXPECT_EQ(seen.query["y"], "&");
  EXPECT_EQ(seen.query["plus"], "a b");
  EXPECT_EQ(seen.query.count("empty"), 1u);
  EXPECT_EQ(seen.query["e"], "");
  EXPECT_EQ(seen.method, "GET");
  EXPECT_GT(seen.received_ms, 0);
}

TEST(HttpServerTest, StreamsFilesAndTheClientDownloadsThem) {
  TempDir dir;
  const std::string content = testing::RandomBytes(300'000, 7);
  testing::WriteBytes(dir.path() / "served.bin", content);
  auto server = StartServer([&](const HttpRequest& request) {
    HttpResponse response;
    response.content_type = "application/octet-stream";
    response.file = dir.path() / ("served" + request.path.substr(1));
    return response;
  });
  HttpClient client;
  auto downloaded = client.Download(Url(*server, "/.bin"), dir.path() / "copy.bin");
  ASSERT_TRUE(downloaded.ok()) << downloaded.error().message;
  EXPECT_EQ(downloaded->status, 200);
  EXPECT_EQ(downloaded->content_type, "application/octet-stream");
  EXPECT_EQ(testing::ReadBytes(dir.path() / "copy.bin"), content);

  auto head = client.Request("HEAD", Url(*server, "/.bin"));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->headers["content-length"], "300000");

  // A missing file is a 404; the download keeps the error and leaves no file behind.
  auto missing = client.Download(Url(*server, "/.nope"), dir.path() / "missing.bin");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("not_found"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "missing.bin"));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string().find(".part-"), std::string::npos) << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST(ParseRangeTest, SingleByteRangesOnly) {
  auto r = ParseRange("bytes=0-99", 1000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 99u);
  r = ParseRange("bytes=900-", 1000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 900u);
  EXPECT_EQ(r->last, 999u);
  r = ParseRange("bytes=990-5000", 1000);  // clipped to the file
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 999u);
  r = ParseRange("bytes=-10", 1000);  // the last 10 bytes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 990u);
  EXPECT_EQ(r->last, 999u);
  r = ParseRange("bytes=-5000", 1000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 0u);
  // Unsatisfiable: first > last.
  r = ParseRange("bytes=1000-", 1000);
  ASSERT_TRUE(r);
  EXPECT_GT(r->first, r->last);
  r = ParseRange("bytes=-0", 1000);
  ASSERT_TRUE(r);
  EXPECT_GT(r->first, r->last);
  // Ignored (the whole file): other units, several ranges, nonsense.
  for (const char* h : {"", "items=0-1", "bytes=0-1,5-6", "bytes=a-b", "bytes=5-1", "bytes=-", "bytes=1",
                        "bytes= 1-2", "bytes=99999999999999999999-"}) {
    EXPECT_FALSE(ParseRange(h, 1000)) << h;
  }
}

TEST(HttpServerTest, FilesAnswerByteRanges) {
  TempDir dir;
  const std::string content = testing::RandomBytes(100'000, 9);
  testing::WriteBytes(dir.path() / "video.mp4", content);
  auto server = StartServer([&](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "video/mp4";
    response.file = dir.path() / "video.mp4";
    return response;
  });
  HttpClient client;
  auto whole = client.Request("GET", Url(*server, "/v"));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->headers["accept-ranges"], "bytes");
  EXPECT_EQ(whole->body, content);

  auto part = client.Request("GET", Url(*server, "/v"), "", {{"Range", "bytes=1000-1999"}});
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->headers["content-range"], "bytes 1000-1999/100000");
  EXPECT_EQ(part->content_type, "video/mp4");
  EXPECT_EQ(part->body, content.substr(1000, 1000));

  auto tail = client.Request("GET", Url(*server, "/v"), "", {{"Range", "bytes=-100"}});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->status, 206);
  EXPECT_EQ(tail->body, content.substr(99'900));

  auto beyond = client.Request("GET", Url(*server, "/v"), "", {{"Range", "bytes=100000-"}});
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(beyond->status, 416);
  EXPECT_EQ(beyond->headers["content-range"], "bytes */100000");

  auto several = client.Request("GET", Url(*server, "/v"), "", {{"Range", "bytes=0-1,5-6"}});
  ASSERT_TRUE(several.ok());
  EXPECT_EQ(several->status, 200);
  EXPECT_EQ(several->body.size(), content.size());
}

TEST(HttpServerTest, UploadedFilesArriveByteIdentical) {
  TempDir dir;
  const std::string content = testing::RandomBytes(5 * 1024 * 1024 + 17, 11);
  testing::WriteBytes(dir.path() / "big.bin", content);
  std::string received_put, received_post;
  auto server = StartServer([&](const HttpRequest& request) {
    (request.method == "PUT" ? received_put : received_post) = request.body;
    return Text("stored");
  });
  HttpClient client;
  auto put = client.UploadFile("PUT", Url(*server, "/blob"), dir.path() / "big.bin");
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->body, "stored");
  EXPECT_TRUE(received_put == content) << received_put.size();
  auto post = client.UploadFile("POST", Url(*server, "/blob"), dir.path() / "big.bin");
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_TRUE(received_post == content) << received_post.size();

  auto missing = client.UploadFile("PUT", Url(*server, "/blob"), dir.path() / "absent.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST(HttpServerTest, ManyClientsAreServedWhileALongPollWaits) {
  std::atomic<bool> release = false;
  std::atomic<int> served = 0;
  auto server = StartServer([&](const HttpRequest& request) {
    if (request.path == "/claim" && !release) {
      HttpResponse wait;
      wait.retry_after_ms = 5;
      return wait;
    }
    ++served;
    return Text(request.path);
  });
  auto poll = std::async(std::launch::async, [&] {
    HttpClient client;
    return client.Request("POST", Url(*server, "/claim"), "{}");
  });
  constexpr int kClients = 50;
  constexpr int kRequestsEach = 4;
  std::atomic<int> succeeded = 0;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      HttpClient client;
      for (int j = 0; j < kRequestsEach; ++j) {
        const std::string path = "/c" + std::to_string(i) + "/" + std::to_string(j);
        auto response = client.Request("GET", Url(*server, path));
        if (response.ok() && response->status == 200 && response->body == path) ++succeeded;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(succeeded, kClients * kRequestsEach);
  EXPECT_EQ(poll.wait_for(std::chrono::seconds(0)), std::future_status::timeout);  // still waiting
  release = true;
  auto claimed = poll.get();
  ASSERT_TRUE(claimed.ok()) << claimed.error().message;
  EXPECT_EQ(claimed->body, "/claim");
}

TEST(HttpServerTest, IoGoesOnWhileAHandlerBlocks) {
  std::promise<void> unblock;
  auto unblocked = unblock.get_future().share();
  std::atomic<bool> in_handler = false;
  ServerOptions options;
  options.max_body_bytes = 10;
  auto server = StartServer(
      [&](const HttpRequest&) {
        in_handler = true;
        unblocked.wait();
        return Text("slow");
      },
      options);
  auto slow = std::async(std::launch::async, [&] {
    HttpClient client;
    return client.Request("GET", Url(*server, "/slow"));
  });
  ASSERT_TRUE(WaitFor([&] { return in_handler.load(); }));
  // The handler thread is busy, yet the io side still accepts, reads and rejects.
  HttpClient client;
  auto rejected = client.Request("POST", Url(*server, "/x"), std::string(100, 'z'));
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->status, 413);
  unblock.set_value();
  auto answered = slow.get();
  ASSERT_TRUE(answered.ok());
  EXPECT_EQ(answered->body, "slow");
}

TEST(HttpServerTest, PostRunsOnTheHandlerThread) {
  std::thread::id handler_thread;
  auto server = StartServer([&](const HttpRequest&) {
    handler_thread = std::this_thread::get_id();
    return Text("ok");
  });
  HttpClient client;
  ASSERT_TRUE(client.Request("GET", Url(*server, "/")).ok());
  std::promise<std::thread::id> posted;
  server->Post([&] { posted.set_value(std::this_thread::get_id()); });
  server->Post([] { throw std::runtime_error("housekeeping failed"); });  // must not take the server down
  EXPECT_EQ(posted.get_future().get(), handler_thread);
  EXPECT_NE(handler_thread, std::this_thread::get_id());
  ASSERT_TRUE(client.Request("GET", Url(*server, "/")).ok());
}

TEST(HttpServerTest, StopEndsLongPollsAndIdleConnectionsAndIsIdempotent) {
  std::atomic<int> calls = 0;
  auto server = StartServer([&](const HttpRequest&) {
    ++calls;
    HttpResponse wait;
    wait.retry_after_ms = 60'000;
    return wait;
  });
  RawConnection idle(server->port());
  ASSERT_TRUE(idle.connected());
  auto poll = std::async(std::launch::async, [&] {
    HttpClient client;
    return client.Request("POST", Url(*server, "/claim"), "{}");
  });
  ASSERT_TRUE(WaitFor([&] { return calls >= 1; }));
  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto result = poll.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::kUnavailable);
  EXPECT_TRUE(idle.ReadsEof());
  server->Stop();
  EXPECT_EQ(calls, 1);
}

TEST(HttpServerTest, StartFailsOnABusyPortAndRefusesTls) {
  auto first = StartServer([](const HttpRequest&) { return Text("first"); });
  ServerOptions same_port;
  same_port.port = first->port();
  HttpServer second(same_port, [](const HttpRequest&) { return Text("second"); });
  auto started = second.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::kUnavailable);
  EXPECT_NE(started.error().message.find(std::to_string(first->port())), std::string::npos);

  ServerOptions tls;
  tls.tls_cert_file = "cert.pem";
  tls.tls_key_file = "key.pem";
  HttpServer https(tls, [](const HttpRequest&) { return Text("tls"); });
  EXPECT_FALSE(https.Start().ok());
}

TEST(HttpServerTest, ManyClientsAtOnce) {
  auto server = StartServer([](const HttpRequest& request) { return Text(request.body); });
  std::vector<std::thread> clients;
  std::atomic<int> succeeded = 0;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      HttpClient client;
      for (int j = 0; j < 10; ++j) {
        const std::string body = std::to_string(i * 100 + j);
        auto response = client.Request("POST", Url(*server, "/echo"), body);
        if (response.ok() && response->body == body) ++succeeded;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(succeeded, 80);
}

TEST(HttpClientTest, TransportFailureIsUnavailable) {
  uint16_t port;
  {
    auto server = StartServer([](const HttpRequest&) { return Text("gone soon"); });
    port = server->port();
  }
  HttpClient client;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto response = client.Request("GET", url);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kUnavailable);
  EXPECT_EQ(response.error().message.rfind("GET " + url + ": ", 0), 0u) << response.error().message;
}

TEST(HttpClientTest, TimesOutAsUnavailable) {
  auto server = StartServer([](const HttpRequest&) {
    HttpResponse wait;
    wait.retry_after_ms = 50;
    return wait;
  });
  HttpClient client;
  auto response = client.Request("GET", Url(*server, "/forever"), "", {}, 1);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kUnavailable);
}

}  // namespace
}  // namespace inferix::net
