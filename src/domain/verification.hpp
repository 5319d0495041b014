#pragma once
// A verification's record: how the verdict on one output was reached (DESIGN.md section 6,
// docs/verification.md). The manager keeps it with the output (Output::method, as JSON text that
// manager/verification_json.hpp reads and writes); the decisions that depend on earlier checks read its
// typed members.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/model.hpp"

namespace inferix::domain {

/// What a verifier found in one check. Inconclusive is not a verdict on the output: the check escalates.
enum class CheckVerdict { kAccepted, kRejected, kInconclusive };
/// "accepted", "rejected", "inconclusive": the names verifiers report and the record keeps.
std::string_view ToString(CheckVerdict v);
/// Parses the names above; std::nullopt for anything else.
std::optional<CheckVerdict> ParseCheckVerdict(std::string_view s);

/// A rectangle of the frame a verifier rendered again and compared: [x0, x1) x [y0, y1) in pixels.
struct Region {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool operator==(const Region&) const = default;
};

/// One output's verification record. Every member is optional as in the stored JSON: a check writes the
/// first group, a discard writes only `discarded_because`, and records written before a member existed lack
/// it.
struct VerificationRecord {
  // The last check, as the verifier reported it (layers, regions) and as the manager ran it.
  std::optional<int> layers;                   ///< "layers": 1 (opened and looked) or 2 (re-rendered)
  std::optional<std::vector<Region>> regions;  ///< "regions" compared, as the verifier reported them
  std::optional<int> level;                    ///< "level": the CheckLevel of the check (trust.hpp)
  std::optional<int64_t> verifier_id;          ///< "verifier_id": the verifier node
  std::optional<std::string> verifier;         ///< "verifier": its name
  std::optional<std::string> verifier_class;   ///< "verifier_class": its determinism class
  std::optional<std::string> worker_class;     ///< "worker_class": the class the output was rendered in
  std::optional<CheckVerdict> verdict;         ///< "verdict": what the check found

  // What stays true of the output whatever later checks find (carried from record to record).
  std::optional<int64_t> discarded_because;  ///< "discarded_because": rejected unchecked, its worker's output
                                             ///< with this id having been rejected
  bool rechecked = false;                    ///< "rechecked": true: queued for a re-check once its worker was
                                             ///< caught (never queued twice)
  std::optional<int64_t> settled_by_output;  ///< "settled_by_output": the second render that settled it

  bool discard_check_rejected = false;        ///< "discard_check": "rejected": discarded, then checked wrong
  std::optional<bool> matches_second_render;  ///< "matches_second_render": the settling render's comparison

  /// "history": the records this one replaced, oldest first (each without a history of its own).
  std::vector<VerificationRecord> history;
  /// Keys this version does not know, or whose values it cannot type, with their JSON text: written back
  /// as they were, read by no decision.
  std::vector<std::pair<std::string, std::string>> unparsed;

  bool operator==(const VerificationRecord&) const = default;
};

/// The record of a new check of an output whose record was `previous` (nullopt: none): the check's own
/// members from `check`; what stays true carried from `previous`; `previous` (without its history) appended
/// to its history.
VerificationRecord NextRecord(const std::optional<VerificationRecord>& previous, VerificationRecord check);

/// How one of a worker's outputs counts among its recent checks, which ban it after repeated rejections:
/// accepted by a check, rejected by a check (discarded outputs count only when their own check rejected
/// them), or not checked (pending, trusted, discarded and not found wrong).
enum class CheckCount { kNotChecked, kAccepted, kRejected };
CheckCount CountOf(Verdict verdict, const VerificationRecord& record);

}  // namespace inferix::domain
