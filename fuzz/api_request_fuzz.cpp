// Fuzz target: the manager's API (JSON request codecs, routing, validation) answering one request on a real
// in-memory SQLite store and a blob store in a temporary folder. The first byte picks an endpoint; the rest
// is the body, sent with a valid user or node token. Every answer must be a JSON object with a status the API
// uses; a 5xx for bad input is a bug. A job that is created holds only numbers within their ranges.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "blob/fs_blob_store.hpp"
#include "core/clock.hpp"
#include "domain/tokens.hpp"
#include "manager/api.hpp"
#include "manager/requests.hpp"
#include "manager/scheduler.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace inferix;

struct Endpoint {
  const char* method;
  const char* path;
  bool node;  ///< node token instead of user token
};

constexpr Endpoint kEndpoints[] = {
    {"POST", "/api/v1/jobs", false},
    {"POST", "/api/v1/files/check", false},
    {"PUT", "/api/v1/files/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", false},
    {"POST", "/api/v1/jobs/1/cancel", false},
    {"GET", "/api/v1/jobs/1", false},
    {"POST", "/api/v1/nodes/register", false},
    {"POST", "/api/v1/tasks/claim", true},
    {"POST", "/api/v1/tasks/1/heartbeat", true},
    {"POST", "/api/v1/tasks/1/frames/1", true},
    {"POST", "/api/v1/tasks/1/frames/1/upload", true},
    {"POST", "/api/v1/tasks/1/done", true},
    {"POST", "/api/v1/tasks/1/fail", true},
    {"POST", "/api/v1/tasks/2/verdict", true},
    {"POST", "/api/v1/nodes/capabilities", true},
};

struct World {
  std::filesystem::path dir;
  std::unique_ptr<domain::Store> store;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<domain::ObjectStore> blobs;
  std::unique_ptr<manager::Scheduler> scheduler;
  std::unique_ptr<manager::Api> api;
  std::string user_token;
  std::string node_token;

  World() {
    std::string pattern = (std::filesystem::temp_directory_path() / "inferix-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    auto s = store::OpenSqliteStore(":memory:");
    auto b = blob::OpenFsObjectStore(dir / "blobs", "fuzz-secret", clock);
    if (!s || !b) std::abort();
    store = std::move(*s);
    blobs = std::move(*b);
    scheduler = std::make_unique<manager::Scheduler>(*store, *clock, manager::SchedulerOptions{});
    manager::ApiOptions options;
    options.long_poll_ms = 0;
    api = std::make_unique<manager::Api>(*store, *blobs, *scheduler, *clock, options);
    user_token = domain::NewToken(domain::TokenKind::kUser);
    if (!store->CreateUser("fuzz", domain::TokenHash(user_token))) std::abort();
    domain::Node node;
    node.name = "fuzz-worker";
    node.public_key = std::string(64, 'a');
    node_token = domain::NewToken(domain::TokenKind::kNode);
    if (!store->CreateNode(node, domain::TokenHash(node_token))) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;  // one per process: the store keeps what earlier inputs created, as a manager would
  if (size == 0) return 0;
  const Endpoint& e = kEndpoints[data[0] % (sizeof(kEndpoints) / sizeof(kEndpoints[0]))];
  net::HttpRequest req;
  req.method = e.method;
  req.target = e.path;
  req.path = e.path;
  req.headers["authorization"] = "Bearer " + (e.node ? world.node_token : world.user_token);
  req.headers["content-type"] = "application/json";
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  req.received_ms = world.clock->NowMs();
  auto res = world.api->Handle(req);
  if (res.status < 200 || res.status >= 500) std::abort();
  if (res.content_type == "application/json" && !res.body.empty()) {
    auto parsed = nlohmann::json::parse(res.body, nullptr, false);
    if (!parsed.is_object()) std::abort();
    // Whatever the body said, a job that was taken holds numbers within their ranges (none wrapped or cut).
    if (res.status == 201 && e.path == std::string("/api/v1/jobs")) {
      const int64_t priority = parsed.value("priority", int64_t{0});
      const int64_t chunk = parsed.value("chunk_size", int64_t{0});
      const double fps = parsed.value("fps", 0.0);
      if (priority < manager::kMinPriority || priority > manager::kMaxPriority || chunk < 1 || chunk > 1000 ||
          !(fps > 0 && fps <= 1000))
        std::abort();
    }
  }
  world.clock->Advance(1000);
  return 0;
}
