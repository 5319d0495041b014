#pragma once
// The dashboard's browser sessions: a browser cannot put an Authorization header on EventSource, <img> or
// <video>, so the dashboard trades the API token once for an HttpOnly session cookie that stands in for it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/ports.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// The name of the session cookie.
inline constexpr std::string_view kSessionCookie = "inferix_session";
/// How long a session lasts by default: a working day.
inline constexpr int64_t kSessionSeconds = int64_t{12} * 3600;

/// How long sessions last and how many one user may hold (manager flags).
struct SessionLimits {
  int64_t ttl_s = kSessionSeconds;
  int max_per_user = 20;  ///< a new session beyond this ends the user's oldest; 0: no limit
};

/// The value of the request's session cookie, or "".
std::string SessionCookie(const net::HttpRequest& req);
/// A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/; Secure when the manager speaks TLS. An empty value
/// with max_age 0 removes the cookie.
std::string SessionCookieHeader(const std::string& value, int64_t max_age_s, bool secure);
/// False when the request comes from another site's page (Origin or Sec-Fetch-Site says so). Requests that
/// change state with the cookie must pass it, besides SameSite=Strict.
bool IsSameOrigin(const net::HttpRequest& req);

/// Sessions kept in the store by the hash of their secret; handlers of /api/v1/session and the cookie's user.
class Sessions {
 public:
  Sessions(domain::Store& store, const Clock& clock, bool secure_cookies, SessionLimits limits = {})
      : store_(store), clock_(clock), secure_(secure_cookies), limits_(limits) {}

  /// The user of the request's session cookie: nullopt when it has none; an error when the session has ended,
  /// or when a request that changes state comes with it from another site.
  Result<std::optional<domain::User>> UserOf(const net::HttpRequest& req);
  /// POST /session: the API token in the body for a new session cookie (refused from another site). The
  /// user's oldest sessions beyond the limit end.
  net::HttpResponse SignIn(const net::HttpRequest& req);
  /// GET /session: whether the cookie's session is live, and whose (as whoami); never an error for "no".
  net::HttpResponse Info(const net::HttpRequest& req);
  /// DELETE /session: ends the cookie's session and removes the cookie.
  net::HttpResponse SignOut(const net::HttpRequest& req);
  /// The clock sessions (and the API tokens they are traded for) expire by.
  const Clock& clock() const { return clock_; }

 private:
  domain::Store& store_;
  const Clock& clock_;
  bool secure_;
  SessionLimits limits_;
};

/// What GET /whoami says of a user: id, name, and the id of the latest event (where a new stream starts).
Result<nlohmann::json> WhoAmI(domain::Store& store, const domain::User& user);

}  // namespace inferix::manager
