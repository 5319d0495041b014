#include "manager/manager.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "blob/blob_url.hpp"
#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "domain/tokens.hpp"
#include "image/image.hpp"
#include "manager/api.hpp"
#include "manager/api_util.hpp"
#include "manager/blob_endpoint.hpp"
#include "manager/postprocess.hpp"
#include "net/http_server.hpp"
#include "store/change_feed.hpp"
#include "store/store_url.hpp"

namespace inferix::manager {
namespace {

// The secret that signs the file adapter's URLs. Several managers sharing one blob folder share one secret
// file (--url-secret-file): the first to start creates it without replacing one another made meanwhile
// (link(2) refuses to replace), and every manager then reads the same secret.
Result<std::string> LoadOrCreateSecret(const std::filesystem::path& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      auto s = ReadFile(path);
      if (!s) return s.error();
      if (s->size() >= 32) return *s;
      return MakeError(
          Errc::kInvalidArgument,
          "the URL secret " + path.string() + " is shorter than 32 characters; remove it to make a new one");
    }
    const auto tmp = path.string() + ".new-" + RandomHex(8);
    INFERIX_TRY(WriteFileAtomic(tmp, RandomHex(32),
                                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int err = errno;
    std::filesystem::remove(tmp, ec);
    if (rc != 0 && err != EEXIST) {
      return MakeError(Errc::kInternal, "cannot create the URL secret " + path.string() + ": " +
                                            std::error_code(err, std::generic_category()).message());
    }
  }
  return MakeError(Errc::kInternal, "cannot read the URL secret " + path.string());
}

// With an object store of its own (S3), the manager hands out that store's URLs: nothing comes here.
constexpr const char* kNoBlobRoute =
    "this manager keeps its objects in an object store that serves its own URLs (--blobs s3://...); "
    "ask the API for a new URL";
net::HttpResponse NoBlobRoute() { return Fail(Errc::kNotFound, kNoBlobRoute); }

// With a shared store, how long after a job completed a starting manager takes over the making of a video
// still pending: longer than any video takes its maker (docs/operations.md, "Several managers").
constexpr int64_t kVideoRetakeAfterMs = int64_t{10} * 60 * 1000;

// The scheduler's options: a verifier counts for its class while the workers page shows it online (heard from
// within a long poll and a lease), unless set otherwise.
SchedulerOptions SchedulingOf(const ManagerOptions& options) {
  SchedulerOptions s = options.scheduler;
  if (s.verifier_seen_ms == 0) s.verifier_seen_ms = options.long_poll_ms + s.lease_ms;
  return s;
}

// Whether --store names a server that other managers may share (PostgreSQL), not the embedded file.
bool SharedStore(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

class ManagerImpl final : public Manager {
 public:
  // How the manager's HTTP server listens and what it refuses before any work (docs/operations.md).
  net::ServerOptions ServerOptionsOf(const ManagerOptions& options, Api& api) {
    net::ServerOptions server;
    server.host = options.host;
    server.port = options.port;
    server.listen_fd = options.listen_fd;
    server.max_body_bytes = options.max_body_bytes;
    server.tls_cert_file = options.tls_cert_file;
    server.tls_key_file = options.tls_key_file;
    // Every request is admitted (or refused) from its head, before its body is read.
    server.admit = [this](const net::HttpRequest& head) {
      if (!head.path.starts_with(kBlobPathPrefix)) return api_.Admit(head);
      api_.CountBlobRequest();
      // A presigned URL: its signature, and for an upload the node it was issued to and the size it allows,
      // are checked before a byte of the body is read.
      if (fs_ == nullptr) {
        return api_.AdmitSigned(head, MakeError(Errc::kNotFound, kNoBlobRoute), 0);
      }
      const std::string key = head.path.substr(kBlobPathPrefix.size());
      auto terms = fs_->VerifyPresigned(head.method, key, head.query);
      if (!terms) return api_.AdmitSigned(head, terms.error(), 0);
      Result<void> allowed = Ok();
      if (head.method == "PUT") allowed = OutputUploadGate(*store_)(key, terms->issued_to);
      return api_.AdmitSigned(head, allowed, static_cast<uint64_t>(std::max<int64_t>(0, terms->max_bytes)));
    };
    server.max_memory_body_bytes = options.max_json_bytes;
    server.spool_dir = options.data_dir / "spool";
    server.max_connections = options.max_connections;
    server.max_connections_per_address = options.max_connections_per_address;
    server.header_timeout = std::chrono::milliseconds(options.header_timeout_ms);
    server.body_timeout = std::chrono::milliseconds(options.body_timeout_ms);
    server.min_body_rate = options.min_body_rate;
    server.counters = &api.counters();
    return server;
  }

  ManagerImpl(const ManagerOptions& options, std::unique_ptr<domain::Store> store,
              std::unique_ptr<domain::ObjectStore> blobs, blob::FsObjectStore* fs)
      : options_(options),
        store_(std::move(store)),
        blobs_(std::move(blobs)),
        fs_(fs),
        scheduler_(*store_, clock_, SchedulingOf(options)),
        api_(*store_, *blobs_, scheduler_, clock_,
             ApiOptions{options.long_poll_ms, options.url_ttl_s, !options.tls_cert_file.empty(),
                        options.max_output_bytes, options.sessions, options.quotas, options.max_body_bytes,
                        options.max_json_bytes, options.rate_per_s, options.rate_burst,
                        options.multipart_threshold_bytes}),
        server_(ServerOptionsOf(options, api_),
                [this](const net::HttpRequest& r) {
                  // The file adapter's presigned URLs point at the manager: it answers them.
                  if (r.path.starts_with(kBlobPathPrefix)) {
                    auto response =
                        fs_ == nullptr ? NoBlobRoute() : ServeBlob(*fs_, OutputUploadGate(*store_), r);
                    api_.CountBlobBytes(r, response);
                    return response;
                  }
                  return api_.Handle(r);
                }),
        postprocessor_(
            *store_, *blobs_, scheduler_, [this](std::function<void()> fn) { server_.Post(std::move(fn)); },
            options.data_dir / "tmp"),
        retention_(*store_, *blobs_, clock_, options.retention,
                   [this](const std::function<Result<void>()>& fn) { return OnStore(fn); }) {
    scheduler_.SetHooks([this](const domain::Job& job,
                               const domain::Output& out) { postprocessor_.FrameDelivered(job, out); },
                        [this](const domain::Job& job) { postprocessor_.JobCompleted(job); });
    // Queued tasks wake as many waiting claims of their kind at once (manager/wakeups.hpp).
    api_.wakeups().SetWake([this](const std::string& key, size_t n) { return server_.Wake(key, n); },
                           [this](const std::string& key) { return server_.Waiting(key); });
    scheduler_.OnTasksQueued([this](domain::TaskKind kind, int n) { api_.wakeups().Queued(kind, n); });
  }

  ~ManagerImpl() override { Stop(); }

  Result<void> Run() {
    INFERIX_TRY(server_.Start());
    // Videos that were being made when the manager stopped are made again. A job's video is made by the
    // manager that completed it; with a store that several managers share, one finished less than
    // kVideoRetakeAfterMs ago is left to it (it may be making it now), so a starting manager makes none
    // twice.
    const int64_t retake_after_ms = SharedStore(options_.store_url) ? kVideoRetakeAfterMs : 0;
    server_.Post([this, retake_after_ms] {
      auto jobs = store_->ListJobsInState(domain::JobState::kCompleted);
      if (!jobs) return;
      const int64_t before = clock_.NowMs() - retake_after_ms;
      for (const auto& j : *jobs) {
        if (j.video_state == "pending" && j.finished_ms <= before) postprocessor_.JobCompleted(j);
      }
    });
    sweeper_ = std::thread([this] { SweepLoop(); });
    chores_ = std::thread([this] { ChoresLoop(); });
    std::string url = std::string(options_.tls_cert_file.empty() ? "http" : "https") + "://" + options_.host +
                      ":" + std::to_string(server_.port());
    INFERIX_TRY(WriteFileAtomic(options_.data_dir / "manager.url", url + "\n",
                                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                    std::filesystem::perms::group_read |
                                    std::filesystem::perms::others_read));
    spdlog::info("manager serving on {} with data in {}", url, options_.data_dir.string());
    return Ok();
  }

  uint16_t port() const override { return server_.port(); }

  void SetChangeFeed(std::unique_ptr<store::ChangeFeed> feed) {
    feed_ = std::move(feed);
    api_.SetChangeFeed(feed_.get());
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
    if (chores_.joinable()) chores_.join();
    postprocessor_.Stop();
    server_.Stop();
    if (feed_) feed_->Stop();
  }

 private:
  // Expires leases and writes when nodes were last heard from, twice a second, on the store thread like every
  // other store access.
  void SweepLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(500));
      if (stopping_) break;
      server_.Post([this] {
        auto n = scheduler_.ExpireLeases();
        if (!n) spdlog::error("lease sweep: {}", n.error().message);
        if (n && *n > 0) spdlog::warn("{} task lease(s) expired; their frames are queued again", *n);
        auto seen = api_.FlushSeenNodes();
        if (!seen) spdlog::error("writing when nodes were last heard from: {}", seen.error().message);
      });
    }
  }

  // Retention rounds, on a thread of their own: their store work goes to the store thread in short pieces
  // (OnStore), their object deletions and listings stay here.
  void ChoresLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.retention.interval_ms));
      if (stopping_) break;
      lock.unlock();
      retention_.RunRound();
      lock.lock();
    }
  }

  // Runs `fn` on the store thread and waits for it. Stop joins the chores before it stops the server, so the
  // store thread is there to run it.
  Result<void> OnStore(const std::function<Result<void>()>& fn) {
    auto done = std::make_shared<std::promise<Result<void>>>();
    auto result = done->get_future();
    server_.Post([done, &fn] { done->set_value(fn()); });
    return result.get();
  }

  ManagerOptions options_;
  SystemClock clock_;
  std::unique_ptr<domain::Store> store_;
  std::unique_ptr<domain::ObjectStore> blobs_;
  blob::FsObjectStore* fs_;  ///< blobs_ when it is the file adapter (its URLs point here); else null
  Scheduler scheduler_;
  Api api_;
  net::HttpServer server_;
  Postprocessor postprocessor_;
  std::unique_ptr<store::ChangeFeed> feed_;  ///< set before Run; read by the API on the store thread
  Retention retention_;
  std::thread sweeper_;
  std::thread chores_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

// The object store --blobs names: "file:DIR" (a folder, which several managers may share on a shared file
// system), or by default the folder "blobs" in the data folder.
struct Objects {
  std::unique_ptr<domain::ObjectStore> objects;
  blob::FsObjectStore* fs = nullptr;
};
Result<Objects> OpenObjects(const ManagerOptions& options) {
  std::filesystem::path dir = options.data_dir / "blobs";
  if (!options.blobs_url.empty()) {
    auto url = blob::ParseBlobUrl(options.blobs_url);
    if (!url) return MakeError(url.error().code, "--blobs: " + url.error().message);
    if (url->kind == blob::BlobUrl::Kind::kS3) {
      // An S3 bucket: its URLs point at the store, which nodes and users reach directly.
      auto s3 = blob::OpenS3ObjectStore(url->s3);
      if (!s3) {
        return MakeError(s3.error().code,
                         "--blobs " + SafeText(options.blobs_url, 200) + ": " + s3.error().message);
      }
      Objects out;
      out.objects = std::move(*s3);
      return out;
    }
    dir = std::filesystem::absolute(url->dir).lexically_normal();
  }
  const auto secret_file =
      options.url_secret_file.empty() ? options.data_dir / "url-secret" : options.url_secret_file;
  auto secret = LoadOrCreateSecret(secret_file);
  if (!secret) return secret.error();
  auto fs = blob::OpenFsObjectStore(dir, std::move(*secret), std::make_shared<SystemClock>());
  if (!fs) return fs.error();
  (*fs)->SetMinFreeBytes(options.min_free_disk_mb < 0 ? -1 : options.min_free_disk_mb << 20);
  Objects out;
  out.fs = fs->get();
  out.objects = std::move(*fs);
  return out;
}

}  // namespace

Result<std::unique_ptr<Manager>> Manager::Start(const ManagerOptions& options) {
  INFERIX_TRY(image::CheckAvailable());  // previews and videos decode frames
  if (options.retention.orphan_after_s != 0 && options.retention.orphan_after_s <= options.url_ttl_s) {
    return MakeError(
        Errc::kInvalidArgument,
        "--keep-orphans must be longer than upload URLs last (" + std::to_string(options.url_ttl_s) +
            " s), or an upload whose report is on its way could be removed; give more, or 0 to keep them");
  }
  INFERIX_TRY(PrepareDataFolder(options.data_dir));
  const std::string store_url =
      options.store_url.empty() ? store::DefaultStoreUrl(options.data_dir) : options.store_url;
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto feed = store::OpenChangeFeed(store_url);  // other managers' wake-ups; none on SQLite
  if (!feed) return feed.error();
  auto blobs = OpenObjects(options);
  if (!blobs) return blobs.error();
  auto m = std::make_unique<ManagerImpl>(options, std::move(*store), std::move(blobs->objects), blobs->fs);
  m->SetChangeFeed(std::move(*feed));
  INFERIX_TRY(m->Run());
  return std::unique_ptr<Manager>(std::move(m));
}

Result<std::string> CreateUserToken(const std::string& store_url, const std::string& user) {
  NewUserToken request;
  request.user = user;
  return CreateUserToken(store_url, request);
}

Result<std::vector<std::string>> CreateEnrollmentTokens(const std::string& store_url, const std::string& role,
                                                        int64_t ttl_s, int count, const std::string& owner) {
  auto parsed = domain::ParseNodeRole(role);
  if (!parsed) return MakeError(Errc::kInvalidArgument, "role must be worker or verifier");
  if (count < 1) return MakeError(Errc::kInvalidArgument, "the count of tokens must be at least 1");
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  domain::EnrollmentGrant grant{*parsed, 0};
  if (!owner.empty()) {
    auto user = (*store)->FindUserByName(owner);
    if (!user) return user.error();
    if (!user->has_value())
      return MakeError(Errc::kNotFound,
                       "no user named '" + owner +
                           "' to own the node; make the user first (inferix admin token create --user " +
                           owner + ")");
    grant.owner_id = (*user)->id;
  }
  std::vector<std::string> tokens;
  const int64_t expires_ms = SystemClock().NowMs() + ttl_s * 1000;
  INFERIX_TRY((*store)->Transaction([&]() -> Result<void> {
    for (int i = 0; i < count; ++i) {
      std::string token = domain::NewToken(domain::TokenKind::kEnrollment);
      INFERIX_TRY((*store)->CreateEnrollment(domain::TokenHash(token), grant, expires_ms));
      tokens.push_back(std::move(token));
    }
    return Ok();
  }));
  return tokens;
}

Result<std::string> RevokeNode(const std::string& store_url, const std::string& node,
                               const std::string& reason) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto nodes = (*store)->ListNodes();
  if (!nodes) return nodes.error();
  std::vector<domain::Node> matches;
  for (const auto& n : *nodes) {
    if (n.name == node || std::to_string(n.id) == node) matches.push_back(n);
  }
  if (matches.empty()) return MakeError(Errc::kNotFound, "no node named or numbered \"" + node + "\"");
  if (matches.size() > 1) {
    return MakeError(Errc::kInvalidArgument, std::to_string(matches.size()) + " nodes are named \"" + node +
                                                 "\"; give the node's id (GET /api/v1/workers)");
  }
  domain::Node n = matches.front();
  INFERIX_TRY((*store)->Transaction([&]() -> Result<void> {
    // Read again in the transaction: a running manager may have changed its counters since the list.
    auto stored = (*store)->GetNode(n.id);
    if (!stored) return stored.error();
    if (stored->has_value()) n = std::move(**stored);
    n.banned = true;
    n.ban_reason = "revoked by the operator" + (reason.empty() ? std::string() : ": " + reason);
    INFERIX_TRY((*store)->UpdateNode(n));
    INFERIX_TRY(AuditAdminAction(**store, "node.revoked",
                                 "node " + std::to_string(n.id) + " (" + n.name + ")", reason));
    return AppendWorkerEvent(**store, n.id, SystemClock().NowMs());  // a running manager's users are told
  }));
  return std::string(domain::ToString(n.role)) + " " + n.name + " (node " + std::to_string(n.id) +
         ") revoked";
}

}  // namespace inferix::manager
