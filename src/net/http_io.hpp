#pragma once
// Internal to the HTTP server (http_server.cpp): writing answers to a connection and closing it gracefully.
// Not part of the module's interface.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <system_error>
#include <tuple>
#include <variant>
#include <vector>

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/http_exchange.hpp"
#include "net/limits.hpp"

namespace inferix::net::internal {

// Errors are returned as values (as_tuple), never thrown, so a bad peer is ordinary control flow.
inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

// A connection that sends or takes nothing for this long while an answer is written is closed.
inline constexpr auto kWriteStallTimeout = std::chrono::seconds(120);
// Bounds on reading and discarding a refused request's body before closing (see LingeringClose).
inline constexpr auto kLingerTime = std::chrono::seconds(2);
inline constexpr uint64_t kLingerBytes = 64ull << 20;
// How long after a missed deadline the stream's own timeout closes a read that ignored its cancellation.
inline constexpr auto kDeadlineBackstop = std::chrono::seconds(5);

// Runs `read` on `stream` unless `deadline` passes first; nullopt when it did (the read is cancelled).
template <class Stream>
boost::asio::awaitable<std::optional<std::tuple<boost::beast::error_code, size_t>>> WithDeadline(
    Stream& stream, boost::asio::steady_timer& timer, std::chrono::steady_clock::time_point deadline,
    boost::asio::awaitable<std::tuple<boost::beast::error_code, size_t>> read) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto& layer = boost::beast::get_lowest_layer(stream);
  timer.expires_at(deadline);
  // Should a read not honour the cancellation, the stream's own timeout still ends it, by closing.
  layer.expires_at(deadline + kDeadlineBackstop);
  auto which = co_await (std::move(read) || timer.async_wait(kNoThrow));
  layer.expires_never();
  if (which.index() == 1) co_return std::nullopt;
  co_return std::get<0>(which);
}

// Waits `ms` before a long-polling handler is called again; false when the client went away meanwhile (its
// socket became readable with nothing to read). Pipelined bytes show a live client: `watch_client` is then
// cleared, as watching would wake the wait at once every time.
template <class Stream>
boost::asio::awaitable<bool> LongPollWait(Stream& stream, boost::asio::steady_timer& timer, int64_t ms,
                                          bool& watch_client) {
  using namespace boost::asio::experimental::awaitable_operators;
  timer.expires_after(std::chrono::milliseconds(ms));
  if (!watch_client) {
    co_await timer.async_wait(kNoThrow);
    co_return true;
  }
  auto& socket = boost::beast::get_lowest_layer(stream).socket();
  auto which = co_await (timer.async_wait(kNoThrow) ||
                         socket.async_wait(boost::asio::ip::tcp::socket::wait_read, kNoThrow));
  if (which.index() == 0) co_return true;
  boost::beast::error_code ec;
  const size_t available = socket.available(ec);
  if (ec || std::get<0>(std::get<1>(which)) || available == 0) co_return false;
  watch_client = false;
  co_await timer.async_wait(kNoThrow);
  co_return true;
}

// The least pace of a body: all of it within `base` plus its size at `min_rate` bytes per second.
struct BodyRate {
  std::chrono::milliseconds base;
  uint64_t min_rate = 0;
};

// What a body read came to.
struct BodyRead {
  bool timed_out = false;
  boost::beast::error_code ec;
};

// Reads a body whose head has been read, in time: the body deadline moves with what has arrived (see
// BodyAllowance), so a trickle is cut off whatever length it announced.
template <class Stream, class Body>
boost::asio::awaitable<BodyRead> ReadBody(Stream& stream, boost::asio::steady_timer& timer,
                                          boost::beast::flat_buffer& buffer,
                                          http::request_parser<Body>& parser, BodyRate rate) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t received = 0;
  while (!parser.is_done()) {
    const auto deadline = start + BodyAllowance(received, rate.base, rate.min_rate);
    auto read = co_await WithDeadline(stream, timer, deadline,
                                      http::async_read_some(stream, buffer, parser, kNoThrow));
    if (!read) co_return BodyRead{true, {}};
    auto [ec, n] = *read;
    if (ec) co_return BodyRead{false, ec};
    received += n;
  }
  co_return BodyRead{};
}

// Writes piece by piece so the stall timeout limits each stall rather than the whole (possibly huge)
// transfer.
template <class Stream, class Body>
boost::asio::awaitable<bool> WriteMessage(Stream& stream, http::response<Body>& message) {
  http::response_serializer<Body> serializer(message);
  while (!serializer.is_done()) {
    boost::beast::get_lowest_layer(stream).expires_after(kWriteStallTimeout);
    auto [ec, n] = co_await http::async_write_some(stream, serializer, kNoThrow);
    if (ec) co_return false;
  }
  boost::beast::get_lowest_layer(stream).expires_never();
  co_return true;
}

// Writes one answer: a file streamed from disk, or the body in memory; false when the connection failed.
template <class Stream>
boost::asio::awaitable<bool> WriteResponse(Stream& stream, bool head, unsigned version, bool keep_alive,
                                           HttpResponse response) {
  namespace beast = boost::beast;
  try {
    if (!response.file.empty()) {
      std::error_code fs_ec;
      http::file_body::value_type file;
      beast::error_code ec;
      if (std::filesystem::is_regular_file(response.file, fs_ec)) {
        file.open(response.file.c_str(), beast::file_mode::scan, ec);
      }
      if (!file.is_open()) {
        response = ErrorResponse(404, "not_found", "the requested file is not available");
      } else if (head) {
        http::response<http::empty_body> message{static_cast<http::status>(response.status), version};
        SetFields(message, response, keep_alive);
        message.content_length(file.size());
        co_return co_await WriteMessage(stream, message);
      } else {
        http::response<http::file_body> message{static_cast<http::status>(response.status), version,
                                                std::move(file)};
        SetFields(message, response, keep_alive);
        message.prepare_payload();
        co_return co_await WriteMessage(stream, message);
      }
    }
    if (StatusForbidsBody(response.status)) response.body.clear();
    http::response<http::string_body> message{static_cast<http::status>(response.status), version};
    SetFields(message, response, keep_alive);
    if (head) {
      // Announce the length a GET would have, send no body.
      if (!StatusForbidsBody(response.status)) message.content_length(response.body.size());
    } else {
      message.body() = std::move(response.body);
      message.prepare_payload();
    }
    co_return co_await WriteMessage(stream, message);
  } catch (const std::exception& e) {
    // E.g. a handler-supplied header value that Beast rejects. The response is lost; close the connection.
    std::fprintf(stderr, "inferix http: cannot send the response: %s\n", e.what());
    co_return false;
  }
}

// The client may still be sending the body we refused. Closing with unread data makes the kernel reset the
// connection, which can destroy our response in the client's receive buffer: the client would see a network
// error (and retry) instead of the answer. So stop sending, then discard what arrives, for a bounded time.
template <class Stream>
boost::asio::awaitable<void> LingeringClose(Stream& stream, const std::atomic<bool>& stopping) {
  namespace beast = boost::beast;
  auto& layer = beast::get_lowest_layer(stream);
  beast::error_code ignored;
  layer.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  const auto deadline = std::chrono::steady_clock::now() + kLingerTime;
  std::vector<char> sink(size_t{64} * 1024);
  uint64_t discarded = 0;
  while (discarded < kLingerBytes && !stopping) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    layer.expires_after(left);
    auto [ec, n] = co_await layer.async_read_some(boost::asio::buffer(sink), kNoThrow);
    if (ec) break;
    discarded += n;
  }
  layer.expires_never();
}

}  // namespace inferix::net::internal
