// The dashboard's sessions, who the caller is, and the manager's health.
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/quotas.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

HttpResponse Health(Call&) { return Json(200, {{"status", "ok"}}); }
HttpResponse SignIn(Call& c) { return c.api.BrowserSessions().SignIn(c.req); }
HttpResponse SessionInfo(Call& c) { return c.api.BrowserSessions().Info(c.req); }
HttpResponse SignOut(Call& c) { return c.api.BrowserSessions().SignOut(c.req); }

// Who the caller is, with their role, the limits in force and what counts against them.
HttpResponse Who(Call& c) {
  auto who = WhoAmI(c.api.store, *c.user);
  if (!who) return Fail(who.error());
  auto usage = c.api.store.GetUserUsage(c.user->id);
  if (!usage) return Fail(usage.error());
  (*who)["role"] = domain::ToString(c.user->role);
  (*who)["limits"] = LimitsToJson(LimitsOf(*c.user, c.api.options.quotas));
  (*who)["usage"] = UsageToJson(*usage);
  return Json(200, *who);
}

}  // namespace

std::vector<Route> SessionRoutes() {
  return {
      {"GET", "health", Auth::kNone, Health},       {"POST", "session", Auth::kNone, SignIn},
      {"GET", "session", Auth::kNone, SessionInfo}, {"DELETE", "session", Auth::kUser, SignOut},
      {"GET", "whoami", Auth::kUser, Who},
  };
}

}  // namespace inferix::manager
