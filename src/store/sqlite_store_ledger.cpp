// The SQLite store's credits ledger (domain::Store's ledger block, issue #18). Called by SqliteStore
// (sqlite_store.cpp) on its connection, inside one of its transactions: SQLite runs one writing transaction
// at a time (BEGIN IMMEDIATE), so the balances a posting is checked against cannot change before it is
// booked.
#include <sqlite3.h>

#include "store/ledger_rows.hpp"
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::store::books {
namespace {

using sqlite::Stmt;

Result<int64_t> BalanceOf(sqlite3* db, const domain::Account& account) {
  Stmt s(db, ledger::kBalance);
  s.Bind(domain::ToString(account.kind)).Bind(account.owner_id);
  const int64_t balance = s.Step() ? s.Int(0) : 0;
  INFERIX_TRY(s.Status());
  return balance;
}

}  // namespace

Result<bool> AppendPosting(sqlite3* db, const domain::Posting& p) {
  INFERIX_TRY(domain::CheckPosting(p));
  Stmt found(db, ledger::kFindKey);
  found.Bind(p.key);
  if (found.Step()) return false;  // booked before: the first posting under a key stands
  INFERIX_TRY(found.Status());
  INFERIX_TRY(ledger::CheckDebits(p, [&](const domain::Account& a) { return BalanceOf(db, a); }));
  Stmt insert(db, ledger::kInsertPosting);
  insert.Bind(p.key).Bind(domain::ToString(p.kind)).Bind(p.job_id).Bind(p.frame).Bind(p.node_id);
  insert.Bind(p.created_ms).Bind(p.memo);
  if (!insert.Step()) {
    INFERIX_TRY(insert.Status());
    return false;
  }
  const int64_t id = insert.Int(0);
  INFERIX_TRY(insert.Status());
  for (size_t i = 0; i < p.entries.size(); ++i) {
    const auto& e = p.entries[i];
    Stmt entry(db, ledger::kInsertEntry);
    entry.Bind(id).Bind(static_cast<int64_t>(i)).Bind(domain::ToString(e.account.kind));
    entry.Bind(e.account.owner_id).Bind(e.amount);
    INFERIX_TRY(entry.Run());
  }
  return true;
}

Result<int64_t> AccountBalance(sqlite3* db, const domain::Account& account) { return BalanceOf(db, account); }

Result<std::vector<domain::Entry>> ListBalances(sqlite3* db) {
  Stmt s(db, ledger::kAllBalances);
  std::vector<domain::Entry> out;
  while (s.Step()) {
    auto account = ledger::AccountOf(s.Text(0), s.Int(1));
    if (!account) return account.error();
    out.push_back({*account, s.Int(2)});
  }
  INFERIX_TRY(s.Status());
  return out;
}

Result<std::vector<domain::Posting>> ListPostings(sqlite3* db, int64_t user_id, int64_t job_id, int limit) {
  Stmt s(db, ledger::kListPostings);
  s.Bind(user_id).Bind(job_id).Bind(limit);
  std::vector<ledger::LedgerRow> rows;
  while (s.Step()) {
    ledger::LedgerRow row;
    row.posting_id = s.Int(0);
    row.posting.key = s.Text(1);
    row.posting.kind = domain::ParsePostingKind(s.Text(2)).value_or(domain::PostingKind::kGrant);
    row.posting.job_id = s.Int(3);
    row.posting.frame = static_cast<int>(s.Int(4));
    row.posting.node_id = s.Int(5);
    row.posting.created_ms = s.Int(6);
    row.posting.memo = s.Text(7);
    auto account = ledger::AccountOf(s.Text(8), s.Int(9));
    if (!account) return account.error();
    row.entry = {*account, s.Int(10)};
    rows.push_back(std::move(row));
  }
  INFERIX_TRY(s.Status());
  return ledger::GroupPostings(std::move(rows));
}

}  // namespace inferix::store::books
