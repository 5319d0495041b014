#pragma once
// Limits before work: what the HTTP server and the API refuse before spending memory, descriptors or time on
// a request (issue #14), the counters of every refusal, and a per-credential request rate limiter.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "net/http.hpp"

namespace inferix::net {

/// How many requests and connections were refused, by kind; shared by the server and its admission callback,
/// and reported by the manager's health endpoint.
struct LimitCounters {
  std::atomic<uint64_t> connections_total = 0;  ///< 503: the server's open connections were at their cap
  std::atomic<uint64_t> connections_per_address = 0;  ///< 429: one client address had too many connections
  std::atomic<uint64_t> accept_failures = 0;          ///< accept failed (e.g. out of file descriptors)
  std::atomic<uint64_t> header_timeouts = 0;          ///< 408: headers did not arrive within their deadline
  std::atomic<uint64_t> body_timeouts = 0;            ///< 408: the body came slower than the minimum rate
  std::atomic<uint64_t> too_large = 0;                ///< 413: a body over the route's limit
  std::atomic<uint64_t> unauthenticated = 0;  ///< 401/403 answered from the headers, before any body byte
  std::atomic<uint64_t> rate_limited = 0;     ///< 429: a credential sent requests faster than its rate
};

/// How the server takes one request's body, decided from its head before any body byte is read.
struct Admission {
  /// Set: answer this at once and read no body (the connection is then closed if a body was announced).
  std::optional<HttpResponse> refusal;
  uint64_t max_body_bytes = 0;  ///< larger bodies get 413 without being read
  /// Write the body to a file in the server's spool folder, hashing it as it arrives, instead of memory
  /// (HttpRequest::body_file, body_sha256). Without it the body is kept in memory, at most the server's
  /// in-memory cap.
  bool spool = false;
};

/// The answer to a refused request: status, the API's JSON error shape, and Retry-After when given.
HttpResponse Refusal(int status, std::string_view code, std::string_view message, int64_t retry_after_s = 0);

/// How long after the body began the next body bytes may still arrive, once `received` bytes have: `base`
/// plus the time those bytes take at `min_rate` bytes per second. What counts is what arrived, not what the
/// request announced, so a client must keep its average rate above `min_rate` once `base` has passed.
std::chrono::steady_clock::duration BodyAllowance(uint64_t received, std::chrono::milliseconds base,
                                                  uint64_t min_rate);

/// The most connections a server can hold given the process's open-file limit (RLIMIT_NOFILE): each may hold
/// a socket and a spooled body's file; some descriptors stay for the database, blobs and logs.
uint64_t ConnectionCapFromFileLimit();

/// A token bucket per credential: each credential may make `burst` requests at once and `per_second` more
/// each second after. Thread-safe; the clock is injected for tests.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double per_second, double burst);
  /// Takes one token of `credential`'s bucket: 0 when the request may go on, otherwise the milliseconds until
  /// a token is available (the request should be refused with 429 and Retry-After). A rate of 0 means no
  /// limit.
  int64_t Take(const std::string& credential);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  // Drops buckets that have refilled completely (they hold nothing a new bucket would not), so a stream of
  // distinct credentials cannot grow the map without bound.
  void Prune(int64_t now_ms);

  const Clock& clock_;
  double per_second_;
  double burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  int64_t pruned_ms_ = 0;
};

/// Logs a recurring condition at most once a second, with how many times it happened since the last line, so
/// an attack cannot flood the log (e.g. accept failing while out of file descriptors).
class RateLimitedLog {
 public:
  /// Notes one occurrence of `what`; prints "inferix http: <what> (<n> times in the last <s> s)" when a
  /// second has passed since the last line.
  void Note(const std::string& what);

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t count_ = 0;
};

}  // namespace inferix::net
