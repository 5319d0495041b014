#pragma once
// The embedded Store: SQLite in WAL mode with numbered migrations.
#include <filesystem>
#include <memory>

#include "core/result.hpp"
#include "domain/ports.hpp"

namespace inferix::store {

/// Opens (creating and migrating) the database at `path`; ":memory:" gives a private in-memory database.
/// Not thread-safe: one thread uses it (the manager's store thread, or an admin command).
Result<std::unique_ptr<domain::Store>> OpenSqliteStore(const std::filesystem::path& path);

/// The schema version this build migrates to.
int SqliteSchemaVersion();

}  // namespace inferix::store
