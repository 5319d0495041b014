// BlenderVersion: the banner's version, kept in the user's cache under the executable's identity.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "../net/net_test_util.hpp"
#include "agent/machine.hpp"

namespace inferix::agent {
namespace {

class BlenderVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("XDG_CACHE_HOME");
    had_cache_home_ = old != nullptr;
    if (had_cache_home_) old_cache_home_ = old;
    ::setenv("XDG_CACHE_HOME", (dir_.path() / "cache").c_str(), 1);
  }
  void TearDown() override {
    if (had_cache_home_) {
      ::setenv("XDG_CACHE_HOME", old_cache_home_.c_str(), 1);
    } else {
      ::unsetenv("XDG_CACHE_HOME");
    }
  }

  // A stand-in `blender` that prints `banner` and counts its runs in a file beside it.
  std::string WriteFakeBlender(const std::string& banner) {
    const auto exe = dir_.path() / "blender";
    std::ofstream(exe) << "#!/bin/sh\necho run >> '" << (dir_.path() / "runs").string() << "'\necho '"
                       << banner << "'\necho 'build date: 2026-01-01'\n";
    ::chmod(exe.c_str(), 0755);
    return exe.string();
  }
  int Runs() {
    std::ifstream in(dir_.path() / "runs");
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  net::testing::TempDir dir_;
  bool had_cache_home_ = false;
  std::string old_cache_home_;
};

TEST_F(BlenderVersionTest, RunsBlenderOnceThenAnswersFromTheCache) {
  const auto exe = WriteFakeBlender("Blender 9.8.7");
  EXPECT_EQ(BlenderVersion(exe), "9.8.7");
  EXPECT_EQ(BlenderVersion(exe), "9.8.7");
  EXPECT_EQ(Runs(), 1);
}

TEST_F(BlenderVersionTest, AChangedExecutableIsAskedAgain) {
  auto exe = WriteFakeBlender("Blender 9.8.7");
  EXPECT_EQ(BlenderVersion(exe), "9.8.7");
  // An upgrade: the same path, new contents (and a new size, so even a coarse clock cannot hide it).
  exe = WriteFakeBlender("Blender 10.0.0 (an upgrade)");
  EXPECT_EQ(BlenderVersion(exe), "10.0.0 (an upgrade)");
  EXPECT_EQ(Runs(), 2);
}

TEST_F(BlenderVersionTest, NoBannerIsNotCached) {
  const auto exe = WriteFakeBlender("");
  EXPECT_EQ(BlenderVersion(exe), "");
  EXPECT_EQ(BlenderVersion(exe), "");
  EXPECT_EQ(Runs(), 2);
}

TEST_F(BlenderVersionTest, AMissingExecutableGivesNoVersion) {
  EXPECT_EQ(BlenderVersion((dir_.path() / "no-such-blender").string()), "");
}

// The engines probe (issue #17): the engines whose frame rendered, one marked line each at the start of a
// line, asked once and then answered from the cache.
TEST_F(BlenderVersionTest, TheEnginesProbeReadsEachMarkedLineOnce) {
  const auto exe = WriteFakeBlender(
      "Blender 9.8.7'\necho 'INFERIX-ENGINE CYCLES'\necho 'Fra:1 INFERIX-ENGINE FAKE'\n"
      "echo 'INFERIX-ENGINE bad;name'\necho 'INFERIX-ENGINE BLENDER_EEVEE");
  EXPECT_EQ(BlenderEngines(exe), (std::vector<std::string>{"CYCLES", "BLENDER_EEVEE"}));
  EXPECT_EQ(BlenderEngines(exe), (std::vector<std::string>{"CYCLES", "BLENDER_EEVEE"}));
  EXPECT_EQ(Runs(), 1);
  EXPECT_EQ(DescribeBlender(exe)["engines"], nlohmann::json({"CYCLES", "BLENDER_EEVEE"}));
}

TEST_F(BlenderVersionTest, ABlenderThatRendersNothingSaysNoEngines) {
  const auto exe = WriteFakeBlender("Blender 9.8.7");
  EXPECT_TRUE(BlenderEngines(exe).empty());
  EXPECT_FALSE(DescribeBlender(exe).contains("engines"));  // not said, rather than "renders nothing"
}

}  // namespace
}  // namespace inferix::agent
