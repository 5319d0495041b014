// The Store contract (tests/unit/store/store_contract.hpp): what each Create and Update writes, the orders
// the lists promise, and the batch reads that make a view or a claim one round trip.
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

Output MakeOutput(int64_t job, int frame, int64_t task, int64_t node) {
  Output o;
  o.job_id = job;
  o.frame = frame;
  o.task_id = task;
  o.node_id = node;
  o.blob_key = "outputs/" + std::to_string(job) + "/" + std::to_string(frame);
  o.sha256 = Sha256Hex(o.blob_key);
  o.created_ms = 100 + frame;
  return o;
}

TEST_P(StoreContract, CreateNodeStoresEveryField) {
  Node n;
  n.name = "gpu-box";
  n.role = NodeRole::kVerifier;
  n.public_key = "key";
  n.capabilities_json = R"({"cpu_threads":8})";
  n.banned = true;
  n.ban_reason = "imported as banned";
  n.det_class = "blender-4.2/x86_64/cpu";
  n.last_seen_ms = 5;
  n.accepted = 3;
  n.rejected = 1;
  n.streak = 2;
  const int64_t id = *store_->CreateNode(n, "token-hash");
  const Node got = **store_->GetNode(id);
  EXPECT_EQ(got.name, n.name);
  EXPECT_EQ(got.role, NodeRole::kVerifier);
  EXPECT_EQ(got.capabilities_json, n.capabilities_json);
  EXPECT_TRUE(got.banned);
  EXPECT_EQ(got.ban_reason, n.ban_reason);
  EXPECT_EQ(got.det_class, n.det_class);
  EXPECT_EQ(got.last_seen_ms, 5);
  EXPECT_EQ(got.accepted, 3);
  EXPECT_EQ(got.rejected, 1);
  EXPECT_EQ(got.streak, 2);
}

TEST_P(StoreContract, CreateOutputStoresEveryFieldAndUpdateOnlyTheVerification) {
  const int64_t job = NewJob();
  Output o = MakeOutput(job, 4, 9, 2);
  o.render_seconds = 1.5;
  o.render_cpu_seconds = 2.5;
  o.det_class = "blender-4.2/x86_64/cpu";
  o.replica_of = 77;
  o.verdict = Verdict::kAccepted;
  o.verdict_detail = "checked";
  o.verifier_node_id = 3;
  o.verify_seconds = 0.5;
  o.verify_cpu_seconds = 0.75;
  o.preview_key = "previews/1/4.png";
  o.method = R"({"level":1})";
  o.credited = true;
  const int64_t id = *store_->CreateOutput(o);
  Output got = **store_->GetOutput(id);
  EXPECT_EQ(got.verdict, Verdict::kAccepted);
  EXPECT_EQ(got.verdict_detail, "checked");
  EXPECT_EQ(got.verifier_node_id, 3);
  EXPECT_DOUBLE_EQ(got.verify_cpu_seconds, 0.75);
  EXPECT_EQ(got.preview_key, "previews/1/4.png");
  EXPECT_EQ(got.method, R"({"level":1})");
  EXPECT_TRUE(got.credited);
  EXPECT_EQ(got.replica_of, 77);
  EXPECT_DOUBLE_EQ(got.render_cpu_seconds, 2.5);

  // What the worker reported is fixed: an update writes only the verification's fields.
  Output u = got;
  u.sha256 = Sha256Hex("another image");
  u.blob_key = "outputs/elsewhere";
  u.node_id = 99;
  u.frame = 5;
  u.credited = false;
  u.verdict = Verdict::kRejected;
  ASSERT_TRUE(store_->UpdateOutput(u).ok());
  got = **store_->GetOutput(id);
  EXPECT_EQ(got.sha256, o.sha256);
  EXPECT_EQ(got.blob_key, o.blob_key);
  EXPECT_EQ(got.node_id, 2);
  EXPECT_EQ(got.frame, 4);
  EXPECT_FALSE(got.credited);
  EXPECT_EQ(got.verdict, Verdict::kRejected);
}

TEST_P(StoreContract, UpdateTaskKeepsWhatIsFixedAtCreation) {
  const int64_t job = NewJob();
  Task t = MakeTask(job, {1, 2}, TaskKind::kVerify);
  t.output_id = 5;
  t.level = 2;
  const int64_t id = NewTask(t);
  Task u = **store_->GetTask(id);
  u.kind = TaskKind::kRender;
  u.output_id = 6;
  u.level = 0;
  u.state = TaskState::kActive;
  u.node_id = 4;
  u.frames = {1};
  ASSERT_TRUE(store_->UpdateTask(u).ok());
  const Task got = **store_->GetTask(id);
  EXPECT_EQ(got.kind, TaskKind::kVerify);
  EXPECT_EQ(got.output_id, 5);
  EXPECT_EQ(got.level, 2);
  EXPECT_EQ(got.state, TaskState::kActive);
  EXPECT_EQ(got.node_id, 4);
  EXPECT_THAT(got.frames, ElementsAre(1));
}

TEST_P(StoreContract, UpdatesOfUnknownIdsChangeNothingAndAreNotErrors) {
  Job j = MakeJob(alice_);
  j.id = 4242;
  EXPECT_TRUE(store_->UpdateJob(j).ok());
  EXPECT_FALSE(store_->GetJob(4242)->has_value());
  Task t = MakeTask(1, {1});
  t.id = 4242;
  EXPECT_TRUE(store_->UpdateTask(t).ok());
  EXPECT_FALSE(store_->GetTask(4242)->has_value());
  Output o;
  o.id = 4242;
  EXPECT_TRUE(store_->UpdateOutput(o).ok());
  Node n;
  n.id = 4242;
  EXPECT_TRUE(store_->UpdateNode(n).ok());
  EXPECT_TRUE(store_->TouchNode(4242, 1).ok());
  EXPECT_FALSE(store_->GetNode(4242)->has_value());
}

TEST_P(StoreContract, GetJobsAndGetOutputsReadMany) {
  const int64_t a = NewJob();
  const int64_t b = NewJob();
  const int64_t c = NewJob();
  EXPECT_THAT(Ids(*store_->GetJobs({c, a, a, 9999})), ElementsAre(a, c));
  EXPECT_THAT(*store_->GetJobs({}), IsEmpty());
  const int64_t o1 = *store_->CreateOutput(MakeOutput(b, 1, 1, 1));
  const int64_t o2 = *store_->CreateOutput(MakeOutput(b, 2, 1, 1));
  auto outs = *store_->GetOutputs({o2, 12345, o1});
  EXPECT_THAT(Ids(outs), ElementsAre(o1, o2));
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[1].frame, 2);
}

TEST_P(StoreContract, FramesInBatches) {
  const int64_t job = NewJob();
  std::vector<Frame> frames;
  for (int n : {3, 1, 2, 7}) {
    Frame f = FrameOf(job, n);
    f.state = n == 7 ? FrameState::kDelivered : FrameState::kQueued;
    frames.push_back(f);
  }
  ASSERT_TRUE(store_->PutFrames(frames).ok());
  auto some = *store_->GetFrames(job, {7, 2, 99});
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].number, 2);
  EXPECT_EQ(some[1].number, 7);
  EXPECT_EQ(some[1].state, FrameState::kDelivered);
  EXPECT_TRUE(store_->GetFrames(job + 1, {1})->empty());

  // Atomic: a batch that fails part-way writes nothing (frames need an existing job).
  Frame good = FrameOf(job, 1);
  good.state = FrameState::kRendering;
  const Frame orphan = FrameOf(job + 1000, 1);
  EXPECT_FALSE(store_->PutFrames({good, orphan}).ok());
  EXPECT_EQ((**store_->GetFrame(job, 1)).state, FrameState::kQueued);
}

TEST_P(StoreContract, CountFramesByJobIsPerUser) {
  const int64_t a = NewJob();
  const int64_t b = NewJob();
  NewJob();  // no frames: absent
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  const int64_t bobs = *store_->CreateJob(MakeJob(bob));
  std::vector<Frame> frames;
  for (int n = 1; n <= 3; ++n) frames.push_back(FrameOf(a, n));
  frames[2].state = FrameState::kDelivered;
  Frame r = FrameOf(b, 1);
  r.state = FrameState::kRendering;
  frames.push_back(r);
  frames.push_back(FrameOf(bobs, 1));
  ASSERT_TRUE(store_->PutFrames(frames).ok());
  auto counts = *store_->CountFramesByJob(alice_);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[a].queued, 2);
  EXPECT_EQ(counts[a].delivered, 1);
  EXPECT_EQ(counts[a].Total(), 3);
  EXPECT_EQ(counts[b].rendering, 1);
  EXPECT_EQ(counts[b].Total(), 1);
  EXPECT_EQ(store_->CountFramesByJob(bob)->size(), 1u);
}

TEST_P(StoreContract, ActiveTasksByNodeThenId) {
  const int64_t job = NewJob();
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(NewTask(MakeTask(job, {i})));
  auto hold = [&](int64_t id, int64_t node) {
    Task t = **store_->GetTask(id);
    t.state = TaskState::kActive;
    t.node_id = node;
    ASSERT_TRUE(store_->UpdateTask(t).ok());
  };
  hold(ids[0], 9);
  hold(ids[1], 3);
  hold(ids[3], 3);
  EXPECT_THAT(Ids(*store_->ListActiveTasks()), ElementsAre(ids[1], ids[3], ids[0]));
  EXPECT_THAT(Ids(*store_->ListNodeTasks(3)), ElementsAre(ids[1], ids[3]));
}

TEST_P(StoreContract, BlocklistIsIdempotentAndReadByNode) {
  const int64_t a = NewJob();
  const int64_t b = NewJob();
  ASSERT_TRUE(store_->AddToBlocklist({b, 7, "failed 3 tasks", 100}).ok());
  ASSERT_TRUE(store_->AddToBlocklist({b, 7, "again", 200}).ok());
  ASSERT_TRUE(store_->AddToBlocklist({a, 7, "failed here too", 300}).ok());
  ASSERT_TRUE(store_->AddToBlocklist({a, 8, "another worker", 50}).ok());
  EXPECT_THAT(*store_->ListBlocklistedJobs(7), ElementsAre(a, b));
  EXPECT_THAT(*store_->ListBlocklistedJobs(9), IsEmpty());
  auto list = *store_->ListBlocklist(b);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].reason, "failed 3 tasks");  // the first reason stays
  auto on_a = *store_->ListBlocklist(a);
  ASSERT_EQ(on_a.size(), 2u);
  EXPECT_EQ(on_a[0].node_id, 8);  // oldest first
}

TEST_P(StoreContract, VerifyTasksOfCompletedJobsStayClaimable) {
  const int64_t done = NewJob(0, JobState::kCompleted);
  const int64_t failed = NewJob(0, JobState::kFailed);
  const int64_t verify_done = NewTask(MakeTask(done, {1}, TaskKind::kVerify));
  NewTask(MakeTask(failed, {1}, TaskKind::kVerify));
  NewTask(MakeTask(done, {2}));  // a render task of a completed job is not handed out
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kVerify, 0, std::nullopt}, 10)),
              ElementsAre(verify_done));
  EXPECT_THAT(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kRender, 0, std::nullopt}, 10),
              IsEmpty());
}

TEST_P(StoreContract, NodeOutputsNewestFirstAndOutputsByShaOldestFirst) {
  const int64_t job = NewJob();
  Output same = MakeOutput(job, 1, 1, 5);
  const int64_t o1 = *store_->CreateOutput(same);
  same.task_id = 2;
  same.node_id = 6;
  const int64_t o2 = *store_->CreateOutput(same);
  const int64_t o3 = *store_->CreateOutput(MakeOutput(job, 2, 1, 5));
  EXPECT_THAT(Ids(*store_->ListNodeOutputs(5, 10)), ElementsAre(o3, o1));
  EXPECT_THAT(Ids(*store_->ListNodeOutputs(5, 1)), ElementsAre(o3));
  EXPECT_THAT(Ids(*store_->FindOutputsBySha(same.sha256)), ElementsAre(o1, o2));
}

TEST_P(StoreContract, AUsersFilesAndEventsAreNeverAnothers) {
  const int64_t bob = *store_->CreateUser("bob", "hash-bob");
  ASSERT_TRUE(store_->AddUserFile(bob, kSceneSha, 10).ok());
  EXPECT_FALSE(*store_->UserHasFile(alice_, kSceneSha));
  const int64_t bobs_job = *store_->CreateJob(MakeJob(bob));
  ASSERT_TRUE(store_->AppendEvent({0, bob, bobs_job, "job", "{}", 1}).ok());
  // Asking for bob's job as alice gives nothing.
  EXPECT_THAT(*store_->ListEvents(alice_, bobs_job, 0, 10, true), IsEmpty());
  EXPECT_EQ(store_->ListEvents(bob, bobs_job, 0, 10, false)->size(), 1u);
}

TEST_P(StoreContract, CountJobFramesFollowsEveryWrite) {
  const int64_t a = NewJob(0, JobState::kCanceled);
  const int64_t b = NewJob();
  std::vector<Frame> frames;
  for (int n = 1; n <= 4; ++n) frames.push_back(FrameOf(a, n));
  frames.push_back(FrameOf(b, 1));
  ASSERT_TRUE(store_->PutFrames(frames).ok());
  EXPECT_EQ(store_->CountJobFrames(a)->queued, 4);
  Frame f = FrameOf(a, 2);
  f.state = FrameState::kRendering;
  ASSERT_TRUE(store_->PutFrame(f).ok());
  f = FrameOf(a, 3);
  f.state = FrameState::kDelivered;
  ASSERT_TRUE(store_->PutFrame(f).ok());
  f = FrameOf(a, 4);  // written again in the same state: counted once
  f.errors = "a retry";
  ASSERT_TRUE(store_->PutFrame(f).ok());
  auto r = store_->Transaction([&]() -> Result<void> {  // rolled back: not counted
    Frame g = FrameOf(a, 1);
    g.state = FrameState::kFailed;
    INFERIX_TRY(store_->PutFrame(g));
    return MakeError(Errc::kInvalidArgument, "no");
  });
  ASSERT_FALSE(r.ok());
  auto counts = *store_->CountJobFrames(a);
  EXPECT_EQ(counts.queued, 2);
  EXPECT_EQ(counts.rendering, 1);
  EXPECT_EQ(counts.delivered, 1);
  EXPECT_EQ(counts.failed, 0);
  EXPECT_EQ(counts.Total(), 4);
  EXPECT_EQ(store_->CountJobFrames(b)->Total(), 1);
  EXPECT_EQ(store_->CountJobFrames(9999)->Total(), 0);
  EXPECT_EQ(store_->CountFramesByJob(alice_)->at(a).rendering, 1);
  ASSERT_TRUE(store_->DeleteJob(a).ok());
  EXPECT_EQ(store_->CountJobFrames(a)->Total(), 0);
  EXPECT_EQ(store_->CountFramesByJob(alice_)->count(a), 0u);
  EXPECT_EQ(store_->CountJobFrames(b)->queued, 1);
}

TEST_P(StoreContract, GetNodesReadsMany) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    Node n;
    n.name = "node-" + std::to_string(i);
    n.role = NodeRole::kWorker;
    n.public_key = "key";
    ids.push_back(*store_->CreateNode(n, "token-" + std::to_string(i)));
  }
  auto got = *store_->GetNodes({ids[2], ids[0], ids[0], 9999});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[0].name, "node-0");
  EXPECT_EQ(got[1].id, ids[2]);
  EXPECT_THAT(*store_->GetNodes({}), IsEmpty());
}

}  // namespace
}  // namespace inferix::store::contract
