#include "domain/settlement.hpp"

#include <string>

#include "domain/state_machine.hpp"

namespace inferix::domain {

Result<SettlementChange> Settle(Output& output, Settlement settlement, std::string_view reason) {
  SettlementChange change{output.verdict, output.verdict, CreditChange::kNone};
  Verdict to = Verdict::kPending;
  bool credited = false;
  switch (settlement) {
    case Settlement::kAccept:
      to = Verdict::kAccepted;
      credited = true;
      break;
    case Settlement::kTrust:
      to = Verdict::kTrusted;
      credited = true;
      break;
    case Settlement::kReject:
      to = Verdict::kRejected;
      credited = false;
      break;
    case Settlement::kDiscard:
      // Only an output no check has decided yet is discarded; a checked one is rejected (kReject).
      if (output.verdict != Verdict::kPending) {
        return MakeError(Errc::kConflict, "output " + std::to_string(output.id) + " (frame " +
                                              std::to_string(output.frame) + " of job " +
                                              std::to_string(output.job_id) + ") cannot be discarded (" +
                                              std::string(reason) + "): it is " +
                                              std::string(ToString(output.verdict)) + " already");
      }
      to = Verdict::kRejected;
      credited = false;
      break;
  }
  const bool confirmed = settlement == Settlement::kAccept && output.verdict == Verdict::kAccepted;
  if (!confirmed) INFERIX_TRY(Transition(output, to, reason));
  if (credited != output.credited) {
    change.credit = credited ? CreditChange::kCredited : CreditChange::kReversed;
    output.credited = credited;
  }
  change.to = output.verdict;
  return change;
}

}  // namespace inferix::domain
