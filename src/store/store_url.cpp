#include "store/store_url.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::store {
namespace {

// The database holds every user's token hashes, sessions and jobs: it is created readable by this user only
// (0600), whatever the umask, and a file made earlier with wider bits is tightened. SQLite gives its -wal and
// -shm files the database's mode when it creates them; ones already there are tightened too.
Result<void> MakeDatabasePrivate(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(Errc::kInternal, "cannot create database " + path.string() + ": " +
                                          std::error_code(errno, std::generic_category()).message());
  }
  ::close(fd);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path.string() + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    if (::chmod(file.c_str(), st.st_mode & 0700) != 0) {
      return MakeError(Errc::kInternal, "cannot make " + file + " private (chmod 600): " +
                                            std::error_code(errno, std::generic_category()).message());
    }
  }
  return Ok();
}

}  // namespace

std::string DefaultStoreUrl(const std::filesystem::path& data_dir) {
  return "sqlite:" + (data_dir / "manager.db").string();
}

std::string AbsoluteStoreUrl(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (!url.starts_with(kSqlite)) return url;
  const std::filesystem::path path = url.substr(kSqlite.size());
  if (path.empty() || path == ":memory:" || path.is_absolute()) return url;
  return std::string(kSqlite) + std::filesystem::absolute(path).lexically_normal().string();
}

Result<std::unique_ptr<domain::Store>> OpenStore(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    const std::filesystem::path path = url.substr(kSqlite.size());
    if (path.empty()) return MakeError(Errc::kInvalidArgument, "store URL " + url + " names no file");
    if (path != ":memory:" && path.has_parent_path()) {
      std::error_code ec;
      if (!std::filesystem::exists(path.parent_path(), ec)) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (!ec) std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all, ec);
      }
      if (ec) {
        return MakeError(Errc::kInternal,
                         "cannot create the folder of " + path.string() + ": " + ec.message());
      }
    }
    if (path != ":memory:") INFERIX_TRY(MakeDatabasePrivate(path));
    return OpenSqliteStore(path);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return OpenPostgresStore(url);
  // Only the scheme is shown: the rest of a URL may hold a password.
  const auto colon = url.find(':');
  return MakeError(Errc::kInvalidArgument,
                   "unknown store URL scheme \"" + url.substr(0, std::min<size_t>(colon, 40)) +
                       "\": this build knows sqlite:PATH and postgresql://USER@HOST:PORT/DATABASE");
}

}  // namespace inferix::store
