#include "manager/retention.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <system_error>
#include <vector>

namespace inferix::manager {
namespace fs = std::filesystem;

namespace {

constexpr const char* kOutputPrefix = "outputs/";

// Deletes objects; how many it deleted, or the first failure (the rest are left for the next round).
Result<int64_t> DeleteObjects(domain::ObjectStore& objects, const std::vector<std::string>& keys) {
  int64_t n = 0;
  for (const auto& key : keys) {
    if (key.empty()) continue;
    INFERIX_TRY(objects.Delete(key));
    ++n;
  }
  return n;
}

}  // namespace

RetentionCounts Retention::RunRound() {
  RetentionCounts counts;
  const int64_t now = clock_.NowMs();
  auto sessions = on_store_([&]() -> Result<void> {
    auto n = store_.DeleteExpiredSessions(now, options_.batch);
    if (!n) return n.error();
    counts.sessions = *n;
    return Ok();
  });
  if (!sessions) spdlog::error("retention: removing expired sessions: {}", sessions.error().message);
  if (options_.keep_events_s > 0) {
    auto events = on_store_([&]() -> Result<void> {
      auto n = store_.DeleteEventsBefore(now - options_.keep_events_s * 1000, options_.batch * 10);
      if (!n) return n.error();
      counts.events = *n;
      return Ok();
    });
    if (!events) spdlog::error("retention: removing old events: {}", events.error().message);
  }
  if (auto r = RemoveJobs(counts); !r) spdlog::error("retention: removing old jobs: {}", r.error().message);
  if (auto r = RemoveRejectedObjects(counts); !r) {
    spdlog::error("retention: removing rejected outputs' objects: {}", r.error().message);
  }
  if (auto r = RemoveOrphans(counts); !r) {
    spdlog::error("retention: removing orphaned uploads: {}", r.error().message);
  }
  if (counts.Total() > 0) {
    spdlog::info(
        "retention: removed {} job(s) with {} object(s), {} rejected output object(s), {} event(s), {} "
        "expired session(s), {} orphaned upload(s)",
        counts.jobs, counts.job_objects, counts.rejected_objects, counts.events, counts.sessions,
        counts.orphans);
  }
  return counts;
}

Result<void> Retention::RemoveJobs(RetentionCounts& counts) {
  if (options_.keep_jobs_s <= 0) return Ok();
  std::vector<domain::Job> jobs;
  INFERIX_TRY(on_store_([&]() -> Result<void> {
    auto j = store_.ListExpiredJobs(clock_.NowMs() - options_.keep_jobs_s * 1000, options_.batch);
    if (!j) return j.error();
    jobs = std::move(*j);
    return Ok();
  }));
  for (const auto& job : jobs) {
    // The objects go first: should the rows' removal fail, the job is found again next round; the other way
    // round, objects would be left that no row names.
    std::vector<std::string> keys = {job.video_key};
    INFERIX_TRY(on_store_([&]() -> Result<void> {
      auto outputs = store_.ListOutputs(job.id);
      if (!outputs) return outputs.error();
      for (const auto& o : *outputs) {
        keys.push_back(o.blob_key);
        keys.push_back(o.preview_key);
      }
      return Ok();
    }));
    auto deleted = DeleteObjects(objects_, keys);
    if (!deleted) return deleted.error();
    INFERIX_TRY(on_store_([&]() -> Result<void> { return store_.DeleteJob(job.id); }));
    counts.job_objects += *deleted;
    ++counts.jobs;
  }
  return Ok();
}

Result<void> Retention::RemoveRejectedObjects(RetentionCounts& counts) {
  if (options_.keep_rejected_s <= 0) return Ok();
  std::vector<domain::Output> outputs;
  INFERIX_TRY(on_store_([&]() -> Result<void> {
    auto o =
        store_.ListExpiredRejectedOutputs(clock_.NowMs() - options_.keep_rejected_s * 1000, options_.batch);
    if (!o) return o.error();
    outputs = std::move(*o);
    return Ok();
  }));
  for (const auto& o : outputs) {
    auto deleted = DeleteObjects(objects_, {o.blob_key, o.preview_key});
    if (!deleted) return deleted.error();
    INFERIX_TRY(on_store_([&]() -> Result<void> { return store_.ForgetOutputObjects(o.id); }));
    counts.rejected_objects += *deleted;
  }
  return Ok();
}

Result<void> Retention::RemoveOrphans(RetentionCounts& counts) {
  if (options_.orphan_after_s <= 0) return Ok();
  const size_t page = static_cast<size_t>(options_.batch) * 10;
  auto listed = objects_.List(kOutputPrefix, orphan_cursor_, page);
  if (!listed) return listed.error();
  // The next round goes on after this page, or starts over after the last one.
  orphan_cursor_ = listed->size() < page ? std::string() : listed->back().key;
  const int64_t before = clock_.NowMs() - options_.orphan_after_s * 1000;
  std::vector<std::string> old;
  for (const auto& o : *listed) {
    if (o.modified_ms < before) old.push_back(o.key);
  }
  if (old.empty()) return Ok();
  std::vector<std::string> kept;
  INFERIX_TRY(on_store_([&]() -> Result<void> {
    auto r = store_.ReferencedOutputKeys(old);
    if (!r) return r.error();
    kept = std::move(*r);
    return Ok();
  }));
  std::vector<std::string> orphans;
  for (auto& key : old) {
    if (std::find(kept.begin(), kept.end(), key) == kept.end()) orphans.push_back(std::move(key));
  }
  auto deleted = DeleteObjects(objects_, orphans);
  if (!deleted) return deleted.error();
  counts.orphans += *deleted;
  return Ok();
}

Result<void> PrepareDataFolder(const fs::path& data_dir) {
  std::error_code ec;
  const bool existed = fs::exists(data_dir, ec);
  fs::create_directories(data_dir, ec);
  if (ec)
    return MakeError(Errc::kInternal, "cannot create data folder " + data_dir.string() + ": " + ec.message());
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(Errc::kInvalidArgument, "data folder " + data_dir.string() + " is not a folder");
  }
  // Created with the umask's bits, or made earlier by someone else: only the manager's user may look inside
  // (the database, the URL-signing secret, users' scenes and frames).
  if ((st.st_mode & 077) != 0) {
    if (existed) {
      spdlog::warn("data folder {} was open to other users (mode {:o}); made private (700)",
                   data_dir.string(), st.st_mode & 0777);
    }
    if (::chmod(data_dir.c_str(), 0700) != 0) {
      return MakeError(Errc::kInternal, "cannot make data folder " + data_dir.string() +
                                            " private (chmod 700): " +
                                            std::error_code(errno, std::generic_category()).message());
    }
  }
  int64_t removed = 0;
  for (std::string_view name : kScratchFolders) {
    const fs::path dir = data_dir / name;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto n = fs::remove_all(entry.path(), ec);
      if (ec) {
        return MakeError(Errc::kInternal, "cannot remove " + entry.path().string() +
                                              " left by an earlier run: " + ec.message());
      }
      removed += static_cast<int64_t>(n);
    }
  }
  if (removed > 0) spdlog::info("removed {} temporary file(s) and folder(s) left by an earlier run", removed);
  return Ok();
}

}  // namespace inferix::manager
