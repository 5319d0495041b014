#pragma once
// The HTTP API's own metrics (issue #16; docs/operations.md, "Metrics and alerts"): requests by route
// pattern, method and status class, the time handlers take, and uploads. GET /metrics (routes_metrics.cpp)
// renders them with the state it reads when scraped.
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// What the request metrics learn of a request while it is answered.
struct Routed {
  /// The route's pattern ("/api/v1/jobs/:id"), "other" for an API path no route answers, "dashboard" for the
  /// dashboard's pages: never the path itself, whose ids would make a series per object.
  std::string route = "dashboard";
  std::string node_role;  ///< the authenticated node's role ("worker", "verifier"); "" for a user or nobody
};

/// What the API records of the requests it answers, in one registry.
class RequestMetrics {
 public:
  /// Registers the families in `registry` (the same families again for a second Api on it).
  explicit RequestMetrics(metrics::Registry& registry);
  /// One run of a handler that took `seconds`. Every run is timed; a request is counted, with what it
  /// uploaded or claimed, once it is answered: a long poll's runs while it waits are not requests.
  void Record(const net::HttpRequest& req, const Routed& routed, const net::HttpResponse& response,
              double seconds);
  /// A request to the presigned-URL route (/api/v1/blobs/), answered: counted, with what it uploaded. Its
  /// time is not the handler's (the body streams), so it is not timed.
  void RecordBlob(const net::HttpRequest& req, const net::HttpResponse& response);
  /// Where the families are: what GET /metrics renders.
  metrics::Registry& registry() const { return registry_; }

 private:
  void Count(const net::HttpRequest& req, std::string_view route, const net::HttpResponse& response);
  metrics::Registry& registry_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& seconds_;
  metrics::Family<metrics::Counter>& uploads_;
  metrics::Family<metrics::Counter>& upload_bytes_;
  metrics::Family<metrics::Counter>& claimed_;
};

}  // namespace inferix::manager
