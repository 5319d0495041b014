#include "manager/identity.hpp"

#include <algorithm>
#include <ctime>

#include "domain/tokens.hpp"

namespace inferix::manager {

Result<domain::User> AuthenticateUser(domain::Store& store, Sessions& sessions, const net::HttpRequest& req) {
  const std::string header = req.Header("authorization");
  if (header.empty()) {
    auto by_cookie = sessions.UserOf(req);
    if (!by_cookie) return by_cookie.error();
    if (by_cookie->has_value()) return **by_cookie;
  }
  auto token = domain::BearerToken(header);
  if (domain::TokenKindOf(token) != domain::TokenKind::kUser) {
    return MakeError(Errc::kUnauthenticated,
                     "a user API token is required: send Authorization: Bearer <token>, or sign in to the "
                     "dashboard");
  }
  return UserOfToken(store, sessions.clock(), token);
}

Result<domain::User> UserOfToken(domain::Store& store, const Clock& clock, std::string_view token) {
  auto found = store.FindUserToken(domain::TokenHash(token));
  if (!found) return found.error();
  if (!found->has_value()) return MakeError(Errc::kUnauthenticated, "unknown API token");
  auto& [user, t] = **found;
  const std::string which =
      "API token " + std::to_string(t.id) + (t.label.empty() ? "" : " (" + t.label + ")");
  const char* ask = "; ask the operator for a new one (inferix admin token create)";
  if (t.revoked_ms != 0) {
    return MakeError(Errc::kUnauthenticated,
                     which + " was revoked on " + UtcTime(t.revoked_ms) + " and no longer works" + ask);
  }
  const int64_t now = clock.NowMs();
  if (t.expires_ms != 0 && now >= t.expires_ms) {
    return MakeError(Errc::kUnauthenticated, which + " expired on " + UtcTime(t.expires_ms) + ask);
  }
  // The last use per token, not a row per request: once a minute is close enough to tell an unused token.
  if (now - t.last_used_ms >= 60'000) INFERIX_TRY(store.TouchUserToken(t.id, now));
  return user;
}

std::string UtcTime(int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void SeenNodes::Note(int64_t node_id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  int64_t& at = pending_[node_id];
  at = std::max(at, now_ms);
}

Result<void> SeenNodes::Flush(domain::Store& store) {
  std::unordered_map<int64_t, int64_t> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return Ok();
  auto written = store.Transaction([&]() -> Result<void> {
    for (const auto& [id, at] : batch) INFERIX_TRY(store.TouchNode(id, at));
    return Ok();
  });
  if (!written) {
    for (const auto& [id, at] : batch) Note(id, at);
  }
  return written;
}

Result<domain::Node> AuthenticateNode(domain::Store& store, const Clock& clock, const net::HttpRequest& req,
                                      SeenNodes* seen) {
  const std::string header = req.Header("authorization");  // the token is a view into it
  auto token = domain::BearerToken(header);
  if (domain::TokenKindOf(token) != domain::TokenKind::kNode) {
    return MakeError(Errc::kUnauthenticated,
                     "node credentials are required: send Authorization: Bearer <token>");
  }
  auto node = store.FindNodeByTokenHash(domain::TokenHash(token));
  if (!node) return node.error();
  if (!node->has_value()) return MakeError(Errc::kUnauthenticated, "unknown node token");
  if ((*node)->banned) {
    return MakeError(Errc::kPermissionDenied,
                     "this node is banned: " + (*node)->ban_reason + "; ask the operator if this is wrong");
  }
  // Heard from: what tells a live node (idle, or a candidate for a retry) from one that went away. Claims
  // long-poll, so once a second is plenty.
  const int64_t now = clock.NowMs();
  if (now - (*node)->last_seen_ms >= 1000) {
    if (seen != nullptr) {
      seen->Note((*node)->id, now);
    } else {
      INFERIX_TRY(store.TouchNode((*node)->id, now));
    }
    (*node)->last_seen_ms = now;
  }
  return **node;
}

std::string NodeState(const domain::Node& node, bool busy, int64_t now_ms, int64_t recent_ms) {
  if (node.banned) return "banned";
  if (busy) return node.availability == "draining" ? "draining" : "busy";
  if (now_ms - node.last_seen_ms > recent_ms) return "offline";
  return node.availability.empty() ? "idle" : node.availability;
}

}  // namespace inferix::manager
