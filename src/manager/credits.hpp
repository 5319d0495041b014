#pragma once
// Credits (issue #18): the operator's grants and a user's statement, read from the ledger (domain/ledger.hpp,
// the store's ledger block). Amounts are integers in micro-credits everywhere but in what people type and
// read (`--amount 12.5`, "12.5 credits").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::manager {

/// `inferix admin credits grant`: grants user `user` (who must exist) `amount` credits as people write them
/// ("100", "12.5"; more than zero), audited, under a fresh idempotency key. What it did, in words.
Result<std::string> GrantCredits(const std::string& store_url, const std::string& user,
                                 const std::string& amount);

/// A user's credits: {"available", "held"} in micro-credits, and "postings": the latest `limit` postings on
/// the user's accounts (of job `job_id` only, when not 0), newest first, each with its kind, job, frame,
/// time, memo, and what it moved on the user's own accounts ("available", "held"): never another user's
/// accounts, so an owner's identity and earnings stay theirs.
Result<nlohmann::json> UserCredits(domain::Store& store, int64_t user_id, int64_t job_id, int limit);

}  // namespace inferix::manager
