#include "manager/scene_intake.hpp"

#include "blend/blend_file.hpp"

namespace inferix::manager {

Result<void> ReadMainFileHeader(domain::BlobStore& blobs, domain::Job& job) {
  for (const auto& f : job.files) {
    if (f.path != job.main_file) continue;
    auto local = blobs.LocalPath("files/" + f.sha256);
    if (!local) continue;
    auto header = blend::ReadHeader(*local);
    if (!header && header.error().code == Errc::kNotFound) continue;  // never uploaded
    if (!header) {
      return MakeError(Errc::kInvalidArgument,
                       "main file \"" + job.main_file + "\" is not a .blend file (plain, gzip or zstd): " +
                           header.error().message + "; save the scene from Blender and upload that file");
    }
    job.blender_version = header->version;
  }
  return Ok();
}

}  // namespace inferix::manager
