// GET /api/v1/metrics (issue #16): an Api on a real store (SQLite in memory) and object folder, called
// without sockets; the scrape counts the requests made before it by route pattern, and shows the network's
// state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"
#include "core/metrics.hpp"
#include "domain/tokens.hpp"
#include "manager/api.hpp"
#include "manager/scheduler.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::manager {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kLongPollMs = 1000;

class MetricsRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_metrics_route_test_" + RandomHex(8));
    auto blobs = blob::OpenFsObjectStore(dir_, "secret", clock_);
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_ = std::move(*blobs);
    auto store = store::OpenSqliteStore(":memory:");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    scheduler_ = std::make_unique<Scheduler>(*store_, *clock_, SchedulerOptions{});
    ApiOptions options;
    options.long_poll_ms = kLongPollMs;
    options.metrics = &registry_;
    api_ = std::make_unique<Api>(*store_, *blobs_, *scheduler_, *clock_, options);
    operator_token_ = UserToken("root", true);
    alice_token_ = UserToken("alice", false);
    worker_token_ = NodeToken("w1", domain::NodeRole::kWorker, "blender 3.4 / x86_64 / cpu");
    verifier_token_ = NodeToken("v1", domain::NodeRole::kVerifier, "blender 3.4 / x86_64 / cpu");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string UserToken(const std::string& name, bool op) {
    const std::string token = domain::NewToken(domain::TokenKind::kUser);
    auto id = store_->CreateUser(name, domain::TokenHash(token));
    EXPECT_TRUE(id.ok());
    auto user = **store_->GetUser(*id);
    if (op) user.role = domain::UserRole::kOperator;
    EXPECT_TRUE(store_->UpdateUser(user).ok());
    user_ids_[name] = *id;
    return token;
  }
  std::string NodeToken(const std::string& name, domain::NodeRole role, const std::string& det_class) {
    const std::string token = domain::NewToken(domain::TokenKind::kNode);
    domain::Node n;
    n.name = name;
    n.role = role;
    n.public_key = std::string(64, 'a');
    n.det_class = det_class;
    n.last_seen_ms = clock_->NowMs();
    EXPECT_TRUE(store_->CreateNode(n, domain::TokenHash(token)).ok());
    return token;
  }
  net::HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                         const std::string& body = "", int64_t previous_attempt_ms = 0) {
    net::HttpRequest req;
    req.method = method;
    req.path = path;
    req.target = path;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    req.body = body;
    req.body_size = body.size();
    req.received_ms = received_ms_;
    req.previous_attempt_ms = previous_attempt_ms;
    return api_->Handle(req);
  }
  std::string Scrape() {
    auto r = Call("GET", "/api/v1/metrics", operator_token_);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  // The value of the sample line that starts with `sample` (name and labels), or -1 when there is none.
  static double Value(const std::string& text, const std::string& sample) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(sample + " ")) return std::stod(line.substr(sample.size() + 1));
    }
    return -1;
  }
  // A job of `frames` frames, one task each, submitted by alice.
  void SubmitJob(const std::string& frames) {
    domain::Job j;
    j.name = "shot";
    j.main_file = "shot.blend";
    j.files = {{"shot.blend", Sha256Hex("scene"), 100}};
    j.frames_spec = frames;
    j.chunk_size = 1;
    ASSERT_TRUE(store_->AddUserFile(user_ids_["alice"], Sha256Hex("scene"), 100).ok());
    auto job = scheduler_->CreateJob(user_ids_["alice"], j);
    ASSERT_TRUE(job.ok()) << job.error().message;
  }

  fs::path dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  int64_t received_ms_ = clock_->NowMs();
  std::unique_ptr<blob::FsObjectStore> blobs_;
  std::unique_ptr<domain::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  metrics::Registry registry_;
  std::unique_ptr<Api> api_;
  std::map<std::string, int64_t> user_ids_;
  std::string operator_token_, alice_token_, worker_token_, verifier_token_;
};

TEST_F(MetricsRouteTest, OnlyAnOperatorMayScrape) {
  auto anonymous = Call("GET", "/api/v1/metrics", "");
  EXPECT_EQ(anonymous.status, 401);
  auto alice = Call("GET", "/api/v1/metrics", alice_token_);
  EXPECT_EQ(alice.status, 403);
  EXPECT_THAT(alice.body, HasSubstr("permission_denied"));
  EXPECT_EQ(Call("GET", "/api/v1/metrics", worker_token_).status, 401);
  // The refusals were requests too, counted by the route's pattern.
  const std::string text = Scrape();
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="/api/v1/metrics",method="GET",code="4xx"})"),
            3);
  EXPECT_THAT(text, StartsWith("# HELP "));
  EXPECT_EQ(Call("POST", "/api/v1/metrics", operator_token_).status, 404);  // GET only
}

TEST_F(MetricsRouteTest, RequestsAreCountedByRoutePatternMethodAndStatusClass) {
  EXPECT_EQ(Call("GET", "/api/v1/whoami", alice_token_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", alice_token_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/jobs/12345", alice_token_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/jobs/67890", alice_token_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/no-such-thing", alice_token_).status, 404);
  EXPECT_EQ(Call("BREW", "/api/v1/whoami", alice_token_).status, 404);
  EXPECT_EQ(Call("GET", "/", "").status, 200);
  const std::string scene = "BLENDER-v304 a scene";
  EXPECT_EQ(Call("PUT", "/api/v1/files/" + Sha256Hex(scene), alice_token_, scene).status, 201);

  const std::string text = Scrape();
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="/api/v1/whoami",method="GET",code="2xx"})"), 2);
  // The ids of the path are not labels: both jobs count under the pattern.
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="/api/v1/jobs/:id",method="GET",code="4xx"})"),
            2);
  EXPECT_THAT(text, Not(HasSubstr("12345")));
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="other",method="GET",code="4xx"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="other",method="other",code="4xx"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_http_requests_total{route="dashboard",method="GET",code="2xx"})"), 1);
  EXPECT_EQ(
      Value(text, R"(inferix_http_request_duration_seconds_count{route="/api/v1/whoami",method="GET"})"), 2);
  EXPECT_EQ(
      Value(text,
            R"(inferix_http_request_duration_seconds_bucket{route="/api/v1/whoami",method="GET",le="+Inf"})"),
      2);
  EXPECT_EQ(Value(text, R"(inferix_uploads_total{kind="scene_file"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_upload_bytes_total{kind="scene_file"})"),
            static_cast<double>(scene.size()));
  EXPECT_EQ(Value(text, R"(inferix_uploads_total{kind="output_url"})"), 0);
}

// A long poll's runs while it waits are timed, each; the request is counted once, when it answers.
TEST_F(MetricsRouteTest, ALongPollIsCountedOnceWhenItAnswers) {
  auto waiting = Call("POST", "/api/v1/tasks/claim", verifier_token_, "{}");
  EXPECT_GT(waiting.retry_after_ms, 0);
  clock_->Advance(kLongPollMs / 2);
  EXPECT_GT(Call("POST", "/api/v1/tasks/claim", verifier_token_, "{}", received_ms_ + 1).retry_after_ms, 0);
  std::string text = Scrape();
  EXPECT_EQ(
      Value(text, R"(inferix_http_requests_total{route="/api/v1/tasks/claim",method="POST",code="2xx"})"),
      -1);
  EXPECT_EQ(
      Value(text,
            R"(inferix_http_request_duration_seconds_count{route="/api/v1/tasks/claim",method="POST"})"),
      2);
  clock_->Advance(kLongPollMs);
  EXPECT_EQ(Call("POST", "/api/v1/tasks/claim", verifier_token_, "{}", received_ms_ + 2).status, 204);
  text = Scrape();
  EXPECT_EQ(
      Value(text, R"(inferix_http_requests_total{route="/api/v1/tasks/claim",method="POST",code="2xx"})"), 1);
  EXPECT_EQ(
      Value(text,
            R"(inferix_http_request_duration_seconds_count{route="/api/v1/tasks/claim",method="POST"})"),
      3);
}

TEST_F(MetricsRouteTest, TheNetworksStateIsReadWhenScraped) {
  std::string text = Scrape();
  EXPECT_EQ(Value(text, R"(inferix_tasks_queued{kind="render",class=""})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_tasks_queued{kind="verify",class=""})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="worker",state="idle"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="verifier",state="idle"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="worker",state="banned"})"), 0);

  // A worker of a class no verifier lends joins (its renders are held back).
  NodeToken("w2", domain::NodeRole::kWorker, "blender 4.2 / x86_64 / cpu");
  SubmitJob("1-3");
  auto claimed = Call("POST", "/api/v1/tasks/claim", worker_token_, "{}");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  clock_->Advance(kLongPollMs + SchedulerOptions{}.lease_ms +
                  1);  // the verifier has not been heard from since
  text = Scrape();
  EXPECT_EQ(Value(text, R"(inferix_tasks_queued{kind="render",class=""})"), 2);
  EXPECT_EQ(Value(text, R"(inferix_tasks_active{kind="render"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_tasks_active{kind="verify"})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_tasks_claimed_total{kind="render"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_tasks_claimed_total{kind="verify"})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="worker",state="busy"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="worker",state="idle"})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_nodes{role="verifier",state="offline"})"), 1);
  EXPECT_GE(Value(text, "inferix_events_total"), 1);
  // The verifier lends its class and the first worker's; the second worker's class has no verifier.
  EXPECT_EQ(Value(text, R"(inferix_class_has_verifier{class="blender 3.4 / x86_64 / cpu"})"), 1);
  EXPECT_EQ(Value(text, R"(inferix_class_has_verifier{class="blender 4.2 / x86_64 / cpu"})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_verification_backlog{class="blender 4.2 / x86_64 / cpu"})"), 0);
  EXPECT_EQ(Value(text, R"(inferix_http_refused_total{reason="rate_limited"})"), 0);
  EXPECT_GT(Value(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(Value(text, "process_open_fds"), 0);
}

// Without a registry of its own, the Api keeps its metrics in the process's, where the store's are too.
TEST_F(MetricsRouteTest, TheProcessRegistryHoldsTheStoresMetricsToo) {
  ApiOptions options;
  api_ = std::make_unique<Api>(*store_, *blobs_, *scheduler_, *clock_, options);
  SubmitJob("1");  // a Transaction
  const std::string text = Scrape();
  EXPECT_GE(Value(text, R"(inferix_store_transactions_total{engine="sqlite",outcome="commit"})"), 1);
  EXPECT_GE(Value(text, R"(inferix_store_write_transactions_total{engine="sqlite"})"), 1);
  EXPECT_GE(Value(text, R"(inferix_store_transaction_duration_seconds_count{engine="sqlite"})"), 1);
  EXPECT_THAT(text, HasSubstr("# TYPE inferix_http_request_duration_seconds histogram\n"));
}

}  // namespace
}  // namespace inferix::manager
