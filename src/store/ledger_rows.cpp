#include "store/ledger_rows.hpp"

#include <map>
#include <set>
#include <utility>

namespace inferix::store::ledger {

std::vector<domain::Posting> GroupPostings(std::vector<LedgerRow> rows) {
  std::vector<domain::Posting> out;
  int64_t current = -1;
  for (auto& row : rows) {
    if (row.posting_id != current) {
      current = row.posting_id;
      out.push_back(std::move(row.posting));
    }
    out.back().entries.push_back(row.entry);
  }
  return out;
}

Result<domain::Account> AccountOf(const std::string& kind, int64_t owner_id) {
  auto parsed = domain::ParseAccountKind(kind);
  if (!parsed) return MakeError(Errc::kInternal, "the ledger names an unknown account kind \"" + kind + "\"");
  return domain::Account{*parsed, owner_id};
}

std::vector<domain::Account> DebitedAccounts(const domain::Posting& posting) {
  std::set<domain::Account> debited;
  for (const auto& e : posting.entries) {
    if (e.amount < 0 && e.account.kind != domain::AccountKind::kIssued) debited.insert(e.account);
  }
  return {debited.begin(), debited.end()};
}

Result<void> CheckDebits(const domain::Posting& posting,
                         const std::function<Result<int64_t>(const domain::Account&)>& balance_of) {
  std::map<domain::Account, int64_t> known;
  for (const auto& account : DebitedAccounts(posting)) {
    auto balance = balance_of(account);
    if (!balance) return balance.error();
    known[account] = *balance;
  }
  return domain::CheckCovered(domain::Balances(std::move(known)), posting);
}

}  // namespace inferix::store::ledger
