#pragma once
// Compiles a job into render tasks: chunks of consecutive frames of its SPEC.
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"

namespace inferix::domain {

/// The most frames in one chunk.
inline constexpr int kMaxChunkSize = 1000;

/// Splits frames (sorted) into chunks of at most `chunk_size`, in order.
std::vector<std::vector<int>> ChunkFrames(const std::vector<int>& frames, int chunk_size);

/// What compiling a job gives: its frames and one queued render task per chunk.
struct CompiledJob {
  std::vector<Frame> frames;
  std::vector<Task> tasks;
};

/// Checks a job's fields (name, files, SPEC, chunk size) and compiles it; errors name the bad field.
Result<CompiledJob> CompileJob(const Job& job, int64_t now_ms);

}  // namespace inferix::domain
