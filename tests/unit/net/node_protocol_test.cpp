// The node protocol's wire types: their JSON is exactly what the manager sent and the nodes read before they
// were typed (docs/api/openapi.yaml), and a node reads what it always read.
#include "net/node_protocol.hpp"

#include <gtest/gtest.h>

namespace inferix::net {
namespace {

using nlohmann::json;

ClaimedTask VerifyTask() {
  ClaimedTask t;
  t.task_id = 12;
  t.kind = "verify";
  t.job_id = 3;
  t.frames = {7};
  t.format = "OPEN_EXR";
  t.scene.main = "shot.blend";
  t.scene.files = {{"shot.blend", std::string(64, 'a'), 1200, "/api/v1/blob/files/aaa?sig=1"}};
  t.scene.root = "/home/ann/film";
  t.scene.resolution_percentage = 50;
  t.denoise = false;
  t.blender = "4.2.0";
  t.lease_ms = 60000;
  t.heartbeat_ms = 10000;
  t.output = OutputRef{44, std::string(64, 'b'), 9, "/api/v1/blob/outputs/3/x?sig=2"};
  t.check = CheckSpec{1, true, false, 6, 3, 0.05};
  t.original = OriginalRef{40, std::string(64, 'c'), "/api/v1/blob/outputs/3/y?sig=3"};
  return t;
}

TEST(ClaimedTask, EncodesTheClaimAnswer) {
  const json expected = json::parse(R"({
    "task_id": 12, "kind": "verify", "job_id": 3, "frames": [7], "format": "OPEN_EXR",
    "scene": {"main": "shot.blend", "root": "/home/ann/film", "resolution_percentage": 50,
              "files": [{"path": "shot.blend", "sha256": ")" +
                                    std::string(64, 'a') + R"(", "size": 1200,
                         "url": "/api/v1/blob/files/aaa?sig=1"}]},
    "denoise": false, "blender": "4.2.0", "lease_ms": 60000, "heartbeat_ms": 10000,
    "output": {"output_id": 44, "sha256": ")" +
                                    std::string(64, 'b') + R"(", "node_id": 9,
               "url": "/api/v1/blob/outputs/3/x?sig=2"},
    "check": {"level": 1, "layer2": true, "whole_frame": false, "regions": 6, "detail_regions": 3,
              "exact_rate": 0.05},
    "original": {"output_id": 40, "sha256": ")" +
                                    std::string(64, 'c') + R"(",
                 "url": "/api/v1/blob/outputs/3/y?sig=3"}})");
  EXPECT_EQ(ToJson(VerifyTask()), expected);
}

TEST(ClaimedTask, ARenderTaskHasNoOutputCheckOrOriginal) {
  ClaimedTask t;
  t.task_id = 1;
  t.kind = "render";
  t.frames = {1, 2};
  t.scene.main = "a.blend";
  const json j = ToJson(t);
  EXPECT_FALSE(j.contains("output"));
  EXPECT_FALSE(j.contains("check"));
  EXPECT_FALSE(j.contains("original"));
  EXPECT_FALSE(j["scene"].contains("root"));  // sent only when set
  EXPECT_FALSE(j["scene"].contains("resolution_percentage"));
}

TEST(ClaimedTask, DecodesWhatItEncodes) {
  auto back = ClaimedTaskFromJson(ToJson(VerifyTask()));
  ASSERT_TRUE(back);
  EXPECT_EQ(ToJson(*back), ToJson(VerifyTask()));
}

TEST(ClaimedTask, EveryCheckLevelDecodesLayerOneOnlyIncluded) {
  // A trusted worker's output not drawn for a spot check is checked at level -1 (domain::kLayer1Only).
  for (int level : {-1, 0, 1, 2, 3}) {
    ClaimedTask t = VerifyTask();
    t.check->level = level;
    auto back = ClaimedTaskFromJson(ToJson(t));
    ASSERT_TRUE(back) << level << ": " << back.error().message;
    EXPECT_EQ(back->check->level, level);
  }
}

TEST(ClaimedTask, MissingFieldsTakeTheDefaultsNodesAlwaysUsed) {
  auto t = ClaimedTaskFromJson(json{{"task_id", 5}, {"output", {{"url", "/u"}}}, {"check", json::object()}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->task_id, 5);
  EXPECT_EQ(t->format, "PNG");
  EXPECT_TRUE(t->denoise);
  EXPECT_EQ(t->heartbeat_ms, 10'000);
  EXPECT_EQ(t->blender, "");
  ASSERT_TRUE(t->check.has_value());
  EXPECT_TRUE(t->check->layer2);
  EXPECT_DOUBLE_EQ(t->check->exact_rate, 0.05);
  EXPECT_FALSE(t->original.has_value());
}

TEST(ClaimedTask, AFieldOfTheWrongTypeIsRefused) {
  auto t = ClaimedTaskFromJson(json{{"task_id", "twelve"}});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kInvalidArgument);
  EXPECT_FALSE(ClaimedTaskFromJson(json::array()));
}

TEST(ClaimedTask, NumbersOutOfTheirRangeAreRefusedNamingTheField) {
  auto error = [](const json& j) {
    auto t = ClaimedTaskFromJson(j);
    return t ? std::string("ok") : t.error().message;
  };
  EXPECT_EQ(error({{"task_id", 5}, {"frames", {1, 2}}, {"heartbeat_ms", 500}}), "ok");
  EXPECT_EQ(error({{"frames", {3.99}}}),
            "claimed task: field \"frames\" must be a whole number from -1048574 to 1048574, not 3.99");
  EXPECT_EQ(error({{"frames", {true}}}),
            "claimed task: field \"frames\" must be a whole number from -1048574 to 1048574, not true");
  EXPECT_EQ(error({{"frames", 7}}).substr(0, 14), "claimed task: ");  // not a list
  EXPECT_EQ(error({{"heartbeat_ms", 0}}),
            "claimed task: field \"heartbeat_ms\" must be a whole number from 1 to 604800000, not 0");
  EXPECT_EQ(error({{"lease_ms", -1}}),
            "claimed task: field \"lease_ms\" must be a whole number from 0 to 604800000, not -1");
  EXPECT_EQ(error({{"task_id", 99999999999999999999.0}}),
            "claimed task: field \"task_id\" must be a whole number from 0 to 9007199254740992, not 1e+20");
  EXPECT_EQ(error({{"check", {{"exact_rate", 2}}}}),
            "claimed task: field \"exact_rate\" must be a number from 0 to 1, not 2");
  EXPECT_EQ(error({{"scene", {{"files", {{{"path", "a"}, {"size", -5}}}}}}}),
            "claimed task: field \"size\" must be a whole number from 0 to 1099511627776, not -5");
  EXPECT_EQ(
      error({{"scene", {{"resolution_percentage", 4294967346}}}}),
      "claimed task: field \"resolution_percentage\" must be a whole number from 0 to 100, not 4294967346");
  EXPECT_FALSE(RegisterAnswerFromJson(json{{"node_id", -1}, {"node_token", "t"}}));
}

TEST(Reports, FrameAndVerdictBodies) {
  EXPECT_EQ(ToJson(FrameReport{"ab", "outputs/1/2_3_ff", 1.5, 2.25, "sig"}),
            (json{{"sha256", "ab"},
                  {"key", "outputs/1/2_3_ff"},
                  {"render_seconds", 1.5},
                  {"render_cpu_seconds", 2.25},
                  {"signature", "sig"}}));
  VerdictReport v;
  v.verdict = "accepted";
  v.detail = "layer 2 passed";
  v.verify_seconds = 3.0;
  v.verify_cpu_seconds = 4.0;
  v.method = {2, {{1, 2, 3, 4}}};
  v.signature = "sig";
  json expected = {{"verdict", "accepted"},
                   {"detail", "layer 2 passed"},
                   {"verify_seconds", 3.0},
                   {"verify_cpu_seconds", 4.0},
                   {"method", {{"layers", 2}, {"regions", {{1, 2, 3, 4}}}}},
                   {"signature", "sig"}};
  EXPECT_EQ(ToJson(v), expected);
  v.matches_original = false;
  expected["matches_original"] = false;
  EXPECT_EQ(ToJson(v), expected);
}

TEST(Enrollment, RequestAndAnswer) {
  const json caps = {{"device", "cpu"}};
  EXPECT_EQ(ToJson(RegisterRequest{"tok", "box", "worker", "pk", caps}), (json{{"enrollment_token", "tok"},
                                                                               {"name", "box"},
                                                                               {"role", "worker"},
                                                                               {"public_key", "pk"},
                                                                               {"capabilities", caps}}));
  auto answer = RegisterAnswerFromJson(json{{"node_id", 4}, {"node_token", "nt"}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->node_id, 4);
  EXPECT_EQ(answer->node_token, "nt");
  auto beat = HeartbeatAnswerFromJson(json{{"action", "abort"}});
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->action, "abort");
  auto slot = UploadSlotFromJson(json{{"key", "k"}, {"url", "/u"}});
  ASSERT_TRUE(slot);
  EXPECT_EQ(ToJson(*slot), (json{{"key", "k"}, {"url", "/u"}}));
}

// Issue #14: heartbeats carry the task's progress; older nodes' `{}` still decodes (no progress).
TEST(NodeProtocolTest, HeartbeatProgressIsOptionalAndChecked) {
  EXPECT_EQ(ToJson(HeartbeatRequest{}), json::object());
  EXPECT_EQ(ToJson(HeartbeatRequest{7}), (json{{"progress", 7}}));
  EXPECT_FALSE(HeartbeatRequestFromJson(json::object())->progress.has_value());
  EXPECT_FALSE(HeartbeatRequestFromJson(json{{"progress", nullptr}})->progress.has_value());
  EXPECT_EQ(HeartbeatRequestFromJson(json{{"progress", 12}})->progress, 12);
  EXPECT_NE(
      HeartbeatRequestFromJson(json{{"progress", 12}, {"other", 1}}).error().message.find("unknown field"),
      std::string::npos);
  for (const json& bad : {json(-1), json(3.5), json(true), json("9"), json(uint64_t{1} << 60)}) {
    auto r = HeartbeatRequestFromJson(json{{"progress", bad}});
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find("progress"), std::string::npos);
  }
  EXPECT_FALSE(HeartbeatRequestFromJson(json::array()));
}

// Issue #15: a node asks for an upload URL with the frame's digest and size, so that an object store can be
// told to refuse any other body; the answer may name headers the PUT must carry. Older nodes send `{}`.
TEST(NodeProtocolTest, UploadRequestsCarryTheFramesDigestAndSize) {
  const std::string sha(64, 'c');
  EXPECT_EQ(ToJson(UploadRequest{}), json::object());
  EXPECT_EQ(ToJson(UploadRequest{sha, 10}), (json{{"sha256", sha}, {"size", 10}}));
  auto older = UploadRequestFromJson(json::object());
  ASSERT_TRUE(older);
  EXPECT_TRUE(older->sha256.empty());
  EXPECT_EQ(older->size, -1);
  auto both = UploadRequestFromJson(json{{"sha256", sha}, {"size", 0}});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->sha256, sha);
  EXPECT_EQ(both->size, 0);
  for (const json& bad :
       {json{{"sha256", "ABC"}}, json{{"sha256", std::string(64, 'C')}}, json{{"sha256", 5}},
        json{{"size", -1}}, json{{"size", 2.5}}, json{{"size", uint64_t{1} << 60}}, json{{"size", "7"}},
        json{{"other", 1}}, json::array()}) {
    auto r = UploadRequestFromJson(bad);
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
  auto slot = UploadSlotFromJson(
      json{{"key", "k"}, {"url", "http://s3/b/k?X-Amz-Signature=1"}, {"headers", {{"if-none-match", "*"}}}});
  ASSERT_TRUE(slot);
  EXPECT_EQ(slot->headers.at("if-none-match"), "*");
  EXPECT_EQ(ToJson(*slot)["headers"], (json{{"if-none-match", "*"}}));
  EXPECT_FALSE(UploadSlotFromJson(json{{"key", "k"}, {"headers", {{"a", 1}}}}));
}

}  // namespace
}  // namespace inferix::net
