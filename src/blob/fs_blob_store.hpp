#pragma once
// The default BlobStore: objects as files under a folder on local disk, written atomically.
#include <filesystem>
#include <memory>

#include "domain/ports.hpp"

namespace inferix::blob {

/// Opens (creating) a blob store rooted at `root`.
Result<std::unique_ptr<domain::BlobStore>> OpenFsBlobStore(const std::filesystem::path& root);

}  // namespace inferix::blob
