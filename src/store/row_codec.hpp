#pragma once
// How the store adapters keep lists in one text column (SQLite and PostgreSQL alike): integers
// comma-separated, denoiser names (upper-case words) comma-separated, scene files as "sha256 size path" lines
// (paths are checked safe, without newlines, before they get here). Only src/store includes it.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "domain/model.hpp"

namespace inferix::store {

std::string JoinInts(const std::vector<int64_t>& v);
std::string JoinInts(const std::vector<int>& v);
template <class T>
std::vector<T> SplitInts(const std::string& s) {
  std::vector<T> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(static_cast<T>(std::stoll(item)));
  }
  return out;
}
std::string JoinWords(const std::vector<std::string>& v);
std::vector<std::string> SplitWords(const std::string& s);
std::string EncodeFiles(const std::vector<domain::SceneFile>& files);
std::vector<domain::SceneFile> DecodeFiles(const std::string& s);

// The columns of each table, in the order both adapters' row readers expect (the same tables and names in
// SQLite and PostgreSQL).
inline constexpr const char* kJobCols =
    "id, user_id, name, main_file, files, frames_spec, format, chunk_size, priority, state, message, "
    "created_ms, finished_ms, fps, video_state, video_key, started_ms, scene_root, blender_version, "
    "denoisers, without_denoiser, resolution_percentage, requirements, engine";
inline constexpr const char* kTaskCols =
    "id, job_id, kind, state, frames, output_id, node_id, lease_expires_ms, excluded, message, created_ms, "
    "level, progress, progress_ms, slot";
inline constexpr const char* kFrameCols =
    "job_id, number, state, task_id, output_id, failures, errors, excluded";
// The tail of an INSERT INTO frames that makes it PutFrame's upsert (both engines' syntax). Never INSERT OR
// REPLACE: its delete does not fire SQLite's delete trigger, and frame_counts would drift.
inline constexpr const char* kFrameUpsert =
    " ON CONFLICT (job_id, number) DO UPDATE SET state = EXCLUDED.state, task_id = EXCLUDED.task_id, "
    "output_id = EXCLUDED.output_id, failures = EXCLUDED.failures, errors = EXCLUDED.errors, "
    "excluded = EXCLUDED.excluded";
inline constexpr const char* kOutputCols =
    "id, job_id, frame, task_id, node_id, blob_key, sha256, render_seconds, verdict, verdict_detail, "
    "verifier_node_id, verify_seconds, created_ms, preview_key, render_cpu_seconds, verify_cpu_seconds, "
    "det_class, method, credited, replica_of";
inline constexpr const char* kNodeCols =
    "id, name, role, public_key, capabilities, banned, last_seen_ms, accepted, rejected, ban_reason, "
    "det_class, streak, availability, availability_reason, owner_id";

}  // namespace inferix::store
