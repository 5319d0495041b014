// The client's commands against a fake manager (an in-process HTTP server that answers from what the test
// scripted and records the requests): submitting uploads only what the manager lacks and creates the job;
// following a job resumes its event stream until the job ends; downloads check every hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/internal.hpp"
#include "core/crypto.hpp"
#include "net/http_server.hpp"
#include "net/node_client.hpp"

namespace inferix::client {
namespace {

using nlohmann::json;

class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "inferix-client-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A manager answering each "METHOD /path" with the next of its scripted answers (the last one repeats).
class FakeManager {
 public:
  FakeManager() : server_(net::ServerOptions{}, [this](const net::HttpRequest& r) { return Handle(r); }) {}
  void Start() { ASSERT_TRUE(server_.Start()); }
  ~FakeManager() { server_.Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  void Answer(const std::string& route, int status, const std::string& body) {
    std::lock_guard lock(mu_);
    answers_[route].push_back({status, body});
  }
  std::vector<net::HttpRequest> Requests(const std::string& route) {
    std::lock_guard lock(mu_);
    std::vector<net::HttpRequest> out;
    for (const auto& r : requests_) {
      if (r.method + " " + r.path == route) out.push_back(r);
    }
    return out;
  }

 private:
  net::HttpResponse Handle(const net::HttpRequest& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    net::HttpResponse response;
    auto it = answers_.find(r.method + " " + r.path);
    if (it == answers_.end() || it->second.empty()) {
      response.status = 404;
      response.body = json{{"error", {{"code", "not_found"}, {"message", "no route " + r.path}}}}.dump();
      return response;
    }
    auto [status, body] = it->second.front();
    if (it->second.size() > 1) it->second.erase(it->second.begin());
    response.status = status;
    response.body = body;
    if (r.path == "/api/v1/events") response.content_type = "text/event-stream";
    return response;
  }

  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<int, std::string>>> answers_;
  std::vector<net::HttpRequest> requests_;
  net::HttpServer server_;
};

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { manager_.Start(); }
  net::ApiClient Api() { return net::ApiClient(manager_.url(), "user-token", net::ClientOptions{"", 10, 5}); }

  TempFolder dir_;
  FakeManager manager_;
};

TEST_F(CommandsTest, SubmittingUploadsOnlyWhatTheManagerLacksAndCreatesTheJob) {
  const std::string scene = "BLENDER-v402 scene";
  const std::string texture = "texture bytes";
  std::ofstream(dir_.path() / "a.blend") << scene;
  std::ofstream(dir_.path() / "wood.png") << texture;
  ScenePlan plan;
  plan.root = dir_.path().string();
  plan.files = {{"a.blend", Sha256Hex(scene), static_cast<int64_t>(scene.size())},
                {"tex/wood.png", Sha256Hex(texture), static_cast<int64_t>(texture.size())}};
  plan.local_paths[Sha256Hex(scene)] = dir_.path() / "a.blend";
  plan.local_paths[Sha256Hex(texture)] = dir_.path() / "wood.png";
  plan.info.fps = 30;
  manager_.Answer("POST /api/v1/files/check", 200, json{{"missing", {Sha256Hex(texture)}}}.dump());
  manager_.Answer("PUT /api/v1/files/" + Sha256Hex(texture), 201, "{}");
  manager_.Answer("POST /api/v1/jobs", 201, R"({"id": 42})");
  SubmitOptions o;
  o.scene = dir_.path() / "a.blend";
  o.frames = "1-10";
  o.chunk_size = 2;
  auto api = Api();
  auto id = UploadAndCreate(api, plan, o);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, 42);

  const auto checked = manager_.Requests("POST /api/v1/files/check");
  ASSERT_EQ(checked.size(), 1u);
  EXPECT_EQ(json::parse(checked[0].body)["sha256"], json({Sha256Hex(scene), Sha256Hex(texture)}));
  EXPECT_EQ(checked[0].Header("authorization"), "Bearer user-token");
  const auto uploads = manager_.Requests("PUT /api/v1/files/" + Sha256Hex(texture));
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].body, texture);
  EXPECT_TRUE(manager_.Requests("PUT /api/v1/files/" + Sha256Hex(scene)).empty());

  const auto created = manager_.Requests("POST /api/v1/jobs");
  ASSERT_EQ(created.size(), 1u);
  const json job = json::parse(created[0].body);
  EXPECT_EQ(job["name"], "a.blend");
  EXPECT_EQ(job["main"], "a.blend");
  EXPECT_EQ(job["frames"], "1-10");
  EXPECT_EQ(job["format"], "PNG");  // the scene's format is not one Inferix writes: PNG
  EXPECT_EQ(job["chunk_size"], 2);
  EXPECT_EQ(job["fps"], 30.0);
  EXPECT_EQ(job["files"].size(), 2u);
}

TEST_F(CommandsTest, ARefusedJobIsAnErrorWithTheManagersMessage) {
  manager_.Answer("POST /api/v1/files/check", 200, R"({"missing": []})");
  manager_.Answer("POST /api/v1/jobs", 400,
                  R"({"error": {"code": "invalid_argument", "message": "frames: 10-1 is empty"}})");
  ScenePlan plan;
  plan.files = {{"a.blend", std::string(64, 'a'), 1}};
  auto api = Api();
  auto id = UploadAndCreate(api, plan, SubmitOptions{});
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, Errc::kInvalidArgument);
  EXPECT_NE(id.error().message.find("frames: 10-1 is empty"), std::string::npos);
}

TEST_F(CommandsTest, FollowingAJobResumesItsEventStreamUntilItEnds) {
  manager_.Answer("GET /api/v1/events", 200,
                  "id: 1\nevent: frame_delivered\ndata: {\"frame\": 1}\n\n"
                  "id: 2\nevent: frame_delivered\ndata: {\"frame\": 2}\n\n");
  manager_.Answer("GET /api/v1/events", 200, "id: 3\nevent: job_completed\ndata: {}\n\n");
  manager_.Answer("GET /api/v1/jobs/42", 200,
                  R"({"id": 42, "state": "running", "progress": {"total": 3, "delivered": 2}})");
  manager_.Answer("GET /api/v1/jobs/42", 200,
                  R"({"id": 42, "state": "completed", "progress": {"total": 3, "delivered": 3}})");
  std::string shown;
  ProgressDisplay display(
      ProgressMode::kPlain, [&](std::string_view s) { shown += s; }, [] { return 80; });
  std::vector<int64_t> seen;
  auto api = Api();
  auto job = FollowJob(api, 42, display, [&](const StreamEvent& e) { seen.push_back(e.id); });
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->value("state", ""), "completed");
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
  const auto streams = manager_.Requests("GET /api/v1/events");
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].query.at("job"), "42");
  EXPECT_EQ(streams[0].Header("last-event-id"), "");
  EXPECT_EQ(streams[1].Header("last-event-id"), "2");  // resumed after the last event seen
  EXPECT_FALSE(shown.empty());
}

TEST_F(CommandsTest, DownloadsCheckEveryFramesHash) {
  const std::string frame1 = "frame one";
  manager_.Answer("GET /api/v1/jobs/42/outputs", 200,
                  json{{"outputs",
                        {{{"frame", 1}, {"sha256", Sha256Hex(frame1)}, {"url", "/blob/1"}},
                         {{"frame", 2}, {"sha256", Sha256Hex("frame two")}, {"url", "/blob/2"}}}},
                       {"video", "none"}}
                      .dump());
  manager_.Answer("GET /blob/1", 200, frame1);
  manager_.Answer("GET /blob/2", 200, "damaged in transit");
  const json job = {{"id", 42}, {"main", "shots/a.blend"}, {"format", "PNG"}};
  auto api = Api();
  auto got = DownloadOutputs(api, job, dir_.path() / "out");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("hash mismatch"), std::string::npos);
  EXPECT_EQ(ReadAll(dir_.path() / "out" / "a_0001.png"), frame1);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "out" / "a_0002.png"));  // the damaged one is removed
}

}  // namespace
}  // namespace inferix::client
