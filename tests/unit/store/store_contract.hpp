#pragma once
// The Store contract suite: what every Store adapter must do (domain/ports.hpp), as value-parameterised
// tests. An adapter's test file instantiates it with a factory of empty stores:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(StoreBackend{"memory", [] {...}}));
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "domain/ports.hpp"

namespace inferix::store::contract {

using domain::Frame;
using domain::FrameState;
using domain::Job;
using domain::JobState;
using domain::Node;
using domain::NodeRole;
using domain::Output;
using domain::Task;
using domain::TaskKind;
using domain::TaskState;
using domain::Verdict;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

/// One adapter under test: a name for the test list and a way to open a new, empty, migrated store.
struct StoreBackend {
  std::string name;
  std::function<std::unique_ptr<domain::Store>()> open;
};
inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }
/// How gtest (and ctest's test list) names a backend: by its name, not its bytes.
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

inline const std::string kSceneSha = Sha256Hex("scene");
inline const std::string kTexSha = Sha256Hex("tex");

inline Job MakeJob(int64_t user_id, int priority = 0, JobState state = JobState::kQueued) {
  Job j;
  j.user_id = user_id;
  j.name = "shot 010";
  j.main_file = "shot.blend";
  j.files = {{"shot.blend", kSceneSha, 1234}, {"tex/wood grain 2.png", kTexSha, 56}};
  j.frames_spec = "1-10x2";
  j.format = domain::OutputFormat::kExr;
  j.chunk_size = 3;
  j.priority = priority;
  j.state = state;
  j.created_ms = 1000;
  return j;
}

inline Frame FrameOf(int64_t job_id, int number) {
  Frame f;
  f.job_id = job_id;
  f.number = number;
  return f;
}

inline Task MakeTask(int64_t job_id, std::vector<int> frames, TaskKind kind = TaskKind::kRender) {
  Task t;
  t.job_id = job_id;
  t.kind = kind;
  t.frames = std::move(frames);
  t.created_ms = 2000;
  return t;
}

class StoreContract : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    store_ = GetParam().open();
    if (IsSkipped()) return;  // a server adapter without its server (the variable to set is named)
    ASSERT_NE(store_, nullptr);
    auto u = store_->CreateUser("alice", "hash-alice");
    ASSERT_TRUE(u.ok()) << u.error().message;
    alice_ = *u;
  }
  int64_t NewJob(int priority = 0, JobState state = JobState::kQueued) {
    auto id = store_->CreateJob(MakeJob(alice_, priority, state));
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  int64_t NewTask(const Task& t) {
    auto id = store_->CreateTask(t);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  int64_t NewNode(const std::string& name, NodeRole role = NodeRole::kWorker) {
    Node n;
    n.name = name;
    n.role = role;
    n.public_key = name + "-key";
    auto id = store_->CreateNode(n, "token-" + name);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  template <class T>
  static std::vector<int64_t> Ids(const std::vector<T>& items) {
    std::vector<int64_t> ids;
    for (const auto& t : items) ids.push_back(t.id);
    return ids;
  }
  std::unique_ptr<domain::Store> store_;
  int64_t alice_ = 0;
};

}  // namespace inferix::store::contract
