// The dashboard's sessions, who the caller is, and the manager's health.
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/quotas.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

HttpResponse Health(Call&) { return Json(200, {{"status", "ok"}}); }
HttpResponse SignIn(Call& c) { return c.api.BrowserSessions().SignIn(c.req); }
// The account part of whoami: role, the limits in force and what counts against them.
Result<void> AddAccount(Call& c, const domain::User& user, nlohmann::json& who) {
  auto usage = c.api.store.GetUserUsage(user.id);
  if (!usage) return usage.error();
  who["role"] = domain::ToString(user.role);
  who["limits"] = LimitsToJson(LimitsOf(user, c.api.options.quotas));
  who["usage"] = UsageToJson(*usage);
  return Ok();
}

// GET /session: as whoami (with the account part) while signed in.
HttpResponse SessionInfo(Call& c) {
  Sessions sessions = c.api.BrowserSessions();
  HttpResponse r = sessions.Info(c.req);
  if (r.status != 200) return r;
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.value("signed_in", false)) return r;
  auto user = sessions.UserOf(c.req);
  if (!user || !user->has_value()) return r;
  if (auto added = AddAccount(c, **user, body); !added) return Fail(added.error());
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}
HttpResponse SignOut(Call& c) { return c.api.BrowserSessions().SignOut(c.req); }

// Who the caller is, with their role, the limits in force and what counts against them.
HttpResponse Who(Call& c) {
  auto who = WhoAmI(c.api.store, *c.user);
  if (!who) return Fail(who.error());
  if (auto added = AddAccount(c, *c.user, *who); !added) return Fail(added.error());
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
