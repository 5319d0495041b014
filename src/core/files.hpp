#pragma once
// Small file helpers shared by every node: whole-file reads and atomic writes.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace inferix {

/// Reads a whole file.
Result<std::string> ReadFile(const std::filesystem::path& path);
/// Writes a file atomically (temporary file, fsync, rename), with the given permission bits.
Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write);
/// True when `name` is a safe relative path: no absolute path, no "..", no empty or control characters.
bool IsSafeRelativePath(std::string_view name);
/// The path made absolute, links resolved as far as the path exists.
std::filesystem::path Absolute(const std::filesystem::path& p);
/// The executable as the kernel would find it: through PATH when the name has no slash (unchanged when no
/// PATH entry has it), absolute, links resolved.
std::filesystem::path ResolveExecutable(const std::filesystem::path& exe);

}  // namespace inferix
