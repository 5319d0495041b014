#pragma once
// What the API's resources share: the collaborators below the edge, one call's context, and the route table
// each resource file contributes to (routes_*.cpp). Handlers decode a request (requests.hpp), call the
// scheduler or a service, and encode the answer; rules live below them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "domain/ports.hpp"
#include "manager/api.hpp"
#include "manager/scheduler.hpp"
#include "manager/sessions.hpp"
#include "manager/wakeups.hpp"
#include "net/http.hpp"
#include "net/limits.hpp"
#include "store/change_feed.hpp"

namespace inferix::manager {

/// The collaborators of every handler.
struct ApiServices {
  domain::Store& store;
  domain::ObjectStore& blobs;
  Scheduler& scheduler;
  const Clock& clock;
  const ApiOptions& options;
  /// Wake-ups from the other managers sharing the database (PostgreSQL); null on SQLite.
  const store::ChangeFeed* changes = nullptr;
  /// This manager's own wake-ups of waiting claims.
  Wakeups* wakeups = nullptr;
  /// Nodes heard from, written in batches; null: each sign of life is written at once.
  SeenNodes* seen = nullptr;
  /// The server's refusals (GET /metrics reports them); null where not given.
  const net::LimitCounters* limits = nullptr;
  /// The metrics GET /metrics renders; null: the process's (metrics::DefaultRegistry).
  metrics::Registry* registry = nullptr;

  /// Whether a long-poll retry of `req` may answer "still nothing" without reading the tables (claims of
  /// `kind`, or events when nullopt). False on a first attempt. On a shared database (a change feed): the
  /// feed is listening and has heard nothing since the request's previous attempt, nor did this manager queue
  /// tasks of that kind, and no 5-second mark since the request arrived was passed meanwhile (the tables are
  /// read at least that often, whatever the feed says). Alone on its database (SQLite) a manager sees every
  /// queuing itself: claims are "nothing new" until it queues tasks of their kind; events are always read.
  bool NothingNew(const net::HttpRequest& req, std::optional<domain::TaskKind> kind) const;

  /// A presigned URL of the object store for `method` ("GET" or "PUT") on `key`, good for the API's URL
  /// lifetime; "" for a key the store refuses (it never holds one).
  std::string Sign(const std::string& method, const std::string& key) const;
  /// The dashboard's browser sessions.
  Sessions BrowserSessions() const {
    return Sessions(store, clock, options.secure_cookies, options.sessions);
  }
};

/// Who must be authenticated for a route: nobody (it checks its own credentials, or none), a user (API
/// token or session cookie), an operator (a user with the operator role; another user is refused with 403),
/// or a node (its node token; a banned node is refused, and each call counts as a sign of life).
enum class Auth { kNone, kUser, kOperator, kNode };

/// One request being answered.
struct Call {
  const net::HttpRequest& req;
  ApiServices& api;
  std::vector<std::string> params;   ///< the path segments the route's ":name" segments matched, in order
  std::optional<domain::User> user;  ///< set for Auth::kUser and Auth::kOperator routes
  std::optional<domain::Node> node;  ///< set for Auth::kNode routes
};

using Handler = net::HttpResponse (*)(Call& call);

/// A route: method, path pattern under /api/v1 (segments; ":name" matches any one segment),
/// who must be authenticated, and the handler.
struct Route {
  const char* method;
  const char* pattern;
  Auth auth;
  Handler handler;
};

// Each resource's routes.
std::vector<Route> FileRoutes();     // routes_files.cpp: uploads of scene files
std::vector<Route> JobRoutes();      // routes_jobs.cpp: jobs, their outputs, cancel
std::vector<Route> EventRoutes();    // routes_events.cpp: the event stream
std::vector<Route> SessionRoutes();  // routes_sessions.cpp: dashboard sessions, whoami, health
std::vector<Route> NodeRoutes();     // routes_nodes.cpp: enrollment, capabilities, the workers page
std::vector<Route> TaskRoutes();     // routes_tasks.cpp: the node protocol (claims, reports, verdicts)
std::vector<Route> CreditRoutes();   // routes_credits.cpp: a user's credits and statement (issue #18)
std::vector<Route> MetricRoutes();   // routes_metrics.cpp: GET /metrics (Prometheus), for operators

/// The job `id_text` names if it belongs to `user`; another user's job is reported as not found.
Result<domain::Job> OwnJob(ApiServices& api, const domain::User& user, const std::string& id_text);

}  // namespace inferix::manager
