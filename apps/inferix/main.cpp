// inferix: one binary, one subcommand per role (DESIGN.md section 8). Wiring only.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "cli_util.hpp"
#include "client/client.hpp"
#include "core/files.hpp"
#include "credit_commands.hpp"
#include "journal.hpp"
#include "manager/manager.hpp"
#include "node_commands.hpp"
#include "store/store_url.hpp"
#include "verifier/verifier.hpp"
#include "version.hpp"
#include "worker/worker.hpp"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// A manager holds one descriptor per connection (long-polling nodes and event streams stay open): raise the
// soft limit to the hard one, as servers do, instead of refusing connections at Debian's default of 1024.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::filesystem::path SelfExe() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec);
}

bool HasJsonFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--json") return true;
  }
  return false;
}

bool ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferix: a decentralized render network for Blender scenes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", inferix::app::VersionText, "print the version, commit and Blender found");
  signal(SIGPIPE, SIG_IGN);
  // spdlog makes its registry and default logger on first use. Made here, before any thread, so that threads
  // logging for the first time only read them: a first use from two threads at once is safe (a static local)
  // but goes through libspdlog's uninstrumented initialisation, which ThreadSanitizer reports as a race.
  spdlog::default_logger_raw();
  inferix::app::FormatLogForJournal();

  // Client connection flags, shared by the user commands.
  inferix::client::Connection conn;
  bool as_json = false;
  auto add_conn = [&](CLI::App* cmd) {
    cmd->add_option("--manager", conn.manager_url, "manager URL")->envname("INFERIX_MANAGER")->required();
    cmd->add_option("--token", conn.token, "user API token")->envname("INFERIX_TOKEN")->required();
    cmd->add_option("--ca", conn.ca_file, "certificate authority to trust for HTTPS");
    cmd->add_flag("--json", as_json, "machine-readable output");
  };

  // render
  inferix::client::RenderOptions ro;
  auto* render =
      app.add_subcommand("render", "render a scene on a local network of manager, workers and verifier");
  render->add_option("scene", ro.scene, "the .blend file")->required();
  render->add_option("--frames", ro.frames, "frame SPEC, e.g. 1-250, 1,5,10-20, 1-100x5")->required();
  render->add_option("-o,--output", ro.output_dir, "folder for the delivered frames")->required();
  render->add_option("--workers", ro.workers, "number of local workers")->check(CLI::Range(1, 64));
  render->add_option("--format", ro.format,
                     "PNG, EXR or JPEG (default: the scene's own when it is one of them)");
  render->add_option("--blender", ro.blender, "Blender executable");
  render->add_flag(
      "--without-denoiser", ro.without_denoiser,
      "render a scene that asks for denoising with denoising off where this Blender has no denoiser");
  render
      ->add_option(
          "--resolution-percentage", ro.resolution_percentage,
          "Blender's Resolution %: render at N% of the scene's X and Y, in place of its own % (1-100)")
      ->check(CLI::Range(1, 100));
  render->add_option("--state", ro.state_dir,
                     "keep the local network's state (databases, logs) in this folder");
  render->add_option("--chunk", ro.chunk_size, "frames per task")->check(CLI::Range(1, 1000));
  render->add_option("--threads", ro.threads, "render threads per worker (default: cores / workers)");
  render
      ->add_option("--device", ro.device,
                   "what the local workers render on: cpu, auto, or ids such as cuda:0")
      ->capture_default_str();
  render
      ->add_option("--manager-option", ro.manager_options,
                   "option for the local manager, e.g. --manager-option=--trust-bound=0 (repeatable)")
      ->allow_extra_args(false);
  render->add_flag("--json", ro.json, "machine-readable summary");

  // manager
  std::string listen = "127.0.0.1:8420";
  inferix::manager::ManagerOptions mo;
  std::string data;
  auto* manager = app.add_subcommand("manager", "run a manager");
  manager->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)");
  manager->add_option("--listen-fd", mo.listen_fd,
                      "serve on this inherited listening socket instead (socket activation; inferix render)");
  manager
      ->add_option("--data", data, "data folder (blobs, signing secret; the SQLite database unless --store)")
      ->required();
  manager->add_option("--store", mo.store_url,
                      "the database: sqlite:PATH (default: sqlite:DATA/manager.db) or "
                      "postgresql://USER@HOST:PORT/DB (several managers may share one)");
  manager->add_option("--blobs", mo.blobs_url,
                      "the object store: file:DIR (default: DATA/blobs; several managers may share a folder "
                      "on a shared file system) or s3://BUCKET?endpoint=URL&region=R (credentials from "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  manager->add_option("--url-secret-file", mo.url_secret_file,
                      "the secret that signs file:DIR URLs (default: DATA/url-secret); managers sharing a "
                      "folder give the same file");
  manager->add_option("--tls-cert", mo.tls_cert_file, "certificate for HTTPS");
  manager->add_option("--tls-key", mo.tls_key_file, "private key for HTTPS");
  manager->add_option("--lease-ms", mo.scheduler.lease_ms, "task lease length");
  manager->add_option("--heartbeat-ms", mo.scheduler.heartbeat_ms, "heartbeat interval asked of nodes");
  manager->add_option("--long-poll-ms", mo.long_poll_ms, "how long a claim waits for work");
  manager
      ->add_option("--max-node-tasks", mo.scheduler.max_node_tasks,
                   "tasks one node may hold at once; a claim beyond it is answered 429")
      ->check(CLI::Range(1, 1000));
  manager
      ->add_option("--max-node-claims-per-day", mo.scheduler.max_node_claims_per_day,
                   "claims one node may make in 24 hours; beyond it 429 with Retry-After")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  manager
      ->add_option("--stall-ms", mo.scheduler.stall_ms,
                   "a render task's lease is not renewed this long after its last progress")
      ->check(CLI::Range(int64_t{1000}, int64_t{7} * 24 * 3600 * 1000));
  manager->add_option("--max-body-bytes", mo.max_body_bytes, "largest request body");
  manager->add_option("--max-output-bytes", mo.max_output_bytes, "largest frame a node may upload")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  int64_t multipart_threshold_mb = 4096;
  manager
      ->add_option("--multipart-threshold-mb", multipart_threshold_mb,
                   "with an S3 store, scene files larger than this (MiB) are uploaded in parts")
      ->check(CLI::Range(int64_t{5}, int64_t{5120}));
  manager
      ->add_option(
          "--min-free-disk-mb", mo.min_free_disk_mb,
          "uploads stop below this much free disk (MiB; default: 1 GiB or 5% of the disk, the smaller; "
          "0: off)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  // Limits before work (docs/operations.md).
  manager->add_option("--max-json-bytes", mo.max_json_bytes,
                      "largest body of a request other than an upload");
  manager->add_option("--max-connections", mo.max_connections,
                      "open connections in all (0: from the file limit)");
  manager
      ->add_option("--max-connections-per-address", mo.max_connections_per_address,
                   "open connections of one client address")
      ->check(CLI::PositiveNumber);
  manager->add_option("--header-timeout-ms", mo.header_timeout_ms, "time for a request's headers to arrive")
      ->check(CLI::PositiveNumber);
  manager
      ->add_option("--body-timeout-ms", mo.body_timeout_ms,
                   "time for a body, besides its size at --min-body-rate")
      ->check(CLI::PositiveNumber);
  manager->add_option("--min-body-rate", mo.min_body_rate, "least average rate of a body, bytes per second");
  manager->add_option("--rate-limit", mo.rate_per_s, "requests per second of one credential (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  manager->add_option("--rate-burst", mo.rate_burst, "requests one credential may make at once")
      ->check(CLI::PositiveNumber);
  manager
      ->add_option("--max-frame-failures", mo.scheduler.max_frame_failures,
                   "failed renders of one frame (on different workers where there are) that fail its job")
      ->check(CLI::Range(1, 100));
  manager
      ->add_option("--blocklist-after", mo.scheduler.blocklist_after,
                   "failed tasks of one job that keep a worker off that job")
      ->check(CLI::Range(1, 1000));
  // Verification policy (docs/verification.md explains each value and the arithmetic behind the defaults).
  auto& trust = mo.scheduler.trust;
  manager
      ->add_option("--trust-after", trust.new_worker_checks,
                   "every output of a worker is checked until it has this many acceptances in a row")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  manager
      ->add_option("--trust-bound", trust.bound,
                   "at most this chance that a frame left unchecked is bad (0: check every frame)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  manager->add_option("--spot-check-min", trust.min_rate, "least share of a trusted worker's frames checked")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  manager
      ->add_option("--ban-after", trust.ban_after,
                   "rejections among a worker's last --ban-window checks that ban it (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  manager->add_option("--ban-window", trust.ban_window, "checks looked back at for --ban-after")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  manager
      ->add_option(
          "--exact-check-rate", trust.exact_rate,
          "Eevee, Workbench and denoised frames: chance that a check renders the whole frame exactly "
          "rather than reduced")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  manager->add_option("--check-regions", trust.regions, "uniform regions re-rendered in a check")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  manager
      ->add_option("--check-detail-regions", trust.detail_regions,
                   "detail-weighted regions re-rendered in a check")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  manager
      ->add_option("--max-second-renders", trust.max_replicas,
                   "second workers' renders tried to settle an inconclusive check")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();

  // Retention (docs/operations.md, "Retention"): durations are seconds, or a number with s, m, h or d.
  const CLI::AsNumberWithUnit duration(
      std::map<std::string, int64_t>{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}});
  auto& keep = mo.retention;
  const CLI::Range kept(int64_t{0}, int64_t{100} * 365 * 86400);  // up to a century; 0: forever
  manager
      ->add_option("--keep-jobs", keep.keep_jobs_s,
                   "ended jobs are removed, with their frames' files, after this long (0: never)")
      ->transform(duration)
      ->check(kept);
  manager
      ->add_option("--keep-rejected", keep.keep_rejected_s,
                   "rejected frames' files are removed after this long (0: never)")
      ->transform(duration)
      ->check(kept);
  manager->add_option("--keep-events", keep.keep_events_s, "events are removed after this long (0: never)")
      ->transform(duration)
      ->check(kept);
  manager
      ->add_option("--keep-orphans", keep.orphan_after_s,
                   "uploaded frames no report names are removed after this long; longer than upload URLs "
                   "last (0: never)")
      ->transform(duration)
      ->check(kept);
  int64_t retention_every_s = keep.interval_ms / 1000;
  manager->add_option("--retention-every", retention_every_s, "time between retention rounds")
      ->transform(duration)
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  manager
      ->add_option("--retention-batch", keep.batch,
                   "most jobs, frames or sessions one round removes (events: 10x)")
      ->check(CLI::Range(1, 100000));
  manager->add_option("--session-ttl", mo.sessions.ttl_s, "how long a dashboard session lasts")
      ->transform(duration)
      ->check(CLI::Range(int64_t{1}, int64_t{365} * 86400));
  manager
      ->add_option("--max-sessions", mo.sessions.max_per_user,
                   "dashboard sessions per user; a new one beyond this ends the oldest (0: no limit)")
      ->check(CLI::Range(0, 100000));
  // Per-user limits (docs/operations.md, "Quotas and roles"); `admin user set` overrides them per user.
  manager
      ->add_option("--max-priority", mo.quotas.max_priority,
                   "highest job priority a plain user may give (operators: any)")
      ->capture_default_str();
  manager
      ->add_option("--quota-stored-bytes", mo.quotas.stored_bytes,
                   "scene bytes one user may store (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  manager
      ->add_option("--quota-active-jobs", mo.quotas.active_jobs,
                   "queued and active jobs per user (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  manager
      ->add_option("--quota-frames-per-job", mo.quotas.frames_per_job,
                   "frames in one job (0: only the hard cap of 100000)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  manager
      ->add_option("--quota-frames-in-flight", mo.quotas.frames_in_flight,
                   "frames of one user's jobs not yet delivered (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  // worker and verifier
  WorkerCommandLine worker_cl;
  inferix::verifier::VerifierOptions vo;
  AddWorkerCommand(app, worker_cl);
  auto* verifier = AddVerifierCommand(app, vo, data);

  // admin
  auto* admin = app.add_subcommand("admin", "operator commands on a manager's data folder");
  admin->require_subcommand(1);
  std::string user;
  std::string role;
  std::string store_url;
  int64_t ttl_s = int64_t{7} * 24 * 3600;
  auto* token = admin->add_subcommand("token", "user API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "create a user (if new) and print a new API token");
  AddStoreOptions(token_create, data, store_url);
  token_create->add_option("--user", user, "user name")->required();
  token_create->add_flag("--json", as_json, "print {\"user\", \"token\"}");
  inferix::manager::NewUserToken new_token;
  token_create->add_flag("--operator", new_token.make_operator,
                         "the user is an operator: sees every node's details, may give any priority");
  token_create->add_option("--label", new_token.label, "what the token is for, shown by admin token list");
  token_create
      ->add_option("--expires-in", new_token.expires_in_s, "seconds until the token expires (0: never)")
      ->check(CLI::NonNegativeNumber);
  auto* token_list = token->add_subcommand("list", "list a user's API tokens (never their secrets)");
  AddStoreOptions(token_list, data, store_url);
  token_list->add_option("--user", user, "user name (default: every user)");
  token_list->add_flag("--json", as_json, "print {\"tokens\": [...]}");
  int64_t token_id = 0;
  auto* token_revoke = token->add_subcommand("revoke", "revoke an API token: later requests with it get 401");
  AddStoreOptions(token_revoke, data, store_url);
  token_revoke->add_option("--id", token_id, "the token's id (admin token list)")->required();
  token_revoke->add_flag("--json", as_json, "print {\"id\", \"message\"}");
  inferix::manager::UserChange user_change;
  auto* user_cmd = admin->add_subcommand("user", "users' roles and limits");
  user_cmd->require_subcommand(1);
  auto* user_set =
      user_cmd->add_subcommand("set", "change a user's role or limits (\"default\": the manager's)");
  AddStoreOptions(user_set, data, store_url);
  user_set->add_option("--user", user_change.user, "user name")->required();
  user_set->add_option("--role", user_change.role, "user or operator")
      ->check(CLI::IsMember({"user", "operator"}));
  user_set->add_option("--max-priority", user_change.max_priority, "highest priority the user may give");
  user_set->add_option("--quota-stored-bytes", user_change.stored_bytes, "scene bytes the user may store");
  user_set->add_option("--quota-active-jobs", user_change.active_jobs, "queued and active jobs");
  user_set->add_option("--quota-frames-per-job", user_change.frames_per_job, "frames in one job");
  user_set->add_option("--quota-frames-in-flight", user_change.frames_in_flight, "frames not yet delivered");
  user_set->add_flag("--json", as_json, "print {\"user\", \"message\"}");
  auto* user_list = user_cmd->add_subcommand("list", "every user with role and own limits");
  AddStoreOptions(user_list, data, store_url);
  user_list->add_flag("--json", as_json, "print {\"users\": [...]}");
  int audit_limit = 100;
  auto* audit = admin->add_subcommand("audit", "the audit log of admin actions, and each token's last use");
  AddStoreOptions(audit, data, store_url);
  audit->add_option("--limit", audit_limit, "newest actions shown")->check(CLI::Range(1, 1000000));
  audit->add_flag("--json", as_json, "print {\"actions\": [...], \"tokens\": [...]}");
  auto* enroll = admin->add_subcommand("enroll", "one-time enrollment tokens for nodes");
  enroll->require_subcommand(1);
  auto* enroll_create = enroll->add_subcommand("create", "print a one-time enrollment token");
  AddStoreOptions(enroll_create, data, store_url);
  enroll_create->add_option("--role", role, "worker or verifier")
      ->required()
      ->check(CLI::IsMember({"worker", "verifier"}));
  enroll_create->add_option("--ttl", ttl_s, "seconds the token stays valid");
  int enroll_count = 1;
  enroll_create->add_option("--count", enroll_count, "tokens to make, one per line (a farm's nodes at once)")
      ->check(CLI::Range(1, 100000));
  std::string enroll_owner;
  enroll_create->add_option("--owner", enroll_owner,
                            "the user who owns the machine (sees it under My nodes)");
  enroll_create->add_flag("--json", as_json,
                          "print {\"role\", \"ttl_s\", \"token\"}, with \"tokens\": [...] when --count > 1");
  std::string node_ref;
  std::string reason;
  auto* node_cmd = admin->add_subcommand("node", "enrolled workers and verifiers");
  node_cmd->require_subcommand(1);
  auto* node_revoke =
      node_cmd->add_subcommand("revoke", "refuse every later call of a node (its token and key)");
  AddStoreOptions(node_revoke, data, store_url);
  node_revoke->add_option("--node", node_ref, "the node's name or id")->required();
  node_revoke->add_option("--reason", reason, "why, shown to the node");
  node_revoke->add_flag("--json", as_json, "print {\"node\", \"reason\", \"message\"}");
  auto* checks_cmd = admin->add_subcommand(
      "checks", "list the determinism classes whose outputs wait for checks no verifier may take");
  AddStoreOptions(checks_cmd, data, store_url);
  checks_cmd->add_flag("--json", as_json, "print {\"message\"}");

  // user commands
  inferix::client::SubmitOptions so;
  auto* submit = app.add_subcommand("submit", "submit a scene; prints the job id");
  submit->add_option("scene", so.scene, "the .blend file")->required();
  submit->add_option("--frames", so.frames, "frame SPEC")->required();
  submit->add_option("--format", so.format,
                     "PNG, EXR or JPEG (default: the scene's own when it is one of them)");
  submit->add_option("--chunk", so.chunk_size, "frames per task")->check(CLI::Range(1, 1000));
  submit->add_option("--priority", so.priority, "job priority (higher first)");
  submit->add_option("--name", so.name, "job name (default: the file name)");
  submit->add_option("--blender", so.blender, "Blender used to list the scene's files");
  submit->add_flag("--without-denoiser", so.without_denoiser,
                   "accept frames rendered with denoising off when no worker has the scene's denoiser");
  submit
      ->add_option(
          "--resolution-percentage", so.resolution_percentage,
          "Blender's Resolution %: render at N% of the scene's X and Y, in place of its own % (1-100)")
      ->check(CLI::Range(1, 100));
  submit
      ->add_option("--require-device", so.require_device,
                   "render only on: cpu, gpu, cuda, optix, hip, oneapi")
      ->check(CLI::IsMember({"cpu", "gpu", "cuda", "optix", "hip", "oneapi"}));
  submit->add_option("--min-gpu-memory", so.min_gpu_memory_gib, "render only on a GPU with this many GiB")
      ->check(CLI::NonNegativeNumber);
  submit->add_option("--blender-min", so.blender_min,
                     "render only with a Blender build at least this version");
  submit->add_option("--blender-max", so.blender_max,
                     "render only with a Blender build at most this version");
  submit->add_flag("--wait", so.wait, "wait for the job to end; exit 0 only if it completed");
  submit->add_option("--download", so.download_dir, "with --wait, write the delivered frames here");
  add_conn(submit);

  int64_t job_id = 0;
  std::string dir;
  bool wait = false;
  auto* status = app.add_subcommand("status", "show a job, or list your jobs");
  status->add_option("job", job_id, "job id");
  bool follow = false;
  status->add_flag("--follow,-f", follow, "follow the job's event stream until it ends");
  add_conn(status);
  auto* download = app.add_subcommand("download", "download a job's delivered frames");
  download->add_option("job", job_id, "job id")->required();
  download->add_option("dir", dir, "destination folder")->required();
  download->add_flag("--wait", wait, "wait for the job to end first");
  add_conn(download);
  auto* cancel = app.add_subcommand("cancel", "cancel a job");
  cancel->add_option("job", job_id, "job id")->required();
  add_conn(cancel);
  CreditCommandLine credit_cl;
  AddCreditCommands(app, *admin, credit_cl, as_json, add_conn);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // With --json, a command line that does not parse is an error object too (help is not an error).
    if (e.get_exit_code() != 0 && HasJsonFlag(argc, argv)) {
      return inferix::client::PrintError(inferix::MakeError(inferix::Errc::kInvalidArgument, e.what()), true);
    }
    return app.exit(e);
  }

  if (render->parsed()) return inferix::client::RenderLocal(SelfExe(), ro);
  if (auto code = RunCreditCommands(credit_cl, conn, as_json)) return *code;
  if (submit->parsed()) {
    so.json = as_json;
    return inferix::client::Submit(conn, so);
  }
  if (status->parsed()) return inferix::client::Status(conn, job_id, as_json, follow);
  if (download->parsed()) return inferix::client::Download(conn, job_id, dir, wait, as_json);
  if (cancel->parsed()) return inferix::client::Cancel(conn, job_id, as_json);
  if (token_create->parsed()) {
    new_token.user = user;
    return PrintAdmin(inferix::manager::CreateUserToken(AdminStore(data, store_url), new_token), as_json,
                      {{"user", user}}, "token");
  }
  if (token_list->parsed())
    return PrintListing(inferix::manager::ListUserTokens(AdminStore(data, store_url), user, as_json),
                        as_json);
  if (token_revoke->parsed()) {
    return PrintAdmin(inferix::manager::RevokeUserToken(AdminStore(data, store_url), token_id), as_json,
                      {{"id", token_id}}, "message");
  }
  if (user_set->parsed()) {
    return PrintAdmin(inferix::manager::SetUser(AdminStore(data, store_url), user_change), as_json,
                      {{"user", user_change.user}}, "message");
  }
  if (user_list->parsed())
    return PrintListing(inferix::manager::ListUsers(AdminStore(data, store_url), as_json), as_json);
  if (audit->parsed())
    return PrintListing(inferix::manager::ShowAudit(AdminStore(data, store_url), audit_limit, as_json),
                        as_json);
  if (node_revoke->parsed()) {
    return PrintAdmin(inferix::manager::RevokeNode(AdminStore(data, store_url), node_ref, reason), as_json,
                      {{"node", node_ref}, {"reason", reason}}, "message");
  }
  if (checks_cmd->parsed()) {
    return PrintAdmin(inferix::manager::ChecksWithoutVerifier(AdminStore(data, store_url)), as_json, {},
                      "message");
  }
  if (enroll_create->parsed()) {
    auto tokens = inferix::manager::CreateEnrollmentTokens(AdminStore(data, store_url), role, ttl_s,
                                                           enroll_count, enroll_owner);
    if (!tokens) return PrintAdmin(tokens.error(), as_json, {}, "token");
    nlohmann::json answer = {{"role", role}, {"ttl_s", ttl_s}};
    if (enroll_count > 1) answer["tokens"] = *tokens;
    std::string lines;
    for (const auto& t : *tokens) lines += (lines.empty() ? "" : "\n") + t;
    return PrintAdmin(as_json || enroll_count == 1 ? tokens->front() : lines, as_json, answer, "token");
  }
  InstallSignalHandlers();
  if (manager->parsed()) {
    RaiseOpenFileLimit();
    // Paths are resolved once, here: later code (and the programs it runs) may work in other folders.
    mo.data_dir = inferix::Absolute(data);
    mo.store_url = inferix::store::AbsoluteStoreUrl(mo.store_url);
    if (!mo.url_secret_file.empty()) mo.url_secret_file = inferix::Absolute(mo.url_secret_file);
    if (!mo.tls_cert_file.empty()) mo.tls_cert_file = inferix::Absolute(mo.tls_cert_file).string();
    if (!mo.tls_key_file.empty()) mo.tls_key_file = inferix::Absolute(mo.tls_key_file).string();
    mo.multipart_threshold_bytes = multipart_threshold_mb << 20;
    mo.retention.interval_ms = retention_every_s * 1000;
    if (!ParseListen(listen, mo.host, mo.port)) {
      std::cerr << "error: --listen must be HOST:PORT, e.g. 127.0.0.1:8420\n";
      return 2;
    }
    auto m = inferix::manager::Manager::Start(mo);
    if (!m) return Report(m.error());
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*m)->Stop();
    return 0;
  }
  if (worker_cl.worker->parsed()) return Report(RunWorkerCommand(worker_cl, g_stop));
  if (verifier->parsed()) {
    vo.data_dir = inferix::Absolute(data);
    return Report(inferix::verifier::RunVerifier(vo, g_stop));
  }
  return 0;
}
