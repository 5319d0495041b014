#include "manager/codec.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "domain/trust.hpp"

namespace inferix::manager {

using json = nlohmann::json;

json JobToJson(const domain::Job& job) {
  json files = json::array();
  for (const auto& f : job.files) files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}});
  return {{"id", job.id},
          {"name", job.name},
          {"main", job.main_file},
          {"files", files},
          {"frames_spec", job.frames_spec},
          {"format", domain::ToString(job.format)},
          {"chunk_size", job.chunk_size},
          {"priority", job.priority},
          {"fps", job.fps},
          {"state", domain::ToString(job.state)},
          {"message", job.message},
          {"video", job.video_state.empty() ? "none" : job.video_state},
          {"created_ms", job.created_ms},
          {"started_ms", job.started_ms},
          {"finished_ms", job.finished_ms},
          {"root", job.scene_root},
          {"blender_version", job.blender_version > 0 ? domain::VersionName(job.blender_version) : ""},
          {"denoisers", job.denoisers},
          {"without_denoiser", job.without_denoiser},
          {"resolution_percentage", job.resolution_percentage},
          {"engine", job.engine},
          {"requirements",
           {{"device", job.requirements.device},
            {"min_gpu_memory_bytes", job.requirements.min_gpu_memory_bytes},
            {"blender_min",
             job.requirements.blender_min > 0 ? domain::VersionName(job.requirements.blender_min) : ""},
            {"blender_max",
             job.requirements.blender_max > 0 ? domain::VersionName(job.requirements.blender_max) : ""},
            {"text", domain::RequirementsText(job.requirements)}}}};
}

json ProgressToJson(const domain::Job& job, const domain::FrameCounts& c, int64_t now_ms) {
  std::optional<double> eta;
  if (!domain::IsFinal(job.state)) eta = domain::EstimateSecondsLeft(c, job.started_ms, now_ms);
  return {{"total", c.Total()},
          {"queued", c.queued},
          {"rendering", c.rendering},
          {"verifying", c.verifying},
          {"delivered", c.delivered},
          {"rendered", c.verifying + c.delivered},
          {"failed", c.failed},
          {"canceled", c.canceled},
          {"eta_s", eta ? json(std::round(*eta)) : json(nullptr)}};
}

json FrameToJson(const domain::Frame& frame, const std::vector<const domain::Output*>& outputs,
                 const NodeNames& names) {
  auto node_name = [&](int64_t id) -> std::string {
    auto found = names.find(id);
    return found == names.end() ? "" : found->second;
  };
  json attempts = json::array();
  json current = nullptr;
  for (const domain::Output* op : outputs) {
    const domain::Output& o = *op;
    json item = {{"output_id", o.id},
                 {"worker_id", o.node_id},
                 {"worker", node_name(o.node_id)},
                 {"sha256", o.sha256},
                 {"render_seconds", o.render_seconds},
                 {"verdict", domain::ToString(o.verdict)},
                 {"verdict_detail", o.verdict_detail},
                 {"verifier", node_name(o.verifier_node_id)},
                 {"verify_seconds", o.verify_seconds},
                 {"render_cpu_seconds", o.render_cpu_seconds},
                 {"verify_cpu_seconds", o.verify_cpu_seconds},
                 {"class", o.det_class},
                 {"credited", o.credited}};
    json method = nlohmann::json::parse(o.method.empty() ? "{}" : o.method, nullptr, false);
    item["method"] = method.is_object() ? method : json::object();
    if (o.replica_of != 0) item["replica_of"] = o.replica_of;
    if (o.id == frame.output_id) current = item;
    attempts.push_back(item);
  }
  return {{"frame", frame.number},
          {"state", domain::ToString(frame.state)},
          {"verdict", current.is_null() ? "pending" : current["verdict"]},
          {"output", current},
          {"attempts", attempts},
          {"failures", frame.failures},
          {"errors", frame.errors}};
}

json NodeToJson(const domain::Node& node) {
  json caps = json::parse(node.capabilities_json, nullptr, false);
  return {{"id", node.id},
          {"name", node.name},
          {"role", domain::ToString(node.role)},
          {"capabilities", caps.is_discarded() ? json::object() : caps},
          {"banned", node.banned},
          {"ban_reason", node.ban_reason},
          {"class", node.det_class},
          {"last_seen_ms", node.last_seen_ms},
          {"accepted", node.accepted},
          {"rejected", node.rejected},
          {"streak", node.streak}};
}

Result<void> CheckCapabilities(const json& caps) {
  constexpr size_t kMaxText = 256;
  constexpr size_t kMaxGpus = 64;
  constexpr size_t kMaxBytes = size_t{16} * 1024;
  auto bad = [](const std::string& what) {
    return MakeError(Errc::kInvalidArgument, "capabilities." + what);
  };
  auto is_text = [](const json& v) {
    return v.is_string() && v.get_ref<const std::string&>().size() <= kMaxText;
  };
  // The render engines a build renders ("CYCLES", "BLENDER_EEVEE"): at least one, when said at all.
  auto is_engines = [&](const json& v) {
    return v.is_array() && !v.empty() && v.size() <= 16 && std::all_of(v.begin(), v.end(), is_text);
  };
  if (!caps.is_object()) return MakeError(Errc::kInvalidArgument, "capabilities must be an object");
  if (caps.dump().size() > kMaxBytes)
    return MakeError(Errc::kInvalidArgument, "capabilities are over 16 KiB");
  for (const char* text : {"blender_version", "arch", "device", "blender", "cpu_model"}) {
    if (caps.contains(text) && !is_text(caps[text]))
      return bad(std::string(text) + " must be a string of at most 256 characters");
  }
  for (const char* count : {"cpu_threads", "memory_bytes"}) {
    if (caps.contains(count) && !(caps[count].is_number_unsigned() ||
                                  (caps[count].is_number_integer() && caps[count].get<int64_t>() >= 0)))
      return bad(std::string(count) + " must be a non-negative integer");
  }
  if (caps.contains("blenders")) {
    const json& builds = caps["blenders"];
    if (!builds.is_array() || builds.empty() || builds.size() > 16)
      return bad("blenders must be a list of 1 to 16 Blender builds");
    for (const json& b : builds) {
      if (!b.is_object() || !b.contains("version") || !is_text(b["version"]))
        return bad("blenders: each build must be an object with a string version");
      if (b.contains("denoisers")) {
        const json& d = b["denoisers"];
        if (!d.is_array() || d.size() > 8 || !std::all_of(d.begin(), d.end(), is_text))
          return bad("blenders: denoisers must be a list of at most 8 names");
      }
      if (b.contains("engines") && !is_engines(b["engines"]))
        return bad("blenders: engines must be a list of 1 to 16 names");
    }
  }
  if (caps.contains("engines") && !is_engines(caps["engines"]))
    return bad("engines must be a list of 1 to 16 names");
  for (const char* list : {"devices", "slots"}) {
    if (!caps.contains(list)) continue;
    const json& devices = caps[list];
    if (!devices.is_array() || devices.size() > kMaxGpus)
      return bad(std::string(list) + " must be a list of at most 64 devices");
    for (const json& d : devices) {
      if (!d.is_object() || !d.contains("id") || !is_text(d["id"]) || !d.contains("type") ||
          !is_text(d["type"]) || (d.contains("name") && !is_text(d["name"])) ||
          (d.contains("memory_bytes") && !d["memory_bytes"].is_number_integer()))
        return bad(std::string(list) +
                   ": each device must be an object with a string id and type (and name, memory_bytes)");
    }
  }
  if (caps.contains("gpus")) {
    const json& gpus = caps["gpus"];
    if (!gpus.is_array() || gpus.size() > kMaxGpus) return bad("gpus must be a list of at most 64 GPUs");
    for (const json& g : gpus) {
      if (!g.is_object() || !g.contains("name") || !is_text(g["name"]) ||
          (g.contains("memory") && !is_text(g["memory"])))
        return bad("gpus: each GPU must be an object with a string name (and memory)");
    }
  }
  return Ok();
}

namespace {

std::vector<std::string> Names(const json& list) {
  std::vector<std::string> names;
  for (const json& n : list.is_array() ? list : json::array()) {
    if (n.is_string()) names.push_back(n.get<std::string>());
  }
  return names;
}

}  // namespace

std::vector<domain::BlenderBuild> BuildsOf(const domain::Node& node) {
  std::vector<domain::BlenderBuild> builds;
  json caps = json::parse(node.capabilities_json, nullptr, false);
  if (!caps.is_object()) return {{}};  // a node that described nothing: one build of unknown version
  // The engines the node advertises, for builds that do not list their own (none: every engine).
  const std::vector<std::string> engines = Names(caps.value("engines", json::array()));
  // Checked when the node registered (CheckCapabilities); read defensively all the same.
  const json list = caps.value("blenders", json::array());
  for (const json& b : list.is_array() ? list : json::array()) {
    if (!b.is_object() || !b.value("version", json()).is_string()) continue;
    domain::BlenderBuild build;
    build.version = b.value("version", "");
    build.denoisers = Names(b.value("denoisers", json::array()));
    build.engines = b.contains("engines") ? Names(b["engines"]) : engines;
    builds.push_back(std::move(build));
  }
  if (builds.empty()) {
    const json version = caps.value("blender_version", json());
    builds.push_back({version.is_string() ? version.get<std::string>() : std::string(), {}, engines});
  }
  return builds;
}

namespace {

std::string ClassFrom(const json& caps, const std::string& version) {
  auto text = [&](const char* key, const char* fallback) {
    const json v = caps.is_object() ? caps.value(key, json()) : json();
    return v.is_string() ? v.get<std::string>() : std::string(fallback);
  };
  return domain::DeterminismClass(version, text("arch", ""), text("device", "cpu"));
}

}  // namespace

namespace {

// The slots a machine description lists (CheckCapabilities checked their shape).
json SlotList(const json& caps) {
  const json slots = caps.is_object() ? caps.value("slots", json::array()) : json::array();
  return slots.is_array() ? slots : json::array();
}

std::string DeviceOfSlot(const json& slot) {
  std::string type = slot.value("type", std::string("cpu"));
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type == "cpu") return "cpu";
  const std::string name = slot.value("name", std::string());
  return name.empty() ? type : type + " " + name;
}

}  // namespace

std::string DefaultClassOf(const json& caps) {
  const json version = caps.is_object() ? caps.value("blender_version", json()) : json();
  // A node of several slots: its first slot's class.
  const json slots = SlotList(caps);
  if (!slots.empty() && slots.front().is_object()) {
    json first = caps;
    first["device"] = DeviceOfSlot(slots.front());
    return ClassFrom(first, version.is_string() ? version.get<std::string>() : std::string());
  }
  return ClassFrom(caps, version.is_string() ? version.get<std::string>() : std::string());
}

std::vector<std::string> SlotsOf(const domain::Node& node) {
  std::vector<std::string> ids;
  for (const json& s : SlotList(json::parse(node.capabilities_json, nullptr, false))) {
    if (s.is_object() && s.value("id", json()).is_string()) ids.push_back(s["id"].get<std::string>());
  }
  return ids;
}

Result<std::string> SlotDevice(const domain::Node& node, const std::string& slot) {
  const json caps = json::parse(node.capabilities_json, nullptr, false);
  const json slots = SlotList(caps);
  if (slots.empty()) {
    if (!slot.empty() && slot != "cpu")
      return MakeError(Errc::kInvalidArgument,
                       "this node registered no slot " + slot + " (it lends the CPU only)");
    const json device = caps.is_object() ? caps.value("device", json()) : json();
    return device.is_string() ? device.get<std::string>() : std::string("cpu");
  }
  for (const json& s : slots) {
    if (!s.is_object()) continue;
    if (slot.empty() || s.value("id", std::string()) == slot) return DeviceOfSlot(s);
  }
  return MakeError(Errc::kInvalidArgument,
                   "this node registered no slot " + slot + "; it registered " + json(SlotsOf(node)).dump() +
                       " (a worker started with other devices registers them when it starts)");
}

domain::SlotOffer OfferOf(const domain::Node& node, const std::string& slot) {
  for (const json& s : SlotList(json::parse(node.capabilities_json, nullptr, false))) {
    if (!s.is_object() || (!slot.empty() && s.value("id", std::string()) != slot)) continue;
    const json memory = s.value("memory_bytes", json());
    return {s.value("type", std::string("CPU")), memory.is_number_integer() ? memory.get<int64_t>() : 0};
  }
  return {};
}

std::vector<std::string> ClassesOf(const domain::Node& node, const std::vector<domain::BlenderBuild>& builds,
                                   const std::string& slot) {
  json caps = json::parse(node.capabilities_json, nullptr, false);
  // A node that listed no builds has the one class it registered with.
  const bool listed = caps.is_object() && caps.contains("blenders");
  auto device = SlotDevice(node, slot);
  if (listed && device) caps["device"] = *device;
  std::vector<std::string> classes;
  classes.reserve(builds.size());
  for (const auto& b : builds) classes.push_back(listed ? ClassFrom(caps, b.version) : node.det_class);
  return classes;
}

std::string ClassOf(const domain::Node& node, const domain::BlenderBuild& build, const std::string& slot) {
  return ClassesOf(node, {build}, slot).front();
}

std::vector<std::string> AllClassesOf(const domain::Node& node) {
  const auto builds = BuildsOf(node);
  std::vector<std::string> slots = SlotsOf(node);
  if (slots.empty()) slots.emplace_back();
  std::vector<std::string> all;
  for (const auto& slot : slots) {
    for (auto& c : ClassesOf(node, builds, slot)) {
      if (std::find(all.begin(), all.end(), c) == all.end()) all.push_back(std::move(c));
    }
  }
  return all;
}

json BlocklistToJson(const std::vector<domain::BlocklistEntry>& entries, const NodeNames& names) {
  json out = json::array();
  for (const auto& e : entries) {
    auto found = names.find(e.node_id);
    const std::string name = found == names.end() ? "" : found->second;
    out.push_back(
        {{"worker_id", e.node_id}, {"worker", name}, {"reason", e.reason}, {"since_ms", e.created_ms}});
  }
  return out;
}

net::SceneRef SceneOf(const domain::Job& job, const SignGet& sign_get) {
  net::SceneRef scene;
  scene.main = job.main_file;
  for (const auto& f : job.files)
    scene.files.push_back({f.path, f.sha256, f.size, sign_get("files/" + f.sha256)});
  scene.root = job.scene_root;
  scene.resolution_percentage = std::max(0, job.resolution_percentage);
  return scene;
}

net::ClaimedTask ClaimedTaskOf(const Claim& c, const SchedulerOptions& options, const SignGet& sign_get) {
  net::ClaimedTask task;
  task.task_id = c.task.id;
  task.kind = domain::ToString(c.task.kind);
  task.job_id = c.job.id;
  task.frames = c.task.frames;
  task.format = domain::BlenderFormatName(c.job.format);
  task.scene = SceneOf(c.job, sign_get);
  task.denoise = !c.job.without_denoiser;
  task.blender = c.build;
  task.lease_ms = options.lease_ms;
  task.heartbeat_ms = options.heartbeat_ms;
  if (c.output) {
    task.output =
        net::OutputRef{c.output->id, c.output->sha256, c.output->node_id, sign_get(c.output->blob_key)};
    const auto counts = domain::RegionsFor(options.trust, c.task.level);
    task.check = net::CheckSpec{c.task.level,
                                c.task.level >= domain::kRegions,
                                c.task.level == domain::kWholeFrame,
                                counts.regions,
                                counts.detail_regions,
                                options.trust.exact_rate};
    if (c.original) {
      task.original = net::OriginalRef{c.original->id, c.original->sha256, sign_get(c.original->blob_key)};
    }
  }
  return task;
}

}  // namespace inferix::manager
