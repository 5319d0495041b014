#pragma once
// Which Store a manager or an admin command opens, named by a URL: "sqlite:PATH" (the embedded default) or
// "postgresql://..." (a server several managers share). The one place that knows every adapter.
#include <filesystem>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::store {

/// The default store of a manager's data folder: "sqlite:<data_dir>/manager.db".
std::string DefaultStoreUrl(const std::filesystem::path& data_dir);

/// The URL with a relative SQLite path made absolute (against the working folder at the time of the call),
/// so that the store is the same file whatever folder later code works in; other URLs unchanged.
std::string AbsoluteStoreUrl(const std::string& url);

/// Opens (creating and migrating) the store `url` names: "sqlite:PATH" (":memory:" for a private in-memory
/// database; the folder of PATH is created private to this user when new, and the file is made readable by
/// this user only, 0600, with its -wal and -shm files), or
/// "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?pool=N& statement_timeout_ms=N&connect_timeout_s=N]"
/// ("postgres://" too; the database must exist, its tables are made). kInvalidArgument, naming the schemes
/// this build knows, for any other URL.
Result<std::unique_ptr<domain::Store>> OpenStore(const std::string& url);

}  // namespace inferix::store
