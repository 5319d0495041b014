// HttpManagerClient against an in-process server standing in for the manager: each call's method, path,
// token and body, and how answers and refusals come back.
#include "net/manager_client.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "net/http_server.hpp"
#include "net_test_util.hpp"

namespace inferix::net {
namespace {

using nlohmann::json;

class ManagerClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }
  void TearDown() override { server_.Stop(); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  HttpResponse Handle(const HttpRequest& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    HttpResponse out;
    const std::string route = r.method + " " + r.path;
    if (route == "POST /api/v1/nodes/register") {
      out.body = R"({"node_id": 7, "node_token": "nt"})";
    } else if (route == "POST /api/v1/tasks/claim") {
      if (claims_++ == 0) {
        out.status = 204;
      } else {
        out.body = R"({"task_id": 5, "kind": "render", "job_id": 2, "frames": [1], "format": "PNG",
                       "scene": {"main": "a.blend", "files": []}, "denoise": true, "blender": "",
                       "lease_ms": 60000, "heartbeat_ms": 10000})";
      }
    } else if (route == "POST /api/v1/tasks/5/heartbeat") {
      out.body = R"({"action": "abort"})";
    } else if (route == "POST /api/v1/tasks/5/frames/1/upload") {
      out.body = R"({"key": "outputs/2/5_1_ab", "url": "/signed/put", "headers": {"if-none-match": "*"}})";
    } else if (route == "POST /api/v1/tasks/5/frames/1") {
      out.status = 409;
      out.body = R"({"error": {"code": "conflict", "message": "task 5 is not held by this node"}})";
    } else {
      out.body = R"({"status": "ok"})";
    }
    return out;
  }
  std::vector<HttpRequest> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

  std::mutex mu_;
  std::vector<HttpRequest> requests_;
  int claims_ = 0;
  HttpServer server_{ServerOptions{}, [this](const HttpRequest& r) { return Handle(r); }};
};

TEST_F(ManagerClientTest, SpeaksTheNodeProtocol) {
  HttpManagerClient client(Url(), "");
  auto enrolled = client.Register({"enroll", "box", "worker", "pk", json{{"device", "cpu"}}});
  ASSERT_TRUE(enrolled);
  EXPECT_EQ(enrolled->node_id, 7);
  client.SetToken(enrolled->node_token);

  auto none = client.Claim({{"abc"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());  // 204: nothing to do
  auto task = client.Claim({});
  ASSERT_TRUE(task);
  ASSERT_TRUE(task->has_value());
  EXPECT_EQ((*task)->task_id, 5);
  EXPECT_EQ((*task)->frames, std::vector<int>{1});

  auto beat = client.Heartbeat(5, {3});
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->action, "abort");
  auto slot = client.RequestUpload(5, 1, {std::string(64, 'a'), 42});
  ASSERT_TRUE(slot);
  EXPECT_EQ(slot->key, "outputs/2/5_1_ab");
  EXPECT_EQ(slot->headers, (std::map<std::string, std::string>{{"if-none-match", "*"}}));
  auto refused = client.ReportFrame(5, 1, {"ab", "outputs/2/5_1_ab", 1.0, 2.0, "sig"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kConflict);
  EXPECT_NE(refused.error().message.find("not held"), std::string::npos);
  EXPECT_TRUE(client.FailTask(5, "Blender died"));
  EXPECT_TRUE(client.CompleteTask(5));

  const auto sent = Requests();
  ASSERT_EQ(sent.size(), 8u);
  EXPECT_EQ(json::parse(sent[0].body)["enrollment_token"], "enroll");
  EXPECT_EQ(sent[0].Header("authorization"), "");  // enrolling needs no token
  EXPECT_EQ(json::parse(sent[1].body), (json{{"cached", {"abc"}}}));
  EXPECT_EQ(json::parse(sent[3].body), (json{{"progress", 3}}));  // the heartbeat's progress
  EXPECT_EQ(sent[1].Header("authorization"), "Bearer nt");
  EXPECT_EQ(sent[3].Header("authorization"), "Bearer nt");  // heartbeats have their own connection
  EXPECT_EQ(json::parse(sent[4].body), (json{{"sha256", std::string(64, 'a')}, {"size", 42}}));
  EXPECT_EQ(json::parse(sent[5].body)["signature"], "sig");
  EXPECT_EQ(sent[6].path, "/api/v1/tasks/5/fail");
  EXPECT_EQ(json::parse(sent[6].body), (json{{"error", "Blender died"}}));
  EXPECT_EQ(sent[7].path, "/api/v1/tasks/5/done");
}

TEST_F(ManagerClientTest, AnUnreachableManagerIsUnavailable) {
  server_.Stop();
  HttpManagerClient client(Url(), "");
  auto r = client.Claim({});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
}

}  // namespace
}  // namespace inferix::net
