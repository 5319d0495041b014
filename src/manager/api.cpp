#include <algorithm>
#include <chrono>
#include <exception>

#include "manager/api.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/dashboard.hpp"
#include "manager/identity.hpp"

namespace inferix::manager {

using net::HttpRequest;
using net::HttpResponse;

std::string ApiServices::Sign(const std::string& method, const std::string& key) const {
  const std::chrono::seconds ttl(options.url_ttl_s);
  auto url = method == "PUT" ? blobs.PresignPut(key, ttl, domain::PutTerms{})
                             : blobs.PresignGet(key, ttl, std::nullopt, "");
  return url ? *url : std::string();
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
    for (const auto& routes :
         {SessionRoutes(), FileRoutes(), JobRoutes(), EventRoutes(), NodeRoutes(), TaskRoutes()}) {
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
  if (auth == Auth::kUser) {
    Sessions sessions = call.api.BrowserSessions();
    auto user = AuthenticateUser(call.api.store, sessions, call.req);
    if (!user) return Fail(user.error());
    call.user = *user;
  } else if (auth == Auth::kNode) {
    auto node = AuthenticateNode(call.api.store, call.api.clock, call.req);
    if (!node) return Fail(node.error());
    call.node = *node;
  }
  return std::nullopt;
}

HttpResponse Dispatch(ApiServices& api, const HttpRequest& req) {
  const std::vector<std::string> parts = Split(req.path.substr(std::string("/api/v1/").size()));
  const Route* found = nullptr;
  std::vector<std::string> params;
  for (const CompiledRoute& r : RouteTable()) {
    if (req.method != r.route.method) continue;
    auto matched = Match(r.segments, parts);
    if (!matched) continue;
    found = &r.route;
    params = std::move(*matched);
    break;
  }
  Call call{req, api, std::move(params), std::nullopt, std::nullopt};
  if (auto refused = Authenticate(call, found != nullptr ? found->auth : AuthOfUnknown(parts)))
    return *refused;
  if (found == nullptr) return Fail(Errc::kNotFound, "no such endpoint: " + req.method + " " + req.path);
  return found->handler(call);
}

}  // namespace

HttpResponse Api::Handle(const HttpRequest& request) {
  if (!request.path.starts_with("/api/v1/")) return ServeDashboard(request);
  ApiServices services{store_, blobs_, scheduler_, clock_, options_};
  try {
    return Dispatch(services, request);
  } catch (const std::exception& e) {
    return Fail(Errc::kInternal, std::string("internal error: ") + e.what());
  }
}

}  // namespace inferix::manager
