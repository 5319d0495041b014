#include "manager/requests.hpp"

#include <algorithm>
#include <cctype>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "domain/capabilities.hpp"
#include "domain/job_compiler.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"

namespace inferix::manager {

using json = nlohmann::json;

BodyReader& BodyReader::Check(bool ok, const std::string& message) {
  if (!error_ && !ok) error_ = MakeError(Errc::kInvalidArgument, message);
  return *this;
}

const json* BodyReader::Find(const char* name, bool required) {
  if (error_) return nullptr;
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) {
    if (required) error_ = MakeError(Errc::kInvalidArgument, std::string("missing field \"") + name + "\"");
    return nullptr;
  }
  return &*it;
}

BodyReader& BodyReader::Number(const char* name, double& out, double min, double max, bool required) {
  const json* v = Find(name, required);
  if (v == nullptr) return *this;
  auto checked = CheckedNumber(*v, name, min, max);
  if (checked) {
    out = *checked;
  } else {
    error_ = checked.error();
  }
  return *this;
}

BodyReader& BodyReader::Text(const char* name, std::string& out, size_t max_bytes, bool required) {
  Read(name, out, required);
  if (!error_) out = CapText(out, max_bytes);
  return *this;
}

Result<void> BodyReader::Done() const {
  if (error_) return *error_;
  return Ok();
}

Result<CheckFilesRequest> DecodeCheckFiles(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"sha256"});
  if (!body) return body.error();
  CheckFilesRequest r;
  BodyReader in(*body);
  in.Required("sha256", r.sha256).Check(r.sha256.size() <= 10000, "at most 10000 hashes per request");
  for (const auto& h : r.sha256) {
    in.Check(IsSha256Hex(h), "\"" + h.substr(0, 80) + "\" is not a SHA-256");
  }
  INFERIX_TRY(in.Done());
  return r;
}

namespace {

Result<std::vector<domain::SceneFile>> DecodeSceneFiles(const json& body) {
  auto files = body.find("files");
  if (files == body.end() || !files->is_array()) {
    return MakeError(Errc::kInvalidArgument, "missing field \"files\"");
  }
  std::vector<domain::SceneFile> out;
  for (const auto& f : *files) {
    if (!f.is_object()) return MakeError(Errc::kInvalidArgument, "each file must be an object");
    for (const auto& [k, v] : f.items()) {
      if (k != "path" && k != "sha256" && k != "size") {
        return MakeError(Errc::kInvalidArgument, "unknown file field \"" + k + "\"");
      }
    }
    domain::SceneFile file;
    BodyReader in(f);
    in.Required("path", file.path)
        .Required("sha256", file.sha256)
        .Integer("size", file.size, 0, kMaxStatedFileBytes);
    INFERIX_TRY(in.Done());
    out.push_back(std::move(file));
  }
  return out;
}

// A job's "requirements": {"device": "gpu", "min_gpu_memory_bytes": N, "blender_min": "3.6", "blender_max":
// "4.2"}, each optional.
Result<void> ReadRequirements(const nlohmann::json& j, domain::JobRequirements& out) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "requirements must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "device" && key != "min_gpu_memory_bytes" && key != "blender_min" && key != "blender_max")
      return MakeError(Errc::kInvalidArgument, "requirements: unknown field \"" + SafeText(key, 64) + "\"");
    if (key == "min_gpu_memory_bytes" ? !value.is_number_integer() : !value.is_string())
      return MakeError(Errc::kInvalidArgument,
                       "requirements." + key +
                           (key == "min_gpu_memory_bytes" ? " must be an integer" : " must be a string"));
  }
  out.device = j.value("device", "");
  out.min_gpu_memory_bytes = j.value("min_gpu_memory_bytes", int64_t{0});
  for (const char* key : {"blender_min", "blender_max"}) {
    const std::string text = j.value(key, "");
    const int version = domain::VersionNumber(text);
    if (!text.empty() && version == 0)
      return MakeError(Errc::kInvalidArgument,
                       std::string("requirements.") + key + " must be a version such as 3.6");
    (std::string_view(key) == "blender_min" ? out.blender_min : out.blender_max) = version;
  }
  return domain::CheckRequirements(out);
}

// A render engine's name as Blender calls it (bl_idname), or "" when the client did not say.
bool EngineNamed(const std::string& engine) {
  return engine.size() <= 64 && std::all_of(engine.begin(), engine.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '_' || c == '.' || c == '-';
         });
}

}  // namespace

Result<CreateJobRequest> DecodeCreateJob(const net::HttpRequest& req) {
  auto body =
      ParseBody(req, {"name", "main", "files", "frames", "format", "chunk_size", "priority", "fps", "root",
                      "denoisers", "without_denoiser", "resolution_percentage", "requirements", "engine"});
  if (!body) return body.error();
  CreateJobRequest r;
  domain::Job& job = r.job;
  std::string format = "PNG";
  job.chunk_size = 4;
  BodyReader in(*body);
  in.Optional("root", job.scene_root)
      .Optional("denoisers", job.denoisers)
      .Optional("without_denoiser", job.without_denoiser)
      .Check(job.denoisers.size() <= 8, "denoisers must name at most 8 denoisers")
      .Optional("engine", job.engine)
      .Check(EngineNamed(job.engine),
             "engine must be a render engine's name as Blender calls it (\"CYCLES\", \"BLENDER_EEVEE\"): "
             "letters, digits, _, . and -, at most 64")
      .Integer("resolution_percentage", job.resolution_percentage, 0, 100)
      .Number("fps", job.fps, 0.001, 1000)
      .Required("name", job.name)
      .Required("main", job.main_file)
      .Required("frames", job.frames_spec)
      .Optional("format", format)
      .Integer("chunk_size", job.chunk_size, 1, domain::kMaxChunkSize)
      .Integer("priority", job.priority, kMinPriority, kMaxPriority);
  INFERIX_TRY(in.Done());
  if (body->contains("requirements"))
    INFERIX_TRY(ReadRequirements((*body)["requirements"], job.requirements));
  auto parsed = domain::ParseOutputFormat(format);
  if (!parsed) return MakeError(Errc::kInvalidArgument, "format must be PNG, EXR or JPEG");
  job.format = *parsed;
  auto files = DecodeSceneFiles(*body);
  if (!files) return files.error();
  job.files = std::move(*files);
  return r;
}

Result<RegisterRequest> DecodeRegister(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"enrollment_token", "name", "role", "public_key", "capabilities"});
  if (!body) return body.error();
  RegisterRequest r;
  std::string role;
  BodyReader in(*body);
  in.Required("enrollment_token", r.enrollment_token)
      .Required("name", r.name)
      .Required("role", role)
      .Required("public_key", r.public_key)
      .Check(!r.name.empty() && r.name.size() <= 100, "name must be 1 to 100 characters")
      .Check(r.public_key.size() == 64 && IsSha256Hex(r.public_key), "public_key must be 32 bytes of hex");
  INFERIX_TRY(in.Done());
  auto parsed = domain::ParseNodeRole(role);
  if (!parsed) return MakeError(Errc::kInvalidArgument, "role must be worker or verifier");
  r.role = *parsed;
  r.capabilities = body->value("capabilities", json::object());
  if (r.capabilities.is_null()) r.capabilities = json::object();
  INFERIX_TRY(CheckCapabilities(r.capabilities));
  return r;
}

Result<CapabilitiesRequest> DecodeCapabilities(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"capabilities"});
  if (!body) return body.error();
  CapabilitiesRequest r;
  INFERIX_TRY(BodyReader(*body).Required("capabilities", r.capabilities).Done());
  INFERIX_TRY(CheckCapabilities(r.capabilities));
  return r;
}

Result<ClaimRequest> DecodeClaim(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"cached", "slot"});
  if (!body) return body.error();
  ClaimRequest r;
  BodyReader in(*body);
  in.Optional("cached", r.cached).Check(r.cached.size() <= 10000, "cached may list at most 10000 hashes");
  in.Text("slot", r.slot, 256, false);
  INFERIX_TRY(in.Done());
  return r;
}

Result<FailRequest> DecodeFail(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"error"});
  if (!body) return body.error();
  FailRequest r;
  INFERIX_TRY(BodyReader(*body).Text("error", r.error, kMaxNodeMessageBytes, true).Done());
  return r;
}

Result<ReleaseRequest> DecodeRelease(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"reason"});
  if (!body) return body.error();
  ReleaseRequest r;
  INFERIX_TRY(BodyReader(*body).Text("reason", r.reason, kMaxNodeMessageBytes, true).Done());
  return r;
}

Result<AvailabilityRequest> DecodeAvailability(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"availability", "reason"});
  if (!body) return body.error();
  AvailabilityRequest r;
  INFERIX_TRY(BodyReader(*body)
                  .Text("availability", r.availability, 64, true)
                  .Text("reason", r.reason, kMaxNodeMessageBytes, false)
                  .Done());
  static const char* const kKnown[] = {"", "paused", "draining", "outside hours", "owner busy"};
  if (std::find(std::begin(kKnown), std::end(kKnown), r.availability) == std::end(kKnown)) {
    return MakeError(Errc::kInvalidArgument,
                     "availability: \"" + r.availability +
                         "\" is not one of \"\" (takes work), paused, draining, outside hours, owner busy");
  }
  return r;
}

Result<FrameReportRequest> DecodeFrameReport(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"sha256", "key", "render_seconds", "render_cpu_seconds", "signature"});
  if (!body) return body.error();
  FrameReportRequest r;
  BodyReader in(*body);
  in.Number("render_cpu_seconds", r.render_cpu_seconds, 0, kMaxReportedSeconds)
      .Required("sha256", r.sha256)
      .Required("key", r.key)
      .Number("render_seconds", r.render_seconds, 0, kMaxReportedSeconds)
      .Required("signature", r.signature)
      .Check(IsSha256Hex(r.sha256), "sha256 must be 64 lower-case hex digits");
  INFERIX_TRY(in.Done());
  return r;
}

Result<VerdictRequest> DecodeVerdict(const net::HttpRequest& req) {
  auto body = ParseBody(req, {"verdict", "detail", "verify_seconds", "verify_cpu_seconds", "method",
                              "matches_original", "signature"});
  if (!body) return body.error();
  VerdictRequest r;
  BodyReader in(*body);
  in.Number("verify_cpu_seconds", r.verify_cpu_seconds, 0, kMaxReportedSeconds);
  if (body->contains("method")) {
    r.method = (*body)["method"];
    in.Check(r.method.is_object(), "method must be an object")
        .Check(!r.method.is_object() || r.method.dump().size() <= kMaxMethodBytes,
               "method must be at most " + std::to_string(kMaxMethodBytes) + " bytes of JSON");
  }
  if (body->contains("matches_original")) {
    const json& m = (*body)["matches_original"];
    in.Check(m.is_boolean(), "matches_original must be true or false");
    if (m.is_boolean()) r.matches_original = m.get<bool>();
  }
  in.Required("verdict", r.verdict)
      .Check(r.verdict.size() <= 32, "verdict must be accepted, rejected or inconclusive")
      .Text("detail", r.detail, kMaxNodeMessageBytes)
      .Number("verify_seconds", r.verify_seconds, 0, kMaxReportedSeconds)
      .Required("signature", r.signature);
  INFERIX_TRY(in.Done());
  return r;
}

}  // namespace inferix::manager
