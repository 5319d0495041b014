#include "manager/scene_intake.hpp"

#include <algorithm>

#include "blend/blend_file.hpp"
#include "core/crypto.hpp"
#include "domain/object_keys.hpp"

namespace inferix::manager {

Result<void> ReadMainFileHeader(domain::ObjectStore& blobs, domain::Job& job) {
  for (const auto& f : job.files) {
    if (f.path != job.main_file) continue;
    // Never uploaded (no such object): the scheduler says so. The header lies in the first bytes, compressed
    // or not, so only those are read.
    auto object = blobs.Open(domain::FileKey(f.sha256));
    if (!object) continue;
    std::string head(static_cast<size_t>(std::min<int64_t>((*object)->Size(), int64_t{1} << 20)), '\0');
    auto got = (*object)->ReadAt(0, head.data(), head.size());
    if (!got) return got.error();
    head.resize(*got);
    auto header = blend::ReadHeaderFromBytes(head);
    if (!header) {
      return MakeError(Errc::kInvalidArgument,
                       "main file \"" + job.main_file + "\" is not a .blend file (plain, gzip or zstd): " +
                           header.error().message + "; save the scene from Blender and upload that file");
    }
    job.blender_version = header->version;
  }
  return Ok();
}

Result<void> TakeStoredSizes(domain::ObjectStore& blobs, domain::Job& job) {
  for (auto& f : job.files) {
    if (!IsSha256Hex(f.sha256)) continue;  // refused with its reason when the job is compiled
    auto info = blobs.Stat(domain::FileKey(f.sha256));
    if (!info) return info.error();
    if (!info->has_value()) continue;
    const int64_t stored = (*info)->size;
    if (f.size != 0 && f.size != stored) {
      return MakeError(Errc::kInvalidArgument,
                       "file \"" + f.path + "\" is stated as " + std::to_string(f.size) +
                           " bytes, but the file uploaded with its SHA-256 has " + std::to_string(stored) +
                           " bytes; state its real size (or leave \"size\" out)");
    }
    f.size = stored;
  }
  return Ok();
}

}  // namespace inferix::manager
