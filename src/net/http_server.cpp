#include "net/http_server.hpp"

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/http_exchange.hpp"

namespace inferix::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using internal::BuildRequest;
using internal::ErrorResponse;
using internal::ServeRange;
using internal::SetFields;
using internal::StatusForbidsBody;
using internal::ToLower;

// A connection that sends nothing for this long (between requests, or in the middle of one) is closed, so
// idle or stalled clients cannot pin file descriptors forever. Long-poll waits do not count: the server is
// silent then.
constexpr auto kIdleTimeout = std::chrono::seconds(120);
// Bearer tokens, cookies and signed URLs fit easily; Beast's 8 KiB default is tight for large cookies.
constexpr uint32_t kHeaderLimit = 64 * 1024;
// Bounds on reading and discarding a refused request's body before closing (see LingeringClose).
constexpr auto kLingerTime = std::chrono::seconds(2);
// A TLS client must finish its handshake within this.
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
constexpr uint64_t kLingerBytes = 64ull << 20;
// Errors are returned as values (as_tuple), never thrown, so a bad peer is ordinary control flow.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One accepted connection, plain or TLS. Only its own coroutine and closures posted to its strand touch it.
struct Connection {
  virtual ~Connection() = default;
  // Makes every pending and future operation fail; must run on the connection's strand.
  virtual void Close() = 0;
  virtual asio::any_io_executor Executor() = 0;
};

template <class Stream>
struct BasicConnection final : Connection {
  template <class... Args>
  explicit BasicConnection(Args&&... args)
      : stream(std::forward<Args>(args)...), timer(stream.get_executor()) {}
  void Close() override {
    auto& layer = beast::get_lowest_layer(stream);
    beast::error_code ec;
    layer.socket().shutdown(tcp::socket::shutdown_both, ec);
    layer.close();
    timer.cancel();
  }
  asio::any_io_executor Executor() override { return stream.get_executor(); }
  Stream stream;
  asio::steady_timer timer;
};

using PlainConnection = BasicConnection<beast::tcp_stream>;
using TlsConnection = BasicConnection<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        io_(std::max(1, options_.io_threads)),
        acceptor_(asio::make_strand(io_)) {}

  Result<void> Start() {
    std::lock_guard stop_lock(lifecycle_mu_);
    if (started_) return MakeError(Errc::kConflict, "HTTP server: Start() called twice; create a new server");
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) INFERIX_TRY(LoadTls());
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
      return MakeError(Errc::kInvalidArgument, "HTTP server: cannot resolve listen address " + where + ": " +
                                                   ec.message() +
                                                   "; give an IP address or a resolvable host name");
    }
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    auto fail = [&](const char* step) -> Result<void> {
      beast::error_code ignored;
      acceptor_.close(ignored);
      return MakeError(Errc::kUnavailable, std::string("HTTP server: cannot ") + step + " " + where + ": " +
                                               ec.message() + "; is another process using the port?");
    };
    if (acceptor_.open(endpoint.protocol(), ec)) return fail("open a socket for");
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) return fail("set SO_REUSEADDR on");
    if (acceptor_.bind(endpoint, ec)) return fail("bind");
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return fail("read the bound port of");

    started_ = true;
    running_ = true;
    asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
    handler_work_.emplace(handler_io_.get_executor());
    handler_thread_ = std::thread([this] { RunLoop(handler_io_, "handler"); });
    const int threads = std::max(1, options_.io_threads);
    for (int i = 0; i < threads; ++i) io_threads_.emplace_back([this] { RunLoop(io_, "io"); });
    return Ok();
  }

  void Stop() {
    std::lock_guard stop_lock(lifecycle_mu_);
    if (!running_) return;
    running_ = false;
    // Joining ourselves would deadlock; Stop belongs to the owner's thread.
    assert(std::this_thread::get_id() != handler_thread_.get_id());
    {
      std::lock_guard lock(connections_mu_);
      stopping_ = true;
      for (const auto& connection : connections_) {
        asio::post(connection->Executor(), [connection] { connection->Close(); });
      }
    }
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    // The io threads end by themselves once every connection coroutine has seen its socket closed; a
    // coroutine waiting for a handler is resumed when that handler returns, so the handler thread must
    // outlive them.
    for (auto& thread : io_threads_) thread.join();
    io_threads_.clear();
    handler_work_.reset();
    handler_thread_.join();
  }

  void Post(std::function<void()> fn) {
    asio::post(handler_io_, [fn = std::move(fn)] {
      try {
        fn();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "inferix http: posted task threw: %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "inferix http: posted task threw a non-standard exception\n");
      }
    });
  }

  uint16_t port() const { return port_; }

 private:
  static void RunLoop(asio::io_context& io, const char* name) {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "inferix http: exception on the %s thread: %s\n", name, e.what());
      }
    }
  }

  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), kNoThrow);
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // E.g. out of file descriptors: back off instead of spinning, then keep serving.
        std::fprintf(stderr, "inferix http: accept failed: %s\n", ec.message().c_str());
        asio::steady_timer backoff(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
        co_await backoff.async_wait(kNoThrow);
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const bool launched = tls_ ? Launch(std::make_shared<TlsConnection>(std::move(socket), *tls_))
                                 : Launch(std::make_shared<PlainConnection>(std::move(socket)));
      if (!launched) co_return;
    }
  }

  // Registers a new connection (so that Stop can close it) and starts serving it; false when stopping.
  template <class C>
  bool Launch(std::shared_ptr<C> connection) {
    {
      std::lock_guard lock(connections_mu_);
      if (stopping_) return false;
      connections_.insert(connection);
    }
    asio::co_spawn(connection->stream.get_executor(), Serve(connection),
                   [this, connection](const std::exception_ptr& error) {
                     if (error) {
                       try {
                         std::rethrow_exception(error);
                       } catch (const std::exception& e) {
                         std::fprintf(stderr, "inferix http: connection failed: %s\n", e.what());
                       } catch (...) {
                       }
                     }
                     std::lock_guard lock(connections_mu_);
                     connections_.erase(connection);
                   });
    return true;
  }

  // Reads the certificate chain and key for HTTPS; TLS 1.2 and later only.
  Result<void> LoadTls() {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return MakeError(Errc::kInvalidArgument,
                       "HTTPS needs both a certificate (--tls-cert) and its key (--tls-key)");
    }
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) {
      return MakeError(Errc::kInvalidArgument, "cannot use the TLS certificate " + options_.tls_cert_file +
                                                   ": " + ec.message() + "; give a PEM certificate chain");
    }
    tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return MakeError(Errc::kInvalidArgument, "cannot use the TLS key " + options_.tls_key_file + ": " +
                                                   ec.message() + "; give the certificate's PEM private key");
    }
    return Ok();
  }

  // Serves one connection: requests one after another while the client keeps the connection alive.
  template <class C>
  asio::awaitable<void> Serve(std::shared_ptr<C> connection) {
    auto& stream = connection->stream;
    auto& layer = beast::get_lowest_layer(stream);
    if constexpr (std::is_same_v<C, TlsConnection>) {
      layer.expires_after(kHandshakeTimeout);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
      if (ec) co_return;  // not TLS, a certificate the client refused, or too slow: nothing to answer
    }
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(options_.max_body_bytes);

      layer.expires_after(kIdleTimeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
      if (ec) {
        co_await ReplyToReadError(stream, ec, 11);
        co_return;
      }
      const unsigned version = parser.get().version();
      if (!parser.is_done() &&
          ToLower(std::string_view(parser.get()[http::field::expect])) == "100-continue") {
        // Without this curl waits a second before sending a large body.
        http::response<http::empty_body> go_on{http::status::continue_, version};
        auto [wec, wn] = co_await http::async_write(stream, go_on, kNoThrow);
        if (wec) co_return;
      }
      while (!parser.is_done()) {
        layer.expires_after(kIdleTimeout);
        auto [bec, bn] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
        if (bec) {
          co_await ReplyToReadError(stream, bec, version);
          co_return;
        }
      }
      layer.expires_never();

      bool keep_alive = parser.get().keep_alive();
      HttpRequest request;
      std::optional<HttpResponse> response;
      if (!BuildRequest(parser.release(), request)) {
        response = ErrorResponse(400, "invalid_argument", "malformed request target; expected /path?query");
      } else {
        response = co_await Respond(*connection, request, buffer.size() == 0);
      }
      if (!response) co_return;  // the client went away, or the server is stopping
      if (stopping_) keep_alive = false;
      if (request.method == "GET" && !response->file.empty()) ServeRange(request.Header("range"), *response);
      if (!co_await WriteResponse(stream, request.method == "HEAD", version, keep_alive,
                                  std::move(*response))) {
        co_return;
      }
      if (!keep_alive) {
        beast::error_code ignored;
        layer.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  // After a failed read: answers what deserves an answer (413, 431, 400); the caller then closes the
  // connection.
  template <class Stream>
  asio::awaitable<void> ReplyToReadError(Stream& stream, beast::error_code ec, unsigned version) {
    HttpResponse response;
    if (ec == http::error::body_limit) {
      response = ErrorResponse(
          413, "too_large",
          "request body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
    } else if (ec == http::error::header_limit) {
      response = ErrorResponse(431, "too_large", "request headers exceed the limit");
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      response = ErrorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message());
    } else {
      co_return;  // end of stream, timeouts, resets, cancellation by Stop(): nothing to say
    }
    if (co_await WriteResponse(stream, false, version, false, std::move(response)))
      co_await LingeringClose(stream);
  }

  // The client may still be sending the body we refused. Closing with unread data makes the kernel reset the
  // connection, which can destroy our response in the client's receive buffer: the client would see a network
  // error (and retry) instead of the 413. So stop sending, then discard what arrives, for a bounded time.
  template <class Stream>
  asio::awaitable<void> LingeringClose(Stream& stream) {
    auto& layer = beast::get_lowest_layer(stream);
    beast::error_code ignored;
    layer.socket().shutdown(tcp::socket::shutdown_send, ignored);
    const auto deadline = std::chrono::steady_clock::now() + kLingerTime;
    std::vector<char> sink(size_t{64} * 1024);
    uint64_t discarded = 0;
    while (discarded < kLingerBytes && !stopping_) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      layer.expires_after(left);
      auto [ec, n] = co_await layer.async_read_some(asio::buffer(sink), kNoThrow);
      if (ec) break;
      discarded += n;
    }
    layer.expires_never();
  }

  // Calls the handler, waiting between calls while it asks for a long-poll retry. nullopt: send nothing.
  template <class C>
  asio::awaitable<std::optional<HttpResponse>> Respond(C& connection, const HttpRequest& request,
                                                       bool watch_client) {
    for (;;) {
      HttpResponse response = co_await RunHandler(request);
      if (response.retry_after_ms <= 0) co_return response;
      if (stopping_) co_return std::nullopt;
      connection.timer.expires_after(std::chrono::milliseconds(response.retry_after_ms));
      if (watch_client) {
        // A readable socket during the wait means the client closed (or pipelined another request).
        auto& socket = beast::get_lowest_layer(connection.stream).socket();
        auto which = co_await (connection.timer.async_wait(kNoThrow) ||
                               socket.async_wait(tcp::socket::wait_read, kNoThrow));
        if (which.index() == 1) {
          beast::error_code ec;
          const size_t available = socket.available(ec);
          if (ec || std::get<0>(std::get<1>(which)) || available == 0) co_return std::nullopt;
          // Pipelined bytes: the client is alive; stop watching, it would wake us at once every time.
          watch_client = false;
          co_await connection.timer.async_wait(kNoThrow);
        }
      } else {
        co_await connection.timer.async_wait(kNoThrow);
      }
      if (stopping_) co_return std::nullopt;
    }
  }

  // Runs the handler on the handler thread; the awaiting coroutine resumes on its own strand afterwards.
  asio::awaitable<HttpResponse> RunHandler(const HttpRequest& request) {
    co_return co_await asio::co_spawn(
        handler_io_, [this, &request]() -> asio::awaitable<HttpResponse> { co_return CallHandler(request); },
        asio::use_awaitable);
  }

  HttpResponse CallHandler(const HttpRequest& request) {
    try {
      return handler_(request);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "inferix http: handler for %s %s threw: %s\n", request.method.c_str(),
                   request.target.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "inferix http: handler for %s %s threw a non-standard exception\n",
                   request.method.c_str(), request.target.c_str());
    }
    return ErrorResponse(500, "internal", "the server failed to handle the request; retry, or report it");
  }

  template <class Stream>
  asio::awaitable<bool> WriteResponse(Stream& stream, bool head, unsigned version, bool keep_alive,
                                      HttpResponse response) {
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

  // Writes piece by piece so the idle timeout limits each stall rather than the whole (possibly huge)
  // transfer.
  template <class Stream, class Body>
  static asio::awaitable<bool> WriteMessage(Stream& stream, http::response<Body>& message) {
    http::response_serializer<Body> serializer(message);
    while (!serializer.is_done()) {
      beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
      auto [ec, n] = co_await http::async_write_some(stream, serializer, kNoThrow);
      if (ec) co_return false;
    }
    beast::get_lowest_layer(stream).expires_never();
    co_return true;
  }

  ServerOptions options_;
  Handler handler_;
  asio::io_context io_;
  asio::io_context handler_io_{1};
  // Declared after handler_io_ so that it is destroyed first.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> handler_work_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;

  std::mutex lifecycle_mu_;  // serialises Start and Stop
  bool started_ = false;
  bool running_ = false;
  std::atomic<bool> stopping_ = false;

  std::mutex connections_mu_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  std::optional<ssl::context> tls_;  // set when serving HTTPS

  std::thread handler_thread_;
  std::vector<std::thread> io_threads_;
};

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Post(std::function<void()> fn) { impl_->Post(std::move(fn)); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace inferix::net
