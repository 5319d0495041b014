#pragma once
// The PostgreSQL adapter's connection (libpq): text parameters ($1, $2, ...), rows read by index, errors
// mapped to Errc, and a small pool. Only src/store includes it.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace inferix::store::pg {

/// A statement's parameters, all sent as text and cast by the server ($1::bigint where it cannot infer).
/// A bool is sent as 1 or 0, which both an INTEGER flag column and a boolean accept.
class Params {
 public:
  Params& Add(int64_t v);
  Params& Add(int v) { return Add(static_cast<int64_t>(v)); }
  Params& Add(double v);
  Params& Add(bool v);
  Params& Add(std::string v);
  Params& Add(std::string_view v) { return Add(std::string(v)); }
  Params& Add(const char* v) { return Add(std::string(v)); }
  /// SQL NULL.
  Params& AddNull();
  size_t size() const { return values_.size(); }
  /// For libpq: a pointer per parameter (nullptr for NULL), valid while this object lives.
  std::vector<const char*> Pointers() const;
  /// The number ($N) of the first parameter holding a NUL byte, which PostgreSQL text cannot store; 0 if
  /// none.
  size_t FirstWithNul() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

/// The rows a statement returned (text format), or what it changed.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* result);
  ~Rows();
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;

  int size() const;
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int col) const;
  int64_t Int(int row, int col) const;       ///< 0 for NULL; booleans read as 0/1
  double Real(int row, int col) const;       ///< 0 for NULL
  std::string Text(int row, int col) const;  ///< "" for NULL
  /// Rows an INSERT, UPDATE or DELETE changed.
  int64_t Affected() const;

 private:
  pg_result* result_ = nullptr;
  friend class Conn;
};

/// How connections are made: from the store URL "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?params]".
/// Query parameters Inferix reads (and removes before handing the rest to libpq): pool=N (connections per
/// pool, default 4), statement_timeout_ms=N (default 30000; every statement is cut after it),
/// connect_timeout_s=N (default 10).
struct ConnOptions {
  std::string conninfo;  ///< what libpq gets (the URL without Inferix's own parameters)
  int pool_size = 4;
  int64_t statement_timeout_ms = 30'000;
  int connect_timeout_s = 10;
};
/// Parses a "postgresql://" (or "postgres://") URL; kInvalidArgument naming what is wrong.
Result<ConnOptions> ParseUrl(const std::string& url);
/// A connection string or URL fit for a message or a log: its password (userinfo or password=) replaced by
/// ***.
std::string RedactConninfo(std::string_view conninfo);

/// One connection. Not thread-safe: one thread uses it at a time (borrowed from a Pool).
///
/// Errors: a unique or foreign-key violation is kInternal (the Store contract's "a unique key repeats");
/// a serialization failure or deadlock (SQLSTATE 40001, 40P01), a statement timeout (57014) and a lost or
/// refused connection are kUnavailable (the caller may try again); anything else kInternal. Every message
/// starts with "database: ".
class Conn {
 public:
  static Result<std::unique_ptr<Conn>> Open(const ConnOptions& options);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  /// Runs one statement with parameters ($1, $2, ...).
  Result<Rows> Exec(std::string_view sql, const Params& params = {});
  /// Runs statements without parameters (several, separated by ';'), e.g. a migration.
  Result<void> ExecScript(std::string_view sql);
  /// False once the server is gone (the pool then replaces the connection).
  bool Healthy() const;
  /// The LISTEN/NOTIFY notifications received so far (channel, payload), oldest first; consumes them.
  std::vector<std::pair<std::string, std::string>> TakeNotifications();
  /// The socket, to wait on for notifications (poll/select); -1 when closed.
  int Socket() const;
  /// How many statements Exec ran that wrote: an INSERT, UPDATE, DELETE or MERGE that changed a row, or a
  /// WITH that does one (its tag is the outer SELECT's, so it counts even when it changed none). The store
  /// counts write transactions by it (store_metrics.hpp).
  int64_t writes() const { return writes_; }

 private:
  explicit Conn(pg_conn* conn, std::string redacted_target, std::string password);
  /// Reads what the server sent while the connection was idle (a shutdown notice, end of file), so that
  /// Healthy() is false for a connection the server has closed; notifications stay queued for
  /// TakeNotifications.
  void ReadIdleInput();
  /// True when the connection is outside any transaction; rolls back one left open (or failed) first.
  bool ReadyForReuse();
  /// An Error from libpq's connection message, password removed, prefixed with "database: ".
  Error ConnError(Errc code, std::string_view what) const;
  pg_conn* conn_;
  int64_t writes_ = 0;
  std::string redacted_target_;
  std::string password_;  // only to scrub it from libpq's messages
  friend class Pool;
};

/// Up to `pool_size` connections to one database, shared by the Stores opened on it (each Store call borrows
/// one for its duration, a Transaction for the whole transaction). A connection found broken is closed and a
/// new one opened on the next borrow, so the pool recovers by itself after the server restarts. The pool
/// outlives its Leases.
class Pool {
 public:
  static Result<std::shared_ptr<Pool>> Open(const ConnOptions& options);

  /// A borrowed connection, returned to the pool when destroyed.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    /// The moved-from Lease holds nothing and returns nothing.
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    /// Returns the connection this Lease held before taking the other's.
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };
  /// Waits up to `wait` for a free connection (opening one when fewer than pool_size are open);
  /// kUnavailable when none comes or the server cannot be reached.
  Result<Lease> Borrow(std::chrono::milliseconds wait = std::chrono::milliseconds(10'000));
  const ConnOptions& options() const { return options_; }

 private:
  explicit Pool(ConnOptions options) : options_(std::move(options)) {}
  void Return(std::unique_ptr<Conn> conn);
  ConnOptions options_;
  std::mutex mu_;
  std::condition_variable returned_;  // a connection came back, or a slot to open one freed up
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;  // idle plus lent plus being opened; never above pool_size
  friend class Lease;
};

}  // namespace inferix::store::pg
