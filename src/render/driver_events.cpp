#include "render/driver_events.hpp"

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

namespace inferix::render {
namespace {

using nlohmann::json;

// A field problem, reported with the line's event kind so that a log says which line was wrong.
struct FieldError {
  std::string message;
};

const json* Find(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string GetString(const json& obj, const char* key, bool required, std::string fallback = "") {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) throw FieldError{std::string("missing field \"") + key + "\""};
    return fallback;
  }
  if (!v->is_string()) throw FieldError{std::string("field \"") + key + "\" is not a string"};
  return v->get<std::string>();
}

int GetInt(const json& obj, const char* key, bool required, int fallback = 0) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) throw FieldError{std::string("missing field \"") + key + "\""};
    return fallback;
  }
  if (!v->is_number_integer()) throw FieldError{std::string("field \"") + key + "\" is not an integer"};
  auto n = v->get<std::int64_t>();
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    throw FieldError{std::string("field \"") + key + "\" is out of range"};
  }
  return static_cast<int>(n);
}

double GetDouble(const json& obj, const char* key, bool required, double fallback = 0.0) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) throw FieldError{std::string("missing field \"") + key + "\""};
    return fallback;
  }
  if (!v->is_number()) throw FieldError{std::string("field \"") + key + "\" is not a number"};
  return v->get<double>();
}

std::vector<std::string> GetStrings(const json& obj, const char* key) {
  std::vector<std::string> out;
  const json* v = Find(obj, key);
  if (v == nullptr) return out;
  if (!v->is_array()) throw FieldError{std::string("field \"") + key + "\" is not an array"};
  for (const auto& item : *v) {
    if (!item.is_string()) throw FieldError{std::string("field \"") + key + "\" holds a non-string"};
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool GetBool(const json& obj, const char* key, bool fallback) {
  const json* v = Find(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw FieldError{std::string("field \"") + key + "\" is not a boolean"};
  return v->get<bool>();
}

SceneInfo ParseScene(const json& s) {
  if (!s.is_object()) throw FieldError{"field \"scene\" is not an object"};
  SceneInfo info;
  info.blender_version = GetString(s, "blender_version", true);
  info.file_version = GetString(s, "file_version", false);
  info.width = GetInt(s, "width", true);
  info.height = GetInt(s, "height", true);
  info.file_format = GetString(s, "file_format", true);
  info.color_mode = GetString(s, "color_mode", false);
  info.color_depth = GetString(s, "color_depth", false);
  info.fps = GetDouble(s, "fps", false, info.fps);
  info.frame_start = GetInt(s, "frame_start", false, info.frame_start);
  info.frame_end = GetInt(s, "frame_end", false, info.frame_end);
  info.frame_step = GetInt(s, "frame_step", false, info.frame_step);
  info.has_camera = GetBool(s, "has_camera", false);
  info.engine = GetString(s, "engine", false);
  info.denoisers = GetStrings(s, "denoisers");
  if (const json* d = Find(s, "device"); d != nullptr) {
    if (!d->is_object()) throw FieldError{"field \"device\" is not an object"};
    info.device.type = GetString(*d, "type", true);
    info.device.assigned = GetString(*d, "assigned", false);
    info.device.enabled = GetStrings(*d, "enabled");
    info.device.scene_device = GetString(*d, "scene_device", false);
    info.device.simulated = GetBool(*d, "simulated", false);
  }
  return info;
}

SceneDependency ParseDependency(const json& d) {
  if (!d.is_object()) throw FieldError{"field \"files\" holds a non-object"};
  SceneDependency dep;
  dep.path = GetString(d, "path", true);
  dep.abs = GetString(d, "abs", true);
  dep.kind = GetString(d, "kind", false, "file");
  dep.what = GetString(d, "what", false);
  dep.optional = GetBool(d, "optional", false);
  if (const json* tiles = Find(d, "tiles"); tiles != nullptr) {
    if (!tiles->is_array()) throw FieldError{"field \"tiles\" is not an array"};
    for (const auto& t : *tiles) {
      if (!t.is_number_integer() || t.get<int64_t>() < 1001 || t.get<int64_t>() > 2000)
        throw FieldError{"field \"tiles\" holds something other than a UDIM tile number (1001-2000)"};
      dep.tiles.push_back(t.get<int>());
    }
  }
  return dep;
}

std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 200;
  if (line.size() <= kMax) return std::string(line);
  return std::string(line.substr(0, kMax)) + "...";
}

}  // namespace

Result<DriverEvent> ParseDriverEvent(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return MakeError(Errc::kInvalidArgument, "driver event is not valid JSON: " + Excerpt(line));
  }
  if (!j.is_object()) {
    return MakeError(Errc::kInvalidArgument, "driver event is not a JSON object: " + Excerpt(line));
  }
  std::string kind;
  try {
    kind = GetString(j, "event", true);
    DriverEvent ev;
    if (kind == "ready") {
      ev.kind = DriverEvent::Kind::kReady;
      // Without a scene: a spare Blender, started before its scene was known, waiting for "open".
      if (const json* s = Find(j, "scene"); s != nullptr) ev.scene = ParseScene(*s);
    } else if (kind == "frame_started") {
      ev.kind = DriverEvent::Kind::kFrameStarted;
      ev.frame = GetInt(j, "frame", true);
    } else if (kind == "frame_saved") {
      ev.kind = DriverEvent::Kind::kFrameSaved;
      ev.frame = GetInt(j, "frame", true);
      ev.path = GetString(j, "path", true);
      if (ev.path.empty()) throw FieldError{"field \"path\" is empty"};
      ev.render_seconds = GetDouble(j, "render_seconds", false);
    } else if (kind == "files") {
      ev.kind = DriverEvent::Kind::kFiles;
      const json* files = Find(j, "files");
      if (files == nullptr) throw FieldError{"missing field \"files\""};
      if (!files->is_array()) throw FieldError{"field \"files\" is not an array"};
      for (const auto& f : *files) ev.files.push_back(ParseDependency(f));
    } else if (kind == "preflight") {
      ev.kind = DriverEvent::Kind::kPreflight;
      const json* problems = Find(j, "problems");
      if (problems == nullptr || !problems->is_array())
        throw FieldError{"field \"problems\" is not an array"};
      for (const auto& p : *problems) {
        if (!p.is_object()) throw FieldError{"field \"problems\" holds a non-object"};
        ev.problems.push_back(
            {GetString(p, "code", true), GetString(p, "message", true), p.value("fatal", true)});
      }
    } else if (kind == "error") {
      ev.kind = DriverEvent::Kind::kError;
      ev.message = GetString(j, "message", false);
      if (ev.message.empty()) ev.message = "the driver reported an error without a message";
    } else if (kind == "done") {
      ev.kind = DriverEvent::Kind::kDone;
    } else {
      return MakeError(Errc::kInvalidArgument, "unknown driver event \"" + kind + "\": " + Excerpt(line));
    }
    return ev;
  } catch (const FieldError& e) {
    std::string what = kind.empty() ? "driver event" : "driver event \"" + kind + "\"";
    return MakeError(Errc::kInvalidArgument, what + ": " + e.message + ": " + Excerpt(line));
  }
}

std::string EncodeOpenCommand(const std::string& scene, int resolution_percentage) {
  return json{{"cmd", "open"}, {"scene", scene}, {"resolution_percentage", resolution_percentage}}.dump();
}

std::string EncodeRenderCommand(const RenderCommand& cmd) {
  json j = {
      {"cmd", "render"},        {"frames", cmd.frames},   {"output_dir", cmd.output_dir},
      {"format", cmd.format},   {"threads", cmd.threads}, {"persistent_data", cmd.persistent_data},
      {"denoise", cmd.denoise},
  };
  if (cmd.border) {
    j["border"] = {{"min_x", cmd.border->min_x},
                   {"max_x", cmd.border->max_x},
                   {"min_y", cmd.border->min_y},
                   {"max_y", cmd.border->max_y}};
  } else {
    j["border"] = nullptr;
  }
  if (cmd.reduce) {
    j["reduce"] = {{"width", cmd.reduce->width},
                   {"height", cmd.reduce->height},
                   {"samples_divisor", cmd.reduce->samples_divisor}};
  }
  // Paths are the worker's own and valid UTF-8; replacing a bad byte beats throwing from an encoder.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace inferix::render
