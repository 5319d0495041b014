#include "net/node_protocol.hpp"

namespace inferix::net {

using json = nlohmann::json;

namespace {

// Runs a decoder that reads with json::value (a missing field takes its default) and turns a type error
// into kInvalidArgument naming what was decoded.
template <typename T, typename Fn>
Result<T> Decode(const json& j, const char* what, Fn&& fn) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, std::string(what) + " is not an object");
  try {
    return fn();
  } catch (const json::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string(what) + ": " + e.what());
  }
}

SceneRef ReadScene(const json& j) {
  SceneRef s;
  s.main = j.value("main", "");
  for (const auto& f : j.value("files", json::array())) {
    s.files.push_back(
        {f.value("path", ""), f.value("sha256", ""), f.value("size", int64_t{0}), f.value("url", "")});
  }
  s.root = j.value("root", "");
  s.resolution_percentage = j.value("resolution_percentage", 0);
  return s;
}

}  // namespace

json ToJson(const SceneRef& scene) {
  json files = json::array();
  for (const auto& f : scene.files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}, {"url", f.url}});
  }
  json j = {{"main", scene.main}, {"files", files}};
  if (!scene.root.empty()) j["root"] = scene.root;
  if (scene.resolution_percentage > 0) j["resolution_percentage"] = scene.resolution_percentage;
  return j;
}

json ToJson(const ClaimedTask& task) {
  json j = {{"task_id", task.task_id},   {"kind", task.kind},
            {"job_id", task.job_id},     {"frames", task.frames},
            {"format", task.format},     {"scene", ToJson(task.scene)},
            {"denoise", task.denoise},   {"blender", task.blender},
            {"lease_ms", task.lease_ms}, {"heartbeat_ms", task.heartbeat_ms}};
  if (task.output) {
    j["output"] = {{"output_id", task.output->output_id},
                   {"sha256", task.output->sha256},
                   {"node_id", task.output->node_id},
                   {"url", task.output->url}};
  }
  if (task.check) {
    j["check"] = {{"level", task.check->level},
                  {"layer2", task.check->layer2},
                  {"whole_frame", task.check->whole_frame},
                  {"regions", task.check->regions},
                  {"detail_regions", task.check->detail_regions},
                  {"exact_rate", task.check->exact_rate}};
  }
  if (task.original) {
    j["original"] = {{"output_id", task.original->output_id},
                     {"sha256", task.original->sha256},
                     {"url", task.original->url}};
  }
  return j;
}

json ToJson(const ClaimRequest& request) { return {{"cached", request.cached}}; }

json ToJson(const HeartbeatRequest& request) {
  json j = json::object();
  if (request.progress) j["progress"] = *request.progress;
  return j;
}

json ToJson(const HeartbeatAnswer& answer) { return {{"action", answer.action}}; }

json ToJson(const UploadSlot& slot) { return {{"key", slot.key}, {"url", slot.url}}; }

json ToJson(const FrameReport& report) {
  return {{"sha256", report.sha256},
          {"key", report.key},
          {"render_seconds", report.render_seconds},
          {"render_cpu_seconds", report.render_cpu_seconds},
          {"signature", report.signature}};
}

json ToJson(const CheckMethod& method) {
  json regions = json::array();
  for (const auto& r : method.regions) regions.push_back({r.x0, r.y0, r.x1, r.y1});
  return {{"layers", method.layers}, {"regions", regions}};
}

json ToJson(const VerdictReport& report) {
  json j = {{"verdict", report.verdict},
            {"detail", report.detail},
            {"verify_seconds", report.verify_seconds},
            {"verify_cpu_seconds", report.verify_cpu_seconds},
            {"method", ToJson(report.method)},
            {"signature", report.signature}};
  if (report.matches_original) j["matches_original"] = *report.matches_original;
  return j;
}

json ToJson(const RegisterRequest& request) {
  return {{"enrollment_token", request.enrollment_token},
          {"name", request.name},
          {"role", request.role},
          {"public_key", request.public_key},
          {"capabilities", request.capabilities}};
}

json ToJson(const RegisterAnswer& answer) {
  return {{"node_id", answer.node_id}, {"node_token", answer.node_token}};
}

Result<SceneRef> SceneFromJson(const json& j) {
  return Decode<SceneRef>(j, "scene", [&] { return ReadScene(j); });
}

Result<ClaimedTask> ClaimedTaskFromJson(const json& j) {
  return Decode<ClaimedTask>(j, "claimed task", [&] {
    ClaimedTask t;
    t.task_id = j.value("task_id", int64_t{0});
    t.kind = j.value("kind", "");
    t.job_id = j.value("job_id", int64_t{0});
    t.frames = j.value("frames", std::vector<int>{});
    t.format = j.value("format", "PNG");
    const json scene = j.value("scene", json::object());
    if (scene.is_object()) t.scene = ReadScene(scene);
    t.denoise = j.value("denoise", true);
    t.blender = j.value("blender", "");
    t.lease_ms = j.value("lease_ms", int64_t{0});
    t.heartbeat_ms = j.value("heartbeat_ms", int64_t{10'000});
    if (const json o = j.value("output", json()); o.is_object()) {
      t.output = OutputRef{o.value("output_id", int64_t{0}), o.value("sha256", ""),
                           o.value("node_id", int64_t{0}), o.value("url", "")};
    }
    if (const json c = j.value("check", json()); c.is_object()) {
      CheckSpec check;
      check.level = c.value("level", 0);
      check.layer2 = c.value("layer2", true);
      check.whole_frame = c.value("whole_frame", false);
      check.regions = c.value("regions", 0);
      check.detail_regions = c.value("detail_regions", 0);
      check.exact_rate = c.value("exact_rate", check.exact_rate);
      t.check = check;
    }
    if (const json o = j.value("original", json()); o.is_object()) {
      t.original = OriginalRef{o.value("output_id", int64_t{0}), o.value("sha256", ""), o.value("url", "")};
    }
    return t;
  });
}

Result<HeartbeatAnswer> HeartbeatAnswerFromJson(const json& j) {
  return Decode<HeartbeatAnswer>(j, "heartbeat answer",
                                 [&] { return HeartbeatAnswer{j.value("action", "continue")}; });
}

Result<HeartbeatRequest> HeartbeatRequestFromJson(const json& j) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "heartbeat body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "progress")
      return MakeError(Errc::kInvalidArgument, "unknown field \"" + key.substr(0, 80) + "\"");
  }
  HeartbeatRequest r;
  auto it = j.find("progress");
  if (it == j.end() || it->is_null()) return r;
  constexpr int64_t kMaxProgress = int64_t{1} << 53;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
      (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(kMaxProgress)) ||
      it->get<int64_t>() > kMaxProgress) {
    return MakeError(
        Errc::kInvalidArgument,
        "heartbeat \"progress\" must be a whole number from 0 to 2^53 (the task's render events so "
        "far), not " +
            it->dump().substr(0, 40));
  }
  r.progress = it->get<int64_t>();
  return r;
}

Result<UploadSlot> UploadSlotFromJson(const json& j) {
  return Decode<UploadSlot>(j, "upload slot", [&] {
    return UploadSlot{j.value("key", ""), j.value("url", "")};
  });
}

Result<RegisterAnswer> RegisterAnswerFromJson(const json& j) {
  return Decode<RegisterAnswer>(j, "enrollment answer", [&] {
    return RegisterAnswer{j.value("node_id", int64_t{0}), j.value("node_token", "")};
  });
}

}  // namespace inferix::net
