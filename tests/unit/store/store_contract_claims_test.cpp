// The Store contract (tests/unit/store/store_contract.hpp) of claims (issue #14): the query finds the task a
// node may take whatever sits ahead of it, the counts behind the per-node caps, a task's progress, and the
// work of banned nodes.
#include "domain/trust.hpp"
#include "store_contract.hpp"

namespace inferix::store::contract {
namespace {

using domain::ClaimFilter;
using ::testing::Pair;

Output OutputOf(int64_t job, int frame, int64_t node, const std::string& det_class) {
  Output o;
  o.job_id = job;
  o.frame = frame;
  o.task_id = 1000 + frame;
  o.node_id = node;
  o.blob_key = "outputs/" + std::to_string(job) + "/" + std::to_string(frame);
  o.sha256 = Sha256Hex(o.blob_key);
  o.det_class = det_class;
  o.created_ms = 100;
  return o;
}

// Issue #14, found item 4: 300 checks of a class this verifier does not have sit ahead of the one it has.
TEST_P(StoreContract, AClaimFindsTheOnlyTaskOfItsClassBehindThreeHundredOthers) {
  auto job = NewJob(0, JobState::kActive);
  auto rogue = NewNode("rogue");
  auto honest = NewNode("honest");
  auto verifier = NewNode("verifier", NodeRole::kVerifier);
  for (int f = 1; f <= 300; ++f) {
    auto out = store_->CreateOutput(OutputOf(job, f, rogue, "made-up-9.9"));
    ASSERT_TRUE(out.ok());
    Task t = MakeTask(job, {f}, TaskKind::kVerify);
    t.output_id = *out;
    NewTask(t);
  }
  auto mine = *store_->CreateOutput(OutputOf(job, 301, honest, "cpu-x86-4.2"));
  Task t = MakeTask(job, {301}, TaskKind::kVerify);
  t.output_id = mine;
  auto wanted = NewTask(t);

  ClaimFilter filter{TaskKind::kVerify, verifier, std::vector<std::string>{"cpu-x86-4.2"}};
  auto found = store_->ListClaimableTasks(filter, 1);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_THAT(Ids(*found), ElementsAre(wanted));
  // Without the class filter, the same page is all the other class's.
  EXPECT_EQ(store_->ListClaimableTasks(ClaimFilter{TaskKind::kVerify, 0, std::nullopt}, 200)->size(), 200u);
}

TEST_P(StoreContract, AClaimLeavesOutJobsTheNodeIsBlocklistedOnAndTasksThatExcludeIt) {
  auto big = NewJob(10, JobState::kActive);
  auto other = NewJob(0, JobState::kActive);
  auto worker = NewNode("worker");
  for (int f = 1; f <= 250; ++f) NewTask(MakeTask(big, {f}));
  Task excluding = MakeTask(other, {1});
  excluding.excluded_nodes = {worker + 7, worker};
  NewTask(excluding);
  auto wanted = NewTask(MakeTask(other, {2}));
  ASSERT_TRUE(store_->AddToBlocklist({big, worker, "failed 3 tasks", 5}).ok());

  auto found = store_->ListClaimableTasks(ClaimFilter{TaskKind::kRender, worker, std::nullopt}, 10);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_THAT(Ids(*found), ElementsAre(wanted));
  // Another node sees them all, in priority order.
  auto other_node = NewNode("other");
  EXPECT_EQ(
      store_->ListClaimableTasks(ClaimFilter{TaskKind::kRender, other_node, std::nullopt}, 1000)->size(),
      252u);
  // An excluded id that is a prefix or suffix of this one's digits does not exclude it.
  Task near = MakeTask(other, {3});
  near.excluded_nodes = {worker * 10 + 1, worker + 10};
  auto kept = NewTask(near);
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(ClaimFilter{TaskKind::kRender, worker, std::nullopt}, 10)),
              ElementsAre(wanted, kept));
}

TEST_P(StoreContract, AClaimLeavesOutChecksOfTheNodesOwnOutputsAndPagesInOrder) {
  auto job = NewJob(0, JobState::kActive);
  auto high = NewJob(5, JobState::kActive);
  auto node = NewNode("both");
  auto worker = NewNode("worker");
  auto own = *store_->CreateOutput(OutputOf(job, 1, node, ""));
  Task t = MakeTask(job, {1}, TaskKind::kVerify);
  t.output_id = own;
  NewTask(t);
  std::vector<int64_t> expected;
  for (int f = 2; f <= 6; ++f) {
    auto out = *store_->CreateOutput(OutputOf(f % 2 == 0 ? high : job, f, worker, "c"));
    Task v = MakeTask(f % 2 == 0 ? high : job, {f}, TaskKind::kVerify);
    v.output_id = out;
    // Layer 1 only (level -1) needs no class; an output without a class is anyone's.
    v.level = f == 3 ? domain::kLayer1Only : domain::kRegions;
    expected.push_back(NewTask(v));
  }
  // Order: the priority-5 job's (frames 2, 4, 6), then the other's (3, 5); class "c" allowed.
  const std::vector<int64_t> order = {expected[0], expected[2], expected[4], expected[1], expected[3]};
  ClaimFilter filter{TaskKind::kVerify, node, std::vector<std::string>{"c"}};
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(filter, 2, 0)), ElementsAre(order[0], order[1]));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(filter, 2, 2)), ElementsAre(order[2], order[3]));
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(filter, 2, 4)), ElementsAre(order[4]));
  // A node of no class gets only the layer-1 check.
  ClaimFilter classless{TaskKind::kVerify, node, std::vector<std::string>{}};
  EXPECT_THAT(Ids(*store_->ListClaimableTasks(classless, 10)), ElementsAre(expected[1]));
}

TEST_P(StoreContract, NodeClaimsAreCountedByHourOverADay) {
  auto a = NewNode("a");
  auto b = NewNode("b");
  const int64_t h = domain::kClaimHourMs;
  const int64_t start = 1000 * h + 5;
  EXPECT_EQ(store_->NodeClaimsInDay(a, start)->count, 0);
  ASSERT_TRUE(store_->CountNodeClaim(a, start).ok());
  ASSERT_TRUE(store_->CountNodeClaim(a, start + 10).ok());
  ASSERT_TRUE(store_->CountNodeClaim(a, start + 2 * h).ok());
  ASSERT_TRUE(store_->CountNodeClaim(b, start).ok());
  auto day = store_->NodeClaimsInDay(a, start + 2 * h);
  ASSERT_TRUE(day.ok()) << day.error().message;
  EXPECT_EQ(day->count, 3);
  EXPECT_EQ(day->oldest_hour, 1000);
  EXPECT_EQ(store_->NodeClaimsInDay(b, start)->count, 1);
  // 24 hours on, the first hour has left the day.
  auto later = store_->NodeClaimsInDay(a, start + 24 * h);
  EXPECT_EQ(later->count, 1);
  EXPECT_EQ(later->oldest_hour, 1002);
  ASSERT_TRUE(store_->CountNodeClaim(a, start + 30 * h).ok());
  EXPECT_EQ(store_->NodeClaimsInDay(a, start + 30 * h)->count, 1);
}

TEST_P(StoreContract, ATasksProgressIsStoredAndUpdated) {
  auto job = NewJob(0, JobState::kActive);
  Task t = MakeTask(job, {1});
  t.progress = 3;
  t.progress_ms = 4000;
  auto id = NewTask(t);
  auto got = **store_->GetTask(id);
  EXPECT_EQ(got.progress, 3);
  EXPECT_EQ(got.progress_ms, 4000);
  got.progress = 9;
  got.progress_ms = 7000;
  ASSERT_TRUE(store_->UpdateTask(got).ok());
  got = **store_->GetTask(id);
  EXPECT_EQ(got.progress, 9);
  EXPECT_EQ(got.progress_ms, 7000);
}

TEST_P(StoreContract, TheWorkOfBannedNodesIsListed) {
  auto job = NewJob(0, JobState::kActive);
  auto good = NewNode("good");
  auto bad = NewNode("bad");
  Task held = MakeTask(job, {1});
  held.state = TaskState::kActive;
  held.node_id = bad;
  auto bad_task = NewTask(held);
  held.node_id = good;
  held.frames = {2};
  NewTask(held);
  auto pending = *store_->CreateOutput(OutputOf(job, 3, bad, "x"));
  Output settled = OutputOf(job, 4, bad, "x");
  settled.verdict = Verdict::kAccepted;
  ASSERT_TRUE(store_->CreateOutput(settled).ok());
  ASSERT_TRUE(store_->CreateOutput(OutputOf(job, 5, good, "x")).ok());
  EXPECT_THAT(*store_->ListBannedNodesTasks(), IsEmpty());
  EXPECT_THAT(*store_->ListBannedNodesPendingOutputs(10), IsEmpty());
  Node n = **store_->GetNode(bad);
  n.banned = true;
  ASSERT_TRUE(store_->UpdateNode(n).ok());
  EXPECT_THAT(Ids(*store_->ListBannedNodesTasks()), ElementsAre(bad_task));
  EXPECT_THAT(Ids(*store_->ListBannedNodesPendingOutputs(10)), ElementsAre(pending));
}

TEST_P(StoreContract, ClassBoundChecksAreCountedByClass) {
  auto job = NewJob(0, JobState::kActive);
  auto done = NewJob(0, JobState::kCanceled);
  auto worker = NewNode("worker");
  auto mk = [&](int64_t j, int frame, const std::string& c, int level) {
    auto out = *store_->CreateOutput(OutputOf(j, frame, worker, c));
    Task v = MakeTask(j, {frame}, TaskKind::kVerify);
    v.output_id = out;
    v.level = level;
    return NewTask(v);
  };
  mk(job, 1, "made-up", domain::kRegions);
  mk(job, 2, "made-up", domain::kMoreRegions);
  mk(job, 3, "cpu", domain::kRegions);
  mk(job, 4, "cpu", domain::kLayer1Only);  // any verifier may take it
  mk(job, 5, "", domain::kRegions);        // no class: any verifier
  mk(done, 6, "gone", domain::kRegions);   // a canceled job's: not claimable
  auto counts = store_->CountClassBoundChecks();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_THAT(*counts, ElementsAre(Pair("cpu", 1), Pair("made-up", 2)));
}

}  // namespace
}  // namespace inferix::store::contract
