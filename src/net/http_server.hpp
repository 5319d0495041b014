#pragma once
// The HTTP server: Boost.Beast + Asio with C++20 coroutines on its io threads; handlers run elsewhere.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "net/http.hpp"

namespace inferix::net {

/// Called for every request. Runs on the server's single handler thread, one request at a time, never on an
/// io thread, so a handler may block on SQLite or the disk without stalling other connections' I/O.
using Handler = std::function<HttpResponse(const HttpRequest&)>;

/// Listening address and limits.
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                     ///< 0: any free port (see HttpServer::port())
  uint64_t max_body_bytes = 1ull << 30;  ///< larger bodies get 413 with a JSON error
  int io_threads = 1;
  std::string tls_cert_file;  ///< both set: serve HTTPS (PEM certificate chain and key)
  std::string tls_key_file;
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
  /// Runs `fn` on the handler thread (serialised with handlers), e.g. for periodic housekeeping.
  void Post(std::function<void()> fn);
  /// Stops accepting, closes connections and joins the threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferix::net
