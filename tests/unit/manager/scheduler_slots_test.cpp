// The scheduler: a node's render slots (issue #17). Each lent GPU is a slot that claims and renders a task of
// its own; the task records its slot, and the outputs it renders are of that device's determinism class,
// which only a verifier slot of the same class may check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "manager/codec.hpp"
#include "scheduler_fixture.hpp"

namespace inferix::manager::scheduler_test {
namespace {

using nlohmann::json;

json Slot(const std::string& id, const std::string& type, const std::string& name) {
  return {{"id", id}, {"type", type}, {"name", name}, {"memory_bytes", int64_t{24} << 30}};
}

// A machine of Blender 3.4.1 on x86_64 lending these slots.
json Machine(const json& slots) {
  return {{"arch", "x86_64"},
          {"device", "cpu"},
          {"blenders", {{{"version", "3.4.1"}, {"denoisers", json::array()}}}},
          {"devices", slots},
          {"slots", slots}};
}

const json kTwoGpus = {Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090"),
                       Slot("optix:1", "OPTIX", "NVIDIA GeForce RTX 3090")};

std::optional<manager::Claim> ClaimOn(Scheduler& s, const Node& node, const std::string& slot) {
  auto c = s.ClaimTask(node, {}, slot);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : std::nullopt;
}

TEST_P(SchedulerTest, EachSlotHoldsATaskOfItsOwnAndItsOutputsAreOfItsDevicesClass) {
  Describe(worker_, Machine(kTwoGpus));
  // A verifier of each card's class (without one, a slot's renders are held back: scheduler_held_test.cpp).
  Describe(verifier_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090")})));
  Describe(verifier2_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 3090")})));
  SubmitScene("1-4", 304);
  auto first = ClaimOn(*scheduler_, worker_, "optix:0");
  auto second = ClaimOn(*scheduler_, worker_, "optix:1");
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->task.id, second->task.id);
  EXPECT_EQ((**store_->GetTask(first->task.id)).slot, "optix:0");
  EXPECT_EQ((**store_->GetTask(second->task.id)).slot, "optix:1");
  MustReport(worker_, first->task.id, first->task.frames.front());
  MustReport(worker_, second->task.id, second->task.frames.front());
  EXPECT_EQ((**store_->FindOutput(first->task.id, first->task.frames.front())).det_class,
            "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 4090");
  EXPECT_EQ((**store_->FindOutput(second->task.id, second->task.frames.front())).det_class,
            "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 3090");
}

TEST_P(SchedulerTest, ASlotTheNodeDidNotRegisterIsRefused) {
  Describe(worker_, Machine(kTwoGpus));
  SubmitScene("1", 304);
  auto c = scheduler_->ClaimTask(worker_, {}, "cuda:7");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(c.error().message, HasSubstr("no slot cuda:7"));
  // A node from before slots lends its CPU, named or not.
  EXPECT_TRUE(scheduler_->ClaimTask(worker2_, {}, "cpu").ok());
  EXPECT_FALSE(scheduler_->ClaimTask(worker2_, {}, "cuda:0").ok());
}

TEST_P(SchedulerTest, AGpuOutputIsCheckedOnlyByAVerifierSlotOfTheSameModel) {
  Describe(worker_, Machine(kTwoGpus));
  Describe(verifier_, Machine(json::array({Slot("cpu", "CPU", "some CPU")})));
  Describe(verifier2_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 3090")})));
  SubmitScene("1", 304);
  auto c = ClaimOn(*scheduler_, worker_, "optix:1");  // the 3090
  ASSERT_TRUE(c.has_value());
  MustReport(worker_, c->task.id, 1);
  ASSERT_EQ(TasksOf(c->task.job_id, TaskKind::kVerify)[0].level, domain::kRegions);
  // The class is waiting without a verifier until one of its class claims.
  EXPECT_FALSE(ClaimOn(*scheduler_, verifier_, "cpu").has_value());
  auto v = ClaimOn(*scheduler_, verifier2_, "optix:0");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->output->det_class, "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 3090");
}

TEST_P(SchedulerTest, AClassOfGpuOutputsWithNoVerifierIsNamed) {
  Describe(worker_, Machine(kTwoGpus));
  Describe(verifier_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090")})));
  Describe(verifier2_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 3090")})));
  SubmitScene("1", 304);
  auto c = ClaimOn(*scheduler_, worker_, "optix:0");
  ASSERT_TRUE(c.has_value());
  MustReport(worker_, c->task.id, 1);
  // Its only verifier goes (revoked): the check waits, and the class is named, with its worker.
  Node gone = GetNode(verifier_.id);
  gone.banned = true;
  ASSERT_TRUE(store_->UpdateNode(gone).ok());
  auto waiting = ClassesWithoutVerifier(*store_);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ(waiting->front().det_class, "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 4090");
  EXPECT_EQ(waiting->front().checks, 1);
  EXPECT_EQ(waiting->front().workers, 1);
  // A verifier that registers that class takes it off the list.
  Node another = NewNode("v3", NodeRole::kVerifier);
  Describe(another, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 4090")})));
  EXPECT_TRUE(ClassesWithoutVerifier(*store_)->empty());
}

TEST_P(SchedulerTest, AJobRequiringGpuMemoryGoesToNoCpuWorkerAndSaysWhyUntilOneCan) {
  json small = Machine(json::array({Slot("cuda:0", "CUDA", "NVIDIA GeForce RTX 3060")}));
  small["slots"][0]["memory_bytes"] = int64_t{12} << 30;
  Describe(worker2_, small);
  Job req = Request(alice_, "1-2", 1);
  req.requirements.min_gpu_memory_bytes = int64_t{16} << 30;
  auto job = scheduler_->CreateJob(alice_, req);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_FALSE(TryClaim(worker_).has_value()) << "a CPU worker";
  EXPECT_FALSE(ClaimOn(*scheduler_, worker2_, "cuda:0").has_value()) << "a GPU of 12 GiB";
  auto why = scheduler_->NoWorkerFor(*job);
  ASSERT_TRUE(why.ok());
  EXPECT_THAT(*why, HasSubstr("requires a GPU with at least 16 GiB of memory"));
  EXPECT_THAT(*why, HasSubstr("cuda NVIDIA GeForce RTX 3060, 12 GiB"));
  EXPECT_THAT(*why, HasSubstr("cpu"));
  // A worker with a card of 24 GiB joins (and a verifier of its class): it takes the job, and nothing is
  // missing any more.
  Node big = NewNode("w3", NodeRole::kWorker);
  Describe(big, Machine(kTwoGpus));
  Describe(verifier_, Machine(json::array({Slot("optix:0", "OPTIX", "NVIDIA GeForce RTX 3090")})));
  EXPECT_EQ(*scheduler_->NoWorkerFor(*job), "");
  auto c = ClaimOn(*scheduler_, big, "optix:1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->job.id, job->id);
}

TEST_P(SchedulerTest, AJobOfNoRequirementsNeedsNoMessage) {
  Job job = SubmitScene("1", 304);
  EXPECT_EQ(*scheduler_->NoWorkerFor(job), "");
}

TEST(SlotClasses, TheNodesDefaultClassIsItsFirstSlots) {
  EXPECT_EQ(DefaultClassOf({{"blender_version", "3.4.1"}, {"arch", "x86_64"}, {"slots", kTwoGpus}}),
            "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 4090");
  EXPECT_EQ(DefaultClassOf({{"blender_version", "3.4.1"}, {"arch", "x86_64"}, {"device", "cpu"}}),
            "blender 3.4.1 / x86_64 / cpu");
  Node n;
  n.capabilities_json = Machine(kTwoGpus).dump();
  EXPECT_THAT(SlotsOf(n), ElementsAre("optix:0", "optix:1"));
  EXPECT_THAT(AllClassesOf(n), ElementsAre("blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 4090",
                                           "blender 3.4.1 / x86_64 / optix NVIDIA GeForce RTX 3090"));
}

TEST(SlotClasses, MalformedSlotsAreRefusedAtRegistration) {
  EXPECT_TRUE(CheckCapabilities(Machine(kTwoGpus)).ok());
  EXPECT_FALSE(CheckCapabilities({{"slots", "cuda:0"}}).ok());
  EXPECT_FALSE(CheckCapabilities({{"slots", {{{"id", 3}, {"type", "CUDA"}}}}}).ok());
  EXPECT_FALSE(CheckCapabilities({{"devices", {{{"id", "cuda:0"}}}}}).ok());
  EXPECT_FALSE(CheckCapabilities({{"slots", {Slot(std::string(300, 'x'), "CUDA", "n")}}}).ok());
}

}  // namespace
}  // namespace inferix::manager::scheduler_test
