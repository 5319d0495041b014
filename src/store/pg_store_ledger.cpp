// The PostgreSQL store's credits ledger (domain::Store's ledger block, issue #18), on one connection: the
// same rows and answers as the SQLite store's (sqlite_store_ledger.cpp). Several managers book at once, so
// a posting first takes a transaction-scoped advisory lock on each account it debits (in Account order, so
// two postings never wait on each other in a cycle), and only then reads those balances: two managers
// cannot both spend the same credits.
#include <string>

#include "store/ledger_rows.hpp"
#include "store/pg_parts.hpp"
#include "store/pg_rows.hpp"

namespace inferix::store::pg {
namespace {

Result<int64_t> BalanceOf(Conn& conn, const domain::Account& account) {
  auto r = conn.Exec(ledger::kBalance, Params().Add(domain::ToString(account.kind)).Add(account.owner_id));
  if (!r) return r.error();
  return r->empty() ? 0 : r->Int(0, 0);
}

}  // namespace

Result<bool> AppendPosting(Conn& conn, const domain::Posting& p, std::optional<Error>& refused) {
  for (const auto& account : ledger::DebitedAccounts(p)) {
    auto locked = conn.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                            Params().Add("inferix-ledger " + domain::ToString(account)));
    if (!locked) return locked.error();
  }
  auto found = conn.Exec(ledger::kFindKey, Params().Add(p.key));
  if (!found) return found.error();
  if (!found->empty()) return false;  // booked before: the first posting under a key stands
  if (auto covered = ledger::CheckDebits(p, [&](const domain::Account& a) { return BalanceOf(conn, a); });
      !covered) {
    refused = covered.error();  // a refusal, not a failed statement: the caller's transaction goes on
    return false;
  }
  auto inserted = conn.Exec(ledger::kInsertPosting, Params()
                                                        .Add(p.key)
                                                        .Add(domain::ToString(p.kind))
                                                        .Add(p.job_id)
                                                        .Add(p.frame)
                                                        .Add(p.node_id)
                                                        .Add(p.created_ms)
                                                        .Add(p.memo));
  if (!inserted) return inserted.error();
  if (inserted->empty()) return false;  // another manager booked the key first
  const int64_t id = inserted->Int(0, 0);
  for (size_t i = 0; i < p.entries.size(); ++i) {
    const auto& e = p.entries[i];
    auto r = conn.Exec(ledger::kInsertEntry, Params()
                                                 .Add(id)
                                                 .Add(static_cast<int64_t>(i))
                                                 .Add(domain::ToString(e.account.kind))
                                                 .Add(e.account.owner_id)
                                                 .Add(e.amount));
    if (!r) return r.error();
  }
  return true;
}

Result<int64_t> AccountBalance(Conn& conn, const domain::Account& account) {
  return BalanceOf(conn, account);
}

Result<std::vector<domain::Entry>> ListBalances(Conn& conn) {
  auto r = conn.Exec(ledger::kAllBalances, Params());
  if (!r) return r.error();
  std::vector<domain::Entry> out;
  for (int i = 0; i < r->size(); ++i) {
    auto account = ledger::AccountOf(r->Text(i, 0), r->Int(i, 1));
    if (!account) return account.error();
    out.push_back({*account, r->Int(i, 2)});
  }
  return out;
}

Result<std::vector<domain::Posting>> ListPostings(Conn& conn, int64_t user_id, int64_t job_id, int limit) {
  auto r = conn.Exec(ledger::kListPostings, Params().Add(user_id).Add(job_id).Add(limit));
  if (!r) return r.error();
  std::vector<ledger::LedgerRow> rows;
  for (int i = 0; i < r->size(); ++i) {
    ledger::LedgerRow row;
    row.posting_id = r->Int(i, 0);
    row.posting.key = r->Text(i, 1);
    row.posting.kind = domain::ParsePostingKind(r->Text(i, 2)).value_or(domain::PostingKind::kGrant);
    row.posting.job_id = r->Int(i, 3);
    row.posting.frame = static_cast<int>(r->Int(i, 4));
    row.posting.node_id = r->Int(i, 5);
    row.posting.created_ms = r->Int(i, 6);
    row.posting.memo = r->Text(i, 7);
    auto account = ledger::AccountOf(r->Text(i, 8), r->Int(i, 9));
    if (!account) return account.error();
    row.entry = {*account, r->Int(i, 10)};
    rows.push_back(std::move(row));
  }
  return ledger::GroupPostings(std::move(rows));
}

}  // namespace inferix::store::pg
