#include <dlfcn.h>

#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "image/codec.hpp"

namespace inferix::image {
namespace {

constexpr const char* kModuleName = "libinferix_image_oiio.so";

// Next to the executable (the build tree and a flat install), in ../lib/inferix (an FHS install), and where
// this build put it (unit tests and tools elsewhere in the build tree).
std::vector<std::filesystem::path> Candidates() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kModuleName);
    out.push_back(exe.parent_path().parent_path() / "lib" / "inferix" / kModuleName);
  }
  out.emplace_back(INFERIX_IMAGE_MODULE_BUILD_PATH);
  return out;
}

Result<const Codec*> Load() {
  std::string tried;
  for (const auto& path : Candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string() + " (absent)";
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      tried +=
          (tried.empty() ? "" : ", ") + path.string() + " (" + (why != nullptr ? why : "cannot load") + ")";
      continue;
    }
    using Entry = const Codec* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "inferix_image_codec"));  // NOLINT
    const Codec* codec = entry != nullptr ? entry() : nullptr;
    if (codec == nullptr || codec->abi != kCodecAbi) {
      dlclose(handle);
      tried += (tried.empty() ? "" : ", ") + path.string() + " (from another version of Inferix)";
      continue;
    }
    return codec;  // the handle stays open for the life of the process
  }
  return MakeError(Errc::kUnavailable, "image support is not installed: cannot load " +
                                           std::string(kModuleName) + " (tried " + tried +
                                           "); rebuild with `make build` or reinstall Inferix");
}

}  // namespace

Result<const Codec*> LoadCodec() {
  static const Result<const Codec*> loaded = Load();
  return loaded;
}

Result<void> CheckAvailable() {
  auto codec = LoadCodec();
  if (!codec) return codec.error();
  return Ok();
}

}  // namespace inferix::image
