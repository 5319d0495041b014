#pragma once
// What a process and its descendants use, read from /proc: a Blender, its sandbox and its helpers.
#include <cstdint>

namespace inferix::render {

/// CPU seconds used by process `root` and its live descendants (0 when it is gone).
double ProcessTreeCpuSeconds(int root);

/// The memory process `root` and its live descendants hold (resident, less pages shared with other
/// processes such as libraries), in bytes; 0 when it is gone.
int64_t ProcessTreeMemoryBytes(int root);

}  // namespace inferix::render
