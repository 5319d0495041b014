#pragma once
// The manager's own housekeeping (issue #14): retention of ended jobs, rejected outputs' objects, events,
// sessions and orphaned uploads, done in bounded rounds by the manager's chores; and, at start, a private
// data folder emptied of the scratch files a crash left.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::manager {

/// How long things are kept; 0 keeps them forever. Seconds.
struct RetentionOptions {
  int64_t keep_jobs_s = int64_t{30} * 86400;     ///< ended jobs, with their rows and objects
  int64_t keep_rejected_s = int64_t{7} * 86400;  ///< rejected outputs' objects (evidence for a while)
  int64_t keep_events_s = int64_t{30} * 86400;   ///< events
  /// Uploads under an output key that no output records are removed once older than this: the upload URL's
  /// lifetime plus a margin, so an upload whose report is on its way is never taken.
  int64_t orphan_after_s = int64_t{2} * 3600;
  int64_t interval_ms = 60'000;  ///< time between rounds
  int batch = 100;               ///< most jobs, outputs or sessions a round removes (events: ten times this)
};

/// What one round removed.
struct RetentionCounts {
  int64_t jobs = 0;
  int64_t job_objects = 0;
  int64_t rejected_objects = 0;
  int64_t events = 0;
  int64_t sessions = 0;
  int64_t orphans = 0;
  int64_t Total() const { return jobs + job_objects + rejected_objects + events + sessions + orphans; }
};

/// Runs `fn` on the store thread and waits for its result. Tests run it in place.
using RunOnStore = std::function<Result<void>(const std::function<Result<void>()>& fn)>;

/// Retention rounds. Store work goes through `on_store` in short pieces (one query or one job at a time),
/// so requests are answered between them; object deletions and listings run on the caller's thread.
class Retention {
 public:
  Retention(domain::Store& store, domain::ObjectStore& objects, const Clock& clock, RetentionOptions options,
            RunOnStore on_store)
      : store_(store), objects_(objects), clock_(clock), options_(options), on_store_(std::move(on_store)) {}

  /// One round: expired sessions, old events, expired jobs (objects first, then rows), rejected outputs'
  /// objects, and a page of the orphaned-upload scan. Logs what it removed at info level when anything.
  RetentionCounts RunRound();

 private:
  Result<void> RemoveJobs(RetentionCounts& counts);
  Result<void> RemoveRejectedObjects(RetentionCounts& counts);
  Result<void> RemoveOrphans(RetentionCounts& counts);

  domain::Store& store_;
  domain::ObjectStore& objects_;
  const Clock& clock_;
  RetentionOptions options_;
  RunOnStore on_store_;
  std::string orphan_cursor_;  ///< where the orphaned-upload scan goes on; "" starts over
};

/// The data folder's scratch folders, emptied at start: post-processing's work folder and the HTTP server's
/// body spool. Whatever is in them at start was left by a crash.
inline constexpr std::array<std::string_view, 2> kScratchFolders = {"tmp", "spool"};

/// Creates the data folder private to the manager's user (0700), tightening an existing one that is open to
/// others (with a warning), and empties its scratch folders.
Result<void> PrepareDataFolder(const std::filesystem::path& data_dir);

}  // namespace inferix::manager
