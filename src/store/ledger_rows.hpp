#pragma once
// What both store adapters share of the credits ledger (issue #18): its SQL, which both engines read alike
// (numbered parameters, CAST instead of ::), the check that a posting overdraws no account, and how rows of
// postings joined with their entries become postings. Only src/store includes it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/ledger.hpp"

namespace inferix::store::ledger {

/// Is the key booked? $1: the key.
inline constexpr const char* kFindKey = "SELECT id FROM ledger_postings WHERE key = $1";
/// An account's balance. $1: the account's kind name, $2: its owner.
inline constexpr const char* kBalance =
    "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = $1 AND owner_id = CAST($2 AS "
    "BIGINT)";
/// Every account with entries and its balance.
inline constexpr const char* kAllBalances =
    "SELECT account, owner_id, SUM(amount) FROM ledger_entries GROUP BY account, owner_id "
    "ORDER BY account, owner_id";
/// A posting's row; RETURNING its id. $1..$7: key, kind, job_id, frame, node_id, created_ms, memo.
inline constexpr const char* kInsertPosting =
    "INSERT INTO ledger_postings (key, kind, job_id, frame, node_id, created_ms, memo) VALUES ($1, $2, "
    "CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT), CAST($6 AS BIGINT), $7) ON CONFLICT (key) "
    "DO "
    "NOTHING RETURNING id";
/// One entry. $1..$5: posting id, seq, account kind name, owner id, amount.
inline constexpr const char* kInsertEntry =
    "INSERT INTO ledger_entries (posting_id, seq, account, owner_id, amount) VALUES (CAST($1 AS BIGINT), "
    "CAST($2 AS BIGINT), $3, CAST($4 AS BIGINT), CAST($5 AS BIGINT))";
/// The postings of user $1 (0: all) and job $2 (0: any), newest first, at most $3, each joined with its
/// entries in order: the columns LedgerRow reads.
inline constexpr const char* kListPostings =
    "SELECT p.id, p.key, p.kind, p.job_id, p.frame, p.node_id, p.created_ms, p.memo, e.account, e.owner_id, "
    "e.amount FROM ledger_postings p JOIN ledger_entries e ON e.posting_id = p.id WHERE p.id IN (SELECT q.id "
    "FROM ledger_postings q WHERE (CAST($1 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM ledger_entries f WHERE "
    "f.posting_id = q.id AND f.owner_id = CAST($1 AS BIGINT))) AND (CAST($2 AS BIGINT) = 0 OR q.job_id = "
    "CAST($2 AS BIGINT)) ORDER BY q.id DESC LIMIT CAST($3 AS BIGINT)) ORDER BY p.id DESC, e.seq";

/// One row of kListPostings.
struct LedgerRow {
  int64_t posting_id = 0;
  domain::Posting posting = {};  ///< its fields, without entries
  domain::Entry entry = {};
};

/// kListPostings' rows as postings, each with its entries, in the rows' order.
std::vector<domain::Posting> GroupPostings(std::vector<LedgerRow> rows);

/// The account a row names (kind name and owner); kInternal for a kind this build does not know.
Result<domain::Account> AccountOf(const std::string& kind, int64_t owner_id);

/// Refuses `posting` (kConflict) when it would take an account other than `issued` below zero, reading each
/// debited account's balance with `balance_of`; each such account once, in Account order (the order a store
/// locks them in).
Result<void> CheckDebits(const domain::Posting& posting,
                         const std::function<Result<int64_t>(const domain::Account&)>& balance_of);

/// The accounts `posting` debits, other than `issued`, each once, in Account order.
std::vector<domain::Account> DebitedAccounts(const domain::Posting& posting);

}  // namespace inferix::store::ledger
