#pragma once
// The HTTP API under /api/v1: a route table (api_routes.hpp) of thin handlers, one file per resource
// (routes_*.cpp), over the scheduler and the services and the object store below the edge.
#include <string>

#include "core/clock.hpp"
#include "domain/ports.hpp"
#include "manager/quotas.hpp"
#include "manager/scheduler.hpp"
#include "manager/sessions.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// Settings the API needs beyond its collaborators.
struct ApiOptions {
  int64_t long_poll_ms = 25'000;
  int64_t url_ttl_s = 3600;                     ///< how long the presigned URLs in answers last
  bool secure_cookies = false;                  ///< the manager speaks TLS: session cookies get Secure
  int64_t max_output_bytes = int64_t{2} << 30;  ///< the largest frame a node's upload URL accepts
  SessionLimits sessions;                       ///< browser sessions' lifetime and number per user
  QuotaDefaults quotas{};  ///< every user's limits where the operator set none of their own
};

/// Routes and answers requests; runs on the store thread.
class Api {
 public:
  Api(domain::Store& store, domain::ObjectStore& blobs, Scheduler& scheduler, const Clock& clock,
      ApiOptions options)
      : store_(store), blobs_(blobs), scheduler_(scheduler), clock_(clock), options_(options) {}
  /// Answers one request; never throws for bad input.
  net::HttpResponse Handle(const net::HttpRequest& request);

 private:
  domain::Store& store_;
  domain::ObjectStore& blobs_;
  Scheduler& scheduler_;
  const Clock& clock_;
  ApiOptions options_;
};

}  // namespace inferix::manager
