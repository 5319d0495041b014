#pragma once
// Where a job's files appear on a worker: at the artist's own paths, under the job's scene root, never in the
// folders a worker's sandbox shows from the worker's own system.
#include <array>
#include <string_view>

#include "core/result.hpp"

namespace inferix::domain {

/// Folders a worker's sandbox shows from the worker's own system (or not at all): a scene's file never
/// appears in them. The client refuses files there at preflight; the manager refuses scene roots there.
inline constexpr std::array<std::string_view, 13> kSystemFolders = {
    "/usr",  "/etc", "/proc",  "/sys",   "/dev",    "/run", "/bin",
    "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot"};

/// True when `path` is `folder` or lies inside it, comparing whole path segments ("/usr" holds "/usr/x", not
/// "/usrx"). Both absolute and lexically normal.
bool PathIsUnder(std::string_view path, std::string_view folder);

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): paths
/// travel in JSON, which carries nothing else.
bool IsValidUtf8(std::string_view text);

/// Whether `root` may be a job's scene root: an absolute, lexically normal POSIX path (no "." or ".."
/// segment, no empty segment, no trailing slash, no backslash or control character, at most 4096 bytes), not
/// in a system folder. "/" is allowed: files from several top folders (/home and /mnt) lie under it.
Result<void> CheckSceneRoot(std::string_view root);

}  // namespace inferix::domain
