#pragma once
// The HTTP server: Boost.Beast + Asio with C++20 coroutines on its io threads; handlers run elsewhere.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "net/http.hpp"
#include "net/limits.hpp"

namespace inferix::net {

/// Called for every request. Runs on the server's single handler thread, one request at a time, never on the
/// I/O thread, so a handler may block on SQLite or the disk without stalling other connections' I/O. The I/O
/// is one thread: Asio 1.81's awaitable operators (the deadlines' `||`) are not safe when one connection's
/// coroutine moves between threads (asio issue 1348; a double free under ASan with three I/O threads).
using Handler = std::function<HttpResponse(const HttpRequest&)>;

/// Decides, from a request's head (HttpRequest without its body; body_size is the announced Content-Length,
/// 0 when unknown), whether and how its body is read. Runs on the handler thread, like the handler, before
/// any body byte is read.
using Admit = std::function<Admission(const HttpRequest& head)>;

/// Listening address and limits.
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  ///< 0: any free port (see HttpServer::port())
  /// >= 0: serve on this listening TCP socket, inherited from whoever started the process (host and port are
  /// then unused): its address is known, and connections queue in it, before the server starts.
  int listen_fd = -1;
  uint64_t max_body_bytes = 1ull << 30;  ///< larger bodies get 413 with a JSON error, whatever `admit` says
  std::string tls_cert_file;             ///< both set: serve HTTPS (PEM certificate chain and key)
  std::string tls_key_file;
  /// Called with each request's head before its body is read; empty: every body up to max_body_bytes (and the
  /// in-memory cap) is admitted into memory, without involving the handler thread.
  Admit admit;
  uint64_t max_memory_body_bytes = 16ull << 20;  ///< a body kept in memory is at most this (larger: 413)
  /// Where admitted bodies are spooled (HttpRequest::body_file); emptied at Start, as files there are
  /// leftovers of a crash. Empty: bodies admitted for spooling are kept in memory under the in-memory cap.
  std::filesystem::path spool_dir;
  uint64_t max_connections = 0;  ///< open connections in all; beyond: 503. 0: derived from RLIMIT_NOFILE
  uint64_t max_connections_per_address = 256;  ///< open connections of one client address; beyond: 429
  /// The headers of a request must all arrive within this of its first byte (else 408); the wait for the
  /// first byte of the next request on a kept-alive connection is idle_timeout.
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds idle_timeout{120'000};  ///< a connection silent this long between requests closes
  /// A body must arrive within body_timeout plus its size at min_body_rate bytes per second (else 408).
  std::chrono::milliseconds body_timeout{60'000};
  uint64_t min_body_rate = uint64_t{64} * 1024;
  /// Where refusals are counted (shared with whoever reports them); nullptr: the server's own counters.
  LimitCounters* counters = nullptr;
};

/// An HTTP/1.1 server with keep-alive, long-poll support and bounded request bodies.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  /// Binds and starts serving on background threads; returns an error when the address cannot be bound.
  Result<void> Start();
  /// The bound port (after Start).
  uint16_t port() const;
  /// The refusals counted so far (the counters of ServerOptions::counters when given).
  const LimitCounters& counters() const;
  /// Runs `fn` on the handler thread (serialised with handlers), e.g. for periodic housekeeping.
  void Post(std::function<void()> fn);
  /// Stops accepting, closes connections and joins the threads.
  void Stop();
  /// Ends the waits of up to `n` long polls parked under `key` (HttpResponse::wait_key), oldest first: their
  /// handlers run again now. Any thread. Returns how many were woken.
  size_t Wake(const std::string& key, size_t n);
  /// How many long polls are parked under `key`.
  size_t Waiting(const std::string& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferix::net
