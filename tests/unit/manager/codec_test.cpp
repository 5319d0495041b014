#include "manager/codec.hpp"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace inferix::manager
