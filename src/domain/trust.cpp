#include "domain/trust.hpp"

#include <algorithm>

namespace inferix::domain {

double CheckRate(const TrustPolicy& policy, int streak) {
  if (streak < policy.new_worker_checks) return 1.0;
  const double by_bound = 1.0 - policy.bound * static_cast<double>(streak) / 3.0;
  return std::clamp(by_bound, std::clamp(policy.min_rate, 0.0, 1.0), 1.0);
}

RegionCounts RegionsFor(const TrustPolicy& policy, int level) {
  if (level <= kLayer1Only) return {};
  if (level == kRegions || level == kReplicaCheck || level == kWholeFrame)
    return {policy.regions, policy.detail_regions};
  const int f = std::max(policy.escalated_factor, 1);
  return {policy.regions * f, policy.detail_regions * f};
}

bool ShouldBan(const TrustPolicy& policy, int rejected_in_window) {
  return policy.ban_after > 0 && rejected_in_window >= policy.ban_after;
}

void RecordCheck(Node& worker, CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kPassed:
      ++worker.accepted;
      ++worker.streak;
      return;
    case CheckOutcome::kFailed:
      ++worker.rejected;
      worker.streak = 0;
      return;
  }
}

std::string DeterminismClass(const std::string& blender_version, const std::string& arch,
                             const std::string& device) {
  auto or_unknown = [](const std::string& s) { return s.empty() ? std::string("unknown") : s; };
  return "blender " + or_unknown(blender_version) + " / " + or_unknown(arch) + " / " + or_unknown(device);
}

}  // namespace inferix::domain
