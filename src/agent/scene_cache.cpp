#include "agent/scene_cache.hpp"

#include "core/crypto.hpp"
#include "core/files.hpp"

namespace inferix::agent {

Result<std::filesystem::path> FetchScene(net::ManagerClient& manager, const net::SceneRef& scene,
                                         const std::filesystem::path& cache_dir,
                                         const std::filesystem::path& scene_dir) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  std::filesystem::create_directories(scene_dir, ec);
  if (scene.main.empty()) return MakeError(Errc::kInvalidArgument, "task has no scene");
  for (const auto& f : scene.files) {
    if (!IsSha256Hex(f.sha256) || !IsSafeRelativePath(f.path)) {
      return MakeError(Errc::kInvalidArgument, "task names an unsafe scene file \"" + f.path + "\"");
    }
    const auto cached = cache_dir / f.sha256;
    if (!std::filesystem::exists(cached, ec)) {
      // A name of its own: the slots of one worker may fetch the same file at once.
      const auto part = cache_dir / (f.sha256 + ".download-" + RandomHex(6));
      INFERIX_TRY(manager.Download(f.url, part));
      auto got = Sha256File(part);
      if (!got || *got != f.sha256) {
        std::filesystem::remove(part, ec);
        return MakeError(Errc::kInvalidArgument, "scene file " + f.path + " arrived damaged (hash mismatch)");
      }
      std::filesystem::rename(part, cached, ec);
      if (ec) return MakeError(Errc::kInternal, "cannot store " + cached.string() + ": " + ec.message());
    }
    const auto dest = scene_dir / f.path;
    std::filesystem::create_directories(dest.parent_path(), ec);
    if (!std::filesystem::exists(dest, ec)) {
      std::filesystem::create_hard_link(cached, dest, ec);
      if (ec) std::filesystem::copy_file(cached, dest, ec);
      if (ec) return MakeError(Errc::kInternal, "cannot place " + dest.string() + ": " + ec.message());
    }
  }
  return scene_dir / scene.main;
}

std::vector<std::string> CachedHashes(const std::filesystem::path& cache_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cache_dir, ec)) {
    auto name = e.path().filename().string();
    if (IsSha256Hex(name)) out.push_back(name);
    if (out.size() >= 1000) break;
  }
  return out;
}

}  // namespace inferix::agent
