#include "net/node_protocol.hpp"

#include <optional>

#include "core/checked_number.hpp"
#include "core/crypto.hpp"

namespace inferix::net {

using json = nlohmann::json;

namespace {

// Bounds of the numbers a manager may send (what a sane manager sends lies well inside them).
constexpr int64_t kMaxId = int64_t{1} << 53;
constexpr int64_t kMaxFrame = 1048574;  // Blender's MAXFRAME
constexpr int64_t kMaxFileBytes = int64_t{1} << 40;
constexpr int64_t kMaxIntervalMs = int64_t{7} * 24 * 3600 * 1000;
constexpr int64_t kMaxRegions = 10000;

// Reads numbers range-checked (CheckedInteger, CheckedNumber), keeping the first error; a missing or null
// field takes its default, as the decoders always have.
class Numbers {
 public:
  template <typename T>
  T Int(const json& j, const char* name, T fallback, int64_t min, int64_t max) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    return Value(*it, name, fallback, min, max);
  }
  template <typename T>
  T Value(const json& value, const char* name, T fallback, int64_t min, int64_t max) {
    auto v = CheckedInteger(value, name, min, max);
    if (!v) {
      if (!error_) error_ = v.error();
      return fallback;
    }
    return static_cast<T>(*v);
  }
  double Real(const json& j, const char* name, double fallback, double min, double max) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    auto v = CheckedNumber(*it, name, min, max);
    if (!v) {
      if (!error_) error_ = v.error();
      return fallback;
    }
    return *v;
  }
  /// `value`, or the first error with `what` in front.
  template <typename T>
  Result<T> Done(const char* what, T value) const {
    if (error_) return MakeError(Errc::kInvalidArgument, std::string(what) + ": " + error_->message);
    return value;
  }

 private:
  std::optional<Error> error_;
};

// Runs a decoder that reads with json::value (a missing field takes its default) and turns a type error
// into kInvalidArgument naming what was decoded.
template <typename T, typename Fn>
Result<T> Decode(const json& j, const char* what, Fn&& fn) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, std::string(what) + " is not an object");
  try {
    Numbers numbers;
    T value = fn(numbers);
    return numbers.Done(what, std::move(value));
  } catch (const json::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string(what) + ": " + e.what());
  }
}

SceneRef ReadScene(const json& j, Numbers& n) {
  SceneRef s;
  s.main = j.value("main", "");
  for (const auto& f : j.value("files", json::array())) {
    s.files.push_back({f.value("path", ""), f.value("sha256", ""),
                       n.Int(f, "size", int64_t{0}, 0, kMaxFileBytes), f.value("url", "")});
  }
  s.root = j.value("root", "");
  s.resolution_percentage = n.Int(j, "resolution_percentage", 0, 0, 100);
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

json ToJson(const ClaimRequest& request) {
  json j = {{"cached", request.cached}};
  if (!request.slot.empty()) j["slot"] = request.slot;
  return j;
}

json ToJson(const HeartbeatRequest& request) {
  json j = json::object();
  if (request.progress) j["progress"] = *request.progress;
  return j;
}

json ToJson(const HeartbeatAnswer& answer) { return {{"action", answer.action}}; }

json ToJson(const UploadSlot& slot) {
  json j = {{"key", slot.key}, {"url", slot.url}};
  if (!slot.headers.empty()) j["headers"] = slot.headers;
  return j;
}

json ToJson(const UploadRequest& request) {
  json j = json::object();
  if (!request.sha256.empty()) j["sha256"] = request.sha256;
  if (request.size >= 0) j["size"] = request.size;
  return j;
}

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
  return Decode<SceneRef>(j, "scene", [&](Numbers& n) { return ReadScene(j, n); });
}

Result<ClaimedTask> ClaimedTaskFromJson(const json& j) {
  return Decode<ClaimedTask>(j, "claimed task", [&](Numbers& n) {
    ClaimedTask t;
    t.task_id = n.Int(j, "task_id", int64_t{0}, 0, kMaxId);
    t.kind = j.value("kind", "");
    t.job_id = n.Int(j, "job_id", int64_t{0}, 0, kMaxId);
    // A list (get throws a type error otherwise), each frame range-checked.
    for (const json& f : j.value("frames", json::array()).get<std::vector<json>>())
      t.frames.push_back(n.Value(f, "frames", 0, -kMaxFrame, kMaxFrame));
    t.format = j.value("format", "PNG");
    const json scene = j.value("scene", json::object());
    if (scene.is_object()) t.scene = ReadScene(scene, n);
    t.denoise = j.value("denoise", true);
    t.blender = j.value("blender", "");
    t.lease_ms = n.Int(j, "lease_ms", int64_t{0}, 0, kMaxIntervalMs);
    t.heartbeat_ms = n.Int(j, "heartbeat_ms", int64_t{10'000}, 1, kMaxIntervalMs);
    if (const json o = j.value("output", json()); o.is_object()) {
      t.output = OutputRef{n.Int(o, "output_id", int64_t{0}, 0, kMaxId), o.value("sha256", ""),
                           n.Int(o, "node_id", int64_t{0}, 0, kMaxId), o.value("url", "")};
    }
    if (const json c = j.value("check", json()); c.is_object()) {
      CheckSpec check;
      check.level = n.Int(c, "level", 0, -1, 100);  // domain::CheckLevel: -1 is layer 1 only
      check.layer2 = c.value("layer2", true);
      check.whole_frame = c.value("whole_frame", false);
      check.regions = n.Int(c, "regions", 0, 0, kMaxRegions);
      check.detail_regions = n.Int(c, "detail_regions", 0, 0, kMaxRegions);
      check.exact_rate = n.Real(c, "exact_rate", check.exact_rate, 0.0, 1.0);
      t.check = check;
    }
    if (const json o = j.value("original", json()); o.is_object()) {
      t.original = OriginalRef{n.Int(o, "output_id", int64_t{0}, 0, kMaxId), o.value("sha256", ""),
                               o.value("url", "")};
    }
    return t;
  });
}

Result<HeartbeatAnswer> HeartbeatAnswerFromJson(const json& j) {
  return Decode<HeartbeatAnswer>(j, "heartbeat answer",
                                 [&](Numbers&) { return HeartbeatAnswer{j.value("action", "continue")}; });
}

Result<UploadRequest> UploadRequestFromJson(const json& j) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "upload request body must be a JSON object");
  UploadRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "sha256") {
      if (!value.is_string() || !IsSha256Hex(value.get<std::string>())) {
        return MakeError(Errc::kInvalidArgument,
                         "upload request \"sha256\" must be the frame's SHA-256 as 64 lower-case hex digits");
      }
      r.sha256 = value.get<std::string>();
    } else if (key == "size") {
      constexpr int64_t kMaxSize = int64_t{1} << 53;
      if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > kMaxSize) ||
          value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxSize) {
        return MakeError(Errc::kInvalidArgument,
                         "upload request \"size\" must be the frame's size in bytes, a whole number from 0 "
                         "to 2^53");
      }
      r.size = value.get<int64_t>();
    } else {
      return MakeError(Errc::kInvalidArgument, "unknown field \"" + key.substr(0, 80) + "\"");
    }
  }
  return r;
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
  return Decode<UploadSlot>(j, "upload slot", [&](Numbers&) {
    UploadSlot slot{j.value("key", ""), j.value("url", ""), {}};
    if (j.contains("headers") && !j.at("headers").is_null()) {
      slot.headers = j.at("headers").get<std::map<std::string, std::string>>();
    }
    return slot;
  });
}

Result<RegisterAnswer> RegisterAnswerFromJson(const json& j) {
  return Decode<RegisterAnswer>(j, "enrollment answer", [&](Numbers& n) {
    return RegisterAnswer{n.Int(j, "node_id", int64_t{0}, 0, kMaxId), j.value("node_token", "")};
  });
}

}  // namespace inferix::net
