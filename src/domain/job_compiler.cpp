#include "domain/job_compiler.hpp"

#include <algorithm>
#include <set>

#include "core/crypto.hpp"
#include "core/files.hpp"
#include "domain/frame_spec.hpp"
#include "domain/scene_layout.hpp"

namespace inferix::domain {

std::vector<std::vector<int>> ChunkFrames(const std::vector<int>& frames, int chunk_size) {
  std::vector<std::vector<int>> chunks;
  const size_t size = static_cast<size_t>(std::max(1, chunk_size));
  for (size_t i = 0; i < frames.size(); i += size) {
    chunks.emplace_back(frames.begin() + static_cast<std::ptrdiff_t>(i),
                        frames.begin() + static_cast<std::ptrdiff_t>(std::min(frames.size(), i + size)));
  }
  return chunks;
}

Result<CompiledJob> CompileJob(const Job& job, int64_t now_ms) {
  if (job.name.empty() || job.name.size() > 200) {
    return MakeError(Errc::kInvalidArgument, "job name must be 1 to 200 characters");
  }
  if (job.chunk_size < 1 || job.chunk_size > kMaxChunkSize) {
    return MakeError(Errc::kInvalidArgument,
                     "chunk_size must be between 1 and " + std::to_string(kMaxChunkSize));
  }
  if (job.files.empty() || job.files.size() > 10000) {
    return MakeError(Errc::kInvalidArgument, "a scene needs 1 to 10000 files");
  }
  std::set<std::string> paths;
  bool has_main = false;
  for (const auto& f : job.files) {
    if (!IsSafeRelativePath(f.path) || !IsValidUtf8(f.path)) {
      return MakeError(
          Errc::kInvalidArgument,
          "file path \"" + f.path + "\" must be relative UTF-8, without \"..\" or control characters");
    }
    if (!IsSha256Hex(f.sha256)) {
      return MakeError(Errc::kInvalidArgument,
                       "file \"" + f.path + "\": sha256 must be 64 lower-case hex digits");
    }
    if (!paths.insert(f.path).second)
      return MakeError(Errc::kInvalidArgument, "file \"" + f.path + "\" is listed twice");
    if (f.path == job.main_file) has_main = true;
  }
  if (!has_main) {
    return MakeError(Errc::kInvalidArgument,
                     "the main file \"" + job.main_file + "\" is not among the scene's files");
  }
  if (!job.main_file.ends_with(".blend")) {
    return MakeError(Errc::kInvalidArgument, "the main file \"" + job.main_file + "\" is not a .blend file");
  }
  if (!job.scene_root.empty()) {
    INFERIX_TRY(CheckSceneRoot(job.scene_root));
    for (const auto& f : job.files) {
      const std::string full = (job.scene_root == "/" ? "" : job.scene_root) + "/" + f.path;
      for (auto system : kSystemFolders) {
        if (PathIsUnder(full, system)) {
          return MakeError(Errc::kInvalidArgument, "file \"" + full + "\" lies in the system folder " +
                                                       std::string(system) + ", which workers cannot show");
        }
      }
    }
  }
  for (const auto& d : job.denoisers) {
    if (d != "OPENIMAGEDENOISE" && d != "OPTIX")
      return MakeError(Errc::kInvalidArgument,
                       "denoisers must name OPENIMAGEDENOISE or OPTIX, not \"" + d.substr(0, 40) + "\"");
  }
  if (job.resolution_percentage < 0 || job.resolution_percentage > 100)
    return MakeError(Errc::kInvalidArgument, "resolution_percentage must be between 1 and 100");
  auto frames = ParseFrameSpec(job.frames_spec);
  if (!frames) return frames.error();

  CompiledJob out;
  for (int f : *frames) {
    Frame frame;
    frame.job_id = job.id;
    frame.number = f;
    out.frames.push_back(frame);
  }
  for (auto& chunk : ChunkFrames(*frames, job.chunk_size)) {
    Task t;
    t.job_id = job.id;
    t.kind = TaskKind::kRender;
    t.state = TaskState::kQueued;
    t.frames = std::move(chunk);
    t.created_ms = now_ms;
    out.tasks.push_back(std::move(t));
  }
  return out;
}

}  // namespace inferix::domain
