#pragma once
// The SQLite adapter's claim queries (domain::Store's "Claims" block): which queued tasks a node may take,
// filtered in the query, the counts behind the per-node caps, and jobs' frame counts. Only src/store includes
// it.
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "domain/ports.hpp"
#include "domain/state_machine.hpp"

namespace inferix::store::sqlite {

Result<std::vector<domain::Task>> ListClaimableTasks(sqlite3* db, const domain::ClaimFilter& filter,
                                                     int limit, int offset);
Result<void> CountNodeClaim(sqlite3* db, int64_t node_id, int64_t now_ms);
Result<domain::NodeClaims> NodeClaimsInDay(sqlite3* db, int64_t node_id, int64_t now_ms);
Result<std::vector<domain::Task>> ListBannedNodesTasks(sqlite3* db);
Result<std::vector<domain::Output>> ListBannedNodesPendingOutputs(sqlite3* db, int limit);
Result<std::map<std::string, int64_t>> CountClassBoundChecks(sqlite3* db);
Result<void> AddToBlocklist(sqlite3* db, const domain::BlocklistEntry& e);
Result<std::vector<domain::BlocklistEntry>> ListBlocklist(sqlite3* db, int64_t job_id);
Result<std::vector<int64_t>> ListBlocklistedJobs(sqlite3* db, int64_t node_id);
// Frame counts by state (frame_counts, kept by triggers): of each of a user's jobs, and of one job.
Result<std::map<int64_t, domain::FrameCounts>> CountFramesByJob(sqlite3* db, int64_t user_id);
Result<domain::FrameCounts> CountJobFrames(sqlite3* db, int64_t job_id);

}  // namespace inferix::store::sqlite
