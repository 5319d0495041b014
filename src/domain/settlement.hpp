#pragma once
// Settling an output: its verdict and what its worker earns for it change together, in one place.
//
// This is the seam where the credits ledger hooks in: every change of what a worker earns for an output goes
// through Settle, and its answer (SettlementChange) says whether a credit was made or reversed, so the ledger
// books exactly what Settle changed.
#include <string_view>

#include "core/result.hpp"
#include "domain/model.hpp"

namespace inferix::domain {

/// What happens to an output.
enum class Settlement {
  kAccept,   ///< a check found it right: accepted, and its worker earns for it (delivered or, for a second
             ///< render that settled another output's check, not)
  kTrust,    ///< delivered after layer 1 only, on its worker's trust: trusted, and its worker earns for it
  kReject,   ///< a check found it wrong: rejected; what its worker earned for it is taken back
  kDiscard,  ///< its worker was caught before it was checked: rejected unchecked, never earned
};

/// How the credit for an output changed.
enum class CreditChange {
  kNone,      ///< as it was
  kCredited,  ///< its worker now earns for it
  kReversed,  ///< its worker had earned for it and no longer does (rejected after delivery)
};

/// What Settle changed.
struct SettlementChange {
  Verdict from = Verdict::kPending;
  Verdict to = Verdict::kPending;
  CreditChange credit = CreditChange::kNone;
  bool Changed() const { return from != to || credit != CreditChange::kNone; }
};

/// Settles `output`: its verdict changes by the verdict state machine (Transition; an illegal change is
/// refused with kConflict naming the output and `reason`, and the output is left as it was) and its credit
/// follows. Accepting an output that is accepted already confirms it and changes nothing.
Result<SettlementChange> Settle(Output& output, Settlement settlement, std::string_view reason);

}  // namespace inferix::domain
