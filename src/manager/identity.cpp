#include "manager/identity.hpp"

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
  auto user = store.FindUserByTokenHash(domain::TokenHash(token));
  if (!user) return user.error();
  if (!user->has_value()) return MakeError(Errc::kUnauthenticated, "unknown API token");
  return **user;
}

Result<domain::Node> AuthenticateNode(domain::Store& store, const Clock& clock, const net::HttpRequest& req) {
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
    INFERIX_TRY(store.TouchNode((*node)->id, now));
    (*node)->last_seen_ms = now;
  }
  return **node;
}

std::string NodeState(const domain::Node& node, bool busy, int64_t now_ms, int64_t recent_ms) {
  if (node.banned) return "banned";
  if (busy) return "busy";
  return now_ms - node.last_seen_ms <= recent_ms ? "idle" : "offline";
}

}  // namespace inferix::manager
