#pragma once
// The HTTP API under /api/v1: a route table (api_routes.hpp) of thin handlers, one file per resource
// (routes_*.cpp), over the scheduler and the services and the object store below the edge.
#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "domain/ports.hpp"
#include "manager/api_metrics.hpp"
#include "manager/identity.hpp"
#include "manager/quotas.hpp"
#include "manager/scheduler.hpp"
#include "manager/sessions.hpp"
#include "manager/wakeups.hpp"
#include "net/http.hpp"
#include "net/limits.hpp"

namespace inferix::store {
class ChangeFeed;
}

namespace inferix::manager {

/// Settings the API needs beyond its collaborators.
struct ApiOptions {
  int64_t long_poll_ms = 25'000;
  int64_t url_ttl_s = 3600;                     ///< how long the presigned URLs in answers last
  bool secure_cookies = false;                  ///< the manager speaks TLS: session cookies get Secure
  int64_t max_output_bytes = int64_t{2} << 30;  ///< the largest frame a node's upload URL accepts
  SessionLimits sessions;                       ///< browser sessions' lifetime and number per user
  QuotaDefaults quotas{};                  ///< every user's limits where the operator set none of their own
  uint64_t max_upload_bytes = 4ull << 30;  ///< largest scene upload or presigned PUT (spooled to disk)
  uint64_t max_json_bytes = 16ull << 20;   ///< largest body of any other request (kept in memory)
  /// Requests each presented credential (API token, session cookie, node token) may make per second once
  /// its burst is spent; 0: no limit. Long-poll waits do not count.
  double rate_per_s = 1000;
  double rate_burst = 2000;
  /// With an S3 store, scene files larger than this go up in parts (POST /files/{sha}/upload)
  int64_t multipart_threshold_bytes = int64_t{4096} << 20;
  /// Where the API keeps its request metrics and what GET /metrics renders; null: the process's registry
  /// (metrics::DefaultRegistry), where the store's metrics are too. Tests that count give their own.
  metrics::Registry* metrics = nullptr;
};

/// The bytes this manager process carried itself, as GET /api/v1/health reports them ("traffic"): with an
/// object store of its own (S3) the presigned-URL route /api/v1/blobs/ answers nothing, and nodes and users
/// move every image straight to the store; scenes still come through the files route (counted apart).
struct Traffic {
  std::atomic<int64_t> blob_requests{0};  ///< requests that reached /api/v1/blobs/, refused ones included
  std::atomic<int64_t> blob_bytes{0};     ///< bytes of bodies taken in or sent out on that route
  std::atomic<int64_t> file_requests{0};  ///< requests on /api/v1/files/ (scene files)
  std::atomic<int64_t> file_bytes{0};     ///< bytes of bodies taken in or sent out on that route
};

/// Routes and answers requests; runs on the store thread.
class Api {
 public:
  Api(domain::Store& store, domain::ObjectStore& blobs, Scheduler& scheduler, const Clock& clock,
      ApiOptions options)
      : store_(store),
        blobs_(blobs),
        scheduler_(scheduler),
        clock_(clock),
        options_(options),
        limiter_(clock, options.rate_per_s, options.rate_burst),
        metrics_(options.metrics != nullptr ? *options.metrics : metrics::DefaultRegistry()) {}
  /// Answers one request; never throws for bad input. Each run is recorded in the request metrics.
  net::HttpResponse Handle(const net::HttpRequest& request);
  /// Decides from a request's head, before its body is read (net::Admit): authenticates the caller exactly
  /// as the route will (401/403 otherwise), takes one request of the credential's rate (429 with
  /// Retry-After beyond it), and says how large the body may be and whether it is spooled to disk (scene
  /// uploads) or kept in memory (JSON).
  net::Admission Admit(const net::HttpRequest& head);
  /// The admission of a request to a presigned object URL, whose checks (signature, and for an upload the
  /// node it was issued to) came to `verified`: refused with its error, or its body taken up to the smaller
  /// of the URL's own limit `url_max_bytes` (0: none) and the upload limit; an upload is always spooled.
  net::Admission AdmitSigned(const net::HttpRequest& head, const Result<void>& verified,
                             uint64_t url_max_bytes);
  /// Refusals counted by the HTTP server and by Admit; GET /api/v1/health reports them.
  net::LimitCounters& counters() { return counters_; }
  /// Counts a request to the presigned-URL route (its admission, refused or not).
  void CountBlobRequest() { ++traffic_.blob_requests; }
  /// Counts the bytes of an answered request to the presigned-URL route, and the request in the metrics.
  void CountBlobBytes(const net::HttpRequest& request, const net::HttpResponse& response);
  /// Long polls consult `feed` (other managers' wake-ups) before reading the tables again; it outlives the
  /// Api.
  void SetChangeFeed(const store::ChangeFeed* feed) { changes_ = feed; }
  /// The wake-ups of waiting claims (the manager wires them to the server and the scheduler).
  Wakeups& wakeups() { return wakeups_; }
  /// Writes when nodes were last heard from (the manager calls it on the store thread, twice a second).
  Result<void> FlushSeenNodes() { return seen_.Flush(store_); }

 private:
  /// Handle without the metrics, telling them the route and the node as it finds them.
  net::HttpResponse Answer(const net::HttpRequest& request, Routed& routed);
  domain::Store& store_;
  domain::ObjectStore& blobs_;
  Scheduler& scheduler_;
  const Clock& clock_;
  ApiOptions options_;
  net::LimitCounters counters_;
  Traffic traffic_;
  net::RateLimiter limiter_;
  RequestMetrics metrics_;
  const store::ChangeFeed* changes_ = nullptr;
  Wakeups wakeups_;
  SeenNodes seen_;
};

}  // namespace inferix::manager
