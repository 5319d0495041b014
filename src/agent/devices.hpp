#pragma once
// A worker's render devices: what its Blender's Cycles lists (CUDA, OptiX, HIP, oneAPI), with memory and
// device files from the vendor's tools, and which of them the owner lends (--device): each lent GPU is its
// own render slot; the CPU is a slot only when the owner says so (or when the machine has no GPU).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "render/blender_process.hpp"

namespace inferix::agent {

/// One render device of the machine.
struct Device {
  std::string id;         ///< the owner's name for it (--device): "cpu", "cuda:0", "optix:1", "hip:0"
  std::string type;       ///< Cycles' compute device type: "CPU", "CUDA", "OPTIX", "HIP", "ONEAPI"
  std::string name;       ///< "NVIDIA GeForce RTX 4090", or the CPU's model
  std::string cycles_id;  ///< Cycles' id ("CUDA_NVIDIA GeForce RTX 4090_0000:01:00"); "" for the CPU
  std::string pci_bus;    ///< "0000:01:00" where Cycles' id ends in one; "" otherwise
  int64_t memory_bytes =
      0;  ///< GPU memory from nvidia-smi or amdgpu's sysfs; the machine's for the CPU; 0: unknown
  std::vector<std::filesystem::path> device_files;  ///< what the sandbox shows for it (none for the CPU)
};

/// What a machine answers about its devices: the raw material DevicesFrom reads. ProbeDevices asks the
/// machine; tests read recorded answers of GPU machines (ReadDeviceProbe).
struct DeviceProbe {
  /// Cycles' device lists by type, as `_cycles.available_devices(type)` gives them: {"CUDA": [[name, type,
  /// id, has_peer_memory], ...], ...}.
  nlohmann::json cycles = nlohmann::json::object();
  /// `nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits`; "" without
  /// one.
  std::string nvidia_smi;
  /// The NVIDIA device file minor of each GPU by PCI bus id ("0000:01:00" -> 0), from
  /// /proc/driver/nvidia/gpus/*/information.
  std::map<std::string, int> nvidia_minors;
  /// amdgpu's render node ("renderD128") and VRAM in bytes of each GPU by PCI bus id, from sysfs.
  std::map<std::string, std::string> render_nodes;
  std::map<std::string, int64_t> vram_bytes;
  std::string cpu_model;
  int64_t memory_bytes = 0;  ///< the machine's
  bool recorded = false;     ///< read from a file (tests): renders of its GPUs are simulated on the CPU
};

/// Asks this machine: its Blender's Cycles (no scene is opened, nothing untrusted runs), nvidia-smi, /proc
/// and /sys. Blender (about 1.4 s of CPU) is asked only where the machine has a GPU's device file
/// (/dev/nvidiactl, /dev/kfd, /dev/dri/renderD*): without one no GPU can render. `always_ask_blender`: ask it
/// all the same.
DeviceProbe ProbeDevices(const std::string& blender, bool always_ask_blender = false);

/// A recorded answer (tests, and machines described in advance): a JSON file with "cycles", "nvidia_smi",
/// "nvidia_minors", "render_nodes", "vram_bytes", "cpu_model", "memory_bytes".
Result<DeviceProbe> ReadDeviceProbe(const std::filesystem::path& file);

/// The devices a probe found: the CPU first, then each GPU of each type in Cycles' order, numbered per type
/// ("cuda:0", "cuda:1", "optix:0"). A card Cycles lists under CUDA and OptiX is one device of each type.
std::vector<Device> DevicesFrom(const DeviceProbe& probe);

/// The slots the owner lends (`spec`, --device): "auto" (every GPU, one per card, OptiX preferred over CUDA
/// for a card listed under both; the CPU when there is none), "cpu", or a comma-separated list of device ids
/// ("cuda:0,cuda:1", "optix:0,cpu"). An error names an unknown device and lists the machine's, or a card
/// named twice.
Result<std::vector<Device>> ChooseSlots(const std::vector<Device>& devices, const std::string& spec);

/// A node's devices and the slots its owner lends of them.
struct FoundDevices {
  std::vector<Device> devices;
  std::vector<Device> slots;
  bool simulated = false;  ///< read from recorded answers: GPU renders are simulated on the CPU
};
/// The machine's devices, asked of it with `blender` (or read from `answers`, a recorded answer, when not
/// empty: tests), and the slots `spec` lends (ChooseSlots).
Result<FoundDevices> FindDevices(const std::string& blender, const std::string& spec,
                                 const std::filesystem::path& answers);

/// What the driver and the sandbox need of a slot.
render::RenderDevice RenderDeviceOf(const Device& slot, bool simulated);

/// A device as the machine description lists it: {"id", "type", "name", "memory_bytes"}.
nlohmann::json DeviceJson(const Device& device);

/// One line per device for people: "cuda:0  NVIDIA GeForce RTX 4090, 24 GiB".
std::string DescribeDevices(const std::vector<Device>& devices);

}  // namespace inferix::agent
