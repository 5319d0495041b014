// Fuzz target: the .blend reader (header, blocks, the DNA1 struct catalog, Library paths; plain, gzip or
// zstd), which reads the scenes users upload. Invariants checked: every refusal says why; a header read is
// one of the known forms; a file whose libraries read also has a readable header; each path returned is
// non-empty, has no NUL, is shorter than the largest Library block the reader keeps (1 MiB) and is returned
// once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "blend/blend_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto header = inferix::blend::ReadHeaderFromBytes(bytes);
  if (header) {
    if (header->pointer_size != 4 && header->pointer_size != 8) std::abort();
    if (header->format_version != 0 && header->format_version != 1) std::abort();
    if (header->version < 0 || header->version > 9999) std::abort();
    if (header->VersionString().empty()) std::abort();
  } else if (header.error().message.empty()) {
    std::abort();
  }

  auto paths = inferix::blend::ReadLibraryPathsFromBytes(bytes);
  if (!paths) {
    if (paths.error().message.empty()) std::abort();
    return 0;
  }
  if (!header) std::abort();  // the libraries cannot read where the header does not
  std::set<std::string> seen;
  for (const std::string& path : *paths) {
    if (path.empty() || path.size() >= (size_t{1} << 20) || path.find('\0') != std::string::npos)
      std::abort();
    if (!seen.insert(path).second) std::abort();
  }
  return 0;
}
