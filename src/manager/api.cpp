#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>

#include "core/crypto.hpp"

#include "manager/api.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/dashboard.hpp"
#include "manager/identity.hpp"
#include "manager/sessions.hpp"

namespace inferix::manager {

using net::HttpRequest;
using net::HttpResponse;

std::string ApiServices::Sign(const std::string& method, const std::string& key) const {
  const std::chrono::seconds ttl(options.url_ttl_s);
  auto url = method == "PUT" ? blobs.PresignPut(key, ttl, domain::PutTerms{})
                             : blobs.PresignGet(key, ttl, std::nullopt, "");
  return url ? *url : std::string();
}

bool ApiServices::NothingNew(const net::HttpRequest& req, std::optional<domain::TaskKind> kind) const {
  constexpr int64_t kReadAtLeastEveryMs = 5'000;
  if (req.previous_attempt_ms == 0) return false;
  if (kind && wakeups != nullptr && wakeups->QueuedMs(*kind) >= req.previous_attempt_ms) return false;
  if (changes == nullptr) return kind.has_value() && wakeups != nullptr;
  if (!changes->Listening()) return false;
  const int64_t changed = kind ? changes->TasksChangedMs() : changes->EventsChangedMs();
  if (changed >= req.previous_attempt_ms) return false;
  // The server's clock: previous_attempt_ms and received_ms are read off the system clock too.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return (now - req.received_ms) / kReadAtLeastEveryMs ==
         (req.previous_attempt_ms - req.received_ms) / kReadAtLeastEveryMs;
}

Result<domain::Job> OwnJob(ApiServices& api, const domain::User& user, const std::string& id_text) {
  auto id = ParseId(id_text);
  if (!id) return MakeError(Errc::kNotFound, "job " + id_text + " not found");
  auto job = api.store.GetJob(*id);
  if (!job) return job.error();
  if (!job->has_value() || (*job)->user_id != user.id) {
    return MakeError(Errc::kNotFound, "job " + id_text + " not found");
  }
  return **job;
}

namespace {

// A route with its pattern split into segments once, not on every request (idle nodes long-poll claims).
struct CompiledRoute {
  Route route;
  std::vector<std::string> segments;
};

const std::vector<CompiledRoute>& RouteTable() {
  static const std::vector<CompiledRoute> table = [] {
    std::vector<CompiledRoute> all;
    for (const auto& routes : {SessionRoutes(), FileRoutes(), JobRoutes(), EventRoutes(), NodeRoutes(),
                               TaskRoutes(), CreditRoutes(), MetricRoutes()}) {
      for (const Route& r : routes) all.push_back({r, Split(r.pattern)});
    }
    return all;
  }();
  return table;
}

// The segments `parts` give to the pattern's ":name" segments, or nullopt when the path does not match.
std::optional<std::vector<std::string>> Match(const std::vector<std::string>& want,
                                              const std::vector<std::string>& parts) {
  if (want.size() != parts.size()) return std::nullopt;
  std::vector<std::string> params;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with(':')) {
      params.push_back(parts[i]);
    } else if (want[i] != parts[i]) {
      return std::nullopt;
    }
  }
  return params;
}

// Who a path that no route answers must be before hearing so: the node protocol's paths are the nodes',
// the others the users' (a stranger learns nothing of which endpoints exist).
Auth AuthOfUnknown(const std::vector<std::string>& parts) {
  if (!parts.empty() && parts[0] == "tasks") return Auth::kNode;
  if (!parts.empty() && parts[0] == "nodes") return Auth::kNone;
  return Auth::kUser;
}

// Authenticates the call as the route asks; an error answer when it may not go on.
std::optional<HttpResponse> Authenticate(Call& call, Auth auth) {
  if (auth == Auth::kUser || auth == Auth::kOperator) {
    Sessions sessions = call.api.BrowserSessions();
    auto user = AuthenticateUser(call.api.store, sessions, call.req);
    if (!user) return Fail(user.error());
    if (auth == Auth::kOperator && user->role != domain::UserRole::kOperator) {
      return Fail(Errc::kPermissionDenied,
                  "only an operator may ask this; an operator's API token is made with inferix admin token "
                  "create --user NAME --operator");
    }
    call.user = *user;
  } else if (auth == Auth::kNode) {
    auto node = AuthenticateNode(call.api.store, call.api.clock, call.req, call.api.seen);
    if (!node) return Fail(node.error());
    call.node = *node;
  }
  return std::nullopt;
}

// The route a request names, with the parameters its path gives; `found` is null when no route matches.
struct RouteMatch {
  const Route* found = nullptr;
  std::vector<std::string> params;
  std::vector<std::string> parts;
};

RouteMatch FindRoute(const HttpRequest& req) {
  RouteMatch match;
  match.parts = Split(req.path.substr(std::string("/api/v1/").size()));
  for (const CompiledRoute& r : RouteTable()) {
    if (req.method != r.route.method) continue;
    auto matched = Match(r.segments, match.parts);
    if (!matched) continue;
    match.found = &r.route;
    match.params = std::move(*matched);
    break;
  }
  return match;
}

// Routes whose body is spooled to disk and hashed as it arrives rather than kept in memory: uploads of files.
bool IsSpooled(const Route& route) {
  return std::string_view(route.method) == "PUT" && std::string_view(route.pattern) == "files/:sha256";
}

// Answers the request by its route, telling the request metrics which route and which node.
HttpResponse Dispatch(ApiServices& api, const HttpRequest& req, Routed& routed) {
  RouteMatch match = FindRoute(req);
  routed.route = match.found != nullptr ? "/api/v1/" + std::string(match.found->pattern) : "other";
  Call call{req, api, std::move(match.params), std::nullopt, std::nullopt};
  if (auto refused =
          Authenticate(call, match.found != nullptr ? match.found->auth : AuthOfUnknown(match.parts)))
    return *refused;
  if (call.node) routed.node_role = domain::ToString(call.node->role);
  if (match.found == nullptr)
    return Fail(Errc::kNotFound, "no such endpoint: " + req.method + " " + req.path);
  return match.found->handler(call);
}

// The refusal counters, as GET /api/v1/health reports them.
nlohmann::json LimitsJson(const net::LimitCounters& c) {
  return {{"connections_refused_total", c.connections_total.load()},
          {"connections_refused_per_address", c.connections_per_address.load()},
          {"accept_failures", c.accept_failures.load()},
          {"header_timeouts", c.header_timeouts.load()},
          {"body_timeouts", c.body_timeouts.load()},
          {"too_large", c.too_large.load()},
          {"unauthenticated_before_body", c.unauthenticated.load()},
          {"rate_limited", c.rate_limited.load()}};
}

// The body bytes a request took in plus those its answer sends out (a streamed file counts whole).
int64_t BodyBytes(const HttpRequest& request, const HttpResponse& response) {
  auto bytes = static_cast<int64_t>(request.body_size);
  if (!response.file.empty()) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(response.file, ec);
    if (!ec) bytes += static_cast<int64_t>(size);
  } else {
    bytes += static_cast<int64_t>(response.body.size());
  }
  return bytes;
}

nlohmann::json TrafficJson(const Traffic& t) {
  return {{"blob_route_requests", t.blob_requests.load()},
          {"blob_route_bytes", t.blob_bytes.load()},
          {"files_route_requests", t.file_requests.load()},
          {"files_route_bytes", t.file_bytes.load()}};
}

}  // namespace

void Api::CountBlobBytes(const HttpRequest& request, const HttpResponse& response) {
  traffic_.blob_bytes += BodyBytes(request, response);
  metrics_.RecordBlob(request, response);
}

namespace {
// Prometheus' default path, /metrics, is GET /api/v1/metrics (the dashboard owns the other paths outside
// /api/v1/). `storage` holds the renamed copy.
const HttpRequest& Renamed(const HttpRequest& request, std::optional<HttpRequest>& storage) {
  if (request.path != "/metrics") return request;
  storage = request;
  storage->path = "/api/v1/metrics";
  return *storage;
}
}  // namespace

HttpResponse Api::Handle(const HttpRequest& original) {
  const auto started = std::chrono::steady_clock::now();
  std::optional<HttpRequest> renamed;
  const HttpRequest& request = Renamed(original, renamed);
  Routed routed;
  HttpResponse response = Answer(request, routed);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  metrics_.Record(request, routed, response, took.count());
  return response;
}

HttpResponse Api::Answer(const HttpRequest& request, Routed& routed) {
  if (!request.path.starts_with("/api/v1/")) return ServeDashboard(request);
  ApiServices services{store_,   blobs_,    scheduler_, clock_,     options_,
                       changes_, &wakeups_, &seen_,     &counters_, &metrics_.registry()};
  try {
    HttpResponse response = Dispatch(services, request, routed);
    if (request.path.starts_with("/api/v1/files/")) {
      ++traffic_.file_requests;
      traffic_.file_bytes += BodyBytes(request, response);
    }
    if (response.status == 200 && request.method == "GET" && request.path == "/api/v1/health") {
      // The limits are the server's, not a resource's: added here rather than by the health route.
      auto body = nlohmann::json::parse(response.body, nullptr, false);
      if (body.is_object()) {
        body["limits"] = LimitsJson(counters_);
        body["traffic"] = TrafficJson(traffic_);
        response.body = body.dump();
      }
    }
    return response;
  } catch (const std::exception& e) {
    return Fail(Errc::kInternal, std::string("internal error: ") + e.what());
  }
}

net::Admission Api::Admit(const HttpRequest& original) {
  std::optional<HttpRequest> renamed;
  const HttpRequest& head = Renamed(original, renamed);
  net::Admission in_memory{std::nullopt, options_.max_json_bytes, false};
  if (!head.path.starts_with("/api/v1/")) return in_memory;  // the dashboard's pages
  ApiServices services{store_,   blobs_,    scheduler_, clock_,     options_,
                       changes_, &wakeups_, &seen_,     &counters_, &metrics_.registry()};
  try {
    RouteMatch match = FindRoute(head);
    const Auth auth = match.found != nullptr ? match.found->auth : AuthOfUnknown(match.parts);
    Call call{head, services, std::move(match.params), std::nullopt, std::nullopt};
    if (auto refused = Authenticate(call, auth)) {
      ++counters_.unauthenticated;
      return net::Admission{std::move(*refused), 0, false};
    }
    if (auth != Auth::kNone) {
      // The credential as presented: its token, or the session cookie that stands for one.
      std::string credential = head.Header("authorization");
      if (credential.empty()) credential = "cookie " + SessionCookie(head);
      const int64_t wait_ms = limiter_.Take(Sha256Hex(credential));
      if (wait_ms > 0) {
        ++counters_.rate_limited;
        const int64_t wait_s = (wait_ms + 999) / 1000;
        return net::Admission{
            net::Refusal(429, "rate_limited",
                         "too many requests with this credential; retry in " + std::to_string(wait_s) + " s",
                         wait_s),
            0, false};
      }
    }
    if (match.found != nullptr && IsSpooled(*match.found)) {
      return net::Admission{std::nullopt, options_.max_upload_bytes, true};
    }
    return in_memory;
  } catch (const std::exception& e) {
    return net::Admission{Fail(Errc::kInternal, std::string("internal error: ") + e.what()), 0, false};
  }
}

net::Admission Api::AdmitSigned(const HttpRequest& head, const Result<void>& verified,
                                uint64_t url_max_bytes) {
  if (!verified) {
    ++counters_.unauthenticated;
    return net::Admission{Fail(verified.error()), 0, false};
  }
  const uint64_t limit =
      url_max_bytes > 0 ? std::min(url_max_bytes, options_.max_upload_bytes) : options_.max_upload_bytes;
  // An upload is spooled and hashed as it arrives; the endpoint moves the file into the object store.
  return net::Admission{std::nullopt, limit, head.method == "PUT"};
}

}  // namespace inferix::manager
