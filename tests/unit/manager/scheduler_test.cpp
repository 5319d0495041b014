#include "manager/scheduler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "domain/state_machine.hpp"
#include "store/sqlite_store.hpp"

namespace inferix::manager {
namespace {

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

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore(":memory:");
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
    SchedulerOptions options;
    options.lease_ms = kLeaseMs;
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
  std::unique_ptr<domain::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  int64_t alice_ = 0, bob_ = 0;
  Node worker_, worker2_, verifier_, verifier2_;
};

// ---- Jobs ----------------------------------------------------------------------------------------------

TEST_F(SchedulerTest, CreateJobCompilesTasksAndFrames) {
  Job job = Submit("1-10", 3);
  ASSERT_NE(job.id, 0);
  EXPECT_EQ(job.user_id, alice_);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.created_ms, clock_.NowMs());

  auto tasks = TasksOf(job.id, TaskKind::kRender);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_THAT(tasks[0].frames, ElementsAre(1, 2, 3));
  EXPECT_THAT(tasks[3].frames, ElementsAre(10));
  for (const auto& t : tasks) EXPECT_EQ(t.state, TaskState::kQueued);

  auto frames = *store_->ListFrames(job.id);
  ASSERT_EQ(frames.size(), 10u);
  EXPECT_EQ(frames[0].task_id, tasks[0].id);
  EXPECT_EQ(frames[9].task_id, tasks[3].id);
  for (const auto& f : frames) EXPECT_EQ(f.state, FrameState::kQueued);
  EXPECT_EQ(GetJob(job.id).user_id, alice_);
}

TEST_F(SchedulerTest, CreateJobRefusesFilesNeverUploaded) {
  Job req = Request(alice_, "1-3", 1, "scene", /*upload=*/false);
  ASSERT_TRUE(store_->AddUserFile(alice_, req.files[0].sha256, 100).ok());  // the .blend only
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("tex/wood.png"));
  EXPECT_THAT(r.error().message, HasSubstr("never uploaded"));
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
}

TEST_F(SchedulerTest, CreateJobRefusesAnotherUsersFiles) {
  Job req = Request(bob_, "1-3", 1);  // bob uploaded them
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("never uploaded"));
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
  // Bob may use his own files.
  auto ok = scheduler_->CreateJob(bob_, req);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->user_id, bob_);
}

TEST_F(SchedulerTest, CreateJobChecksTheRequest) {
  Job req = Request(alice_, "5-1", 1);
  auto r = scheduler_->CreateJob(alice_, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("frame spec"));
  req = Request(alice_, "1-5", 0);
  EXPECT_FALSE(scheduler_->CreateJob(alice_, req).ok());
  EXPECT_THAT(*store_->ListJobs(alice_), IsEmpty());
}

TEST_F(SchedulerTest, CreateJobIgnoresClientChosenStateAndOwner) {
  Job req = Request(alice_, "1", 1);
  req.state = JobState::kCompleted;
  req.user_id = bob_;
  req.started_ms = 5;
  req.finished_ms = 6;
  auto job = scheduler_->CreateJob(alice_, req);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(GetJob(job->id).state, JobState::kQueued);
  EXPECT_EQ(GetJob(job->id).user_id, alice_);
  EXPECT_EQ(GetJob(job->id).started_ms, 0);
  EXPECT_EQ(GetJob(job->id).finished_ms, 0);
}

// ---- Claims --------------------------------------------------------------------------------------------

TEST_F(SchedulerTest, WorkerClaimsRenderTask) {
  Job job = Submit("1-4", 2);
  EXPECT_EQ(GetJob(job.id).started_ms, 0);
  clock_.Advance(7'000);  // waiting in the queue is not rendering
  const int64_t started = clock_.NowMs();
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->task.kind, TaskKind::kRender);
  EXPECT_EQ(c->task.state, TaskState::kActive);
  EXPECT_EQ(c->task.node_id, worker_.id);
  EXPECT_EQ(c->task.lease_expires_ms, clock_.NowMs() + kLeaseMs);
  EXPECT_THAT(c->task.frames, ElementsAre(1, 2));
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->job.state, JobState::kActive);
  EXPECT_EQ(c->job.main_file, "shot.blend");
  EXPECT_FALSE(c->output.has_value());

  Task stored = GetTask(c->task.id);
  EXPECT_EQ(stored.state, TaskState::kActive);
  EXPECT_EQ(stored.node_id, worker_.id);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kRendering);
  EXPECT_EQ(GetFrame(job.id, 3).state, FrameState::kQueued);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  EXPECT_EQ(GetJob(job.id).started_ms, started);
  EXPECT_EQ(c->job.started_ms, started);

  // The next claim gets the next chunk, and then there is nothing left; the job started with the first.
  clock_.Advance(1'000);
  auto c2 = TryClaim(worker2_);
  ASSERT_TRUE(c2.has_value());
  EXPECT_THAT(c2->task.frames, ElementsAre(3, 4));
  EXPECT_EQ(GetJob(job.id).started_ms, started);
  EXPECT_FALSE(TryClaim(worker_).has_value());
}

TEST_F(SchedulerTest, VerifierNeverGetsRenderTasks) {
  Submit("1-4", 2);
  EXPECT_FALSE(TryClaim(verifier_).has_value());
}

TEST_F(SchedulerTest, VerifyTaskGoesOnlyToAVerifier) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  // The worker gets no verification work.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_FALSE(TryClaim(worker2_).has_value());

  auto c = TryClaim(verifier_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->task.kind, TaskKind::kVerify);
  EXPECT_EQ(c->task.node_id, verifier_.id);
  EXPECT_THAT(c->task.frames, ElementsAre(1));
  EXPECT_EQ(c->job.id, job.id);
  ASSERT_TRUE(c->output.has_value());
  EXPECT_EQ(c->output->frame, 1);
  EXPECT_EQ(c->output->node_id, worker_.id);
  EXPECT_EQ(c->output->sha256, ShaOf(1));
  EXPECT_EQ(c->output->blob_key, KeyOf(t.id, 1));
  EXPECT_FALSE(TryClaim(verifier2_).has_value());
}

TEST_F(SchedulerTest, NodeNeverVerifiesItsOwnOutput) {
  Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  // The same node id in the verifier role (one machine enrolled twice is a different id; this guards the id).
  Node same = worker_;
  same.role = NodeRole::kVerifier;
  EXPECT_FALSE(TryClaim(same).has_value());
  auto other = TryClaim(verifier_);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->output->node_id, worker_.id);
}

TEST_F(SchedulerTest, HigherPriorityFirstThenOldest) {
  Job low = Submit("1-2", 1, 0, "low");
  Job high = Submit("1-2", 1, 10, "high");
  Job mid = Submit("1", 1, 5, "mid");
  std::vector<int64_t> order;
  for (int i = 0; i < 5; ++i) order.push_back(MustClaim(worker_).job_id);
  EXPECT_THAT(order, ElementsAre(high.id, high.id, mid.id, low.id, low.id));
}

TEST_F(SchedulerTest, CachedSceneIsPreferred) {
  Job first = Submit("1", 1, 0, "first");
  Job second = Submit("1", 1, 0, "second");
  auto c = TryClaim(worker_, {Sha256Hex("unrelated"), Sha256Hex("second")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, second.id);
  // Nothing cached that matches: the queue's order.
  auto c2 = TryClaim(worker2_, {Sha256Hex("unrelated")});
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->job.id, first.id);
}

TEST_F(SchedulerTest, CachedSceneNeverBeatsAHigherPriority) {
  // A worker holding a long low-priority job's scene still takes the urgent job first (it would otherwise
  // render every chunk of the long job before it), and prefers its scene only among equals.
  Job low = Submit("1-4", 1, 0, "low");
  Job high = Submit("1", 1, 10, "high");
  Job high_cached = Submit("1", 1, 10, "high-cached");
  auto c = TryClaim(worker_, {Sha256Hex("low"), Sha256Hex("high-cached")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, high_cached.id);
  c = TryClaim(worker_, {Sha256Hex("low")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, high.id);
  c = TryClaim(worker_, {Sha256Hex("low")});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, low.id);
}

// ---- Heartbeats ----------------------------------------------------------------------------------------

TEST_F(SchedulerTest, HeartbeatExtendsTheLease) {
  Submit("1-2", 2);
  Task t = MustClaim(worker_);
  clock_.Advance(kLeaseMs - 1000);
  auto hb = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  EXPECT_EQ(*hb, HeartbeatAction::kContinue);
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);
  // Past the original lease, but the heartbeat renewed it.
  clock_.Advance(30'000);
  auto expired = scheduler_->ExpireLeases();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
}

TEST_F(SchedulerTest, HeartbeatSaysCancelAfterCancelJob) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  auto canceled = scheduler_->CancelJob(GetJob(job.id), "user canceled");
  ASSERT_TRUE(canceled.ok());
  auto hb = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kCancel);
}

TEST_F(SchedulerTest, HeartbeatSaysAbortToANodeWithoutTheLease) {
  Submit("1-2", 2);
  Task t = MustClaim(worker_);
  auto other = scheduler_->Heartbeat(worker2_, t.id);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, HeartbeatAction::kAbort);
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);  // not renewed by a stranger

  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  auto lost = scheduler_->Heartbeat(worker_, t.id);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, HeartbeatAction::kAbort);

  auto missing = scheduler_->Heartbeat(worker_, t.id + 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

// ---- Frame reports -------------------------------------------------------------------------------------

TEST_F(SchedulerTest, ReportFrameCreatesOutputAndVerifyTask) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  clock_.Advance(5000);
  MustReport(worker_, t.id, 2);

  auto out = store_->FindOutput(t.id, 2);
  ASSERT_TRUE(out.ok() && out->has_value());
  const Output& o = **out;
  EXPECT_EQ(o.job_id, job.id);
  EXPECT_EQ(o.node_id, worker_.id);
  EXPECT_EQ(o.sha256, ShaOf(2));
  EXPECT_EQ(o.blob_key, KeyOf(t.id, 2));
  EXPECT_DOUBLE_EQ(o.render_seconds, 1.5);
  EXPECT_EQ(o.verdict, Verdict::kPending);
  EXPECT_EQ(o.created_ms, clock_.NowMs());

  Frame f = GetFrame(job.id, 2);
  EXPECT_EQ(f.state, FrameState::kVerifying);
  EXPECT_EQ(f.output_id, o.id);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);

  auto verify = TasksOf(job.id, TaskKind::kVerify);
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0].state, TaskState::kQueued);
  EXPECT_EQ(verify[0].output_id, o.id);
  EXPECT_THAT(verify[0].frames, ElementsAre(2));
  // A report renews the lease.
  EXPECT_EQ(GetTask(t.id).lease_expires_ms, clock_.NowMs() + kLeaseMs);
}

TEST_F(SchedulerTest, ReportFrameIsIdempotent) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  auto again = Report(worker_, t.id, 1);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, ReportOutcome::kDuplicate);
  EXPECT_EQ(store_->ListOutputs(job.id)->size(), 1u);
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify).size(), 1u);

  auto conflict = scheduler_->ReportFrame(worker_, t.id, 1, Sha256Hex("another image"), KeyOf(t.id, 1), 1.0);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, Errc::kConflict);
  EXPECT_THAT(conflict.error().message, HasSubstr("already reported"));
  EXPECT_EQ((*store_->FindOutput(t.id, 1))->sha256, ShaOf(1));
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify).size(), 1u);

  // Another node repeating the same report is not a duplicate of its own.
  auto stranger = Report(worker2_, t.id, 1);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, Errc::kConflict);
}

TEST_F(SchedulerTest, ReportFrameRefusedWithoutTheLease) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  auto r = Report(worker2_, t.id, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConflict);
  EXPECT_THAT(r.error().message, HasSubstr("not leased to this node"));
  EXPECT_FALSE(store_->FindOutput(t.id, 1)->has_value());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kRendering);

  // The holder loses it when the lease expires.
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  auto late = Report(worker_, t.id, 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kConflict);
  EXPECT_THAT(*store_->ListOutputs(job.id), IsEmpty());

  auto missing = Report(worker_, t.id + 1000, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST_F(SchedulerTest, ReportFrameRefusedForFrameNotInTask) {
  Job job = Submit("1-4", 2);
  Task t = MustClaim(worker_);  // frames 1, 2
  for (int frame : {3, 0, -1, 100}) {
    auto r = Report(worker_, t.id, frame);
    ASSERT_FALSE(r.ok()) << frame;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("not part of task"));
  }
  EXPECT_THAT(*store_->ListOutputs(job.id), IsEmpty());
  EXPECT_EQ(GetFrame(job.id, 3).state, FrameState::kQueued);
}

TEST_F(SchedulerTest, VerifierCannotReportFrames) {
  Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto r = Report(verifier_, v.id, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

// ---- Lease expiry --------------------------------------------------------------------------------------

TEST_F(SchedulerTest, ExpireLeasesRequeuesOnlyUnreportedFrames) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  clock_.Advance(kLeaseMs);  // exactly at the end of the lease: not expired yet
  ASSERT_EQ(*scheduler_->ExpireLeases(), 0);
  clock_.Advance(1);
  auto n = scheduler_->ExpireLeases();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);

  Task old = GetTask(t.id);
  EXPECT_EQ(old.state, TaskState::kFailed);
  EXPECT_THAT(old.message, HasSubstr("lease expired"));

  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);  // reported: kept
  Frame f2 = GetFrame(job.id, 2);
  Frame f3 = GetFrame(job.id, 3);
  EXPECT_EQ(f2.state, FrameState::kQueued);
  EXPECT_EQ(f3.state, FrameState::kQueued);
  EXPECT_NE(f2.task_id, t.id);
  EXPECT_EQ(f2.task_id, f3.task_id);

  auto requeued = GetTask(f2.task_id);
  EXPECT_EQ(requeued.state, TaskState::kQueued);
  EXPECT_EQ(requeued.kind, TaskKind::kRender);
  EXPECT_THAT(requeued.frames, ElementsAre(2, 3));

  // Another worker picks the rest up; nothing expires twice.
  Task again = MustClaim(worker2_);
  EXPECT_EQ(again.id, requeued.id);
  EXPECT_EQ(*scheduler_->ExpireLeases(), 0);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
}

TEST_F(SchedulerTest, ExpireLeasesWithEveryFrameReportedQueuesNothing) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_F(SchedulerTest, ExpireLeasesRequeuesVerifyTasks) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 1);

  Task back = GetTask(v.id);
  EXPECT_EQ(back.state, TaskState::kQueued);
  EXPECT_EQ(back.node_id, 0);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto hb = scheduler_->Heartbeat(verifier_, v.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kAbort);

  Task v2 = MustClaim(verifier2_);
  EXPECT_EQ(v2.id, v.id);
  EXPECT_EQ(v2.node_id, verifier2_.id);
}

// ---- Task ends -----------------------------------------------------------------------------------------

TEST_F(SchedulerTest, CompleteTaskRequeuesUnreportedFrames) {
  Job job = Submit("1-3", 3);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 2);
  auto r = scheduler_->CompleteTask(worker_, t.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(GetTask(t.id).state, TaskState::kDone);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kVerifying);
  Frame f1 = GetFrame(job.id, 1);
  EXPECT_EQ(f1.state, FrameState::kQueued);
  Task requeued = GetTask(f1.task_id);
  EXPECT_EQ(requeued.state, TaskState::kQueued);
  EXPECT_THAT(requeued.frames, ElementsAre(1, 3));

  // Repeating the report changes nothing.
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender).size(), 2u);
  // Another node cannot end it.
  auto other = scheduler_->CompleteTask(worker2_, t.id);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Errc::kConflict);
}

TEST_F(SchedulerTest, CompleteTaskWithAllFramesReported) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender).size(), 1u);
  // Reports after the end are refused.
  auto late = scheduler_->ReportFrame(worker_, t.id, 1, Sha256Hex("x"), "k", 1);
  EXPECT_FALSE(late.ok());
}

TEST_F(SchedulerTest, FailTaskRequeuesThenFailsTheJobWithEveryError) {
  Job job = Submit("1-2", 2);
  const Node* nodes[] = {&worker_, &worker2_, &worker_};
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    const Node& node = *nodes[attempt % 3];
    Task t = MustClaim(node);
    EXPECT_THAT(t.frames, ElementsAre(1, 2));
    auto r = scheduler_->FailTask(node, t.id, "crash #" + std::to_string(attempt));
    ASSERT_TRUE(r.ok()) << r.error().message;
    Task failed = GetTask(t.id);
    EXPECT_EQ(failed.state, TaskState::kFailed);
    EXPECT_EQ(failed.message, "crash #" + std::to_string(attempt));
    Frame f = GetFrame(job.id, 1);
    EXPECT_EQ(f.failures, attempt + 1);
    if (attempt + 1 < domain::kMaxFrameFailures) {
      EXPECT_EQ(f.state, FrameState::kQueued);
      EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
    }
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.finished_ms, clock_.NowMs());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kFailed);
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kFailed);
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    EXPECT_THAT(failed.message, HasSubstr("crash #" + std::to_string(attempt)));
  }
  EXPECT_THAT(failed.message, HasSubstr("frame 1 failed"));
  EXPECT_THAT(failed.message, HasSubstr("frame 2 failed"));
  EXPECT_THAT(failed.message, HasSubstr("w2: crash #1"));
  EXPECT_THAT(GetFrame(job.id, 1).errors, HasSubstr("w1: crash #0\nw2: crash #1\nw1: crash #2"));
  // Nothing of the job is offered any more.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_F(SchedulerTest, FailTaskCancelsTheJobsOtherWork) {
  Job job = Submit("1-2", 1);
  Task a = MustClaim(worker_);   // frame 1
  Task b = MustClaim(worker2_);  // frame 2
  for (int attempt = 0; attempt < domain::kMaxFrameFailures; ++attempt) {
    Task t = attempt == 0 ? a : MustClaim(worker_);
    EXPECT_THAT(t.frames, ElementsAre(1));
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "out of memory").ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kFailed);
  EXPECT_EQ(GetTask(b.id).state, TaskState::kCanceled);
  auto hb = scheduler_->Heartbeat(worker2_, b.id);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, HeartbeatAction::kCancel);
}

// ---- Retries and the job blocklist ------------------------------------------------------------------------

// Marks nodes as live (seen now), as the API does on every authenticated request.
#define SEEN(...)                              \
  for (Node * n_ : {__VA_ARGS__}) {            \
    n_->last_seen_ms = clock_.NowMs();         \
    ASSERT_TRUE(store_->UpdateNode(*n_).ok()); \
  }

TEST_F(SchedulerTest, AFailedFrameGoesToAnotherLiveWorker) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "segfault").ok());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, ElementsAre(worker_.id));
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task again = MustClaim(worker2_);
  EXPECT_THAT(again.frames, ElementsAre(1));
}

TEST_F(SchedulerTest, WithNoOtherLiveWorkerTheSameWorkerTriesAgain) {
  SEEN(&worker_);  // worker2_ was never seen: it cannot take the frame
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "out of memory").ok());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, IsEmpty());
  EXPECT_THAT(MustClaim(worker_).frames, ElementsAre(1));
}

TEST_F(SchedulerTest, AFrameFailsAfterFailingOnEveryDifferentWorker) {
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  SEEN(&worker_, &worker2_, &worker3);
  Job job = Submit("1", 1);
  for (const Node* node : {&worker_, &worker2_, &worker3}) {
    Task t = MustClaim(*node);
    ASSERT_TRUE(scheduler_->FailTask(*node, t.id, "crash on " + node->name).ok());
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.message, HasSubstr("w1: crash on w1\nw2: crash on w2\nw3: crash on w3"));
}

TEST_F(SchedulerTest, AWorkerFailingSeveralTasksOfAJobIsKeptOffIt) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1-6", 1);
  for (int i = 0; i < 3; ++i) {
    Task t = MustClaim(worker_);
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "CUDA error " + std::to_string(i)).ok());
  }
  auto blocked = *store_->ListBlocklist(job.id);
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].node_id, worker_.id);
  EXPECT_THAT(blocked[0].reason, HasSubstr("failed 3 tasks of this job"));
  EXPECT_THAT(blocked[0].reason, HasSubstr("CUDA error 2"));
  // Frames 4-6 are still queued, but not for worker_; worker2_ renders them (and 1-3).
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  EXPECT_TRUE(TryClaim(worker2_).has_value());
  // Another job is still open to worker_.
  Job other = Submit("1", 1, 0, "other scene");
  EXPECT_EQ(MustClaim(worker_).job_id, other.id);
  // The owner is told.
  bool told = false;
  const auto events = *store_->ListEvents(alice_, job.id, 0, 1000, false);
  for (const auto& e : events) {
    told = told || (e.type == "blocklist" && e.data.find("\"worker\":\"w1\"") != std::string::npos);
  }
  EXPECT_TRUE(told);
}

TEST_F(SchedulerTest, WhenEveryWorkerIsKeptOffAJobItFailsWithTheirErrors) {
  SEEN(&worker_);
  Job job = Submit("1-6", 1);
  for (int i = 0; i < 3; ++i) {
    Task t = MustClaim(worker_);
    ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "driver crash " + std::to_string(i)).ok());
  }
  Job failed = GetJob(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.message, HasSubstr("every available worker failed this job"));
  EXPECT_THAT(failed.message, HasSubstr("w1: failed 3 tasks of this job; the last: driver crash 2"));
  EXPECT_THAT(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued), IsEmpty());
}

TEST_F(SchedulerTest, ARepeatedFailureReportChangesNothing) {
  SEEN(&worker_, &worker2_);
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  EXPECT_EQ(GetFrame(job.id, 1).failures, 1);
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued).size(), 1u);
}

#undef SEEN

TEST_F(SchedulerTest, FailTaskKeepsReportedFrames) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  Frame f1 = GetFrame(job.id, 1);
  EXPECT_EQ(f1.state, FrameState::kVerifying);
  EXPECT_EQ(f1.failures, 0);
  Frame f2 = GetFrame(job.id, 2);
  EXPECT_EQ(f2.state, FrameState::kQueued);
  EXPECT_EQ(f2.failures, 1);
  EXPECT_THAT(GetTask(f2.task_id).frames, ElementsAre(2));
  // Repeated and foreign failure reports.
  ASSERT_TRUE(scheduler_->FailTask(worker_, t.id, "crash").ok());
  EXPECT_EQ(GetFrame(job.id, 2).failures, 1);
  EXPECT_FALSE(scheduler_->FailTask(worker2_, t.id, "crash").ok());
}

// ---- Verdicts ------------------------------------------------------------------------------------------

TEST_F(SchedulerTest, AcceptedFramesAreDeliveredAndCompleteTheJob) {
  Job job = Submit("1-2", 2);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  MustReport(worker_, t.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());

  Task v1 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v1.id, "accepted", "layer 1+2 ok", 0.25).ok());
  Frame f = GetFrame(job.id, v1.frames[0]);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  Output o = **store_->GetOutput(v1.output_id);
  EXPECT_EQ(o.verdict, Verdict::kAccepted);
  EXPECT_EQ(o.verdict_detail, "layer 1+2 ok");
  EXPECT_EQ(o.verifier_node_id, verifier_.id);
  EXPECT_DOUBLE_EQ(o.verify_seconds, 0.25);
  EXPECT_EQ(GetTask(v1.id).state, TaskState::kDone);
  EXPECT_EQ(GetNode(worker_.id).accepted, 1);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);

  Task v2 = MustClaim(verifier_);
  clock_.Advance(1234);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 0.5).ok());
  Job done = GetJob(job.id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.finished_ms, clock_.NowMs());
  EXPECT_EQ(GetNode(worker_.id).accepted, 2);

  // A repeated verdict changes nothing.
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 0.5).ok());
  EXPECT_EQ(GetNode(worker_.id).accepted, 2);
}

TEST_F(SchedulerTest, TheNetworkHearsWhenNodesTakeAndEndWorkAndTheirCountsChange) {
  // Which nodes the network's `worker` events named, in order (any user may follow them; bob has no job).
  auto named = [&] {
    std::vector<int64_t> ids;
    const auto events = *store_->ListEvents(bob_, 0, 0, 1000, true);
    for (const auto& e : events) {
      EXPECT_EQ(e.type, "worker");
      EXPECT_EQ(e.user_id, domain::kNetworkUser);
      ids.push_back(nlohmann::json::parse(e.data).at("worker_id").get<int64_t>());
    }
    return ids;
  };
  EXPECT_THAT(*store_->ListEvents(bob_, 0, 0, 1000, false), IsEmpty());
  Submit("1", 1);
  Task t = MustClaim(worker_);                                                        // busy
  MustReport(worker_, t.id, 1);                                                       // no change of state
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());                          // idle
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());                          // repeated: nothing
  Task v = MustClaim(verifier_);                                                      // busy
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0.1).ok());  // idle; worker counts
  EXPECT_THAT(named(), ElementsAre(worker_.id, worker_.id, verifier_.id, verifier_.id, worker_.id));
  // Alice's stream has the network's events only when asked for them.
  const auto alices = *store_->ListEvents(alice_, 0, 0, 1000, false);
  EXPECT_FALSE(alices.empty());
  for (const auto& e : alices) EXPECT_NE(e.type, "worker");
}

TEST_F(SchedulerTest, ALeaseThatExpiresOrAJobCanceledFreesItsWorkerForTheNetworkToSee) {
  Job job = Submit("1-4", 2);
  MustClaim(worker_);
  MustClaim(worker2_);
  const auto before = store_->ListEvents(bob_, 0, 0, 1000, true)->size();
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);
  MustClaim(worker_);
  ASSERT_TRUE(scheduler_->CancelJob(GetJob(job.id), "canceled by alice").ok());
  std::vector<std::string> data;
  const auto events = *store_->ListEvents(bob_, 0, 0, 1000, true);
  for (const auto& e : events) data.push_back(e.data);
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(before));
  const std::string w1 = R"({"worker_id":)" + std::to_string(worker_.id) + "}";
  const std::string w2 = R"({"worker_id":)" + std::to_string(worker2_.id) + "}";
  EXPECT_THAT(data,
              ElementsAre(w1, w2, w1, w1));  // both expired; worker 1 takes a task again, then its job ends
}

TEST_F(SchedulerTest, RejectedFrameIsRenderedAgainElsewhere) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "region 3 differs", 2.0).ok());

  Output o = **store_->GetOutput(v.output_id);
  EXPECT_EQ(o.verdict, Verdict::kRejected);
  EXPECT_EQ(o.verdict_detail, "region 3 differs");
  EXPECT_EQ(GetNode(worker_.id).rejected, 1);
  EXPECT_EQ(GetNode(worker_.id).accepted, 0);

  Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kQueued);
  EXPECT_EQ(f.output_id, 0);
  EXPECT_THAT(f.excluded_nodes, ElementsAre(worker_.id));
  Task again = GetTask(f.task_id);
  EXPECT_EQ(again.state, TaskState::kQueued);
  EXPECT_THAT(again.excluded_nodes, ElementsAre(worker_.id));
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);

  // The rejected worker cannot claim it; another can, and its accepted render completes the job.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task t2 = MustClaim(worker2_);
  EXPECT_EQ(t2.id, again.id);
  MustReport(worker2_, t2.id, 1);
  Task v2 = MustClaim(verifier_);
  EXPECT_NE(v2.output_id, v.output_id);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "accepted", "", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_F(SchedulerTest, RejectedWorkerStaysExcludedAfterTheRetryIsLost) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "fake", 1.0).ok());

  // The second worker's retry is lost (lease expired): the frame goes back to the queue once more...
  Task retry = MustClaim(worker2_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);  // the first worker's task too
  Frame f = GetFrame(job.id, 1);
  ASSERT_EQ(f.state, FrameState::kQueued);
  ASSERT_NE(f.task_id, retry.id);
  // ...and still never to the worker whose image for it was rejected.
  EXPECT_THAT(GetTask(f.task_id).excluded_nodes, ElementsAre(worker_.id));
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(MustClaim(worker2_).id, f.task_id);
}

TEST_F(SchedulerTest, RejectedWorkerStaysExcludedAfterAFailedRetry) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, t.id).ok());
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "rejected", "fake", 1.0).ok());
  Task retry = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->FailTask(worker2_, retry.id, "crash").ok());
  EXPECT_FALSE(TryClaim(worker_).has_value());
  Task retry2 = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, retry2.id).ok());  // ended without reporting the frame
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_THAT(GetFrame(job.id, 1).excluded_nodes, ElementsAre(worker_.id));
}

TEST_F(SchedulerTest, InconclusiveVerdictQueuesTheCheckAgain) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "cannot read image", 0.5).ok());

  EXPECT_EQ(GetTask(v.id).state, TaskState::kDone);
  EXPECT_EQ(GetTask(v.id).message, "inconclusive");
  Output o = **store_->GetOutput(v.output_id);
  EXPECT_EQ(o.verdict, Verdict::kPending);
  EXPECT_EQ(o.verdict_detail, "cannot read image");
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);
  EXPECT_EQ(GetNode(worker_.id).accepted, 0);
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);

  auto queued = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].output_id, v.output_id);
  EXPECT_EQ(queued[0].node_id, 0);
  EXPECT_NE(queued[0].id, v.id);

  // A repeated inconclusive report does not queue a third check.
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "cannot read image", 0.5).ok());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued).size(), 1u);

  Task v2 = MustClaim(verifier2_);
  EXPECT_EQ(v2.id, queued[0].id);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v2.id, "accepted", "ok", 0.5).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
  EXPECT_DOUBLE_EQ((*store_->GetOutput(v.output_id))->verify_seconds, 1.0);  // both checks counted
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

// Escalation, never a guess (issue #4): more regions, then a second worker's render settles the check.
TEST_F(SchedulerTest, InconclusiveEscalatesToMoreRegionsThenASecondRenderThatSettlesIt) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  EXPECT_EQ(v.level, domain::kRegions);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "inconclusive", "borderline difference", 0.1).ok());
  auto queued = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].level, domain::kMoreRegions);
  Task v2 = MustClaim(verifier2_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v2.id, "inconclusive", "borderline again", 0.1).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  // A second worker (never the first) renders the frame again.
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto replica = TryClaim(worker2_);
  ASSERT_TRUE(replica.has_value());
  EXPECT_EQ(replica->task.level, domain::kReplicaCheck);
  EXPECT_EQ(replica->task.output_id, v.output_id);
  ASSERT_TRUE(
      scheduler_->ReportFrame(worker2_, replica->task.id, 1, ShaOf(1), KeyOf(replica->task.id, 1), 1.0).ok());
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, replica->task.id).ok());
  auto check = TryClaim(verifier_);
  ASSERT_TRUE(check.has_value());
  EXPECT_EQ(check->task.level, domain::kReplicaCheck);
  ASSERT_TRUE(check->original.has_value());
  EXPECT_EQ(check->original->id, v.output_id);
  VerdictReport report{"accepted", "second render checked", 0.2, 0.3, "{}", true};
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, check->task.id, report).ok());

  const Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  EXPECT_EQ(f.output_id, v.output_id);  // the first worker's image, confirmed
  const Output first = **store_->GetOutput(v.output_id);
  EXPECT_EQ(first.verdict, Verdict::kAccepted);
  EXPECT_TRUE(first.credited);
  EXPECT_THAT(first.method, HasSubstr("\"matches_second_render\":true"));
  const Output second = **store_->GetOutput(check->task.output_id);
  EXPECT_EQ(second.verdict, Verdict::kAccepted);
  EXPECT_EQ(second.replica_of, first.id);
  EXPECT_TRUE(second.credited);  // checked work earns, delivered or not
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_F(SchedulerTest, ASecondRenderThatDiffersRejectsTheFirstAndIsDelivered) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "borderline", 0.1).ok());
  }
  Task r = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->ReportFrame(worker2_, r.id, 1, Sha256Hex("honest"), KeyOf(r.id, 1), 1.0).ok());
  auto check = TryClaim(verifier_);
  ASSERT_TRUE(check.has_value());
  ASSERT_TRUE(
      scheduler_
          ->RecordVerdict(verifier_, check->task.id, VerdictReport{"accepted", "ok", 0.1, 0.1, "{}", false})
          .ok());
  const Frame f = GetFrame(job.id, 1);
  EXPECT_EQ(f.state, FrameState::kDelivered);
  EXPECT_EQ(f.output_id, check->task.output_id);
  EXPECT_EQ((*store_->GetOutput(check->original->id))->verdict, Verdict::kRejected);
  EXPECT_FALSE((*store_->GetOutput(check->original->id))->credited);
  EXPECT_EQ(GetNode(worker_.id).rejected, 1);
  EXPECT_EQ(GetNode(worker2_.id).accepted, 1);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_F(SchedulerTest, CheckThatNoSecondRenderSettlesFailsTheFrameWithTheFindings) {
  Job job = Submit("1", 1);
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "disk error", 0.1).ok());
  }
  // Two second renders (the policy's max_replicas), each inconclusive.
  for (const Node* w : {&worker2_, &worker3}) {
    Task r = MustClaim(*w);
    ASSERT_EQ(r.level, domain::kReplicaCheck);
    ASSERT_TRUE(scheduler_->ReportFrame(*w, r.id, 1, Sha256Hex(w->name), KeyOf(r.id, 1), 1.0).ok());
    Task c = MustClaim(verifier_);
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, c.id, "inconclusive", "disk error", 0.1).ok());
  }
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kFailed);
  EXPECT_EQ(GetJob(job.id).state, JobState::kFailed);
  EXPECT_THAT(GetJob(job.id).message, HasSubstr("could not be verified"));
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);  // never a guess: nobody is blamed
}

TEST_F(SchedulerTest, ASecondRenderLostToAFailureIsRenderedAgainElsewhere) {
  Job job = Submit("1", 1);
  Node worker3 = NewNode("w3", NodeRole::kWorker);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  for (const Node* v : {&verifier_, &verifier2_}) {
    Task c = MustClaim(*v);
    ASSERT_TRUE(scheduler_->RecordVerdict(*v, c.id, "inconclusive", "borderline", 0.1).ok());
  }
  Task r = MustClaim(worker2_);
  ASSERT_TRUE(scheduler_->FailTask(worker2_, r.id, "out of memory").ok());
  EXPECT_FALSE(TryClaim(worker2_).has_value());
  Task r2 = MustClaim(worker3);
  EXPECT_EQ(r2.level, domain::kReplicaCheck);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);
}

TEST_F(SchedulerTest, LateVerdictFromAVerifierThatLostTheLeaseIsRefused) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  clock_.Advance(kLeaseMs + 1);
  ASSERT_EQ(*scheduler_->ExpireLeases(), 2);  // the render task and the check

  auto late = scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 1.0);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kConflict);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  Task v2 = MustClaim(verifier2_);
  ASSERT_EQ(v2.id, v.id);
  auto still_late = scheduler_->RecordVerdict(verifier_, v.id, "rejected", "", 1.0);
  ASSERT_FALSE(still_late.ok());
  EXPECT_EQ(still_late.error().code, Errc::kConflict);
  EXPECT_EQ(GetNode(worker_.id).rejected, 0);
  EXPECT_EQ((*store_->GetOutput(v.output_id))->verdict, Verdict::kPending);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier2_, v.id, "accepted", "", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

TEST_F(SchedulerTest, VerdictMustBeKnownAndOnAVerifyTask) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto bad = scheduler_->RecordVerdict(verifier_, v.id, "trusted", "", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(GetTask(v.id).state, TaskState::kActive);  // nothing written
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto on_render = scheduler_->RecordVerdict(worker_, t.id, "accepted", "", 0);
  ASSERT_FALSE(on_render.ok());
  EXPECT_EQ(on_render.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(GetTask(t.id).state, TaskState::kActive);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kVerifying);

  auto stranger = scheduler_->RecordVerdict(verifier2_, v.id, "accepted", "", 0);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, Errc::kConflict);
}

TEST_F(SchedulerTest, VerifyTaskCannotBeEndedWithoutAVerdict) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  auto done = scheduler_->CompleteTask(verifier_, v.id);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Errc::kInvalidArgument);
  auto failed = scheduler_->FailTask(verifier_, v.id, "crash");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kInvalidArgument);
  // The check is still held and can be finished.
  EXPECT_EQ(GetTask(v.id).state, TaskState::kActive);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

// ---- Cancel --------------------------------------------------------------------------------------------

TEST_F(SchedulerTest, CancelJobCancelsTasksAndFrames) {
  Job job = Submit("1-6", 2);
  Task t = MustClaim(worker_);  // frames 1, 2
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());  // frame 1 delivered
  MustReport(worker_, t.id, 2);                                                     // frame 2 verifying

  clock_.Advance(777);
  auto canceled = scheduler_->CancelJob(GetJob(job.id), "no longer needed");
  ASSERT_TRUE(canceled.ok()) << canceled.error().message;
  EXPECT_EQ(canceled->state, JobState::kCanceled);
  Job stored = GetJob(job.id);
  EXPECT_EQ(stored.state, JobState::kCanceled);
  EXPECT_EQ(stored.message, "no longer needed");
  EXPECT_EQ(stored.finished_ms, clock_.NowMs());

  auto tasks = store_->ListJobTasks(job.id);
  ASSERT_TRUE(tasks.ok());
  for (const auto& task : *tasks) {
    if (task.id == v.id) {
      EXPECT_EQ(task.state, TaskState::kDone);
    } else {
      EXPECT_EQ(task.state, TaskState::kCanceled) << "task " << task.id;
      EXPECT_EQ(task.message, "no longer needed");
    }
  }
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);  // what was delivered stays delivered
  for (int n = 2; n <= 6; ++n) EXPECT_EQ(GetFrame(job.id, n).state, FrameState::kCanceled) << n;

  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto report = Report(worker_, t.id, 2);
  EXPECT_TRUE(report.ok());  // the same report again is still a harmless duplicate
  auto late = scheduler_->CompleteTask(worker_, t.id);
  EXPECT_FALSE(late.ok());

  // Canceling again, or a job that already ended, changes nothing.
  auto again = scheduler_->CancelJob(GetJob(job.id), "twice");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(GetJob(job.id).message, "no longer needed");
}

TEST_F(SchedulerTest, CancelCompletedJobIsANoOp) {
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  Task v = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v.id, "accepted", "", 0).ok());
  ASSERT_EQ(GetJob(job.id).state, JobState::kCompleted);
  auto r = scheduler_->CancelJob(GetJob(job.id), "too late");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, JobState::kCompleted);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kDelivered);
}

TEST_F(SchedulerTest, OtherJobsAreUntouchedByCancel) {
  Job a = Submit("1", 1, 0, "a");
  Job b = Submit("1", 1, 0, "b");
  ASSERT_TRUE(scheduler_->CancelJob(GetJob(a.id), "stop").ok());
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, b.id);
  EXPECT_EQ(GetJob(b.id).state, JobState::kActive);
}

// ---- A whole job ---------------------------------------------------------------------------------------

TEST_F(SchedulerTest, WholeJobWithTwoWorkersAndAFraud) {
  Job job = Submit("1-6", 2);
  Task a = MustClaim(worker_);
  Task b = MustClaim(worker2_);
  Task c = MustClaim(worker_);
  for (int n : a.frames) MustReport(worker_, a.id, n);
  for (int n : b.frames) MustReport(worker2_, b.id, n);
  for (int n : c.frames) MustReport(worker_, c.id, n);
  for (const Task* t : {&a, &b, &c}) {
    ASSERT_TRUE(scheduler_->CompleteTask(t->node_id == worker_.id ? worker_ : worker2_, t->id).ok());
  }
  // worker2 faked its frames; everything else is fine.
  while (auto v = TryClaim(verifier_)) {
    const Output o = **store_->GetOutput(v->task.output_id);
    const bool fake = o.node_id == worker2_.id;
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, fake ? "rejected" : "accepted", "", 0).ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  // Only worker 1 may render the rejected frames again.
  EXPECT_FALSE(TryClaim(worker2_).has_value());
  while (auto r = TryClaim(worker_)) {
    for (int n : r->task.frames) MustReport(worker_, r->task.id, n);
    ASSERT_TRUE(scheduler_->CompleteTask(worker_, r->task.id).ok());
  }
  while (auto v = TryClaim(verifier_)) {
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0).ok());
  }
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  auto counts = domain::CountFrames(*store_->ListFrames(job.id));
  EXPECT_EQ(counts.delivered, 6);
  // The first rejection discarded worker2's other output (rendered again by worker 1); it was still checked,
  // for the record, and that rejection counts too.
  EXPECT_EQ(GetNode(worker2_.id).rejected, 2);
  EXPECT_EQ(GetNode(worker_.id).accepted, 6);
  EXPECT_EQ(GetNode(worker2_.id).accepted, 0);
  int discarded = 0;
  const auto outputs = *store_->ListOutputs(job.id);
  for (const auto& o : outputs) {
    if (o.node_id != worker2_.id) continue;
    EXPECT_EQ(o.verdict, Verdict::kRejected);
    EXPECT_FALSE(o.credited);
    if (o.verdict_detail.find("discarded") != std::string::npos) ++discarded;
  }
  EXPECT_EQ(discarded, 1);
}

// --- adaptive trust (issue #4)

class TrustTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    SchedulerOptions options;
    options.lease_ms = kLeaseMs;
    options.trust.new_worker_checks = 3;
    options.trust.bound = 1.0;     // past 3 clean checks: rate 1 - streak / 3 = 0
    options.trust.min_rate = 0.0;  // so that a trusted worker is never drawn (deterministic)
    options.seed = 7;
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

TEST_F(TrustTest, NewWorkersAreCheckedThenTrustedOutputsGetLayer1Only) {
  Job job = Submit("1-6", 1);
  auto levels = RenderAndCheck(job, 6);
  EXPECT_THAT(levels, ElementsAre(domain::kRegions, domain::kRegions, domain::kRegions, domain::kLayer1Only,
                                  domain::kLayer1Only, domain::kLayer1Only));
  EXPECT_EQ(GetNode(worker_.id).streak, 3);  // layer-1-only outputs do not grow trust
  int trusted = 0;
  const auto outputs = *store_->ListOutputs(job.id);
  for (const auto& o : outputs) {
    EXPECT_TRUE(o.credited);
    if (o.verdict == Verdict::kTrusted) ++trusted;
  }
  EXPECT_EQ(trusted, 3);
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
}

TEST_F(TrustTest, AnImageAlreadyReportedForAnotherFrameIsCheckedWhateverTheTrust) {
  Job job = Submit("1-4", 1);
  RenderAndCheck(job, 3);
  Task t = MustClaim(worker_);
  // The same bytes as frame 1's output, reported for frame 4.
  ASSERT_TRUE(
      scheduler_->ReportFrame(GetNode(worker_.id), t.id, 4, ShaOf(job.id * 1000 + 1), KeyOf(t.id, 4), 1.0)
          .ok());
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kRegions);
}

TEST_F(TrustTest, ARejectionDiscardsPendingOutputsRechecksTrustedOnesAndTellsTheUser) {
  Job job = Submit("1-6", 1);
  RenderAndCheck(job, 5);  // 3 checked, 2 trusted and delivered
  // Frame 6 reported, then the worker is caught on a re-check of... a fresh job's frame.
  Job other = Submit("1-2", 1, 0, "other");
  Task a = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_
          ->ReportFrame(GetNode(worker_.id), a.id, a.frames[0], Sha256Hex("a"), KeyOf(a.id, a.frames[0]), 1.0)
          .ok());
  Task b = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_
          ->ReportFrame(GetNode(worker_.id), b.id, b.frames[0], Sha256Hex("b"), KeyOf(b.id, b.frames[0]), 1.0)
          .ok());
  // Both layer 1 only (trusted); the first fails layer 1.
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kLayer1Only);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 1: hash differs", 0.1).ok());

  const Node w = GetNode(worker_.id);
  EXPECT_EQ(w.streak, 0);
  EXPECT_EQ(w.rejected, 1);
  EXPECT_FALSE(w.banned);
  // The other pending output was discarded and its frame queued for another worker.
  const Output discarded = **store_->FindOutput(b.id, b.frames[0]);
  EXPECT_EQ(discarded.verdict, Verdict::kRejected);
  EXPECT_THAT(discarded.verdict_detail, HasSubstr("discarded"));
  EXPECT_EQ(GetFrame(b.job_id, b.frames[0]).state, FrameState::kQueued);
  EXPECT_THAT(GetFrame(b.job_id, b.frames[0]).excluded_nodes, ElementsAre(worker_.id));
  // Its delivered frames of the running job (checked or trusted) are re-rendered whole by a verifier, and
  // their owner is told which.
  auto rechecks = TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued);
  EXPECT_EQ(rechecks.size(), 5u);
  for (const auto& t : rechecks) EXPECT_EQ(t.level, domain::kWholeFrame);
  auto events = *store_->ListEvents(alice_, job.id, 0, 1000, false);
  bool told = false;
  for (const auto& e : events) {
    if (e.type == "suspect") {
      told = true;
      EXPECT_THAT(e.data, HasSubstr("\"frames\":[1,2,3,4,5]"));
    }
  }
  EXPECT_TRUE(told);
  (void)other;
}

TEST_F(TrustTest, RepeatedRejectionsBanTheWorkerWithTheReason) {
  Job job = Submit("1-6", 1);
  auto levels = RenderAndCheck(job, 3, "rejected");
  EXPECT_EQ(levels.size(), 3u);
  const Node w = GetNode(worker_.id);
  EXPECT_TRUE(w.banned);
  EXPECT_THAT(w.ban_reason, HasSubstr("3 of its last 3 checked frames were rejected"));
}

TEST_F(TrustTest, AFastCheaterIsBannedByTheChecksOfItsDiscardedOutputsAndLosesItsLeases) {
  Job job = Submit("1-4", 1);
  std::vector<Task> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(MustClaim(worker_));
  for (int i = 0; i < 3; ++i) MustReport(worker_, tasks[i].id, tasks[i].frames[0]);
  // The first verdict discards the other two outputs; they are still checked, and those rejections count.
  for (int i = 0; i < 3; ++i) {
    auto v = TryClaim(verifier_);
    ASSERT_TRUE(v.has_value());
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 2 failed", 0.1).ok());
  }
  const Node w = GetNode(worker_.id);
  EXPECT_TRUE(w.banned);
  EXPECT_EQ(w.rejected, 3);
  // The task it still held is taken back at once, not when its lease runs out.
  EXPECT_EQ(GetTask(tasks[3].id).state, TaskState::kFailed);
  EXPECT_EQ(GetFrame(job.id, tasks[3].frames[0]).state, FrameState::kQueued);
  Task again = MustClaim(worker2_);
  EXPECT_THAT(again.excluded_nodes, ::testing::Contains(worker_.id));
  for (int n = 1; n <= 4; ++n) EXPECT_EQ(GetFrame(job.id, n).state == FrameState::kDelivered, false);
}

TEST_F(TrustTest, ATrustedFrameOfAnEndedJobIsStillCheckedAndItsOwnerTold) {
  Job done = Submit("1-4", 1);
  RenderAndCheck(done, 4);  // 3 checked, frame 4 trusted; the job completes
  ASSERT_EQ(GetJob(done.id).state, JobState::kCompleted);
  Job next = Submit("1", 1, 0, "next");
  Task t = MustClaim(worker_);
  ASSERT_TRUE(
      scheduler_->ReportFrame(GetNode(worker_.id), t.id, 1, Sha256Hex("bad"), KeyOf(t.id, 1), 1.0).ok());
  auto v = TryClaim(verifier_);
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "rejected", "layer 1: bad", 0.1).ok());
  // The ended job's trusted frame is checked with regions, though the job is over.
  auto recheck = TryClaim(verifier2_);
  ASSERT_TRUE(recheck.has_value());
  EXPECT_EQ(recheck->task.job_id, done.id);
  EXPECT_EQ(recheck->task.level, domain::kRegions);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier2_, recheck->task.id, "rejected", "layer 2 failed", 0.1).ok());
  EXPECT_EQ(GetJob(done.id).state, JobState::kCompleted);
  bool told = false;
  const auto events = *store_->ListEvents(alice_, done.id, 0, 1000, false);
  for (const auto& e : events) {
    if (e.type == "frame" &&
        e.data.find("render it again with inferix submit --frames 4") != std::string::npos)
      told = true;
  }
  EXPECT_TRUE(told);
  (void)next;
}

TEST_F(TrustTest, AJobWaitsForTheRecheckOfACaughtWorkersFrameAndRendersItAgain) {
  Job job = Submit("1-2", 1);
  Task a1 = MustClaim(worker_);
  MustReport(worker_, a1.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker_, a1.id).ok());
  Task v1 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v1.id, "accepted", "", 0.1).ok());  // delivered
  Task a2 = MustClaim(worker_);
  MustReport(worker_, a2.id, 2);
  Task v2 = MustClaim(verifier_);
  ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v2.id, "rejected", "layer 2 failed", 0.1).ok());
  // Frame 2 goes to the other worker; frame 1, delivered from the caught worker, is re-rendered whole.
  Task b2 = MustClaim(worker2_);
  MustReport(worker2_, b2.id, 2);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, b2.id).ok());
  std::optional<manager::Claim> recheck;
  while (auto v = TryClaim(verifier_)) {
    if (v->task.level == domain::kWholeFrame) {
      recheck = v;  // held (claimed) while the other checks go on
      continue;
    }
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0.1).ok());
  }
  ASSERT_TRUE(recheck.has_value());
  EXPECT_EQ(recheck->task.frames, std::vector<int>{1});
  // Both frames are delivered, but the job waits for the re-check.
  EXPECT_EQ(GetFrame(job.id, 2).state, FrameState::kDelivered);
  EXPECT_EQ(GetJob(job.id).state, JobState::kActive);
  ASSERT_TRUE(
      scheduler_->RecordVerdict(verifier_, recheck->task.id, "rejected", "whole frame differs", 1.0).ok());
  EXPECT_EQ(GetFrame(job.id, 1).state, FrameState::kQueued);
  Task b1 = MustClaim(worker2_);
  MustReport(worker2_, b1.id, 1);
  ASSERT_TRUE(scheduler_->CompleteTask(worker2_, b1.id).ok());
  while (auto v = TryClaim(verifier_))
    ASSERT_TRUE(scheduler_->RecordVerdict(verifier_, v->task.id, "accepted", "", 0.1).ok());
  EXPECT_EQ(GetJob(job.id).state, JobState::kCompleted);
  const Output delivered = **store_->GetOutput(GetFrame(job.id, 1).output_id);
  EXPECT_EQ(delivered.node_id, worker2_.id);
}

TEST_F(TrustTest, Layer2GoesOnlyToAVerifierOfTheWorkersClass) {
  Node w = GetNode(worker_.id);
  w.det_class = "blender 3.4.1 / x86_64 / cpu";
  ASSERT_TRUE(store_->UpdateNode(w).ok());
  Node other_class = GetNode(verifier_.id);
  other_class.det_class = "blender 4.2.0 / x86_64 / cpu";
  ASSERT_TRUE(store_->UpdateNode(other_class).ok());
  Node same_class = GetNode(verifier2_.id);
  same_class.det_class = w.det_class;
  ASSERT_TRUE(store_->UpdateNode(same_class).ok());
  Job job = Submit("1", 1);
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->ReportFrame(GetNode(worker_.id), t.id, 1, ShaOf(1), KeyOf(t.id, 1), 1.0).ok());
  EXPECT_FALSE(TryClaim(other_class).has_value());
  auto v = TryClaim(same_class);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->output->det_class, w.det_class);
  ASSERT_TRUE(scheduler_->RecordVerdict(same_class, v->task.id, "accepted", "", 0.1).ok());
  EXPECT_THAT((*store_->GetOutput(v->task.output_id))->method, HasSubstr("\"worker_class\":\"blender 3.4.1"));
}

// ---- Blender builds (issue #12) ---------------------------------------------------------------------------

using nlohmann::json;

const std::string kOidn = "OPENIMAGEDENOISE";

// A machine description with these builds: {"version", denoisers...}.
json Builds(std::vector<std::vector<std::string>> builds, const std::string& arch = "x86_64") {
  json list = json::array();
  for (const auto& b : builds) {
    json build = {{"version", b[0]}, {"denoisers", json::array()}};
    for (size_t i = 1; i < b.size(); ++i) build["denoisers"].push_back(b[i]);
    list.push_back(build);
  }
  return {{"arch", arch}, {"device", "cpu"}, {"blenders", list}};
}

TEST_F(SchedulerTest, ARenderTaskGoesOnlyToAWorkerWithABuildNewEnoughForTheScene) {
  Describe(worker_, Builds({{"3.4.1"}, {"3.6.5"}}));
  Describe(worker2_, Builds({{"3.4.1"}, {"4.2.0"}}));
  Job job = SubmitScene("1", 402);
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.2.0");
  EXPECT_EQ(c->job.blender_version, 402);
}

TEST_F(SchedulerTest, TheClaimNamesTheOldestBuildThatCanRenderTheScene) {
  Describe(worker_, Builds({{"4.2.0"}, {"3.4.1"}, {"3.6.5"}}));
  SubmitScene("1", 305, {}, false, "a");
  auto a = TryClaim(worker_);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->build, "3.6.5");
  SubmitScene("1", 304, {}, false, "b");
  auto b = TryClaim(worker_);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->build, "3.4.1");
  // A job of unknown version (from an older client): the first build listed.
  SubmitScene("1", 0, {}, false, "c");
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->build, "4.2.0");
}

TEST_F(SchedulerTest, AWorkerWhoseBuildsAreAllTooOldNeverGetsTheJobWhileAnotherDoes) {
  Describe(worker_, Builds({{"3.4.1"}, {"3.6.5"}}));
  Describe(worker2_, Builds({{"4.2.3 LTS"}}));
  Job job = SubmitScene("1-3", 402);
  Job old = SubmitScene("1", 304, {}, false, "old");
  // The older worker passes over the newer scene's waiting tasks to what it can render.
  auto mine = TryClaim(worker_);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->job.id, old.id);
  EXPECT_EQ(mine->build, "3.4.1");
  EXPECT_FALSE(TryClaim(worker_).has_value());
  EXPECT_EQ(TasksOf(job.id, TaskKind::kRender, TaskState::kQueued).size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(TryClaim(worker_).has_value());
    auto c = TryClaim(worker2_);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->job.id, job.id);
    EXPECT_EQ(c->build, "4.2.3 LTS");
  }
  for (const auto& t : TasksOf(job.id, TaskKind::kRender)) EXPECT_EQ(t.node_id, worker2_.id);
}

TEST_F(SchedulerTest, AJobNeedingADenoiserGoesOnlyToAWorkerWithABuildThatHasIt) {
  Describe(worker_, Builds({{"4.2.0"}, {"5.0.0", "OPTIX"}}));
  Describe(worker2_, Builds({{"4.2.0"}, {"4.4.0", kOidn}}));
  Job job = SubmitScene("1", 402, {kOidn});
  EXPECT_FALSE(TryClaim(worker_).has_value());
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.4.0");  // not the older 4.2.0, which lacks it
}

TEST_F(SchedulerTest, AJobWithoutDenoiserGoesToAnyWorkerNewEnough) {
  Describe(worker_, Builds({{"4.2.0"}}));
  Job job = SubmitScene("1", 402, {kOidn}, /*without_denoiser=*/true);
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "4.2.0");
  EXPECT_TRUE(c->job.without_denoiser);
  EXPECT_THAT(c->job.denoisers, ElementsAre(kOidn));
}

TEST_F(SchedulerTest, TheOutputsClassIsTheClassOfTheBuildThatRenderedIt) {
  Describe(worker_, Builds({{"3.4.1"}, {"4.2.0"}}), "blender 3.4.1 / x86_64 / cpu");
  Job job = SubmitScene("1", 402);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  auto out = store_->FindOutput(t.id, 1);
  ASSERT_TRUE(out.ok() && out->has_value());
  EXPECT_EQ((*out)->det_class, "blender 4.2.0 / x86_64 / cpu");

  Job older = SubmitScene("1", 304, {}, false, "older");
  Task t2 = MustClaim(worker_);
  ASSERT_EQ(t2.job_id, older.id);
  MustReport(worker_, t2.id, 1);
  EXPECT_EQ((**store_->FindOutput(t2.id, 1)).det_class, "blender 3.4.1 / x86_64 / cpu");
  (void)job;
}

TEST_F(SchedulerTest, Layer2GoesOnlyToAVerifierWithABuildOfTheOutputsClassAndNamesIt) {
  Describe(worker_, Builds({{"3.4.1"}, {"4.2.0"}}));
  Describe(verifier_, Builds({{"3.4.1"}, {"4.4.0"}}));
  Node other_arch = NewNode("v3", NodeRole::kVerifier);
  Describe(other_arch, Builds({{"4.2.0"}}, "aarch64"));
  Describe(verifier2_, Builds({{"3.6.5"}, {"4.2.0"}, {"4.4.0"}}));
  SubmitScene("1", 402);
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  ASSERT_EQ(TasksOf(t.job_id, TaskKind::kVerify)[0].level, domain::kRegions);
  EXPECT_FALSE(TryClaim(verifier_).has_value());   // newer, but another class
  EXPECT_FALSE(TryClaim(other_arch).has_value());  // the same version on another architecture
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.kind, TaskKind::kVerify);
  EXPECT_EQ(v->build, "4.2.0");
  ASSERT_TRUE(v->output.has_value());
  EXPECT_EQ(v->output->det_class, "blender 4.2.0 / x86_64 / cpu");
}

TEST_F(SchedulerTest, Layer2WithADenoiserGoesOnlyToAVerifierBuildThatHasIt) {
  Describe(worker_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier_, Builds({{"4.2.0"}}));
  Describe(verifier2_, Builds({{"4.2.0", kOidn}}));
  SubmitScene("1", 402, {kOidn});
  Task t = MustClaim(worker_);
  MustReport(worker_, t.id, 1);
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->build, "4.2.0");
}

TEST_F(SchedulerTest, NodesThatListNoBuildsKeepTheirRegisteredClass) {
  Describe(worker_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / cpu");
  Describe(verifier_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / gpu");
  Describe(verifier2_, {{"blender_version", "4.2.3 LTS"}, {"arch", "x86_64"}},
           "blender 4.2.3 LTS / x86_64 / cpu");
  SubmitScene("1", 402);
  auto c = TryClaim(worker_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->build, "4.2.3 LTS");
  MustReport(worker_, c->task.id, 1);
  EXPECT_EQ((**store_->FindOutput(c->task.id, 1)).det_class, "blender 4.2.3 LTS / x86_64 / cpu");
  EXPECT_FALSE(TryClaim(verifier_).has_value());
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->build, "4.2.3 LTS");
}

TEST_F(SchedulerTest, ANodeOfAnOlderReleaseWithOneTooOldVersionGetsNothingNewer) {
  Describe(worker_, {{"blender_version", "3.4.1"}}, "blender 3.4.1 / x86_64 / cpu");
  Job job = SubmitScene("1", 402);
  EXPECT_FALSE(TryClaim(worker_).has_value());
  // A node that described no version at all is not held back.
  auto c = TryClaim(worker2_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job.id);
  EXPECT_EQ(c->build, "");
}

TEST_F(TrustTest, Layer1ChecksNeedOnlyABuildThatOpensTheScene) {
  Describe(worker_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier_, Builds({{"4.2.0", kOidn}}));
  Describe(verifier2_, Builds({{"3.4.1", kOidn}}));
  Job job = SubmitScene("1-4", 402, {kOidn});
  EXPECT_THAT(RenderAndCheck(job, 3), ElementsAre(domain::kRegions, domain::kRegions, domain::kRegions));
  Task t = MustClaim(worker_);
  ASSERT_TRUE(scheduler_->ReportFrame(GetNode(worker_.id), t.id, 4, ShaOf(4), KeyOf(t.id, 4), 1.0).ok());
  ASSERT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued).size(), 1u);
  ASSERT_EQ(TasksOf(job.id, TaskKind::kVerify, TaskState::kQueued)[0].level, domain::kLayer1Only);
  EXPECT_FALSE(TryClaim(verifier2_).has_value());               // its Blender cannot open a 4.2 scene
  Describe(verifier2_, Builds({{"3.4.1", kOidn}, {"4.4.0"}}));  // a newer one without the denoiser
  auto v = TryClaim(verifier2_);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->task.level, domain::kLayer1Only);
  EXPECT_EQ(v->build, "4.4.0");
}

}  // namespace
}  // namespace inferix::manager
