#include "manager/credits.hpp"

#include "core/clock.hpp"
#include "domain/ledger.hpp"
#include "domain/tokens.hpp"
#include "manager/manager.hpp"
#include "store/store_url.hpp"

namespace inferix::manager {

using json = nlohmann::json;

Result<std::string> GrantCredits(const std::string& store_url, const std::string& user,
                                 const std::string& amount) {
  const auto micro = domain::ParseCredits(amount);
  if (!micro || *micro == 0) {
    return MakeError(Errc::kInvalidArgument,
                     "--amount must be a number of credits above zero, such as 100 or "
                     "12.5 (at most six decimals), not \"" +
                         amount + "\"");
  }
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::Store& s = **store;
  std::string said;
  INFERIX_TRY(s.Transaction([&]() -> Result<void> {
    auto found = s.FindUserByName(user);
    if (!found) return found.error();
    if (!found->has_value())
      return MakeError(Errc::kNotFound, "no user named '" + user + "' (inferix admin token create --user " +
                                            user + " makes one)");
    const domain::User& u = **found;
    // A fresh key per command: two grants of the same amount are two grants. The key is random, not a count,
    // so two operators granting at once never collide.
    auto posting = domain::Grant(u.id, *micro, "grant:" + domain::NewToken(domain::TokenKind::kEnrollment),
                                 SystemClock().NowMs());
    if (!posting) return posting.error();
    posting->memo = "granted by the operator";
    auto booked = s.AppendPosting(*posting);
    if (!booked) return booked.error();
    auto available = s.AccountBalance(domain::UserAvailable(u.id));
    if (!available) return available.error();
    INFERIX_TRY(
        AuditAdminAction(s, "credits.grant", "user " + u.name, "micro_credits=" + std::to_string(*micro)));
    said = "granted " + domain::FormatCredits(*micro) + " credits to " + u.name + "; available now " +
           domain::FormatCredits(*available) + " credits";
    return Ok();
  }));
  return said;
}

Result<json> UserCredits(domain::Store& store, int64_t user_id, int64_t job_id, int limit) {
  auto available = store.AccountBalance(domain::UserAvailable(user_id));
  if (!available) return available.error();
  auto held = store.AccountBalance(domain::UserHeld(user_id));
  if (!held) return held.error();
  auto postings = store.ListPostings(user_id, job_id, limit);
  if (!postings) return postings.error();
  json list = json::array();
  for (const auto& p : *postings) {
    int64_t on_available = 0;
    int64_t on_held = 0;
    for (const auto& e : p.entries) {
      if (e.account == domain::UserAvailable(user_id)) on_available += e.amount;
      if (e.account == domain::UserHeld(user_id)) on_held += e.amount;
    }
    if (on_available == 0 && on_held == 0) continue;  // the user's earnings as an owner: `inferix earnings`
    list.push_back({{"kind", domain::ToString(p.kind)},
                    {"job_id", p.job_id},
                    {"frame", p.frame},
                    {"created_ms", p.created_ms},
                    {"memo", p.memo},
                    {"available", on_available},
                    {"held", on_held}});
  }
  return json{{"available", *available}, {"held", *held}, {"postings", list}};
}

}  // namespace inferix::manager
