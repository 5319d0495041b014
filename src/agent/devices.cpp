#include "agent/devices.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <sstream>

#include "agent/run_probe.hpp"
#include "core/files.hpp"

namespace inferix::agent {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, 4> kGpuTypes = {"OPTIX", "CUDA", "HIP", "ONEAPI"};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// "0000:01:00" from nvidia-smi's "00000000:01:00.0" or sysfs' "0000:01:00.0": domain (4 digits), bus, device.
std::string PciBus(const std::string& address) {
  std::string a = Lower(Trim(address));
  if (auto dot = a.rfind('.'); dot != std::string::npos) a = a.substr(0, dot);
  auto colon = a.find(':');
  if (colon == std::string::npos) return {};
  std::string domain = a.substr(0, colon);
  if (domain.size() > 4) domain = domain.substr(domain.size() - 4);
  return domain + a.substr(colon);
}

// Cycles' GPU ids end in the card's PCI address: "CUDA_<name>_0000:01:00" (device_cuda.cpp and kin).
std::string PciBusOfCyclesId(const std::string& id) {
  auto underscore = id.rfind('_');
  if (underscore == std::string::npos) return {};
  std::string tail = Lower(id.substr(underscore + 1));
  return std::count(tail.begin(), tail.end(), ':') == 2 ? tail : std::string();
}

using internal::RunAndRead;
using internal::ShellQuote;

// Asks Cycles which GPUs it lists by type (no scene is opened: nothing untrusted runs). The answer line is
// marked, among Blender's own output.
constexpr const char* kDeviceProbe =
    "import json\n"
    "found = {}\n"
    "try:\n"
    "    import _cycles\n"
    "    for t in ('CUDA', 'OPTIX', 'HIP', 'ONEAPI'):\n"
    "        try:\n"
    "            found[t] = [list(d) for d in _cycles.available_devices(t)]\n"
    "        except Exception:\n"
    "            found[t] = []\n"
    "except Exception:\n"
    "    pass\n"
    "print('INFERIX-DEVICES ' + json.dumps(found))\n";

struct SmiRow {
  std::string name;
  int64_t memory_bytes = 0;
  int index = -1;
};

std::map<std::string, SmiRow> ParseNvidiaSmi(const std::string& csv) {
  std::map<std::string, SmiRow> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream fields(line);
    while (std::getline(fields, cell, ',')) cells.push_back(Trim(cell));
    if (cells.size() < 4) continue;
    SmiRow row;
    row.name = cells[1];
    try {
      row.index = std::stoi(cells[0]);
      row.memory_bytes = static_cast<int64_t>(std::stoll(cells[2])) * 1024 * 1024;  // MiB (nounits)
    } catch (const std::exception&) {
      continue;
    }
    rows[PciBus(cells[3])] = row;
  }
  return rows;
}

}  // namespace

DeviceProbe ProbeDevices(const std::string& blender, bool always_ask_blender) {
  DeviceProbe probe;
  std::error_code ec;
  bool gpu_files = fs::exists("/dev/nvidiactl", ec) || fs::exists("/dev/kfd", ec);
  for (const auto& node : fs::directory_iterator("/dev/dri", ec)) {
    if (node.path().filename().string().starts_with("renderD")) gpu_files = true;
  }
  const std::string out =
      !gpu_files && !always_ask_blender
          ? std::string()
          : RunAndRead(ShellQuote(blender) +
                       " -b --factory-startup -noaudio --python-exit-code 1 --python-expr " +
                       ShellQuote(kDeviceProbe) + " 2>/dev/null");
  const std::string mark = "INFERIX-DEVICES ";
  if (const size_t at = out.find(mark); at != std::string::npos) {
    const size_t end = out.find('\n', at);
    json lists = json::parse(
        out.substr(at + mark.size(), end == std::string::npos ? std::string::npos : end - at - mark.size()),
        nullptr, false);
    if (lists.is_object()) probe.cycles = lists;
  }
  probe.nvidia_smi = RunAndRead(
      "command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id "
      "--format=csv,noheader,nounits 2>/dev/null");
  for (const auto& gpu : fs::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    auto text = ReadFile(gpu.path() / "information");
    if (!text) continue;
    const auto at = text->find("Device Minor:");
    if (at == std::string::npos) continue;
    try {
      probe.nvidia_minors[PciBus(gpu.path().filename().string())] = std::stoi(text->substr(at + 13));
    } catch (const std::exception&) {
    }
  }
  for (const auto& pci : fs::directory_iterator("/sys/bus/pci/devices", ec)) {
    const std::string bus = PciBus(pci.path().filename().string());
    std::error_code drm_ec;
    for (const auto& node : fs::directory_iterator(pci.path() / "drm", drm_ec)) {
      const std::string name = node.path().filename().string();
      if (name.starts_with("renderD")) probe.render_nodes[bus] = name;
    }
    if (auto vram = ReadFile(pci.path() / "mem_info_vram_total"); vram) {
      try {
        probe.vram_bytes[bus] = std::stoll(*vram);
      } catch (const std::exception&) {
      }
    }
  }
  std::string model = RunAndRead("grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2-");
  probe.cpu_model = Trim(model);
  probe.memory_bytes = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE);
  return probe;
}

Result<DeviceProbe> ReadDeviceProbe(const fs::path& file) {
  auto text = ReadFile(file);
  if (!text) return MakeError(Errc::kInvalidArgument, "cannot read the device answers " + file.string());
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.value("cycles", json()).is_object())
    return MakeError(
        Errc::kInvalidArgument,
        file.string() + " is not a device answer: a JSON object with \"cycles\" (lists by type)");
  DeviceProbe probe;
  probe.recorded = true;
  try {
    probe.cycles = j["cycles"];
    probe.nvidia_smi = j.value("nvidia_smi", "");
    probe.nvidia_minors = j.value("nvidia_minors", std::map<std::string, int>());
    probe.render_nodes = j.value("render_nodes", std::map<std::string, std::string>());
    probe.vram_bytes = j.value("vram_bytes", std::map<std::string, int64_t>());
    probe.cpu_model = j.value("cpu_model", "");
    probe.memory_bytes = j.value("memory_bytes", int64_t{0});
  } catch (const json::exception& e) {
    return MakeError(Errc::kInvalidArgument, file.string() + ": " + e.what());
  }
  return probe;
}

std::vector<Device> DevicesFrom(const DeviceProbe& probe) {
  std::vector<Device> devices;
  Device cpu;
  cpu.id = "cpu";
  cpu.type = "CPU";
  cpu.name = probe.cpu_model;
  cpu.memory_bytes = probe.memory_bytes;
  devices.push_back(cpu);
  const auto smi = ParseNvidiaSmi(probe.nvidia_smi);
  for (const char* type : {"CUDA", "OPTIX", "HIP", "ONEAPI"}) {
    const json list = probe.cycles.value(type, json::array());
    if (!list.is_array()) continue;
    int n = 0;
    for (const json& entry : list) {
      // [name, type, id, has_peer_memory]; Cycles lists the CPU under every type: not a GPU of this type.
      if (!entry.is_array() || entry.size() < 3 || !entry[0].is_string() || !entry[1].is_string() ||
          !entry[2].is_string() || entry[1] != type)
        continue;
      Device d;
      d.type = type;
      d.id = Lower(type) + ":" + std::to_string(n++);
      d.name = entry[0].get<std::string>();
      d.cycles_id = entry[2].get<std::string>();
      d.pci_bus = PciBusOfCyclesId(d.cycles_id);
      if (d.type == "CUDA" || d.type == "OPTIX") {
        auto row = smi.find(d.pci_bus);
        if (row != smi.end()) d.memory_bytes = row->second.memory_bytes;
        int minor = row != smi.end() ? row->second.index : -1;
        if (auto m = probe.nvidia_minors.find(d.pci_bus); m != probe.nvidia_minors.end()) minor = m->second;
        d.device_files = {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"};
        if (minor >= 0) d.device_files.emplace_back("/dev/nvidia" + std::to_string(minor));
      } else if (d.type == "HIP") {
        if (auto v = probe.vram_bytes.find(d.pci_bus); v != probe.vram_bytes.end())
          d.memory_bytes = v->second;
        d.device_files = {"/dev/kfd"};
        if (auto r = probe.render_nodes.find(d.pci_bus); r != probe.render_nodes.end())
          d.device_files.emplace_back("/dev/dri/" + r->second);
      } else if (auto r = probe.render_nodes.find(d.pci_bus); r != probe.render_nodes.end()) {
        d.device_files = {"/dev/dri/" + r->second};  // oneAPI: Level Zero through the render node
      }
      devices.push_back(std::move(d));
    }
  }
  return devices;
}

Result<std::vector<Device>> ChooseSlots(const std::vector<Device>& devices, const std::string& spec_in) {
  const std::string spec = Lower(Trim(spec_in.empty() ? std::string("auto") : spec_in));
  std::vector<Device> slots;
  if (spec == "auto") {
    std::set<std::string> cards;  // a card under OptiX and CUDA is one slot, OptiX first (kGpuTypes' order)
    for (const char* type : kGpuTypes) {
      for (const auto& d : devices) {
        if (d.type != type) continue;
        const std::string card = d.pci_bus.empty() ? d.cycles_id : d.pci_bus;
        if (cards.insert(card).second) slots.push_back(d);
      }
    }
    if (slots.empty()) {
      for (const auto& d : devices) {
        if (d.type == "CPU") slots.push_back(d);
      }
    }
    return slots;
  }
  std::set<std::string> cards;
  std::istringstream in(spec);
  std::string id;
  while (std::getline(in, id, ',')) {
    id = Trim(id);
    if (id.empty()) continue;
    auto found = std::find_if(devices.begin(), devices.end(), [&](const Device& d) { return d.id == id; });
    if (found == devices.end()) {
      std::string message = "--device " + spec_in;
      message += ": this machine has no device " + id;
      message += "; it has:\n" + DescribeDevices(devices);
      return MakeError(Errc::kInvalidArgument, message);
    }
    const std::string card = found->type == "CPU"     ? "cpu"
                             : found->pci_bus.empty() ? found->cycles_id
                                                      : found->pci_bus;
    if (!cards.insert(card).second) {
      std::string message = "--device " + spec_in;
      message += ": " + id + " is a card already named (a card listed under CUDA and OptiX is lent once)";
      return MakeError(Errc::kInvalidArgument, message);
    }
    slots.push_back(*found);
  }
  if (slots.empty()) return MakeError(Errc::kInvalidArgument, "--device names no device");
  return slots;
}

Result<FoundDevices> FindDevices(const std::string& blender, const std::string& spec,
                                 const fs::path& answers) {
  FoundDevices found;
  DeviceProbe probe;
  if (!answers.empty()) {
    auto recorded = ReadDeviceProbe(answers);
    if (!recorded) return recorded.error();
    probe = std::move(*recorded);
    found.simulated = true;
  } else {
    probe = ProbeDevices(blender);
  }
  found.devices = DevicesFrom(probe);
  auto slots = ChooseSlots(found.devices, spec);
  if (!slots) return slots.error();
  found.slots = std::move(*slots);
  return found;
}

render::RenderDevice RenderDeviceOf(const Device& slot, bool simulated) {
  render::RenderDevice device;
  device.type = slot.type;
  device.cycles_id = slot.cycles_id;
  device.device_files = slot.device_files;
  device.simulated = simulated && slot.type != "CPU";
  return device;
}

json DeviceJson(const Device& device) {
  return {
      {"id", device.id}, {"type", device.type}, {"name", device.name}, {"memory_bytes", device.memory_bytes}};
}

std::string DescribeDevices(const std::vector<Device>& devices) {
  std::string out;
  for (const auto& d : devices) {
    out += fmt::format("  {:<10} {}", d.id, d.name.empty() ? d.type : d.name);
    if (d.type != "CPU" && d.memory_bytes > 0)
      out += fmt::format(", {:.0f} GiB", static_cast<double>(d.memory_bytes) / (1024.0 * 1024 * 1024));
    out += "\n";
  }
  return out;
}

}  // namespace inferix::agent
