#pragma once
// Adaptive trust (DESIGN.md section 6; docs/verification.md gives the arithmetic): which outputs are checked,
// how far a check escalates, when a worker is banned. Pure functions of a policy and a worker's record.
#include <string>

#include "domain/model.hpp"

namespace inferix::domain {

/// Policy values; operators set them on the manager's command line. The defaults are documented with their
/// reasoning in docs/verification.md.
struct TrustPolicy {
  int new_worker_checks = 20;  ///< every output is checked until a worker has this many acceptances in a row
  double bound = 0.01;         ///< at most this chance that a frame left unchecked is bad (95% confidence)
  double min_rate = 0.05;      ///< trusted workers are still spot-checked at least this often
  int ban_after = 3;           ///< rejections among a worker's last `ban_window` checks that ban it
  int ban_window = 50;
  int regions = 2;           ///< uniform regions of a first check
  int detail_regions = 1;    ///< detail-weighted regions of a first check
  int escalated_factor = 3;  ///< an inconclusive check is repeated with this many times the regions
  int max_replicas = 2;      ///< second workers' renders tried to settle a check before the frame fails
  /// Scenes whose regions cost a whole frame (Eevee, Workbench, denoised): the chance that a check renders
  /// the whole frame exactly rather than reduced (docs/verification.md).
  double exact_rate = 0.05;
};

/// How far the check of one output has gone; a verify task carries its level.
enum CheckLevel : int {
  kLayer1Only = -1,   ///< a trusted worker's output not drawn for a spot check: layer 1 only
  kRegions = 0,       ///< layer 1 and layer 2 with the policy's regions
  kMoreRegions = 1,   ///< after an inconclusive check: escalated_factor times the regions
  kReplicaCheck = 2,  ///< after that: a second worker rendered the frame; its render is checked and compared
  kWholeFrame = 3,    ///< a caught worker's delivered frames: the verifier re-renders the whole frame
};

/// Chance that an output of a worker with `streak` acceptances in a row gets layer 2. 1 for new workers;
/// then 1 - bound * streak / 3 (rule of three: after n clean checks the bad-frame rate is below 3 / n with
/// 95% confidence, so checking with this chance keeps bad-and-unchecked below `bound`), never below min_rate.
double CheckRate(const TrustPolicy& policy, int streak);

/// Regions of a check at `level` (uniform, detail-weighted).
struct RegionCounts {
  int regions = 0;
  int detail_regions = 0;
};
RegionCounts RegionsFor(const TrustPolicy& policy, int level);

/// True when `rejected` of a worker's last `checked` checks (checked <= ban_window) reach the ban threshold.
bool ShouldBan(const TrustPolicy& policy, int rejected_in_window);

/// What a check of a worker's output found, for its trust.
enum class CheckOutcome {
  kPassed,  ///< a check (with regions, a whole-frame re-render or a second render) found the output right
  kFailed,  ///< a check found it wrong
};
/// The one place a worker's trust counters change: a passed check adds to its acceptances and to its streak
/// (CheckRate falls as the streak grows); a failed one adds to its rejections and resets the streak, so the
/// worker is checked like a new one again. Outputs delivered on trust (layer 1 only) are no check and never
/// come here. Whether the worker is banned is ShouldBan's, over its recent outputs.
void RecordCheck(Node& worker, CheckOutcome outcome);

/// Determinism class of a node: its Blender version and build,
/// CPU architecture and render device. A frame is only compared with renders of the same class.
std::string DeterminismClass(const std::string& blender_version, const std::string& arch,
                             const std::string& device);

}  // namespace inferix::domain
