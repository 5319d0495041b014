#pragma once
// Who is calling: a user (API token or the dashboard's session cookie) or a node (its node token), and the
// node's liveness: every authenticated call of a node is a sign of life, which tells an idle node from one
// that went away.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/ports.hpp"
#include "manager/sessions.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// The user of the request: by its Authorization: Bearer user token, or, without that header, by its
/// session cookie. kUnauthenticated when neither names a user.
Result<domain::User> AuthenticateUser(domain::Store& store, Sessions& sessions, const net::HttpRequest& req);

/// The user of a user API token: kUnauthenticated, saying why, for an unknown, revoked or expired token.
/// Records the token's use (at most once a minute: the last use per token is what the audit keeps).
Result<domain::User> UserOfToken(domain::Store& store, const Clock& clock, std::string_view token);

/// A time for people: "2025-01-31 17:04:05 UTC".
std::string UtcTime(int64_t ms);

/// When nodes were last heard from, kept in memory and written in batches (Flush, about twice a second):
/// every waiting claim is a sign of life, and one durable write for each would be most of what an idle farm
/// of thousands of nodes costs the database. Thread-safe.
class SeenNodes {
 public:
  void Note(int64_t node_id, int64_t now_ms);
  /// Writes the times noted since the last flush, in one transaction; kept for the next flush on failure.
  Result<void> Flush(domain::Store& store);

 private:
  std::mutex mu_;
  std::unordered_map<int64_t, int64_t> pending_;
};

/// The node of the request's Authorization: Bearer node token; kPermissionDenied (with the reason) for a
/// banned or revoked node. Records that the node was heard from (at most once a second: claims long-poll):
/// in `seen` for its next flush, or at once in the store when `seen` is null.
Result<domain::Node> AuthenticateNode(domain::Store& store, const Clock& clock, const net::HttpRequest& req,
                                      SeenNodes* seen = nullptr);

/// What a node is doing as the workers page shows it: "banned", "busy" (it holds a task; "draining" when it
/// takes no more), "offline" (not heard from within `recent_ms`), the availability it said ("paused",
/// "outside hours", "owner busy", "draining") or "idle".
std::string NodeState(const domain::Node& node, bool busy, int64_t now_ms, int64_t recent_ms);

}  // namespace inferix::manager
