#include "domain/verification.hpp"

namespace inferix::domain {

std::string_view ToString(CheckVerdict v) {
  switch (v) {
    case CheckVerdict::kAccepted:
      return "accepted";
    case CheckVerdict::kRejected:
      return "rejected";
    case CheckVerdict::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

std::optional<CheckVerdict> ParseCheckVerdict(std::string_view s) {
  for (CheckVerdict v : {CheckVerdict::kAccepted, CheckVerdict::kRejected, CheckVerdict::kInconclusive}) {
    if (ToString(v) == s) return v;
  }
  return std::nullopt;
}

VerificationRecord NextRecord(const std::optional<VerificationRecord>& previous, VerificationRecord check) {
  if (!previous) return check;
  check.discarded_because = previous->discarded_because;
  check.rechecked = previous->rechecked;
  check.settled_by_output = previous->settled_by_output;
  check.history = previous->history;
  VerificationRecord replaced = *previous;
  replaced.history.clear();
  std::erase_if(replaced.unparsed, [](const auto& kv) { return kv.first == "history"; });
  check.history.push_back(std::move(replaced));
  return check;
}

CheckCount CountOf(Verdict verdict, const VerificationRecord& record) {
  switch (verdict) {
    case Verdict::kAccepted:
      return CheckCount::kAccepted;
    case Verdict::kRejected:
      return !record.discarded_because || record.discard_check_rejected ? CheckCount::kRejected
                                                                        : CheckCount::kNotChecked;
    case Verdict::kPending:
    case Verdict::kTrusted:
      return CheckCount::kNotChecked;
  }
  return CheckCount::kNotChecked;
}

}  // namespace inferix::domain
