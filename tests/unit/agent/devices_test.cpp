#include "agent/devices.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace inferix::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

DeviceProbe Recorded(const std::string& name) {
  auto probe = ReadDeviceProbe(fs::path(INFERIX_SOURCE_DIR) / "tests/data/devices" / name);
  EXPECT_TRUE(probe.ok()) << (probe ? "" : probe.error().message);
  return probe ? *probe : DeviceProbe{};
}

std::vector<std::string> Ids(const std::vector<Device>& devices) {
  std::vector<std::string> ids;
  for (const auto& d : devices) ids.push_back(d.id);
  return ids;
}

TEST(DevicesTest, TwoNvidiaCardsAreListedUnderCudaAndOptixWithTheirMemoryAndFiles) {
  const auto devices = DevicesFrom(Recorded("nvidia-2.json"));
  EXPECT_THAT(Ids(devices), ElementsAre("cpu", "cuda:0", "cuda:1", "optix:0", "optix:1"));
  EXPECT_EQ(devices[0].type, "CPU");
  EXPECT_EQ(devices[0].name, "AMD Ryzen 9 7950X 16-Core Processor");
  const Device& second = devices[2];
  EXPECT_EQ(second.name, "NVIDIA GeForce RTX 3090");
  EXPECT_EQ(second.cycles_id, "CUDA_NVIDIA GeForce RTX 3090_0000:41:00");
  EXPECT_EQ(second.pci_bus, "0000:41:00");
  EXPECT_EQ(second.memory_bytes, int64_t{24576} * 1024 * 1024);
  EXPECT_THAT(second.device_files,
              ElementsAre("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia1"));
  EXPECT_EQ(devices[3].memory_bytes, int64_t{24564} * 1024 * 1024);  // optix:0 is the 4090's
}

TEST(DevicesTest, AnAmdCardHasItsRenderNodeAndVram) {
  const auto devices = DevicesFrom(Recorded("amd-1.json"));
  ASSERT_THAT(Ids(devices), ElementsAre("cpu", "hip:0"));
  EXPECT_EQ(devices[1].memory_bytes, 25753026560);
  EXPECT_THAT(devices[1].device_files, ElementsAre("/dev/kfd", "/dev/dri/renderD128"));
}

TEST(DevicesTest, AutoLendsEachCardOnceOptixFirstAndNeverTheCpuBesideGpus) {
  auto slots = ChooseSlots(DevicesFrom(Recorded("nvidia-2.json")), "auto");
  ASSERT_TRUE(slots.ok());
  EXPECT_THAT(Ids(*slots), ElementsAre("optix:0", "optix:1"));
  slots = ChooseSlots(DevicesFrom(Recorded("amd-1.json")), "");
  ASSERT_TRUE(slots.ok());
  EXPECT_THAT(Ids(*slots), ElementsAre("hip:0"));
}

TEST(DevicesTest, TheOwnerNamesWhatIsLent) {
  const auto devices = DevicesFrom(Recorded("nvidia-2.json"));
  auto slots = ChooseSlots(devices, "cuda:1, cpu");
  ASSERT_TRUE(slots.ok());
  EXPECT_THAT(Ids(*slots), ElementsAre("cuda:1", "cpu"));
  auto unknown = ChooseSlots(devices, "cuda:2");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("no device cuda:2"));
  EXPECT_THAT(unknown.error().message, HasSubstr("optix:1"));  // lists what the machine has
  auto twice = ChooseSlots(devices, "cuda:0,optix:0");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("already named"));
  EXPECT_FALSE(ChooseSlots(devices, " , ").ok());
}

TEST(DevicesTest, AMachineWithoutGpusLendsItsCpu) {
  DeviceProbe probe;
  probe.cpu_model = "some CPU";
  probe.cycles = {{"CUDA", {{"some CPU", "CPU", "CPU", false}}}};
  const auto devices = DevicesFrom(probe);
  EXPECT_THAT(Ids(devices), ElementsAre("cpu"));
  auto slots = ChooseSlots(devices, "auto");
  ASSERT_TRUE(slots.ok());
  EXPECT_THAT(Ids(*slots), ElementsAre("cpu"));
  EXPECT_FALSE(ChooseSlots(devices, "cuda:0").ok());
}

TEST(DevicesTest, MalformedAnswersAreSkippedNotTrusted) {
  DeviceProbe probe;
  probe.cycles = {{"CUDA", {"not a list", {1, 2, 3}, {"GPU", "OPTIX", "OPTIX_x", false}}}, {"HIP", "nope"}};
  probe.nvidia_smi = "garbage\n0, X, not-a-number, 00000000:01:00.0\n";
  EXPECT_THAT(Ids(DevicesFrom(probe)), ElementsAre("cpu"));  // a type listed under another type is not one
}

TEST(DevicesTest, ASlotsRenderDeviceIsSimulatedOnlyForRecordedGpus) {
  const auto devices = DevicesFrom(Recorded("nvidia-1.json"));
  const auto gpu = RenderDeviceOf(devices[1], true);
  EXPECT_EQ(gpu.type, "CUDA");
  EXPECT_EQ(gpu.cycles_id, "CUDA_NVIDIA GeForce RTX 3060_0000:01:00");
  EXPECT_TRUE(gpu.simulated);
  EXPECT_FALSE(RenderDeviceOf(devices[0], true).simulated);
  EXPECT_FALSE(RenderDeviceOf(devices[1], false).simulated);
}

TEST(DevicesTest, ThisMachinesBlenderFindsNoGpuAndSaysSo) {
  // The real Blender here: Debian's, on a machine without a GPU.
  const DeviceProbe probe = ProbeDevices("blender", /*always_ask_blender=*/true);
  EXPECT_TRUE(probe.cycles.contains("CUDA")) << probe.cycles.dump();  // Blender answered: it knows the type
  const auto devices = DevicesFrom(probe);
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices.front().id, "cpu");
  EXPECT_FALSE(devices.front().name.empty());
  bool has_gpu = devices.size() > 1;
  if (has_gpu) GTEST_SKIP() << "this machine has a GPU: " << DescribeDevices(devices);
  auto slots = ChooseSlots(devices, "auto");
  ASSERT_TRUE(slots.ok());
  EXPECT_THAT(Ids(*slots), ElementsAre("cpu"));
  auto cuda = ChooseSlots(devices, "cuda:0");
  ASSERT_FALSE(cuda.ok());
  EXPECT_THAT(cuda.error().message, HasSubstr("no device cuda:0"));
}

TEST(DevicesTest, AnUnreadableAnswerIsAClearError) {
  auto missing = ReadDeviceProbe("/nonexistent/answers.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("cannot read"));
}

}  // namespace
}  // namespace inferix::agent
