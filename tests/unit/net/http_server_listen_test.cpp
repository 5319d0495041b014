// The server on a listening socket it inherits (ServerOptions::listen_fd), as `inferix render` starts its
// manager: the address is known, and clients may connect, before the server starts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net_test_util.hpp"

namespace inferix::net {
namespace {

using testing::Text;

// A TCP socket on 127.0.0.1 (any free port), listening when `listen` is true; its port in `port`.
int LoopbackSocket(bool listen, uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);  // NOLINT
  EXPECT_EQ(::bind(fd, raw, sizeof address), 0);
  if (listen) {
    EXPECT_EQ(::listen(fd, SOMAXCONN), 0);
  }
  EXPECT_EQ(::getsockname(fd, raw, &length), 0);
  port = ntohs(address.sin_port);
  return fd;
}

TEST(HttpServerListenTest, ServesOnAnInheritedSocketWhatWaitedInItsQueue) {
  uint16_t port = 0;
  const int fd = LoopbackSocket(/*listen=*/true, port);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hello";
  // A client connects before any server runs: the kernel queues the connection, the request waits.
  auto early = std::async(std::launch::async, [&] { return HttpClient().Request("GET", url); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(early.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  ServerOptions options;
  options.host = "192.0.2.1";  // unused: the socket says where
  options.port = 1;
  options.listen_fd = fd;
  auto server = testing::StartServer([](const HttpRequest&) { return Text("hello"); }, options);
  EXPECT_EQ(server->port(), port);
  auto answer = early.get();
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hello");
  auto later = HttpClient().Request("GET", url);
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_EQ(later->body, "hello");
}

TEST(HttpServerListenTest, RefusesADescriptorThatIsNotAListeningSocket) {
  uint16_t port = 0;
  const int bound = LoopbackSocket(/*listen=*/false, port);
  int pipe_fds[2] = {-1, -1};
  ASSERT_EQ(::pipe(pipe_fds), 0);
  for (int fd : {bound, pipe_fds[0], 987}) {
    SCOPED_TRACE(fd);
    ServerOptions options;
    options.listen_fd = fd;
    HttpServer server(options, [](const HttpRequest&) { return Text("never"); });
    auto started = server.Start();
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.error().code, Errc::kInvalidArgument);
    EXPECT_NE(started.error().message.find("not a listening TCP socket"), std::string::npos)
        << started.error().message;
  }
  ::close(bound);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

}  // namespace
}  // namespace inferix::net
