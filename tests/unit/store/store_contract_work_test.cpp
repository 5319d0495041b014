// The Store contract (tests/unit/store/store_contract.hpp): jobs, frames, tasks and outputs.
#include <stdexcept>

#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

TEST_P(StoreContract, JobRoundTrip) {
  Job in = MakeJob(alice_, 7, JobState::kActive);
  in.message = "multi\nline";
  in.started_ms = 42;
  in.finished_ms = 99;
  auto id = store_->CreateJob(in);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto got = store_->GetJob(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  const Job& j = **got;
  EXPECT_EQ(j.id, *id);
  EXPECT_EQ(j.user_id, alice_);
  EXPECT_EQ(j.name, "shot 010");
  EXPECT_EQ(j.main_file, "shot.blend");
  ASSERT_EQ(j.files.size(), 2u);
  EXPECT_EQ(j.files[0].path, "shot.blend");
  EXPECT_EQ(j.files[0].sha256, kSceneSha);
  EXPECT_EQ(j.files[0].size, 1234);
  EXPECT_EQ(j.files[1].path, "tex/wood grain 2.png");  // spaces in paths survive
  EXPECT_EQ(j.files[1].sha256, kTexSha);
  EXPECT_EQ(j.files[1].size, 56);
  EXPECT_EQ(j.frames_spec, "1-10x2");
  EXPECT_EQ(j.format, domain::OutputFormat::kExr);
  EXPECT_EQ(j.chunk_size, 3);
  EXPECT_EQ(j.priority, 7);
  EXPECT_EQ(j.state, JobState::kActive);
  EXPECT_EQ(j.message, "multi\nline");
  EXPECT_EQ(j.created_ms, 1000);
  EXPECT_EQ(j.started_ms, 42);
  EXPECT_EQ(j.finished_ms, 99);

  EXPECT_FALSE(store_->GetJob(*id + 1)->has_value());
}

TEST_P(StoreContract, JobSceneFieldsRoundTrip) {
  Job in = MakeJob(alice_);
  in.scene_root = "/home/a/My Project (v2)";
  in.blender_version = 402;
  in.denoisers = {"OPENIMAGEDENOISE", "OPTIX"};
  in.without_denoiser = true;
  in.resolution_percentage = 50;
  in.requirements = {"gpu", int64_t{16} << 30, 306, 402};
  in.engine = "BLENDER_EEVEE";
  auto id = store_->CreateJob(in);
  ASSERT_TRUE(id.ok()) << id.error().message;
  const Job got = **store_->GetJob(*id);
  EXPECT_EQ(got.requirements, in.requirements);
  EXPECT_EQ(got.engine, "BLENDER_EEVEE");
  EXPECT_EQ(got.scene_root, "/home/a/My Project (v2)");
  EXPECT_EQ(got.blender_version, 402);
  EXPECT_THAT(got.denoisers, ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
  EXPECT_TRUE(got.without_denoiser);
  EXPECT_EQ(got.resolution_percentage, 50);

  auto listed = store_->ListJobs(alice_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const Job& l = (*listed)[0];
  EXPECT_EQ(l.scene_root, "/home/a/My Project (v2)");
  EXPECT_EQ(l.blender_version, 402);
  EXPECT_THAT(l.denoisers, ElementsAre("OPENIMAGEDENOISE", "OPTIX"));
  EXPECT_TRUE(l.without_denoiser);
  EXPECT_EQ(l.resolution_percentage, 50);
  EXPECT_EQ(l.requirements, in.requirements);
  EXPECT_EQ(l.engine, "BLENDER_EEVEE");
  auto active = store_->ListJobsInState(JobState::kQueued);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].scene_root, "/home/a/My Project (v2)");
  EXPECT_EQ((*active)[0].engine, "BLENDER_EEVEE");
}

TEST_P(StoreContract, JobSceneFieldsDefaultToNoneAndOneDenoiserIsKept) {
  Job in = MakeJob(alice_);
  in.denoisers = {"OPTIX"};
  const Job one = **store_->GetJob(*store_->CreateJob(in));
  EXPECT_THAT(one.denoisers, ElementsAre("OPTIX"));
  EXPECT_EQ(one.scene_root, "");
  EXPECT_EQ(one.blender_version, 0);
  EXPECT_FALSE(one.without_denoiser);
  EXPECT_EQ(one.resolution_percentage, 0);
  const Job none = **store_->GetJob(*store_->CreateJob(MakeJob(alice_)));
  EXPECT_THAT(none.denoisers, IsEmpty());
}

TEST_P(StoreContract, UpdateJobKeepsTheSceneFields) {
  Job in = MakeJob(alice_);
  in.scene_root = "/";
  in.blender_version = 304;
  in.denoisers = {"OPENIMAGEDENOISE"};
  in.resolution_percentage = 25;
  const int64_t id = *store_->CreateJob(in);
  Job j = **store_->GetJob(id);
  j.state = JobState::kActive;
  j.started_ms = 77;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  const Job got = **store_->GetJob(id);
  EXPECT_EQ(got.state, JobState::kActive);
  EXPECT_EQ(got.scene_root, "/");
  EXPECT_EQ(got.blender_version, 304);
  EXPECT_THAT(got.denoisers, ElementsAre("OPENIMAGEDENOISE"));
  EXPECT_EQ(got.resolution_percentage, 25);
}

TEST_P(StoreContract, JobNeedsAnExistingUser) {
  auto r = store_->CreateJob(MakeJob(alice_ + 999));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("FOREIGN KEY"));
}

TEST_P(StoreContract, ListJobsPerUserAndState) {
  auto bob = *store_->CreateUser("bob", "hash-bob");
  auto a1 = NewJob();
  auto b1 = *store_->CreateJob(MakeJob(bob, 0, JobState::kActive));
  auto a2 = NewJob(0, JobState::kActive);
  auto a3 = NewJob(0, JobState::kCanceled);

  auto alice_jobs = store_->ListJobs(alice_);
  ASSERT_TRUE(alice_jobs.ok());
  std::vector<int64_t> ids;
  for (const auto& j : *alice_jobs) ids.push_back(j.id);
  EXPECT_THAT(ids, ElementsAre(a1, a2, a3));
  ASSERT_EQ(store_->ListJobs(bob)->size(), 1u);
  EXPECT_EQ((*store_->ListJobs(bob))[0].id, b1);
  EXPECT_THAT(*store_->ListJobs(bob + 100), IsEmpty());

  auto active = store_->ListJobsInState(JobState::kActive);
  ASSERT_TRUE(active.ok());
  ids.clear();
  for (const auto& j : *active) ids.push_back(j.id);
  EXPECT_THAT(ids, ElementsAre(b1, a2));
  EXPECT_THAT(*store_->ListJobsInState(JobState::kCompleted), IsEmpty());
}

TEST_P(StoreContract, UpdateJob) {
  auto id = NewJob();
  Job j = **store_->GetJob(id);
  j.state = JobState::kFailed;
  j.message = "frame 3 failed";
  j.priority = 9;
  j.started_ms = 2500;
  j.finished_ms = 5000;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  Job got = **store_->GetJob(id);
  EXPECT_EQ(got.started_ms, 2500);
  EXPECT_EQ(got.state, JobState::kFailed);
  EXPECT_EQ(got.message, "frame 3 failed");
  EXPECT_EQ(got.priority, 9);
  EXPECT_EQ(got.finished_ms, 5000);
  EXPECT_EQ(got.name, "shot 010");
  EXPECT_EQ(got.files.size(), 2u);
}

TEST_P(StoreContract, FramesRoundTripAndReplace) {
  auto job = NewJob();
  Frame f;
  f.job_id = job;
  f.number = -5;
  f.state = FrameState::kVerifying;
  f.task_id = 11;
  f.output_id = 12;
  f.failures = 2;
  f.errors = "w1: crashed\nw2: out of memory\n";
  f.excluded_nodes = {3, 1234567890123};
  ASSERT_TRUE(store_->PutFrame(f).ok());
  ASSERT_TRUE(store_->PutFrame(FrameOf(job, 10)).ok());
  ASSERT_TRUE(store_->PutFrame(FrameOf(job, 2)).ok());

  auto got = store_->GetFrame(job, -5);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->number, -5);
  EXPECT_EQ((*got)->state, FrameState::kVerifying);
  EXPECT_EQ((*got)->task_id, 11);
  EXPECT_EQ((*got)->output_id, 12);
  EXPECT_EQ((*got)->failures, 2);
  EXPECT_EQ((*got)->errors, f.errors);
  EXPECT_THAT((*got)->excluded_nodes, ElementsAre(3, 1234567890123));

  auto plain = **store_->GetFrame(job, 10);
  EXPECT_EQ(plain.state, FrameState::kQueued);
  EXPECT_THAT(plain.excluded_nodes, IsEmpty());

  // Put replaces.
  f.state = FrameState::kDelivered;
  f.excluded_nodes.clear();
  ASSERT_TRUE(store_->PutFrame(f).ok());
  EXPECT_EQ((*store_->GetFrame(job, -5))->state, FrameState::kDelivered);
  EXPECT_THAT((*store_->GetFrame(job, -5))->excluded_nodes, IsEmpty());

  auto all = store_->ListFrames(job);
  ASSERT_TRUE(all.ok());
  std::vector<int> numbers;
  for (const auto& fr : *all) numbers.push_back(fr.number);
  EXPECT_THAT(numbers, ElementsAre(-5, 2, 10));
  EXPECT_FALSE(store_->GetFrame(job, 3)->has_value());
  EXPECT_THAT(*store_->ListFrames(job + 1), IsEmpty());
}

TEST_P(StoreContract, TaskRoundTripAndUpdate) {
  auto job = NewJob();
  Task t = MakeTask(job, {-2, -1, 0, 1});
  t.excluded_nodes = {4, 5};
  t.message = "m";
  auto id = NewTask(t);
  auto got = store_->GetTask(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, id);
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->kind, TaskKind::kRender);
  EXPECT_EQ((*got)->state, TaskState::kQueued);
  EXPECT_THAT((*got)->frames, ElementsAre(-2, -1, 0, 1));
  EXPECT_THAT((*got)->excluded_nodes, ElementsAre(4, 5));
  EXPECT_EQ((*got)->message, "m");
  EXPECT_EQ((*got)->created_ms, 2000);
  EXPECT_EQ((*got)->node_id, 0);

  Task u = **got;
  u.state = TaskState::kActive;
  u.node_id = 9;
  u.lease_expires_ms = 123456;
  u.frames = {1};
  u.excluded_nodes = {};
  u.message = "";
  u.slot = "cuda:1";
  ASSERT_TRUE(store_->UpdateTask(u).ok());
  Task after = **store_->GetTask(id);
  EXPECT_EQ(after.slot, "cuda:1");
  EXPECT_EQ(after.state, TaskState::kActive);
  EXPECT_EQ(after.node_id, 9);
  EXPECT_EQ(after.lease_expires_ms, 123456);
  EXPECT_THAT(after.frames, ElementsAre(1));
  EXPECT_THAT(after.excluded_nodes, IsEmpty());
  EXPECT_EQ(after.message, "");

  Task v = MakeTask(job, {1}, TaskKind::kVerify);
  v.output_id = 77;
  auto vid = NewTask(v);
  EXPECT_EQ((*store_->GetTask(vid))->kind, TaskKind::kVerify);
  EXPECT_EQ((*store_->GetTask(vid))->output_id, 77);
  EXPECT_FALSE(store_->GetTask(vid + 100)->has_value());
  EXPECT_THAT(Ids(*store_->ListJobTasks(job)), ElementsAre(id, vid));
}

TEST_P(StoreContract, ClaimableTasksByPriorityThenId) {
  auto low = NewJob(0);
  auto high = NewJob(10, JobState::kActive);
  auto mid = NewJob(5);
  auto t1 = NewTask(MakeTask(low, {1}));
  auto t2 = NewTask(MakeTask(high, {1}));
  auto t3 = NewTask(MakeTask(mid, {1}));
  auto t4 = NewTask(MakeTask(high, {2}));
  auto t5 = NewTask(MakeTask(low, {2}));
  auto claimable = store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kRender, 0, std::nullopt}, 100);
  ASSERT_TRUE(claimable.ok()) << claimable.error().message;
  EXPECT_THAT(Ids(*claimable), ElementsAre(t2, t4, t3, t1, t5));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kRender, 0, std::nullopt}, 2)),
              ElementsAre(t2, t4));
}

TEST_P(StoreContract, ClaimableTasksSkipFinishedJobsOtherStatesAndKinds) {
  auto live = NewJob(0, JobState::kActive);
  auto canceled = NewJob(100, JobState::kCanceled);
  auto completed = NewJob(100, JobState::kCompleted);
  auto failed = NewJob(100, JobState::kFailed);
  NewTask(MakeTask(canceled, {1}));
  NewTask(MakeTask(completed, {1}));
  NewTask(MakeTask(failed, {1}));
  auto queued = NewTask(MakeTask(live, {1}));
  Task active = MakeTask(live, {2});
  active.state = TaskState::kActive;
  NewTask(active);
  Task done = MakeTask(live, {3});
  done.state = TaskState::kDone;
  NewTask(done);
  Task verify = MakeTask(live, {1}, TaskKind::kVerify);
  auto vid = NewTask(verify);

  EXPECT_THAT(Ids(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kRender, 0, std::nullopt}, 100)),
              ElementsAre(queued));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kVerify, 0, std::nullopt}, 100)),
              ElementsAre(vid));

  // A job canceled later takes its queued tasks out of the queue.
  Job j = **store_->GetJob(live);
  j.state = JobState::kCanceled;
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  EXPECT_THAT(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kRender, 0, std::nullopt}, 100),
              IsEmpty());
  EXPECT_THAT(*store_->ListClaimableTasks(domain::ClaimFilter{TaskKind::kVerify, 0, std::nullopt}, 100),
              IsEmpty());
}

TEST_P(StoreContract, ExpiredTasks) {
  auto job = NewJob(0, JobState::kActive);
  auto lease = [&](int64_t expires, TaskState state) {
    Task t = MakeTask(job, {1});
    t.state = state;
    t.node_id = 1;
    t.lease_expires_ms = expires;
    return NewTask(t);
  };
  auto old = lease(900, TaskState::kActive);
  lease(1000, TaskState::kActive);  // ends exactly now: not yet expired
  lease(5000, TaskState::kActive);
  lease(100, TaskState::kDone);
  lease(100, TaskState::kQueued);
  auto older = lease(1, TaskState::kActive);
  auto expired = store_->ListExpiredTasks(1000);
  ASSERT_TRUE(expired.ok());
  std::set<int64_t> ids;
  for (const auto& t : *expired) ids.insert(t.id);
  EXPECT_EQ(ids, (std::set<int64_t>{old, older}));
  EXPECT_THAT(*store_->ListExpiredTasks(0), IsEmpty());
}

TEST_P(StoreContract, OutputsRoundTrip) {
  auto job = NewJob();
  Output o;
  o.job_id = job;
  o.frame = 3;
  o.task_id = 21;
  o.node_id = 4;
  o.blob_key = "outputs/1/21_3_abc";
  o.sha256 = kTexSha;
  o.render_seconds = 12.5;
  o.created_ms = 3000;
  auto id = store_->CreateOutput(o);
  ASSERT_TRUE(id.ok()) << id.error().message;

  auto got = store_->GetOutput(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, *id);
  EXPECT_EQ((*got)->job_id, job);
  EXPECT_EQ((*got)->frame, 3);
  EXPECT_EQ((*got)->task_id, 21);
  EXPECT_EQ((*got)->node_id, 4);
  EXPECT_EQ((*got)->blob_key, "outputs/1/21_3_abc");
  EXPECT_EQ((*got)->sha256, kTexSha);
  EXPECT_DOUBLE_EQ((*got)->render_seconds, 12.5);
  EXPECT_EQ((*got)->verdict, Verdict::kPending);
  EXPECT_EQ((*got)->created_ms, 3000);

  auto by_task = store_->FindOutput(21, 3);
  ASSERT_TRUE(by_task.ok() && by_task->has_value());
  EXPECT_EQ((*by_task)->id, *id);
  EXPECT_FALSE(store_->FindOutput(21, 4)->has_value());
  EXPECT_FALSE(store_->FindOutput(22, 3)->has_value());

  // One output per task and frame.
  EXPECT_FALSE(store_->CreateOutput(o).ok());

  Output u = **got;
  u.verdict = Verdict::kRejected;
  u.verdict_detail = "region 2: 40% of pixels differ";
  u.verifier_node_id = 8;
  u.verify_seconds = 1.75;
  ASSERT_TRUE(store_->UpdateOutput(u).ok());
  Output after = **store_->GetOutput(*id);
  EXPECT_EQ(after.verdict, Verdict::kRejected);
  EXPECT_EQ(after.verdict_detail, "region 2: 40% of pixels differ");
  EXPECT_EQ(after.verifier_node_id, 8);
  EXPECT_DOUBLE_EQ(after.verify_seconds, 1.75);
  EXPECT_EQ(after.sha256, kTexSha);
}

TEST_P(StoreContract, ListOutputsByFrameThenId) {
  auto job = NewJob();
  auto other = NewJob();
  auto add = [&](int64_t job_id, int frame, int64_t task) {
    Output o;
    o.job_id = job_id;
    o.frame = frame;
    o.task_id = task;
    o.blob_key = "k";
    o.sha256 = kSceneSha;
    return *store_->CreateOutput(o);
  };
  auto a = add(job, 5, 1);
  auto b = add(job, 1, 2);
  auto c = add(job, 5, 3);
  add(other, 1, 4);
  auto list = store_->ListOutputs(job);
  ASSERT_TRUE(list.ok());
  std::vector<int64_t> ids;
  for (const auto& o : *list) ids.push_back(o.id);
  EXPECT_THAT(ids, ElementsAre(b, a, c));
}

}  // namespace
}  // namespace inferix::store::contract
