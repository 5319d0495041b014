// The admin commands of accounts (issue #14): users' tokens, roles and limits, and the audit log. They work
// on the manager's store directly, whether the manager runs or not; a running manager sees each change on the
// next request (it reads the user with every token check).
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/clock.hpp"
#include "domain/tokens.hpp"
#include "manager/identity.hpp"
#include "manager/manager.hpp"
#include "store/store_url.hpp"

namespace inferix::manager {
namespace {

using json = nlohmann::json;

// Who runs the admin command: the login name of the effective user.
std::string Actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return std::string("admin:") + (pw != nullptr && pw->pw_name != nullptr ? pw->pw_name : "unknown");
}

std::string When(int64_t ms) { return ms == 0 ? "-" : UtcTime(ms); }

std::string TokenState(const domain::UserToken& t, int64_t now_ms) {
  if (t.revoked_ms != 0) return "revoked";
  if (t.expires_ms != 0 && now_ms >= t.expires_ms) return "expired";
  return "live";
}

Result<domain::User> NamedUser(domain::Store& store, const std::string& name) {
  auto user = store.FindUserByName(name);
  if (!user) return user.error();
  if (!user->has_value()) {
    return MakeError(Errc::kNotFound,
                     "no user named \"" + name + "\"; create one with inferix admin token create --user");
  }
  return **user;
}

// A limit given on the command line: "" leaves it, "default" clears it, else a whole number in range.
template <class T>
Result<void> ApplyLimit(const std::string& text, const char* flag, int64_t least, std::optional<T>& limit,
                        std::vector<std::string>& changed) {
  if (text.empty()) return Ok();
  if (text == "default") {
    limit.reset();
    changed.push_back(std::string(flag) + "=default");
    return Ok();
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const int64_t most = sizeof(T) == sizeof(int) ? INT_MAX : INT64_MAX;
  if (ec != std::errc() || end != text.data() + text.size() || v < least || v > most) {
    return MakeError(Errc::kInvalidArgument, std::string("--") + flag + " must be a whole number from " +
                                                 std::to_string(least) + " to " + std::to_string(most) +
                                                 " (0: no limit), or \"default\"; got \"" + text + "\"");
  }
  limit = static_cast<T>(v);
  changed.push_back(std::string(flag) + "=" + text);
  return Ok();
}

std::string LimitText(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "default"; }
std::string LimitText(const std::optional<int>& v) { return v ? std::to_string(*v) : "default"; }

json UserToJson(const domain::User& u) {
  auto limit = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", u.id},
          {"name", u.name},
          {"role", domain::ToString(u.role)},
          {"limits",
           {{"max_priority", limit(u.limits.max_priority)},
            {"stored_bytes", limit(u.limits.stored_bytes)},
            {"active_jobs", limit(u.limits.active_jobs)},
            {"frames_per_job", limit(u.limits.frames_per_job)},
            {"frames_in_flight", limit(u.limits.frames_in_flight)}}}};
}

std::string UserText(const domain::User& u) {
  const domain::UserLimits& l = u.limits;
  return "user " + std::to_string(u.id) + " " + u.name + ": " + std::string(domain::ToString(u.role)) +
         "; max priority " + LimitText(l.max_priority) + ", stored bytes " + LimitText(l.stored_bytes) +
         ", active jobs " + LimitText(l.active_jobs) + ", frames per job " + LimitText(l.frames_per_job) +
         ", frames in flight " + LimitText(l.frames_in_flight);
}

}  // namespace

Result<void> AuditAdminAction(domain::Store& store, const std::string& action, const std::string& target,
                              const std::string& detail) {
  domain::AuditEntry e;
  e.created_ms = SystemClock().NowMs();
  e.actor = Actor();
  e.action = action;
  e.target = target;
  e.detail = detail;
  auto id = store.AppendAudit(e);
  if (!id) return id.error();
  return Ok();
}

Result<std::string> CreateUserToken(const std::string& store_url, const NewUserToken& request) {
  if (request.user.empty() || request.user.size() > 100)
    return MakeError(Errc::kInvalidArgument, "user name must be 1 to 100 characters");
  if (request.label.size() > 100)
    return MakeError(Errc::kInvalidArgument, "label must be at most 100 characters");
  if (request.expires_in_s < 0)
    return MakeError(Errc::kInvalidArgument, "--expires-in must be 0 (never) or a number of seconds");
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::Store& s = **store;
  const std::string token = domain::NewToken(domain::TokenKind::kUser);
  const int64_t now = SystemClock().NowMs();
  INFERIX_TRY(s.Transaction([&]() -> Result<void> {
    auto found = s.FindUserByName(request.user);
    if (!found) return found.error();
    domain::User user;
    const std::string role =
        request.make_operator ? std::string(domain::ToString(domain::UserRole::kOperator)) : "user";
    if (found->has_value()) {
      user = **found;
      if (request.make_operator && user.role != domain::UserRole::kOperator) {
        user.role = domain::UserRole::kOperator;
        INFERIX_TRY(s.UpdateUser(user));
        INFERIX_TRY(AuditAdminAction(s, "user.role", "user " + user.name, "role=operator"));
      }
    } else {
      user.name = request.user;
      user.role = request.make_operator ? domain::UserRole::kOperator : domain::UserRole::kUser;
      auto id = s.AddUser(user);
      if (!id) return id.error();
      user.id = *id;
      INFERIX_TRY(AuditAdminAction(s, "user.created", "user " + user.name, "role=" + role));
    }
    domain::UserToken t;
    t.user_id = user.id;
    t.label = request.label;
    t.created_ms = now;
    t.expires_ms = request.expires_in_s == 0 ? 0 : now + request.expires_in_s * 1000;
    auto id = s.AddUserToken(t, domain::TokenHash(token));
    if (!id) return id.error();
    std::string detail = "label=" + t.label + " expires=" + When(t.expires_ms);
    return AuditAdminAction(s, "token.created", "token " + std::to_string(*id) + " of " + user.name, detail);
  }));
  return token;
}

Result<std::string> ListUserTokens(const std::string& store_url, const std::string& user, bool as_json) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::Store& s = **store;
  int64_t user_id = 0;
  if (!user.empty()) {
    auto u = NamedUser(s, user);
    if (!u) return u.error();
    user_id = u->id;
  }
  auto tokens = s.ListUserTokens(user_id);
  if (!tokens) return tokens.error();
  auto users = s.ListUsers();
  if (!users) return users.error();
  std::map<int64_t, std::string> names;
  for (const auto& u : *users) names[u.id] = u.name;
  const int64_t now = SystemClock().NowMs();
  json out = json::array();
  std::ostringstream text;
  for (const auto& t : *tokens) {
    out.push_back({{"id", t.id},
                   {"user", names[t.user_id]},
                   {"label", t.label},
                   {"state", TokenState(t, now)},
                   {"created_ms", t.created_ms},
                   {"expires_ms", t.expires_ms},
                   {"last_used_ms", t.last_used_ms},
                   {"revoked_ms", t.revoked_ms}});
    text << "token " << t.id << " of " << names[t.user_id] << (t.label.empty() ? "" : " \"" + t.label + "\"")
         << ": " << TokenState(t, now) << "; created " << When(t.created_ms) << ", expires "
         << (t.expires_ms == 0 ? "never" : UtcTime(t.expires_ms)) << ", last used " << When(t.last_used_ms)
         << (t.revoked_ms == 0 ? "" : ", revoked " + UtcTime(t.revoked_ms)) << "\n";
  }
  if (as_json) return json{{"tokens", out}}.dump();
  std::string listed = text.str();
  if (listed.empty()) return std::string("no tokens");
  listed.pop_back();
  return listed;
}

Result<std::string> RevokeUserToken(const std::string& store_url, int64_t token_id) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::Store& s = **store;
  std::string message;
  INFERIX_TRY(s.Transaction([&]() -> Result<void> {
    auto revoked = s.RevokeUserToken(token_id, SystemClock().NowMs());
    if (!revoked) return revoked.error();
    if (!*revoked) {
      auto all = s.ListUserTokens(0);
      if (!all) return all.error();
      for (const auto& t : *all) {
        if (t.id == token_id) {
          message = "token " + std::to_string(token_id) + " was revoked already";
          return Ok();
        }
      }
      return MakeError(Errc::kNotFound, "no API token " + std::to_string(token_id) +
                                            "; list them with inferix admin token list --user NAME");
    }
    message = "token " + std::to_string(token_id) + " revoked";
    return AuditAdminAction(s, "token.revoked", "token " + std::to_string(token_id), "");
  }));
  return message;
}

Result<std::string> SetUser(const std::string& store_url, const UserChange& change) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::Store& s = **store;
  domain::User user;
  INFERIX_TRY(s.Transaction([&]() -> Result<void> {
    auto found = NamedUser(s, change.user);
    if (!found) return found.error();
    user = *found;
    if (!change.role.empty()) {
      auto role = domain::ParseUserRole(change.role);
      if (!role) return MakeError(Errc::kInvalidArgument, "--role must be user or operator");
      if (*role != user.role) {
        user.role = *role;
        INFERIX_TRY(AuditAdminAction(s, "user.role", "user " + user.name, "role=" + change.role));
      }
    }
    std::vector<std::string> changed;
    domain::UserLimits& l = user.limits;
    INFERIX_TRY(ApplyLimit(change.max_priority, "max-priority", INT_MIN, l.max_priority, changed));
    INFERIX_TRY(ApplyLimit(change.stored_bytes, "quota-stored-bytes", 0, l.stored_bytes, changed));
    INFERIX_TRY(ApplyLimit(change.active_jobs, "quota-active-jobs", 0, l.active_jobs, changed));
    INFERIX_TRY(ApplyLimit(change.frames_per_job, "quota-frames-per-job", 0, l.frames_per_job, changed));
    INFERIX_TRY(
        ApplyLimit(change.frames_in_flight, "quota-frames-in-flight", 0, l.frames_in_flight, changed));
    if (!changed.empty()) {
      std::string detail;
      for (const auto& c : changed) detail += (detail.empty() ? "" : " ") + c;
      INFERIX_TRY(AuditAdminAction(s, "user.limits", "user " + user.name, detail));
    }
    return s.UpdateUser(user);
  }));
  return UserText(user);
}

Result<std::string> ListUsers(const std::string& store_url, bool as_json) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto users = (*store)->ListUsers();
  if (!users) return users.error();
  json out = json::array();
  std::string text;
  for (const auto& u : *users) {
    out.push_back(UserToJson(u));
    text += (text.empty() ? "" : "\n") + UserText(u);
  }
  if (as_json) return json{{"users", out}}.dump();
  return text.empty() ? std::string("no users") : text;
}

Result<std::string> ShowAudit(const std::string& store_url, int limit, bool as_json) {
  if (limit < 1) return MakeError(Errc::kInvalidArgument, "--limit must be at least 1");
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto entries = (*store)->ListAudit(limit);
  if (!entries) return entries.error();
  json actions = json::array();
  std::string text;
  for (const auto& e : *entries) {
    actions.push_back({{"id", e.id},
                       {"created_ms", e.created_ms},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"detail", e.detail}});
    text += UtcTime(e.created_ms) + "  " + e.actor + "  " + e.action + "  " + e.target +
            (e.detail.empty() ? "" : "  " + e.detail) + "\n";
  }
  auto tokens = ListUserTokens(store_url, "", as_json);
  if (!tokens) return tokens.error();
  if (as_json) return json{{"actions", actions}, {"tokens", json::parse(*tokens)["tokens"]}}.dump();
  return (text.empty() ? std::string("no admin actions\n") : text) + "token use:\n" + *tokens;
}

}  // namespace inferix::manager
