#include "blob/fs_blob_store.hpp"

#include "blob/signed_url.hpp"
#include "core/files.hpp"

namespace inferix::blob {
namespace {

class FsBlobStore final : public domain::BlobStore {
 public:
  explicit FsBlobStore(std::filesystem::path root) : root_(std::move(root)) {}

  Result<void> Put(const std::string& key, std::string_view data) override {
    auto path = PathOf(key);
    if (!path) return path.error();
    std::error_code ec;
    std::filesystem::create_directories(path->parent_path(), ec);
    if (ec)
      return MakeError(Errc::kInternal,
                       "cannot create " + path->parent_path().string() + ": " + ec.message());
    return WriteFileAtomic(*path, data);
  }
  Result<bool> Exists(const std::string& key) override {
    auto path = PathOf(key);
    if (!path) return path.error();
    std::error_code ec;
    return std::filesystem::is_regular_file(*path, ec);
  }
  Result<std::filesystem::path> LocalPath(const std::string& key) override { return PathOf(key); }
  Result<int64_t> Size(const std::string& key) override {
    auto path = PathOf(key);
    if (!path) return path.error();
    std::error_code ec;
    auto size = std::filesystem::file_size(*path, ec);
    if (ec) return MakeError(Errc::kNotFound, "object " + key + " not found");
    return static_cast<int64_t>(size);
  }

 private:
  Result<std::filesystem::path> PathOf(const std::string& key) const {
    if (!IsValidKey(key)) return MakeError(Errc::kInvalidArgument, "invalid object key \"" + key + "\"");
    return root_ / key;
  }
  std::filesystem::path root_;
};

}  // namespace

Result<std::unique_ptr<domain::BlobStore>> OpenFsBlobStore(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec)
    return MakeError(Errc::kInternal, "cannot create blob folder " + root.string() + ": " + ec.message());
  return std::unique_ptr<domain::BlobStore>(std::make_unique<FsBlobStore>(root));
}

}  // namespace inferix::blob
