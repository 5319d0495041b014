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

/// The value of a PRAGMA (lower-case letters and '_' only) on the store's own connection, e.g.
/// "synchronous" (2: FULL) or "journal_mode" ("wal"): durability is per connection, so only the store can
/// say. kInvalidArgument for another kind of store or name.
Result<std::string> PragmaValue(domain::Store& store, const std::string& name);

/// The schema version this build migrates to.
int SqliteSchemaVersion();

}  // namespace inferix::store
