#pragma once
// The manager node: API server, scheduler, embedded blob store, all on one data folder.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "manager/quotas.hpp"
#include "manager/retention.hpp"
#include "manager/scheduler.hpp"
#include "manager/sessions.hpp"

namespace inferix::manager {

/// Where and how the manager runs.
struct ManagerOptions {
  std::filesystem::path data_dir;
  std::string store_url;  ///< the database (store::OpenStore); empty: SQLite in the data folder
  /// The object store: "file:DIR" (several managers may share one folder on a shared file system) or
  /// "s3://BUCKET?endpoint=URL&region=R"; empty: the folder "blobs" in the data folder.
  std::string blobs_url;
  /// The secret that signs the file adapter's URLs; several managers sharing a blob folder give the same
  /// file. Empty: "url-secret" in the data folder (created when missing).
  std::filesystem::path url_secret_file;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int listen_fd = -1;  ///< >= 0: serve on this inherited listening socket (net::ServerOptions::listen_fd)
  SchedulerOptions scheduler;
  int64_t long_poll_ms = 25'000;         ///< how long a claim waits for work before answering 204
  uint64_t max_body_bytes = 4ull << 30;  ///< largest request body (scene files are uploaded in one request)
  int64_t url_ttl_s = 3600;              ///< lifetime of signed URLs
  int64_t max_output_bytes = int64_t{2} << 30;  ///< the largest frame a node may upload
  /// With an S3 store, scene files larger than this are uploaded in parts (S3's single PUT stops at 5 GiB)
  int64_t multipart_threshold_bytes = int64_t{4096} << 20;
  /// Uploads and the manager's own files stop while the data folder's disk has less free than this (MiB);
  /// negative: the smaller of 1 GiB and 5% of the disk; 0: no watermark.
  int64_t min_free_disk_mb = -1;
  std::string tls_cert_file;
  std::string tls_key_file;
  RetentionOptions retention;  ///< what the manager's chores remove, and when
  SessionLimits sessions;      ///< the dashboard's sessions: lifetime and number per user
  QuotaDefaults quotas;        ///< every user's limits where the operator set none of their own
  // Limits before work (docs/operations.md): connections, time, body size and request rate.
  uint64_t max_json_bytes = 16ull << 20;       ///< largest body kept in memory (every request but uploads)
  uint64_t max_connections = 0;                ///< open connections in all (0: from the open-file limit)
  uint64_t max_connections_per_address = 256;  ///< open connections of one client address
  int64_t header_timeout_ms = 30'000;          ///< a request's headers must arrive within this
  int64_t body_timeout_ms = 60'000;  ///< a body must arrive within this plus its size at min_body_rate
  uint64_t min_body_rate = uint64_t{64} * 1024;  ///< bytes per second
  double rate_per_s = 1000;                      ///< requests per second of one credential (0: no limit)
  double rate_burst = 2000;                      ///< requests one credential may make at once
};

/// A running manager.
class Manager {
 public:
  /// Opens the data folder (database, blobs, signing secret), binds and serves. Writes the URL it serves on
  /// to `<data>/manager.url` once it accepts connections. The data folder is made private (0700) and its
  /// scratch folders emptied first; retention runs every `options.retention.interval_ms`.
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
/// Creates `count` one-time enrollment tokens for nodes of `role` ("worker" or "verifier"), valid `ttl_s`
/// seconds, in one transaction (a farm of thousands of nodes is enrolled in one command); returns them. With
/// `owner` (a user's name), the nodes they enroll are that user's (its "My nodes" page; an unknown name is
/// kNotFound).
Result<std::vector<std::string>> CreateEnrollmentTokens(const std::string& store_url, const std::string& role,
                                                        int64_t ttl_s, int count = 1,
                                                        const std::string& owner = "");

/// Revokes a node (by id or name): every later call of the node is refused (403, with the reason), as for a
/// ban; its leases end when they expire. Returns the node's description.
Result<std::string> RevokeNode(const std::string& store_url, const std::string& node,
                               const std::string& reason);

// Accounts (issue #14), in admin_accounts.cpp. Every change is written to the audit log, with the login
// name of who ran the command.

/// What `inferix admin token create` makes.
struct NewUserToken {
  std::string user;
  std::string label;           ///< shown by `admin token list`
  int64_t expires_in_s = 0;    ///< 0: never expires
  bool make_operator = false;  ///< the user becomes an operator (a new user, or one that exists)
};
/// Creates the user (if new) and a new API token for it; returns the token (printed once, never stored).
Result<std::string> CreateUserToken(const std::string& store_url, const NewUserToken& request);
/// A user's tokens (every user's when `user` is empty): id, label, times and state, never the secret. Text
/// for people, or a JSON object with `as_json`.
Result<std::string> ListUserTokens(const std::string& store_url, const std::string& user, bool as_json);
/// Revokes a user's API token by its id: every later request with it answers 401. Returns what was done.
Result<std::string> RevokeUserToken(const std::string& store_url, int64_t token_id);
/// What `inferix admin user set` changes; each value left empty stays as it is, "default" returns a limit
/// to the manager's default.
struct UserChange {
  std::string user;
  std::string role;  ///< "user" or "operator"
  std::string max_priority;
  std::string stored_bytes;
  std::string active_jobs;
  std::string frames_per_job;
  std::string frames_in_flight;
};
/// Changes a user's role and limits; returns the user as it is now.
Result<std::string> SetUser(const std::string& store_url, const UserChange& change);
/// Every user with their role and own limits (text, or JSON with `as_json`).
Result<std::string> ListUsers(const std::string& store_url, bool as_json);
/// The newest `limit` lines of the audit log, and each token's last use (text, or JSON with `as_json`).
Result<std::string> ShowAudit(const std::string& store_url, int limit, bool as_json);
/// Appends an operator's action to the audit log, by the login name running the admin command.
Result<void> AuditAdminAction(domain::Store& store, const std::string& action, const std::string& target,
                              const std::string& detail);
/// The determinism classes whose outputs wait for checks that no registered verifier may take
/// (ClassesWithoutVerifier), one line each: what waits, and what to do. Says so when there are none.
Result<std::string> ChecksWithoutVerifier(const std::string& store_url);

}  // namespace inferix::manager
