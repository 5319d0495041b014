#pragma once
// The HTTP server's connections (internal to net): one accepted connection, plain or TLS, with the timer its
// deadlines and long-poll waits use.
#include <cstdint>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace inferix::net::internal {

// One accepted connection, plain or TLS. Only its own coroutine and closures posted to its strand touch it.
struct Connection {
  explicit Connection(std::string peer) : address(std::move(peer)) {}
  virtual ~Connection() = default;
  // Makes every pending and future operation fail; must run on the connection's strand.
  virtual void Close() = 0;
  // Ends the long-poll wait `id` if it is still the one running (a wake-up may arrive after it ended, when
  // the timer serves another wait); on the connection's strand.
  virtual void EndWait(uint64_t id) = 0;
  virtual boost::asio::any_io_executor Executor() = 0;
  const std::string address;  // the client's IP address, for the per-address cap
  uint64_t wait_id = 0;       // the long-poll wait running now, 0 when none (the strand's)
};

template <class Stream>
struct BasicConnection final : Connection {
  template <class... Args>
  explicit BasicConnection(std::string peer, Args&&... args)
      : Connection(std::move(peer)), stream(std::forward<Args>(args)...), timer(stream.get_executor()) {}
  void Close() override {
    auto& layer = boost::beast::get_lowest_layer(stream);
    boost::beast::error_code ec;
    layer.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    layer.close();
    timer.cancel();
  }
  void EndWait(uint64_t id) override {
    if (wait_id != id) return;
    wait_id = 0;
    timer.cancel();
  }
  boost::asio::any_io_executor Executor() override { return stream.get_executor(); }
  Stream stream;
  boost::asio::steady_timer timer;
};

using PlainConnection = BasicConnection<boost::beast::tcp_stream>;
using TlsConnection = BasicConnection<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace inferix::net::internal
