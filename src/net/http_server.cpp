#include "net/http_server.hpp"

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
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

#include "core/crypto.hpp"
#include "net/http_connection.hpp"
#include "net/http_exchange.hpp"
#include "net/http_io.hpp"
#include "net/http_server_util.hpp"
#include "net/spool_body.hpp"
#include "net/wait_list.hpp"

namespace inferix::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using internal::BodyRate;
using internal::BodyRead;
using internal::BuildHead;
using internal::EmptySpoolFolder;
using internal::ErrorResponse;
using internal::Guarded;
using internal::kNoThrow;
using internal::LingeringClose;
using internal::LoadTlsContext;
using internal::LongPollWait;
using internal::OpenReserveDescriptor;
using internal::ReadBody;
using internal::RefuseConnection;
using internal::ServeRange;
using internal::ShedOneConnection;
using internal::SpoolBody;
using internal::SpoolFile;
using internal::ToLower;
using internal::TooLarge;
using internal::WithDeadline;
using internal::WriteResponse;

using internal::Connection;
using internal::PlainConnection;
using internal::TlsConnection;

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        counters_(options_.counters != nullptr ? *options_.counters : own_counters_),
        io_(1),
        acceptor_(asio::make_strand(io_)) {}

  ~Impl() {
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Result<void> Start() {
    std::lock_guard stop_lock(lifecycle_mu_);
    if (started_) return MakeError(Errc::kConflict, "HTTP server: Start() called twice; create a new server");
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty())
      INFERIX_TRY(LoadTlsContext(options_.tls_cert_file, options_.tls_key_file, tls_));
    if (!options_.spool_dir.empty()) INFERIX_TRY(EmptySpoolFolder(options_.spool_dir));
    max_connections_ = options_.max_connections > 0 ? options_.max_connections : ConnectionCapFromFileLimit();
    beast::error_code ec;
    if (options_.listen_fd >= 0) {
      INFERIX_TRY(internal::AdoptListeningSocket(acceptor_, options_.listen_fd));
    } else {
      INFERIX_TRY(internal::Listen(acceptor_, options_.host, options_.port));
    }
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) {
      return MakeError(Errc::kUnavailable, "HTTP server: cannot read the bound port: " + ec.message());
    }
    // Accepting one connection while out of descriptors (ShedOneConnection) must fail rather than wait.
    if (acceptor_.non_blocking(true, ec)) {
      return MakeError(Errc::kUnavailable,
                       "HTTP server: cannot make the listening socket non-blocking: " + ec.message());
    }
    reserve_fd_ = OpenReserveDescriptor();

    started_ = true;
    running_ = true;
    asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
    handler_work_.emplace(handler_io_.get_executor());
    handler_thread_ = std::thread([this] { RunLoop(handler_io_, "handler"); });
    io_threads_.emplace_back([this] { RunLoop(io_, "io"); });
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
  const LimitCounters& counters() const { return counters_; }
  WaitList& waiting() { return waiting_; }

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
        ++counters_.accept_failures;
        log_.Note("accept failed: " + ec.message());
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
          // Out of descriptors: the pending connection would fail accept again at once, for ever. Give the
          // reserve descriptor up to take it, answer it 503 and close it, so the queue drains and the server
          // answers again as soon as connections end.
          if (ShedOneConnection(acceptor_, reserve_fd_)) {
            ++counters_.connections_total;
            continue;
          }
        }
        asio::steady_timer backoff(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
        co_await backoff.async_wait(kNoThrow);
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const std::string address = socket.remote_endpoint(ignored).address().to_string();
      const Admitted admitted = Register(address);
      if (admitted == Admitted::kStopping) co_return;
      if (admitted != Admitted::kYes) {
        Refuse(std::move(socket), admitted);
        continue;
      }
      const bool launched = tls_ ? Launch(std::make_shared<TlsConnection>(address, std::move(socket), *tls_))
                                 : Launch(std::make_shared<PlainConnection>(address, std::move(socket)));
      if (!launched) co_return;
    }
  }

  enum class Admitted { kYes, kTooManyInAll, kTooManyFromAddress, kStopping };

  // Counts a new connection of `address` against the caps; kYes when it may be served.
  Admitted Register(const std::string& address) {
    std::lock_guard lock(connections_mu_);
    if (stopping_) return Admitted::kStopping;
    if (connections_.size() >= max_connections_) return Admitted::kTooManyInAll;
    uint64_t& from_address = per_address_[address];  // (the cap is at least 1: never left at 0)
    if (from_address >= options_.max_connections_per_address) return Admitted::kTooManyFromAddress;
    ++from_address;
    return Admitted::kYes;
  }

  // Answers a connection over a cap (503 in all, 429 from one address) and closes it. Plain HTTP only: a TLS
  // client would need a handshake first, which is the work the cap avoids. At most kMaxRefusing refusals are
  // in progress at once; beyond, connections are closed at once.
  void Refuse(tcp::socket socket, Admitted why) {
    const bool in_all = why == Admitted::kTooManyInAll;
    ++(in_all ? counters_.connections_total : counters_.connections_per_address);
    log_.Note(in_all ? "connection refused: the server's connections are at their cap (--max-connections)"
                     : "connection refused: too many connections from one address "
                       "(--max-connections-per-address)");
    if (tls_ || refusing_.fetch_add(1) >= internal::kMaxRefusing) {
      if (!tls_) --refusing_;
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    RefuseConnection(
        std::move(socket),
        in_all ? Refusal(503, "unavailable", "the server has too many open connections; retry later", 5)
               : Refusal(429, "rate_limited",
                         "too many open connections from your address; close some, then retry", 5),
        stopping_, refusing_);
  }

  // Registers a new connection (so that Stop can close it) and starts serving it; false when stopping.
  template <class C>
  bool Launch(std::shared_ptr<C> connection) {
    {
      std::lock_guard lock(connections_mu_);
      if (stopping_) {
        Unregister(connection->address);
        return false;
      }
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
                     Unregister(connection->address);
                   });
    return true;
  }

  // Forgets one connection of `address`; connections_mu_ must be held.
  void Unregister(const std::string& address) {
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }

  // Answers `response` and closes the connection, reading and discarding for a while what the client still
  // sends (a body it had begun) so that it sees the answer.
  // (The result goes through a variable: GCC 12 crashed on a co_await in an if's condition here.)
  template <class Stream>
  asio::awaitable<void> AnswerAndClose(Stream& stream, unsigned version, const HttpResponse& response) {
    const bool written = co_await WriteResponse(stream, false, version, false, response);
    if (written) co_await LingeringClose(stream, stopping_);
  }

  // Serves one connection: requests one after another while the client keeps the connection alive.
  template <class C>
  asio::awaitable<void> Serve(std::shared_ptr<C> connection) {
    auto& stream = connection->stream;
    auto& layer = beast::get_lowest_layer(stream);
    if constexpr (std::is_same_v<C, TlsConnection>) {
      layer.expires_after(internal::kHandshakeTimeout);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
      if (ec) co_return;  // not TLS, a certificate the client refused, or too slow: nothing to answer
    }
    beast::flat_buffer buffer;
    for (;;) {
      if (buffer.size() == 0) {
        // Between requests: the next one's first byte may take as long as the idle timeout.
        layer.expires_after(options_.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(internal::kReadChunk), kNoThrow);
        layer.expires_never();
        if (ec) co_return;
        buffer.commit(n);
      }
      // From its first byte, the whole head must arrive within the header timeout, however it trickles.
      http::request_parser<http::empty_body> head;
      head.header_limit(internal::kHeaderLimit);
      head.body_limit(boost::none);  // each route's limit is applied once the head is known
      auto header = co_await WithDeadline(connection->stream, connection->timer,
                                          std::chrono::steady_clock::now() + options_.header_timeout,
                                          http::async_read_header(stream, buffer, head, kNoThrow));
      if (!header) {
        ++counters_.header_timeouts;
        co_await AnswerAndClose(
            stream, 11,
            Refusal(408, "timeout",
                    "the request headers did not arrive within " +
                        std::to_string(options_.header_timeout.count()) + " ms; send them at once"));
        co_return;
      }
      if (auto [ec, n] = *header; ec) {
        co_await ReplyToReadError(stream, ec, 11);
        co_return;
      }
      const unsigned version = head.get().version();
      bool keep_alive = head.get().keep_alive();
      const bool has_body = !head.is_done();
      HttpRequest request;
      if (!BuildHead(head.get(), request)) {
        co_await AnswerAndClose(
            stream, version,
            ErrorResponse(400, "invalid_argument", "malformed request target; expected /path?query"));
        co_return;
      }
      request.body_size = head.content_length().value_or(0);

      // Admission: refused, or how much body to take and where, before any body byte is read.
      Admission admission = co_await Admit(request);
      const bool spool = admission.spool && !options_.spool_dir.empty();
      uint64_t limit = std::min(admission.max_body_bytes, options_.max_body_bytes);
      if (!spool) limit = std::min(limit, options_.max_memory_body_bytes);
      if (!admission.refusal && head.content_length() && *head.content_length() > limit) {
        ++counters_.too_large;
        admission.refusal = TooLarge(limit);
      }
      if (admission.refusal) {
        if (has_body || stopping_) {
          co_await AnswerAndClose(stream, version, std::move(*admission.refusal));
          co_return;
        }
        const bool written = co_await WriteResponse(stream, request.method == "HEAD", version, keep_alive,
                                                    std::move(*admission.refusal));
        if (!written || !keep_alive) co_return;
        continue;
      }

      std::optional<SpoolFile> spooled;  // removed when this request is done with, however it ends
      if (has_body) {
        if (ToLower(std::string_view(head.get()[http::field::expect])) == "100-continue") {
          // Without this curl waits a second before sending a large body.
          http::response<http::empty_body> go_on{http::status::continue_, version};
          auto [wec, wn] = co_await http::async_write(stream, go_on, kNoThrow);
          if (wec) co_return;
        }
        BodyRead read;
        const BodyRate body_rate{options_.body_timeout, options_.min_body_rate};
        if (spool) {
          http::request_parser<SpoolBody> parser(std::move(head));
          parser.body_limit(limit);
          const std::filesystem::path path = NextSpoolPath();
          std::error_code create_ec;
          if (!parser.get().body().Create(path, create_ec)) {
            std::fprintf(stderr, "inferix http: cannot spool a body to %s: %s\n", path.c_str(),
                         create_ec.message().c_str());
            co_await AnswerAndClose(
                stream, version,
                ErrorResponse(503, "unavailable",
                              "the server cannot store the request body now; retry later"));
            co_return;
          }
          spooled.emplace(path);
          read = co_await ReadBody(connection->stream, connection->timer, buffer, parser, body_rate);
          request.body_file = path;
          request.body_sha256 = parser.get().body().digest();
          request.body_size = parser.get().body().size();
        } else {
          http::request_parser<http::string_body> parser(std::move(head));
          parser.body_limit(limit);
          read = co_await ReadBody(connection->stream, connection->timer, buffer, parser, body_rate);
          request.body = std::move(parser.get().body());
          request.body_size = request.body.size();
        }
        // A body that will not be handled is gone before the client hears why: a client that retries at
        // once (a smaller file after "no space left") must find the space the spooled part held free.
        if (read.timed_out || read.ec) spooled.reset();
        if (read.timed_out) {
          ++counters_.body_timeouts;
          co_await AnswerAndClose(
              stream, version,
              Refusal(408, "timeout",
                      "the request body came too slowly: it must arrive within " +
                          std::to_string(options_.body_timeout.count() / 1000) + " s plus 1 s per " +
                          std::to_string(options_.min_body_rate) + " bytes"));
          co_return;
        }
        if (read.ec) {
          co_await ReplyToReadError(stream, read.ec, version, limit);
          co_return;
        }
      }
      request.received_ms = internal::NowMs();

      std::optional<HttpResponse> response = co_await Respond(connection, request, buffer.size() == 0);
      spooled.reset();           // the handler is done with the body: gone before the client hears the answer
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

  std::filesystem::path NextSpoolPath() {
    return options_.spool_dir / ("body-" + std::to_string(++spool_sequence_) + "-" + RandomHex(6));
  }

  // After a failed read: answers what deserves an answer (413, 431, 400); the caller then closes the
  // connection.
  template <class Stream>
  asio::awaitable<void> ReplyToReadError(Stream& stream, beast::error_code ec, unsigned version,
                                         uint64_t limit = 0) {
    HttpResponse response;
    if (ec == http::error::body_limit) {
      ++counters_.too_large;
      response = TooLarge(limit);
    } else if (ec.category() == beast::generic_category()) {
      // Writing a spooled body failed; the partial file is removed with the request.
      response = ErrorResponse(
          503, "unavailable",
          ec.value() == ENOSPC ? "the server cannot store the upload: no space left on the disk; free disk "
                                 "space and retry"
                               : "the server cannot store the upload: " + ec.message() + "; retry later");
    } else if (ec == http::error::header_limit) {
      response = ErrorResponse(431, "too_large", "request headers exceed the limit");
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      response = ErrorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message());
    } else {
      co_return;  // end of stream, resets, cancellation by Stop(): nothing to say
    }
    co_await AnswerAndClose(stream, version, std::move(response));
  }

  // Asks the admission callback, on the handler thread, how to take the request's body.
  asio::awaitable<Admission> Admit(const HttpRequest& head) {
    if (!options_.admit) co_return Admission{std::nullopt, options_.max_body_bytes, false};
    co_return co_await OnHandlerThread<Admission>([this, &head] {
      return Guarded("admission", head, options_.admit,
                     Admission{ErrorResponse(500, "internal",
                                             "the server failed to admit the request; retry, or report it"),
                               0, false});
    });
  }

  // Runs `fn` on the handler thread; the awaiting coroutine resumes on its own executor afterwards. A posted
  // function, not a co_spawn onto handler_io_: co_spawn from a thread that does not run the target context
  // raced in Asio 1.81 (a null awaitable_thread, once a double free, under several I/O threads; Asio issue
  // 552).
  template <class T, class Fn>
  asio::awaitable<T> OnHandlerThread(Fn fn) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
        [this, &fn](auto handler) {
          asio::post(handler_io_, [&fn, handler = std::move(handler)]() mutable {
            T result = fn();
            auto resume_on = asio::get_associated_executor(handler);
            asio::post(resume_on, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable);
  }

  // Calls the handler, waiting between calls while it asks for a long-poll retry. nullopt: send nothing.
  template <class C>
  asio::awaitable<std::optional<HttpResponse>> Respond(const std::shared_ptr<C>& connection,
                                                       const HttpRequest& request, bool watch_client) {
    std::optional<HttpRequest> retry;  // made on the first retry: says when the handler last ran for it
    for (;;) {
      const int64_t started_ms = internal::NowMs();
      const HttpRequest* current =
          retry ? &*retry : &request;                  // not a ?: inside co_await (clang's coroutines)
      const uint64_t wakes_before = waiting_.Wakes();  // a wake-up after the handler's look is not lost
      HttpResponse response = co_await RunHandler(*current);
      if (response.retry_after_ms <= 0) co_return response;
      if (stopping_) co_return std::nullopt;
      if (!retry) retry = request;
      retry->previous_attempt_ms = started_ms;
      WaitList::Token parked = 0;
      if (!response.wait_key.empty()) {
        const uint64_t id = ++wait_sequence_;
        connection->wait_id = id;
        parked = waiting_.Park(
            response.wait_key,
            [weak = std::weak_ptr<C>(connection), id] {
              if (auto c = weak.lock()) asio::post(c->Executor(), [c, id] { c->EndWait(id); });
            },
            wakes_before);
      }
      const bool alive =
          co_await LongPollWait(connection->stream, connection->timer, response.retry_after_ms, watch_client);
      connection->wait_id = 0;
      if (parked != 0) waiting_.Leave(parked);
      if (!alive || stopping_) co_return std::nullopt;
    }
  }

  asio::awaitable<HttpResponse> RunHandler(const HttpRequest& request) {
    co_return co_await OnHandlerThread<HttpResponse>([this, &request] {
      return Guarded(
          "handler", request, handler_,
          ErrorResponse(500, "internal", "the server failed to handle the request; retry, or report it"));
    });
  }

  ServerOptions options_;
  Handler handler_;
  LimitCounters own_counters_;
  LimitCounters& counters_;
  RateLimitedLog log_;
  uint64_t max_connections_ = 0;
  int reserve_fd_ = -1;  // given up to accept (and refuse) one connection when out of descriptors
  std::atomic<int> refusing_ = 0;
  std::atomic<uint64_t> spool_sequence_ = 0;
  std::atomic<uint64_t> wait_sequence_ = 0;
  WaitList waiting_;  // parked long polls by wait key
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
  std::unordered_map<std::string, uint64_t> per_address_;  // open connections by client address
  std::optional<ssl::context> tls_;                        // set when serving HTTPS

  std::thread handler_thread_;
  std::vector<std::thread> io_threads_;
};

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

const LimitCounters& HttpServer::counters() const { return impl_->counters(); }

void HttpServer::Post(std::function<void()> fn) { impl_->Post(std::move(fn)); }

void HttpServer::Stop() { impl_->Stop(); }

size_t HttpServer::Wake(const std::string& key, size_t n) { return impl_->waiting().Wake(key, n); }

size_t HttpServer::Waiting(const std::string& key) const { return impl_->waiting().Waiting(key); }

}  // namespace inferix::net
