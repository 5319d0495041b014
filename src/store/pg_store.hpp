#pragma once
// The PostgreSQL Store: several managers share one database. Each call outside a Transaction borrows a
// connection from a pool for the call; a Transaction holds one for its whole length. Locking (READ
// COMMITTED): inside a Transaction every read of rows the caller may write back locks them (FOR UPDATE),
// claims skip rows other managers hold (FOR UPDATE SKIP LOCKED), and events get their ids in commit order
// (docs/store-postgresql.md, "Locking and claims").
#include <memory>
#include <string>

#include "core/result.hpp"
#include "domain/ports.hpp"
#include "store/pg_conn.hpp"

namespace inferix::store {

/// Opens the store on `pool`'s database, applying the migrations it lacks (exactly once across managers
/// that start at once: they take turns on an advisory lock). A database whose schema is newer than this
/// build's is refused (kInternal, naming both versions); a server that cannot be reached is kUnavailable. The
/// store, like SQLite's, is used by one thread at a time; stores on one pool may run in different threads.
Result<std::unique_ptr<domain::Store>> OpenPostgresStore(std::shared_ptr<pg::Pool> pool);
/// The same from a "postgresql://" or "postgres://" URL (pg::ParseUrl's parameters: pool=N, ...).
Result<std::unique_ptr<domain::Store>> OpenPostgresStore(const std::string& url);

/// The schema version this build migrates PostgreSQL to.
int PostgresSchemaVersion();

namespace pg {
/// Advisory lock keys of the adapter (pg_advisory_lock and pg_advisory_xact_lock take a bigint).
inline constexpr int64_t kMigrationsLockKey = 0x496e6678'00000001;  // "Infx" 1: applying migrations
inline constexpr int64_t kEventsLockKey = 0x496e6678'00000002;      // "Infx" 2: appending an event
/// LISTEN/NOTIFY channels: wake-ups only, sent at commit (store::OpenChangeFeed listens). Tasks: a task was
/// queued (payload: its kind); events: an event was appended (payload: its user's id).
inline constexpr const char* kTasksChannel = "inferix_tasks";
inline constexpr const char* kEventsChannel = "inferix_events";
}  // namespace pg

}  // namespace inferix::store
