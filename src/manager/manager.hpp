#pragma once
// The manager node: API server, scheduler, embedded blob store, all on one data folder.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "manager/scheduler.hpp"

namespace inferix::manager {

/// Where and how the manager runs.
struct ManagerOptions {
  std::filesystem::path data_dir;
  std::string store_url;  ///< the database (store::OpenStore); empty: SQLite in the data folder
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  SchedulerOptions scheduler;
  int64_t long_poll_ms = 25'000;         ///< how long a claim waits for work before answering 204
  uint64_t max_body_bytes = 4ull << 30;  ///< largest request body (scene files are uploaded in one request)
  int64_t url_ttl_s = 3600;              ///< lifetime of signed URLs
  std::string tls_cert_file;
  std::string tls_key_file;
  // Limits before work (docs/operations.md): connections, time, body size and request rate.
  uint64_t max_json_bytes = 16ull << 20;       ///< largest body kept in memory (every request but uploads)
  uint64_t max_connections = 0;                ///< open connections in all (0: from the open-file limit)
  uint64_t max_connections_per_address = 256;  ///< open connections of one client address
  int64_t header_timeout_ms = 30'000;          ///< a request's headers must arrive within this
  int64_t body_timeout_ms = 60'000;    ///< a body must arrive within this plus its size at min_body_rate
  uint64_t min_body_rate = uint64_t{64} * 1024;  ///< bytes per second
  double rate_per_s = 1000;            ///< requests per second of one credential (0: no limit)
  double rate_burst = 2000;            ///< requests one credential may make at once
};

/// A running manager.
class Manager {
 public:
  /// Opens the data folder (database, blobs, signing secret), binds and serves. Writes the URL it serves on
  /// to
  /// `<data>/manager.url` once it accepts connections.
  static Result<std::unique_ptr<Manager>> Start(const ManagerOptions& options);
  virtual ~Manager() = default;
  /// The bound port.
  virtual uint16_t port() const = 0;
  /// Stops serving.
  virtual void Stop() = 0;
};

// The admin commands work on the manager's store, named by its URL (store::OpenStore,
// store::DefaultStoreUrl of a data folder), while the manager runs or not.

/// Creates a user (if new) and a new API token for it; returns the token.
Result<std::string> CreateUserToken(const std::string& store_url, const std::string& user);
/// Creates a one-time enrollment token for a node of `role` ("worker" or "verifier"), valid `ttl_s` seconds.
Result<std::string> CreateEnrollmentToken(const std::string& store_url, const std::string& role,
                                          int64_t ttl_s);

/// Revokes a node (by id or name): every later call of the node is refused (403, with the reason), as for a
/// ban; its leases end when they expire. Returns the node's description.
Result<std::string> RevokeNode(const std::string& store_url, const std::string& node,
                               const std::string& reason);

}  // namespace inferix::manager
