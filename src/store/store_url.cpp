#include "store/store_url.hpp"

#include <system_error>

#include "store/sqlite_store.hpp"

namespace inferix::store {

std::string DefaultStoreUrl(const std::filesystem::path& data_dir) {
  return "sqlite:" + (data_dir / "manager.db").string();
}

Result<std::unique_ptr<domain::Store>> OpenStore(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    const std::filesystem::path path = url.substr(kSqlite.size());
    if (path.empty()) return MakeError(Errc::kInvalidArgument, "store URL " + url + " names no file");
    if (path != ":memory:" && path.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) {
        return MakeError(Errc::kInternal,
                         "cannot create the folder of " + path.string() + ": " + ec.message());
      }
    }
    return OpenSqliteStore(path);
  }
  return MakeError(Errc::kInvalidArgument,
                   "unknown store URL \"" + url.substr(0, 80) + "\": this build knows sqlite:PATH");
}

}  // namespace inferix::store
