#pragma once
// Per-user limits (issue #14): who may raise a job's priority, and how much one user may store and queue. The
// manager's flags set the defaults (QuotaDefaults); the operator sets a user's own (`inferix admin user
// set`). The rules are pure (Check*); the Allow* calls read the user's usage from the store first.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::manager {

/// The limits of every user who has none of their own. Sizes and counts: 0 means no limit.
struct QuotaDefaults {
  int max_priority = 0;                      ///< the highest priority a plain user may give
  int64_t stored_bytes = int64_t{50} << 30;  ///< scene files per user (50 GiB)
  int64_t active_jobs = 100;                 ///< queued and active jobs per user
  int64_t frames_per_job = 10'000;           ///< keeps creating one job short (one row per frame)
  int64_t frames_in_flight = 200'000;        ///< frames of a user's jobs still to deliver
};

/// The limits in force for one user: theirs where the operator set one, else the defaults.
struct Limits {
  int max_priority = 0;
  bool any_priority = false;  ///< operators may give any priority
  int64_t stored_bytes = 0;
  int64_t active_jobs = 0;
  int64_t frames_per_job = 0;
  int64_t frames_in_flight = 0;
};

/// The user's limits in force.
Limits LimitsOf(const domain::User& user, const QuotaDefaults& defaults);

/// A job's priority above the user's maximum is kPermissionDenied (403), naming the maximum and who can
/// raise it.
Result<void> CheckPriority(const Limits& limits, int priority);
/// A new job of `frames` frames that would pass a limit (frames per job, active jobs, frames in flight) is
/// kPermissionDenied, naming the limit and the usage.
Result<void> CheckNewJob(const Limits& limits, const domain::UserUsage& usage, int64_t frames);
/// A new scene file of `size` bytes that would pass the stored-bytes quota is kPermissionDenied, naming the
/// quota and the usage.
Result<void> CheckUpload(const Limits& limits, const domain::UserUsage& usage, int64_t size);

/// Whether `user` may submit `job` (its priority and frames): reads the usage, then the rules above. A frame
/// SPEC that does not parse is left to the job compiler's own error.
Result<void> AllowNewJob(domain::Store& store, const domain::User& user, const QuotaDefaults& defaults,
                         const domain::Job& job);
/// Whether `user` may store a scene file of `size` bytes with this SHA-256: a file they already have costs
/// nothing.
Result<void> AllowUpload(domain::Store& store, const domain::User& user, const QuotaDefaults& defaults,
                         const std::string& sha256, int64_t size);

/// {"max_priority", "stored_bytes", ...} of the limits in force (null where there is none).
nlohmann::json LimitsToJson(const Limits& limits);
/// {"stored_bytes", "active_jobs", "frames_in_flight"}.
nlohmann::json UsageToJson(const domain::UserUsage& usage);

}  // namespace inferix::manager
