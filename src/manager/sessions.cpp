#include "manager/sessions.hpp"

#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "manager/api_util.hpp"
#include "manager/identity.hpp"

namespace inferix::manager {

std::string SessionCookie(const net::HttpRequest& req) {
  const std::string header = req.Header("cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == kSessionCookie) {
      return std::string(pair.substr(eq + 1));
    }
  }
  return "";
}

std::string SessionCookieHeader(const std::string& value, int64_t max_age_s, bool secure) {
  return std::string(kSessionCookie) + "=" + value + "; Max-Age=" + std::to_string(max_age_s) +
         "; Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

bool IsSameOrigin(const net::HttpRequest& req) {
  // A browser states where a request comes from in Sec-Fetch-Site, and a page cannot change it: when present
  // it decides. That also holds behind a reverse proxy that rewrites Host, where Origin and Host differ.
  const std::string site = req.Header("sec-fetch-site");
  if (!site.empty()) return site == "same-origin" || site == "none";
  // Older browsers: Origin, when sent, must name this host.
  std::string origin = req.Header("origin");
  if (origin.empty()) return true;  // not a cross-site browser request: browsers send Origin with those
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.starts_with(scheme)) return origin.substr(scheme.size()) == req.Header("host");
  }
  return false;
}

Result<std::optional<domain::User>> Sessions::UserOf(const net::HttpRequest& req) {
  const std::string session = SessionCookie(req);
  if (session.empty()) return std::optional<domain::User>();
  auto user = store_.FindUserBySession(domain::TokenHash(session), clock_.NowMs());
  if (!user) return user.error();
  if (!user->has_value())
    return MakeError(Errc::kUnauthenticated, "your session has ended; sign in again with your API token");
  if (req.method != "GET" && req.method != "HEAD" && !IsSameOrigin(req))
    return MakeError(Errc::kPermissionDenied, "a request from another site cannot use your session");
  return *user;
}

net::HttpResponse Sessions::SignIn(const net::HttpRequest& req) {
  // Another site's page must not sign a visitor in to an account of its choosing (login CSRF).
  if (!IsSameOrigin(req)) return Fail(Errc::kPermissionDenied, "sign in from the dashboard's own page");
  auto body = ParseBody(req, {"token"});
  if (!body) return Fail(body.error());
  auto token = Field<std::string>(*body, "token");
  if (!token) return Fail(token.error());
  if (domain::TokenKindOf(*token) != domain::TokenKind::kUser)
    return Fail(Errc::kUnauthenticated, "that is not a user API token (it starts with ixu_)");
  auto user = UserOfToken(store_, clock_, *token);  // a revoked or expired token gets no session
  if (!user) return Fail(user.error());
  const std::string session = RandomHex(32);
  const int64_t expires_ms = clock_.NowMs() + limits_.ttl_s * 1000;
  auto made = store_.Transaction([&]() -> Result<void> {
    INFERIX_TRY(store_.CreateSession(domain::TokenHash(session), user->id, expires_ms));
    if (limits_.max_per_user <= 0) return Ok();
    auto trimmed = store_.TrimUserSessions(user->id, limits_.max_per_user);
    if (!trimmed) return trimmed.error();
    return Ok();
  });
  if (!made) return Fail(made.error());
  net::HttpResponse r = Json(200, {{"id", user->id}, {"name", user->name}, {"expires_ms", expires_ms}});
  r.headers["Set-Cookie"] = SessionCookieHeader(session, limits_.ttl_s, secure_);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

net::HttpResponse Sessions::Info(const net::HttpRequest& req) {
  auto user = UserOf(req);
  if (!user && user.error().code != Errc::kUnauthenticated) return Fail(user.error());
  if (!user || !user->has_value()) return Json(200, {{"signed_in", false}});
  auto who = WhoAmI(store_, **user);
  if (!who) return Fail(who.error());
  (*who)["signed_in"] = true;
  return Json(200, *who);
}

net::HttpResponse Sessions::SignOut(const net::HttpRequest& req) {
  const std::string session = SessionCookie(req);
  if (!session.empty()) {
    auto gone = store_.DeleteSession(domain::TokenHash(session), clock_.NowMs());
    if (!gone) return Fail(gone.error());
  }
  net::HttpResponse r = Json(200, {{"status", "signed out"}});
  r.headers["Set-Cookie"] = SessionCookieHeader("", 0, secure_);
  return r;
}

Result<nlohmann::json> WhoAmI(domain::Store& store, const domain::User& user) {
  auto last = store.LastEventId(user.id);
  if (!last) return last.error();
  return nlohmann::json{{"id", user.id}, {"name", user.name}, {"last_event_id", *last}};
}

}  // namespace inferix::manager
