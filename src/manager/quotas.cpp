#include "manager/quotas.hpp"

#include <cstdio>

#include "domain/frame_spec.hpp"

namespace inferix::manager {
namespace {

// "1234 bytes", "3.5 MiB": quota messages are read by people.
std::string Bytes(int64_t n) {
  if (n < 1024) return std::to_string(n) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[unit]);
  return buf;
}

const char* const kAskOperator =
    "; ask the operator to raise it (inferix admin user set), or wait for your jobs to end";

}  // namespace

Limits LimitsOf(const domain::User& user, const QuotaDefaults& defaults) {
  const domain::UserLimits& own = user.limits;
  Limits l;
  l.max_priority = own.max_priority.value_or(defaults.max_priority);
  l.any_priority = user.role == domain::UserRole::kOperator;
  l.stored_bytes = own.stored_bytes.value_or(defaults.stored_bytes);
  l.active_jobs = own.active_jobs.value_or(defaults.active_jobs);
  l.frames_per_job = own.frames_per_job.value_or(defaults.frames_per_job);
  l.frames_in_flight = own.frames_in_flight.value_or(defaults.frames_in_flight);
  return l;
}

Result<void> CheckPriority(const Limits& limits, int priority) {
  if (limits.any_priority || priority <= limits.max_priority) return Ok();
  return MakeError(Errc::kPermissionDenied,
                   "priority " + std::to_string(priority) + " is above the highest you may give, " +
                       std::to_string(limits.max_priority) +
                       "; submit with a lower priority, or ask the operator to allow more (inferix admin "
                       "user set --max-priority)");
}

Result<void> CheckNewJob(const Limits& limits, const domain::UserUsage& usage, int64_t frames) {
  if (limits.frames_per_job > 0 && frames > limits.frames_per_job) {
    return MakeError(
        Errc::kPermissionDenied,
        "the job has " + std::to_string(frames) + " frames, more than the limit of " +
            std::to_string(limits.frames_per_job) +
            " frames per job; split it into several jobs, or ask the operator to raise the limit "
            "(inferix admin user set --quota-frames-per-job)");
  }
  if (limits.active_jobs > 0 && usage.active_jobs + 1 > limits.active_jobs) {
    return MakeError(Errc::kPermissionDenied, "you have " + std::to_string(usage.active_jobs) +
                                                  " queued or active jobs, the limit of active jobs is " +
                                                  std::to_string(limits.active_jobs) + kAskOperator);
  }
  if (limits.frames_in_flight > 0 && usage.frames_in_flight + frames > limits.frames_in_flight) {
    return MakeError(
        Errc::kPermissionDenied,
        "the job's " + std::to_string(frames) + " frames and the " + std::to_string(usage.frames_in_flight) +
            " frames your jobs still have to deliver would pass the limit of frames in flight, " +
            std::to_string(limits.frames_in_flight) + kAskOperator);
  }
  return Ok();
}

Result<void> CheckUpload(const Limits& limits, const domain::UserUsage& usage, int64_t size) {
  if (limits.stored_bytes <= 0 || usage.stored_bytes + size <= limits.stored_bytes) return Ok();
  return MakeError(
      Errc::kPermissionDenied,
      "this file (" + Bytes(size) + ") would pass your stored-bytes quota of " + Bytes(limits.stored_bytes) +
          ": your scene files use " + Bytes(usage.stored_bytes) +
          " already; nothing was stored. Ask the operator to raise the quota (inferix admin user "
          "set --quota-stored-bytes)");
}

Result<void> AllowNewJob(domain::Store& store, const domain::User& user, const QuotaDefaults& defaults,
                         const domain::Job& job) {
  const Limits limits = LimitsOf(user, defaults);
  INFERIX_TRY(CheckPriority(limits, job.priority));
  auto frames = domain::ParseFrameSpec(job.frames_spec);
  if (!frames) return Ok();  // the job compiler says what is wrong with it
  auto usage = store.GetUserUsage(user.id);
  if (!usage) return usage.error();
  return CheckNewJob(limits, *usage, static_cast<int64_t>(frames->size()));
}

Result<void> AllowUpload(domain::Store& store, const domain::User& user, const QuotaDefaults& defaults,
                         const std::string& sha256, int64_t size) {
  const Limits limits = LimitsOf(user, defaults);
  if (limits.stored_bytes <= 0) return Ok();
  auto has = store.UserHasFile(user.id, sha256);
  if (!has) return has.error();
  if (*has) return Ok();
  auto usage = store.GetUserUsage(user.id);
  if (!usage) return usage.error();
  return CheckUpload(limits, *usage, size);
}

nlohmann::json LimitsToJson(const Limits& limits) {
  auto or_null = [](int64_t v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {
      {"max_priority", limits.any_priority ? nlohmann::json(nullptr) : nlohmann::json(limits.max_priority)},
      {"stored_bytes", or_null(limits.stored_bytes)},
      {"active_jobs", or_null(limits.active_jobs)},
      {"frames_per_job", or_null(limits.frames_per_job)},
      {"frames_in_flight", or_null(limits.frames_in_flight)}};
}

nlohmann::json UsageToJson(const domain::UserUsage& usage) {
  return {{"stored_bytes", usage.stored_bytes},
          {"active_jobs", usage.active_jobs},
          {"frames_in_flight", usage.frames_in_flight}};
}

}  // namespace inferix::manager
