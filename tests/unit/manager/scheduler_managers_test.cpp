// Several managers on one PostgreSQL database (issue #15): two Schedulers, each on a store of its own, serve
// the same nodes at once, any manager any request, and the database keeps the scheduler's promises: every
// frame delivered once, no task leased to two nodes, no counter update lost. Skipped without
// INFERIX_TEST_POSTGRES.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "manager/scheduler.hpp"
#include "test_stores.hpp"

namespace inferix::manager::scheduler_test {
namespace {

using domain::FrameState;
using domain::JobState;
using domain::Node;
using domain::NodeRole;
using domain::TaskKind;
using domain::TaskState;
using domain::Verdict;

// One manager: a store and its Scheduler, used by one thread at a time (a manager's store thread).
struct Manager {
  std::unique_ptr<domain::Store> store;
  std::unique_ptr<Scheduler> scheduler;
  std::mutex mu;
};

class ManagersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!db_.Create()) {
      if (!HasFailure()) GTEST_SKIP() << "no PostgreSQL: set INFERIX_TEST_POSTGRES to a postgres.json";
      return;
    }
    SchedulerOptions options;
    options.lease_ms = 3'600'000;                 // no lease expires: every end of a task is reported
    options.trust.new_worker_checks = 1'000'000;  // every output is checked with regions
    options.trust.ban_after = 1'000'000;          // rejections ban no one
    options.seed = 7;
    for (auto& m : managers_) {
      m = std::make_unique<Manager>();
      m->store = OpenTestStore("postgres", db_);
      ASSERT_NE(m->store, nullptr);
      m->scheduler = std::make_unique<Scheduler>(*m->store, clock_, options);
    }
    observer_ = OpenTestStore("postgres", db_);
    ASSERT_NE(observer_, nullptr);
    domain::Store& store = *managers_[0]->store;
    user_ = *store.CreateUser("alice", "hash-alice");
    for (int i = 0; i < 4; ++i)
      workers_.push_back(NewNode(store, "w" + std::to_string(i), NodeRole::kWorker));
    for (int i = 0; i < 2; ++i)
      verifiers_.push_back(NewNode(store, "v" + std::to_string(i), NodeRole::kVerifier));
  }

  static int64_t NewNode(domain::Store& store, const std::string& name, NodeRole role) {
    Node n;
    n.name = name;
    n.role = role;
    n.public_key = std::string(64, 'a');
    auto id = store.CreateNode(n, "token-" + name);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  // Runs `call` on manager `m` as a request would: the node read first (authentication), then the call; a
  // deadlock or serialization failure (kUnavailable) is retried, as a node retries a 503, and counted.
  template <class Call>
  auto On(int m, int64_t node_id, Call call) {
    Manager& manager = *managers_[m % managers_.size()];
    for (;;) {
      std::lock_guard<std::mutex> lock(manager.mu);
      auto node = manager.store->GetNode(node_id);
      auto r = node.ok() ? call(*manager.scheduler, **node)
                         : decltype(call(*manager.scheduler, Node{}))(node.error());
      if (!r.ok() && r.error().code == Errc::kUnavailable) {
        ++retries_;
        continue;
      }
      return r;
    }
  }

  // Whether the job has ended, read on a store of the test's own (a store serves one thread at a time).
  bool JobOver() {
    std::lock_guard<std::mutex> lock(observer_mu_);
    auto job = observer_->GetJob(job_id_);
    return !job.ok() || !job->has_value() || domain::IsFinal((*job)->state);
  }

  // The frames and tasks of the job that have not ended, for a failure's message.
  std::string Unfinished(domain::Store& store) const {
    std::string out;
    const auto frames = *store.ListFrames(job_id_);
    for (const auto& f : frames) {
      if (f.state == FrameState::kDelivered) continue;
      out += "frame " + std::to_string(f.number) + " " + std::string(domain::ToString(f.state)) + " task " +
             std::to_string(f.task_id) + " output " + std::to_string(f.output_id) + "\n";
    }
    const auto tasks = *store.ListJobTasks(job_id_);
    for (const auto& t : tasks) {
      if (t.state == TaskState::kDone) continue;
      out += "task " + std::to_string(t.id) + " " + std::string(domain::ToString(t.kind)) + " " +
             std::string(domain::ToString(t.state)) + " level " + std::to_string(t.level) + " node " +
             std::to_string(t.node_id) + " output " + std::to_string(t.output_id) + " frames " +
             nlohmann::json(t.frames).dump() + " excluded " + nlohmann::json(t.excluded_nodes).dump() + " " +
             t.message + "\n";
    }
    return out;
  }

  void Unexpected(const std::string& what, const Error& e) {
    std::lock_guard<std::mutex> lock(errors_mu_);
    errors_.push_back(what + ": " + e.message);
  }

  void RunWorker(int index) {
    const int64_t id = workers_[index];
    int turn = index;
    while (!JobOver()) {
      auto claim = On(turn++, id, [](Scheduler& s, const Node& n) { return s.ClaimTask(n, {}); });
      if (!claim.ok()) {
        Unexpected("claim", claim.error());
        return;
      }
      if (!claim->has_value()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      const domain::Task task = (*claim)->task;
      {
        std::lock_guard<std::mutex> lock(errors_mu_);
        leases_.push_back({task.id, id});
      }
      for (int frame : task.frames) {
        // Reported through whichever manager the balancer picks: not necessarily the one that leased it.
        auto r = On(turn++, id, [&](Scheduler& s, const Node& n) {
          return s.ReportFrame(n, task.id, frame, Sha256Hex(std::to_string(id) + "/" + std::to_string(frame)),
                               "outputs/" + std::to_string(task.id) + "_" + std::to_string(frame), 1.0);
        });
        if (!r.ok()) Unexpected("report of frame " + std::to_string(frame), r.error());
      }
      auto done = On(turn++, id, [&](Scheduler& s, const Node& n) { return s.CompleteTask(n, task.id); });
      if (!done.ok()) Unexpected("complete", done.error());
    }
  }

  void RunVerifier(int index) {
    const int64_t id = verifiers_[index];
    int turn = index + 1;
    while (!JobOver()) {
      auto claim = On(turn++, id, [](Scheduler& s, const Node& n) { return s.ClaimTask(n, {}); });
      if (!claim.ok()) {
        Unexpected("verifier claim", claim.error());
        return;
      }
      if (!claim->has_value()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      const domain::Task task = (*claim)->task;
      // The first check of every fifth frame from one worker rejects it: that worker's other unchecked
      // outputs are discarded and its delivered frames checked again, while the other managers go on. (One
      // worker only: a frame whose outputs from every worker were discarded waits for a worker it was not
      // taken from.) The worker is the first whose fifth frame comes to a check: which worker renders what
      // depends on the threads' timing (under ThreadSanitizer a fixed one may render no fifth frame at all).
      bool reject = false;
      if (task.level == domain::kRegions && (*claim)->output && task.frames.front() % 5 == 0) {
        std::lock_guard<std::mutex> lock(errors_mu_);
        if (rogue_ == 0) rogue_ = (*claim)->output->node_id;
        reject = (*claim)->output->node_id == rogue_ && rejected_frames_.insert(task.frames.front()).second;
      }
      auto r = On(turn++, id, [&](Scheduler& s, const Node& n) {
        return s.RecordVerdict(n, task.id, reject ? "rejected" : "accepted", "", 0.1);
      });
      if (!r.ok()) Unexpected("verdict", r.error());
    }
  }

  FakeClock clock_;
  TestDatabase db_;
  std::array<std::unique_ptr<Manager>, 2> managers_;
  std::unique_ptr<domain::Store> observer_;
  std::mutex observer_mu_;
  int64_t user_ = 0;
  int64_t job_id_ = 0;
  std::vector<int64_t> workers_;
  std::vector<int64_t> verifiers_;
  std::atomic<int> retries_{0};
  std::mutex errors_mu_;
  std::vector<std::string> errors_;
  std::vector<std::pair<int64_t, int64_t>> leases_;  // (task, node) of every claim
  std::set<int> rejected_frames_;
  int64_t rogue_ = 0;  // the worker whose fifth frames are rejected (guarded by errors_mu_)
};

TEST_F(ManagersTest, TwoManagersServingTheSameNodesLoseNothingAndDeliverEveryFrameOnce) {
  constexpr int kFrames = 30;
  domain::Store& store = *managers_[0]->store;
  domain::Job request;
  request.name = "shared";
  request.main_file = "shot.blend";
  request.files = {{"shot.blend", Sha256Hex("scene"), 100}};
  request.frames_spec = "1-" + std::to_string(kFrames);
  request.chunk_size = 2;
  ASSERT_TRUE(store.AddUserFile(user_, request.files[0].sha256, 100).ok());
  auto job = managers_[1]->scheduler->CreateJob(user_, request);
  ASSERT_TRUE(job.ok()) << job.error().message;
  job_id_ = job->id;

  std::vector<std::thread> threads;
  for (int i = 0; i < static_cast<int>(workers_.size()); ++i)
    threads.emplace_back([this, i] { RunWorker(i); });
  for (int i = 0; i < static_cast<int>(verifiers_.size()); ++i)
    threads.emplace_back([this, i] { RunVerifier(i); });
  // A stuck network fails the test rather than hanging it: the job ends, or the threads are told to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  while (!JobOver() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!JobOver()) {
    ADD_FAILURE() << "the job did not end in time:\n" << Unfinished(*observer_);
    std::lock_guard<std::mutex> lock(managers_[0]->mu);
    EXPECT_TRUE(managers_[0]->scheduler->CancelJob(*job, "the test ran out of time").ok());
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(errors_, ::testing::IsEmpty());
  std::cout << "deadlocks or serialization failures retried: " << retries_.load() << "\n";
  EXPECT_EQ((*store.GetJob(job_id_))->state, JobState::kCompleted) << Unfinished(store);

  // Every frame delivered, exactly once (one `delivered` event and one accepted output each).
  const auto frames = *store.ListFrames(job_id_);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kFrames));
  const auto outputs = *store.ListOutputs(job_id_);
  std::map<int, int> accepted_of_frame;
  std::map<int64_t, int64_t> accepted_of_node;
  for (const auto& o : outputs) {
    if (o.verdict != Verdict::kAccepted) continue;
    ++accepted_of_frame[o.frame];
    ++accepted_of_node[o.node_id];
  }
  std::map<int, int> delivered_events;
  const auto events = *store.ListEvents(user_, job_id_, 0, 100'000, false);
  for (const auto& e : events) {
    if (e.type != "frame") continue;
    const auto data = nlohmann::json::parse(e.data);
    if (data.at("state") == "delivered") ++delivered_events[data.at("frame").get<int>()];
  }
  for (const auto& f : frames) {
    EXPECT_EQ(f.state, FrameState::kDelivered) << "frame " << f.number;
    EXPECT_EQ(accepted_of_frame[f.number], 1) << "frame " << f.number;
    EXPECT_EQ(delivered_events[f.number], 1) << "frame " << f.number;
    auto out = store.GetOutput(f.output_id);
    ASSERT_TRUE(out.ok() && out->has_value()) << "frame " << f.number;
    EXPECT_EQ((*out)->verdict, Verdict::kAccepted) << "frame " << f.number;
  }
  EXPECT_FALSE(rejected_frames_.empty());

  // No task leased twice: each claim got a task no one had claimed before.
  std::set<int64_t> claimed;
  for (const auto& [task, node] : leases_) EXPECT_TRUE(claimed.insert(task).second) << "task " << task;

  // No counter update lost: each worker's count of accepted checks is its accepted outputs.
  for (int64_t w : workers_) {
    EXPECT_EQ((*store.GetNode(w))->accepted, accepted_of_node[w]) << "worker " << w;
  }
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
