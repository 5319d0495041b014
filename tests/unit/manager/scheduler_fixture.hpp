#pragma once
// The scheduler tests' fixture: a Scheduler on a real store with a fake clock, two users, two workers and two
// verifiers (SchedulerTest), and the same with a small trust policy (TrustTest). Every test runs on each
// store (the parameter): SQLite in memory, and PostgreSQL on a database of its own (skipped unless
// INFERIX_TEST_POSTGRES is set; test_stores.hpp). The tests are in scheduler_*test.cpp, by subject.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "domain/state_machine.hpp"
#include "manager/scheduler.hpp"
#include "test_stores.hpp"

// Not in an anonymous namespace: every test file's TEST_F must see the same fixture class.
namespace inferix::manager::scheduler_test {

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
using ::testing::UnorderedElementsAre;

constexpr int64_t kLeaseMs = 60'000;

/// The stores every scheduler test runs on.
inline const std::vector<std::string> kBackends = {"sqlite", "postgres"};

class SchedulerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres" && !db_.Create()) {
      if (!HasFailure()) {
        GTEST_SKIP() << "no PostgreSQL: set INFERIX_TEST_POSTGRES to a postgres.json (ctest's postgres "
                        "fixture writes <build>/engines/postgres.json)";
      }
      return;
    }
    store_ = OpenTestStore(GetParam(), db_);
    ASSERT_NE(store_, nullptr);
    SchedulerOptions options;
    options.lease_ms = kLeaseMs;
    options.max_node_tasks = 1000;  // these tests claim many tasks with one node; CapsTest tests the cap
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, options);
    alice_ = *store_->CreateUser("alice", "hash-alice");
    bob_ = *store_->CreateUser("bob", "hash-bob");
    worker_ = NewNode("w1", NodeRole::kWorker);
    worker2_ = NewNode("w2", NodeRole::kWorker);
    verifier_ = NewNode("v1", NodeRole::kVerifier);
    verifier2_ = NewNode("v2", NodeRole::kVerifier);
  }

  Node NewNode(const std::string& name, NodeRole role) {
    Node n;
    n.name = name;
    n.role = role;
    n.public_key = std::string(64, 'a');
    auto id = store_->CreateNode(n, "token-" + name);
    EXPECT_TRUE(id.ok()) << id.error().message;
    n.id = id.ok() ? *id : 0;
    if (scheduler_) scheduler_->NodesChanged(role);  // as enrollment tells it
    return n;
  }

  // A job request whose scene is one .blend (content `scene`) plus one texture, uploaded by `user`.
  Job Request(int64_t user, const std::string& spec, int chunk_size, const std::string& scene = "scene",
              bool upload = true) {
    Job j;
    j.name = "job " + scene;
    j.main_file = "shot.blend";
    j.files = {{"shot.blend", Sha256Hex(scene), 100}, {"tex/wood.png", Sha256Hex("wood"), 10}};
    j.frames_spec = spec;
    j.chunk_size = chunk_size;
    if (upload) {
      for (const auto& f : j.files) EXPECT_TRUE(store_->AddUserFile(user, f.sha256, f.size).ok());
    }
    return j;
  }
  // A job whose scene was saved by Blender `blender_version` (major * 100 + minor) and asks for `denoisers`.
  Job SubmitScene(const std::string& spec, int blender_version, std::vector<std::string> denoisers = {},
                  bool without_denoiser = false, const std::string& scene = "scene") {
    Job req = Request(alice_, spec, 1, scene);
    req.blender_version = blender_version;
    req.denoisers = std::move(denoisers);
    req.without_denoiser = without_denoiser;
    auto job = scheduler_->CreateJob(alice_, req);
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? *job : Job{};
  }
  // Describes `node` as a machine lending these Blender builds, here and in the store.
  void Describe(Node& node, const nlohmann::json& capabilities, const std::string& det_class = "") {
    node.capabilities_json = capabilities.dump();
    node.det_class = det_class;
    ASSERT_TRUE(store_->UpdateNode(node).ok());
    scheduler_->NodesChanged(node.role);  // as a node's new description tells it
  }
  // A verifier lending these builds (and slots), which the tests need not claim with: without a verifier of a
  // worker's class, the worker's renders are held back (scheduler_held_test.cpp).
  Node VerifierLending(const nlohmann::json& capabilities, const std::string& name = "v-lending") {
    Node v = NewNode(name, NodeRole::kVerifier);
    Describe(v, capabilities);
    return v;
  }
  Job Submit(const std::string& spec, int chunk_size, int priority = 0, const std::string& scene = "scene") {
    Job req = Request(alice_, spec, chunk_size, scene);
    req.priority = priority;
    auto job = scheduler_->CreateJob(alice_, req);
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? *job : Job{};
  }

  std::optional<manager::Claim> TryClaim(const Node& node, const std::vector<std::string>& cached = {}) {
    auto c = scheduler_->ClaimTask(node, cached);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : std::nullopt;
  }
  // Claims and expects a task.
  Task MustClaim(const Node& node, const std::vector<std::string>& cached = {}) {
    auto c = TryClaim(node, cached);
    EXPECT_TRUE(c.has_value()) << node.name << " got no task";
    return c ? c->task : Task{};
  }

  static std::string ShaOf(int frame) { return Sha256Hex("frame " + std::to_string(frame)); }
  static std::string KeyOf(int64_t task, int frame) {
    return "outputs/1/" + std::to_string(task) + "_" + std::to_string(frame);
  }
  Result<ReportOutcome> Report(const Node& node, int64_t task, int frame) {
    return scheduler_->ReportFrame(node, task, frame, ShaOf(frame), KeyOf(task, frame), 1.5);
  }
  void MustReport(const Node& node, int64_t task, int frame) {
    auto r = Report(node, task, frame);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, ReportOutcome::kAccepted);
  }

  Task GetTask(int64_t id) { return **store_->GetTask(id); }
  Job GetJob(int64_t id) { return **store_->GetJob(id); }
  Frame GetFrame(int64_t job, int n) { return **store_->GetFrame(job, n); }
  Node GetNode(int64_t id) { return **store_->GetNode(id); }
  std::vector<Task> TasksOf(int64_t job, TaskKind kind, std::optional<TaskState> state = std::nullopt) {
    std::vector<Task> out;
    auto tasks = store_->ListJobTasks(job);
    EXPECT_TRUE(tasks.ok());
    if (!tasks.ok()) return out;
    for (auto& t : *tasks) {
      if (t.kind == kind && (!state || t.state == *state)) out.push_back(t);
    }
    return out;
  }

  FakeClock clock_;
  TestDatabase db_;  // PostgreSQL's (declared first: dropped after the store closes)
  std::unique_ptr<domain::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  int64_t alice_ = 0, bob_ = 0;
  Node worker_, worker2_, verifier_, verifier2_;
};

// --- adaptive trust (issue #4)

class TrustTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SchedulerOptions options;
    options.lease_ms = kLeaseMs;
    options.trust.new_worker_checks = 3;
    options.trust.bound = 1.0;     // past 3 clean checks: rate 1 - streak / 3 = 0
    options.trust.min_rate = 0.0;  // so that a trusted worker is never drawn (deterministic)
    options.seed = 7;
    options.max_node_tasks = 1000;
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, options);
  }
  // Renders and checks `frames` one by one with the worker's current record; returns the verify tasks'
  // levels.
  std::vector<int> RenderAndCheck(const Job& job, int count, const std::string& verdict = "accepted") {
    std::vector<int> levels;
    for (int i = 0; i < count; ++i) {
      auto t = TryClaim(worker_);
      if (!t) break;
      for (int n : t->task.frames)
        EXPECT_TRUE(scheduler_
                        ->ReportFrame(GetNode(worker_.id), t->task.id, n, ShaOf(job.id * 1000 + n),
                                      KeyOf(t->task.id, n), 1.0)
                        .ok());
      EXPECT_TRUE(scheduler_->CompleteTask(worker_, t->task.id).ok());
      while (auto v = TryClaim(verifier_)) {
        levels.push_back(v->task.level);
        EXPECT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, verdict, "", 0.1).ok());
      }
    }
    return levels;
  }
};

}  // namespace inferix::manager::scheduler_test
