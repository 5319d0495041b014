#pragma once
// What the manager reads of a submitted scene before it takes the job: the main file's .blend header (the
// same reader the client's preflight uses), which says whether it is a scene at all and which Blender saved
// it.
#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::manager {

/// Sets `job.blender_version` from the header of its main file. A main file that was never uploaded is left
/// to the scheduler to refuse; one that is not a .blend (plain, gzip or zstd) is kInvalidArgument, as every
/// worker would fail on it in turn.
Result<void> ReadMainFileHeader(domain::ObjectStore& blobs, domain::Job& job);

/// Sets each file's size to the size stored when it was uploaded, never what the request stated: a stated
/// size (not 0) that differs is kInvalidArgument naming the file and both sizes. A file never uploaded is
/// left to the scheduler to refuse.
Result<void> TakeStoredSizes(domain::ObjectStore& blobs, domain::Job& job);

}  // namespace inferix::manager
