#include "manager/codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace inferix::manager {
namespace {

using nlohmann::json;

json Machine() {
  return {{"cpu_threads", 16},
          {"cpu_model", "AMD Ryzen 9 7950X"},
          {"memory_bytes", int64_t{64} << 30},
          {"gpus", json::array({{{"name", "NVIDIA GeForce RTX 4090"}, {"memory", "24564 MiB"}}})},
          {"blender", "/usr/bin/blender"},
          {"blender_version", "4.2.3 LTS"},
          {"arch", "x86_64"},
          {"device", "cpu"},
          {"rack", "B7"}};  // a further field, kept as sent
}

TEST(Capabilities, WhatANodeSendsIsAccepted) {
  EXPECT_TRUE(CheckCapabilities(Machine()).ok());
  EXPECT_TRUE(CheckCapabilities(json::object()).ok());
  json no_gpu = Machine();
  no_gpu["gpus"] = json::array();
  EXPECT_TRUE(CheckCapabilities(no_gpu).ok());
  json without_memory = Machine();
  without_memory["gpus"][0].erase("memory");
  EXPECT_TRUE(CheckCapabilities(without_memory).ok());
}

TEST(Capabilities, MalformedFieldsAreRefusedWithTheirName) {
  const std::pair<const char*, json> bad[] = {
      {"gpus", "RTX 4090"},
      {"gpus", json::array({nullptr})},
      {"gpus", json::array({{{"memory", "8 GiB"}}})},
      {"gpus", json::array({{{"name", 4090}}})},
      {"gpus", json::array({{{"name", "x"}, {"memory", 8}}})},
      {"gpus", json::array({{{"name", std::string(257, 'x')}}})},
      {"cpu_threads", -1},
      {"cpu_threads", "16"},
      {"cpu_threads", 1.5},
      {"memory_bytes", nullptr},
      {"cpu_model", json::array()},
      {"blender_version", 4.2},
      {"arch", std::string(257, 'a')},
  };
  for (const auto& [field, value] : bad) {
    json caps = Machine();
    caps[field] = value;
    auto r = CheckCapabilities(caps);
    ASSERT_FALSE(r.ok()) << field << " = " << value.dump().substr(0, 40);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
}

TEST(Capabilities, SizeAndShapeAreBounded) {
  EXPECT_FALSE(CheckCapabilities(json::array()).ok());
  EXPECT_FALSE(CheckCapabilities("cpu").ok());
  json many = Machine();
  many["gpus"] = json::array();
  for (int i = 0; i < 65; ++i) many["gpus"].push_back({{"name", "gpu"}});
  EXPECT_FALSE(CheckCapabilities(many).ok());
  many["gpus"].erase(many["gpus"].begin());
  EXPECT_TRUE(CheckCapabilities(many).ok());  // 64 is the limit
  json big = Machine();
  big["notes"] = std::string(16 * 1024, 'n');
  auto r = CheckCapabilities(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("16 KiB"), std::string::npos);
}

// ---- Blender builds (issue #12) ---------------------------------------------------------------------------

json TwoBuilds() {
  return json::array({{{"version", "3.4.1"}, {"denoisers", json::array({"OPENIMAGEDENOISE"})}},
                      {{"version", "4.2.0"}, {"denoisers", json::array({"OPENIMAGEDENOISE", "OPTIX"})}}});
}

TEST(Capabilities, AListOfBlenderBuildsIsAccepted) {
  json caps = Machine();
  caps["blenders"] = TwoBuilds();
  EXPECT_TRUE(CheckCapabilities(caps).ok());
  caps["blenders"] = json::array({{{"version", "4.2.3 LTS"}}});  // denoisers are optional
  EXPECT_TRUE(CheckCapabilities(caps).ok());
  caps["blenders"] = json::array({{{"version", "4.2.0"}, {"denoisers", json::array()}}});
  EXPECT_TRUE(CheckCapabilities(caps).ok());
  caps["blenders"] = json::array();
  for (int i = 0; i < 16; ++i) caps["blenders"].push_back({{"version", "4." + std::to_string(i)}});
  EXPECT_TRUE(CheckCapabilities(caps).ok());  // 16 is the limit
  caps["blenders"] = json::array({{{"version", std::string(256, 'v')},
                                   {"denoisers", json::array({"A", "B", "C", "D", "E", "F", "G", "H"})}}});
  EXPECT_TRUE(CheckCapabilities(caps).ok());  // 256 characters, 8 denoisers
}

TEST(Capabilities, MalformedBlenderBuildsAreRefused) {
  json seventeen = json::array();
  for (int i = 0; i < 17; ++i) seventeen.push_back({{"version", "4.2.0"}});
  const std::pair<json, const char*> bad[] = {
      {json::array(), "blenders must be a list of 1 to 16 Blender builds"},
      {seventeen, "blenders must be a list of 1 to 16 Blender builds"},
      {"4.2.0", "blenders must be a list of 1 to 16 Blender builds"},
      {json::object({{"version", "4.2.0"}}), "blenders must be a list of 1 to 16 Blender builds"},
      {json::array({"4.2.0"}), "blenders: each build must be an object with a string version"},
      {json::array({nullptr}), "blenders: each build must be an object with a string version"},
      {json::array({json::object()}), "blenders: each build must be an object with a string version"},
      {json::array({{{"version", 402}}}), "blenders: each build must be an object with a string version"},
      {json::array({{{"version", std::string(257, 'v')}}}),
       "blenders: each build must be an object with a string version"},
      {json::array({{{"version", "4.2.0"}, {"denoisers", "OPTIX"}}}),
       "blenders: denoisers must be a list of at most 8 names"},
      {json::array({{{"version", "4.2.0"}, {"denoisers", json::array({1})}}}),
       "blenders: denoisers must be a list of at most 8 names"},
      {json::array({{{"version", "4.2.0"}, {"denoisers", json::array({std::string(257, 'd')})}}}),
       "blenders: denoisers must be a list of at most 8 names"},
      {json::array({{{"version", "4.2.0"},
                     {"denoisers", json::array({"A", "B", "C", "D", "E", "F", "G", "H", "I"})}}}),
       "blenders: denoisers must be a list of at most 8 names"},
      // One good build does not excuse a bad one after it.
      {json::array({{{"version", "4.2.0"}}, {{"version", 4.2}}}),
       "blenders: each build must be an object with a string version"},
  };
  for (const auto& [value, why] : bad) {
    json caps = Machine();
    caps["blenders"] = value;
    auto r = CheckCapabilities(caps);
    ASSERT_FALSE(r.ok()) << value.dump().substr(0, 60);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(r.error().message, std::string("capabilities.") + why) << value.dump().substr(0, 60);
  }
}

domain::Node NodeWith(const std::string& capabilities_json, const std::string& det_class = "") {
  domain::Node n;
  n.id = 3;
  n.capabilities_json = capabilities_json;
  n.det_class = det_class;
  return n;
}

TEST(BuildsOf, TheListedBuildsWithTheirDenoisers) {
  json caps = Machine();
  caps["blenders"] = TwoBuilds();
  const auto builds = BuildsOf(NodeWith(caps.dump()));
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_EQ(builds[0].version, "3.4.1");
  EXPECT_THAT(builds[0].denoisers, ::testing::ElementsAre("OPENIMAGEDENOISE"));
  EXPECT_EQ(builds[1].version, "4.2.0");
  EXPECT_THAT(builds[1].denoisers, ::testing::ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
}

TEST(BuildsOf, ANodeThatListedNoBuildsHasItsBlenderVersion) {
  const auto builds = BuildsOf(NodeWith(Machine().dump()));
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].version, "4.2.3 LTS");
  EXPECT_TRUE(builds[0].denoisers.empty());
}

TEST(BuildsOf, ANodeThatDescribedNothingHasOneBuildOfUnknownVersion) {
  for (const char* caps : {"", "{}", "not json", "[1, 2]", "\"4.2.0\"", "{\"blender_version\": 4.2}"}) {
    const auto builds = BuildsOf(NodeWith(caps));
    ASSERT_EQ(builds.size(), 1u) << caps;
    EXPECT_EQ(builds[0].version, "") << caps;
    EXPECT_TRUE(builds[0].denoisers.empty()) << caps;
  }
}

TEST(BuildsOf, TheEnginesEachBuildOrTheNodeAdvertises) {
  json caps = Machine();
  caps["engines"] = json::array({"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"});
  caps["blenders"] = TwoBuilds();
  caps["blenders"][1]["engines"] = json::array({"CYCLES"});
  ASSERT_TRUE(CheckCapabilities(caps).ok());
  const auto builds = BuildsOf(NodeWith(caps.dump()));
  ASSERT_EQ(builds.size(), 2u);
  // A build without its own list renders what the node advertises; one with a list, what it lists.
  EXPECT_THAT(builds[0].engines, ::testing::ElementsAre("CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"));
  EXPECT_THAT(builds[1].engines, ::testing::ElementsAre("CYCLES"));
  // A node from before engines were advertised: none listed (every engine, domain::RendersEngine).
  EXPECT_TRUE(BuildsOf(NodeWith(Machine().dump()))[0].engines.empty());
  caps.erase("blenders");
  EXPECT_EQ(BuildsOf(NodeWith(caps.dump()))[0].engines.size(), 3u);
}

TEST(Capabilities, MalformedEnginesAreRefused) {
  for (const json& bad :
       {json::array(), json("CYCLES"), json::array({1}), json::array({std::string(257, 'e')})}) {
    json caps = Machine();
    caps["engines"] = bad;
    auto r = CheckCapabilities(caps);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "capabilities.engines must be a list of 1 to 16 names");
    caps = Machine();
    caps["blenders"] = json::array({{{"version", "3.4.1"}, {"engines", bad}}});
    r = CheckCapabilities(caps);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "capabilities.blenders: engines must be a list of 1 to 16 names");
  }
}

TEST(BuildsOf, MalformedEntriesAreSkipped) {
  const auto builds = BuildsOf(NodeWith(
      R"({"blender_version": "3.0.0", "blenders": [{"version": 4}, "x", {"version": "4.2.0", "denoisers": ["OPTIX", 3]}]})"));
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].version, "4.2.0");
  EXPECT_THAT(builds[0].denoisers, ::testing::ElementsAre("OPTIX"));
  // None usable: the single blender_version.
  const auto fallback = BuildsOf(NodeWith(R"({"blender_version": "3.0.0", "blenders": [{"version": 4}]})"));
  ASSERT_EQ(fallback.size(), 1u);
  EXPECT_EQ(fallback[0].version, "3.0.0");
}

TEST(ClassOf, WithBuildsListedItIsTheBuildsVersionArchAndDevice) {
  json caps = Machine();
  caps["blenders"] = TwoBuilds();
  const auto node = NodeWith(caps.dump(), "blender 4.2.3 LTS / x86_64 / cpu");
  EXPECT_EQ(ClassOf(node, {"3.4.1", {}}), "blender 3.4.1 / x86_64 / cpu");
  EXPECT_EQ(ClassOf(node, {"4.2.0", {}}), "blender 4.2.0 / x86_64 / cpu");
  caps["device"] = "cuda";
  caps["arch"] = "aarch64";
  EXPECT_EQ(ClassOf(NodeWith(caps.dump()), {"4.2.0", {}}), "blender 4.2.0 / aarch64 / cuda");
  caps.erase("device");
  caps.erase("arch");
  EXPECT_EQ(ClassOf(NodeWith(caps.dump()), {"4.2.0", {}}), "blender 4.2.0 / unknown / cpu");
}

TEST(ClassOf, WithoutBuildsListedItIsTheRegisteredClass) {
  const auto node = NodeWith(Machine().dump(), "blender 4.2.3 LTS / x86_64 / cpu (registered)");
  EXPECT_EQ(ClassOf(node, {"3.4.1", {}}), "blender 4.2.3 LTS / x86_64 / cpu (registered)");
  EXPECT_EQ(ClassOf(NodeWith("not json", "registered"), {"", {}}), "registered");
  // Nothing registered (a node made by hand, not through the API): no class, as before builds were listed, so
  // that its outputs may still be checked by any verifier.
  EXPECT_EQ(ClassOf(NodeWith(Machine().dump()), {"4.2.3 LTS", {}}), "");
}

TEST(DefaultClassOf, IsTheMachinesBlenderVersionArchAndDevice) {
  EXPECT_EQ(DefaultClassOf(Machine()), "blender 4.2.3 LTS / x86_64 / cpu");
  EXPECT_EQ(DefaultClassOf(json::object()), "blender unknown / unknown / cpu");
  EXPECT_EQ(DefaultClassOf(json("not an object")), "blender unknown / unknown / cpu");
  EXPECT_EQ(DefaultClassOf({{"blender_version", 5}, {"device", "cuda"}}), "blender unknown / unknown / cuda");
}

TEST(JobToJson, HasTheScenesRootVersionDenoisersAndResolution) {
  domain::Job job;
  job.id = 9;
  job.scene_root = "/home/a/proj";
  job.blender_version = 402;
  job.denoisers = {"OPENIMAGEDENOISE", "OPTIX"};
  job.without_denoiser = true;
  job.resolution_percentage = 50;
  const json j = JobToJson(job);
  EXPECT_EQ(j["root"], "/home/a/proj");
  EXPECT_EQ(j["blender_version"], "4.2");
  EXPECT_EQ(j["denoisers"], json::array({"OPENIMAGEDENOISE", "OPTIX"}));
  EXPECT_EQ(j["without_denoiser"], true);
  EXPECT_EQ(j["resolution_percentage"], 50);

  job.blender_version = 310;
  EXPECT_EQ(JobToJson(job)["blender_version"], "3.10");
}

TEST(JobToJson, AnOlderJobHasTheDefaults) {
  const json j = JobToJson(domain::Job{});
  EXPECT_EQ(j["root"], "");
  EXPECT_EQ(j["blender_version"], "");
  EXPECT_EQ(j["denoisers"], json::array());
  EXPECT_EQ(j["without_denoiser"], false);
  EXPECT_EQ(j["resolution_percentage"], 0);
}

// The claim answer a node gets: exactly the JSON the edge built by hand before the wire types.
TEST(ClaimedTaskOf, AVerifyTaskCarriesItsOutputCheckAndOriginal) {
  Claim c;
  c.task.id = 12;
  c.task.kind = domain::TaskKind::kVerify;
  c.task.frames = {7};
  c.task.level = domain::kMoreRegions;
  c.job.id = 3;
  c.job.main_file = "shot.blend";
  c.job.files = {{"shot.blend", std::string(64, 'a'), 1200}};
  c.job.format = domain::OutputFormat::kPng;
  c.job.scene_root = "/home/ann/film";
  c.job.without_denoiser = true;
  c.build = "4.2.0";
  domain::Output out;
  out.id = 44;
  out.sha256 = std::string(64, 'b');
  out.node_id = 9;
  out.blob_key = "outputs/3/12_7_ab";
  c.output = out;
  domain::Output original = out;
  original.id = 40;
  original.blob_key = "outputs/3/10_7_cd";
  c.original = original;
  SchedulerOptions options;
  options.lease_ms = 60000;
  options.heartbeat_ms = 10000;
  auto sign = [](const std::string& key) { return "/api/v1/blob/" + key + "?sig=x"; };
  const json expected = {{"task_id", 12},
                         {"kind", "verify"},
                         {"job_id", 3},
                         {"frames", {7}},
                         {"format", "PNG"},
                         {"scene",
                          {{"main", "shot.blend"},
                           {"root", "/home/ann/film"},
                           {"files",
                            {{{"path", "shot.blend"},
                              {"sha256", std::string(64, 'a')},
                              {"size", 1200},
                              {"url", "/api/v1/blob/files/" + std::string(64, 'a') + "?sig=x"}}}}}},
                         {"denoise", false},
                         {"blender", "4.2.0"},
                         {"lease_ms", 60000},
                         {"heartbeat_ms", 10000},
                         {"output",
                          {{"output_id", 44},
                           {"sha256", std::string(64, 'b')},
                           {"node_id", 9},
                           {"url", "/api/v1/blob/outputs/3/12_7_ab?sig=x"}}},
                         {"check",
                          {{"level", 1},
                           {"layer2", true},
                           {"whole_frame", false},
                           {"regions", options.trust.regions * options.trust.escalated_factor},
                           {"detail_regions", options.trust.detail_regions * options.trust.escalated_factor},
                           {"exact_rate", options.trust.exact_rate}}},
                         {"original",
                          {{"output_id", 40},
                           {"sha256", std::string(64, 'b')},
                           {"url", "/api/v1/blob/outputs/3/10_7_cd?sig=x"}}}};
  EXPECT_EQ(net::ToJson(ClaimedTaskOf(c, options, sign)), expected);
}

TEST(ClaimedTaskOf, ARenderTaskHasNoCheck) {
  Claim c;
  c.task.id = 2;
  c.task.frames = {1, 2, 3};
  c.job.id = 1;
  c.job.main_file = "a.blend";
  c.job.resolution_percentage = 25;
  const json j =
      net::ToJson(ClaimedTaskOf(c, SchedulerOptions{}, [](const std::string& key) { return key; }));
  EXPECT_EQ(j["kind"], "render");
  EXPECT_EQ(j["frames"], json({1, 2, 3}));
  EXPECT_TRUE(j["denoise"].get<bool>());
  EXPECT_EQ(j["scene"]["resolution_percentage"], 25);
  EXPECT_FALSE(j["scene"].contains("root"));
  EXPECT_FALSE(j.contains("output"));
  EXPECT_FALSE(j.contains("check"));
}

}  // namespace
}  // namespace inferix::manager
