#include "net/node_client.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "core/crypto.hpp"
#include "core/files.hpp"

namespace inferix::net {

using json = nlohmann::json;

Error ErrorFromResponse(const HttpResponse& response, const std::string& what) {
  json body = json::parse(response.body, nullptr, false);
  std::string message = response.body.substr(0, 500);
  if (!body.is_discarded() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", message);
  }
  Errc code = Errc::kInternal;
  switch (response.status) {
    case 400:
      code = Errc::kInvalidArgument;
      break;
    case 401:
      code = Errc::kUnauthenticated;
      break;
    case 403:
      code = Errc::kPermissionDenied;
      break;
    case 404:
      code = Errc::kNotFound;
      break;
    case 409:
      code = Errc::kConflict;
      break;
    case 413:
      code = Errc::kTooLarge;
      break;
    case 502:
    case 503:
    case 504:
      code = Errc::kUnavailable;
      break;
    default:
      break;
  }
  return MakeError(code, what + ": " + message + " (HTTP " + std::to_string(response.status) + ")");
}

ApiClient::ApiClient(std::string manager_url, std::string bearer_token, ClientOptions options)
    : manager_url_(std::move(manager_url)), token_(std::move(bearer_token)), http_(std::move(options)) {
  while (!manager_url_.empty() && manager_url_.back() == '/') manager_url_.pop_back();
}

std::map<std::string, std::string> ApiClient::Headers(bool with_token, bool is_json) const {
  std::map<std::string, std::string> h;
  if (with_token && !token_.empty()) h["Authorization"] = "Bearer " + token_;
  if (is_json) h["Content-Type"] = "application/json";
  return h;
}

Result<json> ApiClient::Call(const std::string& method, const std::string& path, const json& body,
                             long timeout_s) {
  auto r = http_.Request(method, manager_url_ + path, body.is_null() ? "" : body.dump(),
                         Headers(true, !body.is_null()), timeout_s);
  if (!r) return r.error();
  if (r->status == 204) return json(nullptr);
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r, method + " " + path);
  json out = json::parse(r->body, nullptr, false);
  if (out.is_discarded()) return MakeError(Errc::kInternal, method + " " + path + ": answer is not JSON");
  return out;
}

Result<std::string> ApiClient::CallText(const std::string& method, const std::string& path,
                                        const std::map<std::string, std::string>& headers, long timeout_s) {
  auto h = Headers(true, false);
  for (const auto& [k, v] : headers) h[k] = v;
  auto r = http_.Request(method, manager_url_ + path, "", h, timeout_s);
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r, method + " " + path);
  return r->body;
}

Result<json> ApiClient::PutFile(const std::string& path_and_query, const std::filesystem::path& file,
                                bool with_token) {
  auto r = http_.UploadFile("PUT", manager_url_ + path_and_query, file, Headers(with_token, false));
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300)
    return ErrorFromResponse(*r, "upload of " + file.filename().string());
  json out = json::parse(r->body, nullptr, false);
  return out.is_discarded() ? json::object() : out;
}

Result<void> ApiClient::Download(const std::string& path_and_query, const std::filesystem::path& dest) {
  auto r = http_.Download(manager_url_ + path_and_query, dest, Headers(false, false));
  if (!r) return r.error();
  if (r->status != 200) return ErrorFromResponse(*r, "download of " + dest.filename().string());
  return Ok();
}

Result<NodeCredentials> LoadOrEnroll(ApiClient& api, const std::filesystem::path& data_dir,
                                     const std::string& enrollment_token, const std::string& name,
                                     const std::string& role, const json& capabilities) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot create " + data_dir.string() + ": " + ec.message());
  const auto path = data_dir / "node.json";
  if (std::filesystem::exists(path, ec)) {
    auto text = ReadFile(path);
    if (!text) return text.error();
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("node_token")) {
      return MakeError(Errc::kInvalidArgument, path.string() + " is damaged; remove it and enroll again");
    }
    NodeCredentials c{j.value("node_id", int64_t{0}), j.value("node_token", ""), j.value("private_key", ""),
                      j.value("public_key", "")};
    api.set_token(c.node_token);
    return c;
  }
  if (enrollment_token.empty()) {
    return MakeError(Errc::kUnauthenticated, "this node has no credentials in " + data_dir.string() +
                                                 "; pass --token with an enrollment token");
  }
  auto keys = Ed25519Generate();
  api.set_token("");
  auto r = api.Call("POST", "/api/v1/nodes/register",
                    {{"enrollment_token", enrollment_token},
                     {"name", name},
                     {"role", role},
                     {"public_key", keys.public_hex},
                     {"capabilities", capabilities}});
  if (!r) return r.error();
  NodeCredentials c{r->value("node_id", int64_t{0}), r->value("node_token", ""), keys.private_hex,
                    keys.public_hex};
  json saved = {{"node_id", c.node_id},
                {"node_token", c.node_token},
                {"private_key", c.private_key},
                {"public_key", c.public_key},
                {"manager", api.manager_url()}};
  INFERIX_TRY(WriteFileAtomic(path, saved.dump(2)));
  api.set_token(c.node_token);
  return c;
}

Result<std::filesystem::path> FetchScene(ApiClient& api, const json& scene,
                                         const std::filesystem::path& cache_dir,
                                         const std::filesystem::path& scene_dir) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  std::filesystem::create_directories(scene_dir, ec);
  if (!scene.is_object() || !scene.contains("files"))
    return MakeError(Errc::kInvalidArgument, "task has no scene");
  for (const auto& f : scene["files"]) {
    const std::string sha = f.value("sha256", "");
    const std::string rel = f.value("path", "");
    if (!IsSha256Hex(sha) || !IsSafeRelativePath(rel)) {
      return MakeError(Errc::kInvalidArgument, "task names an unsafe scene file \"" + rel + "\"");
    }
    const auto cached = cache_dir / sha;
    if (!std::filesystem::exists(cached, ec)) {
      const auto part = cache_dir / (sha + ".download");
      INFERIX_TRY(api.Download(f.value("url", ""), part));
      auto got = Sha256File(part);
      if (!got || *got != sha) {
        std::filesystem::remove(part, ec);
        return MakeError(Errc::kInvalidArgument, "scene file " + rel + " arrived damaged (hash mismatch)");
      }
      std::filesystem::rename(part, cached, ec);
      if (ec) return MakeError(Errc::kInternal, "cannot store " + cached.string() + ": " + ec.message());
    }
    const auto dest = scene_dir / rel;
    std::filesystem::create_directories(dest.parent_path(), ec);
    if (!std::filesystem::exists(dest, ec)) {
      std::filesystem::create_hard_link(cached, dest, ec);
      if (ec) std::filesystem::copy_file(cached, dest, ec);
      if (ec) return MakeError(Errc::kInternal, "cannot place " + dest.string() + ": " + ec.message());
    }
  }
  return scene_dir / scene.value("main", "");
}

std::vector<std::string> CachedHashes(const std::filesystem::path& cache_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cache_dir, ec)) {
    auto name = e.path().filename().string();
    if (IsSha256Hex(name)) out.push_back(name);
    if (out.size() >= 1000) break;
  }
  return out;
}

namespace {

std::string RunAndRead(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The cache key: which file the executable is and when it last changed, so that an upgrade (a new file or new
// contents) is never answered from the cache. Empty when the file cannot be examined.
std::string ExecutableIdentity(const std::filesystem::path& exe) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(exe, ec);
  struct stat st {};
  if (ec || ::stat(real.c_str(), &st) != 0) return {};
  return fmt::format("{}\t{}:{}:{}:{}.{:09}:{}.{:09}", real.string(), st.st_dev, st.st_ino, st.st_size,
                     st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

std::filesystem::path VersionCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "inferix";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    return std::filesystem::path(home) / ".cache" / "inferix";
  }
  return {};
}

}  // namespace

namespace {

// An answer about a Blender executable, kept in the user's cache under the executable's identity: `compute`
// runs only the first time, or after the executable changed. An empty answer is not kept.
std::string CachedProbe(const std::string& blender, const std::string& what,
                        const std::function<std::string()>& compute) {
  const auto identity = ExecutableIdentity(ResolveExecutable(blender));
  const auto dir = VersionCacheDir();
  const auto cache = dir.empty() || identity.empty()
                         ? std::filesystem::path()
                         : dir / ("blender-" + what + "-" + Sha256Hex(identity).substr(0, 16));
  if (!cache.empty()) {
    if (auto kept = ReadFile(cache); kept && kept->starts_with(identity + "\n")) {
      return kept->substr(identity.size() + 1);
    }
  }
  std::string answer = compute();
  if (!cache.empty() && !answer.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    (void)WriteFileAtomic(cache, identity + "\n" + answer);  // a cache: failing to keep it costs a rerun
  }
  return answer;
}

// Asks Cycles which denoisers this build has (scene_checks.available_denoisers, inlined: no scene is opened,
// so nothing untrusted runs). The answer line is marked, among Blender's own output.
constexpr const char* kDenoiserProbe =
    "import bpy, json\n"
    "found = []\n"
    "try:\n"
    "    import _cycles\n"
    "    if getattr(_cycles, 'with_openimagedenoise', False): found.append('OPENIMAGEDENOISE')\n"
    "    if bpy.context.preferences.addons['cycles'].preferences.get_devices_for_type('OPTIX'):\n"
    "        found.append('OPTIX')\n"
    "except Exception:\n"
    "    pass\n"
    "print('INFERIX-DENOISERS ' + json.dumps(found))\n";

}  // namespace

std::string BlenderVersion(const std::string& blender) {
  // `blender --version` costs about 0.4 s of CPU (Blender's start), once per node start; a node started again
  // with the same Blender (the local network of `inferix render` starts two each run) reads the answer kept
  // in the user's cache, keyed by the executable's identity.
  return CachedProbe(blender, "version", [&] {
    // Only the version banner: no scene is opened, so nothing untrusted runs here.
    std::string version = RunAndRead(ShellQuote(blender) + " --version 2>/dev/null | head -n 1");
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (version.starts_with("Blender ")) version = version.substr(8);
    return version;
  });
}

std::vector<std::string> BlenderDenoisers(const std::string& blender) {
  const std::string answer = CachedProbe(blender, "denoisers", [&] {
    const std::string out = RunAndRead(ShellQuote(blender) +
                                       " -b --factory-startup -noaudio --python-exit-code 1 --python-expr " +
                                       ShellQuote(kDenoiserProbe) + " 2>/dev/null");
    const std::string mark = "INFERIX-DENOISERS ";
    const size_t at = out.find(mark);
    if (at == std::string::npos) return std::string();
    const size_t end = out.find('\n', at);
    return out.substr(at + mark.size(),
                      end == std::string::npos ? std::string::npos : end - at - mark.size());
  });
  std::vector<std::string> found;
  json list = json::parse(answer, nullptr, false);
  if (!list.is_array()) return found;
  for (const auto& d : list) {
    if (d.is_string() && (d == "OPENIMAGEDENOISE" || d == "OPTIX")) found.push_back(d.get<std::string>());
  }
  return found;
}

json DescribeBlender(const std::string& blender) {
  return {{"version", BlenderVersion(blender)}, {"denoisers", BlenderDenoisers(blender)}};
}

json DescribeMachine(const std::vector<std::string>& blenders) {
  const std::string blender = blenders.empty() ? std::string("blender") : blenders.front();
  json caps;
  caps["cpu_threads"] = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::string model = RunAndRead("grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2-");
  while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.pop_back();
  while (!model.empty() && model.front() == ' ') model.erase(0, 1);
  caps["cpu_model"] = model;
  caps["memory_bytes"] = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE);
  json gpus = json::array();
  std::string smi = RunAndRead(
      "command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total "
      "--format=csv,noheader 2>/dev/null");
  size_t start = 0;
  while (start < smi.size()) {
    size_t end = smi.find('\n', start);
    if (end == std::string::npos) end = smi.size();
    std::string line = smi.substr(start, end - start);
    if (!line.empty()) {
      auto comma = line.find(',');
      gpus.push_back({{"name", line.substr(0, comma)},
                      {"memory", comma == std::string::npos ? "" : line.substr(comma + 2)}});
    }
    start = end + 1;
  }
  caps["gpus"] = gpus;
  caps["blender"] = blender;
  struct utsname uts {};
  caps["arch"] = ::uname(&uts) == 0 ? std::string(uts.machine) : std::string();
  caps["device"] = "cpu";  // workers render with Cycles on the CPU (DESIGN.md section 5)
  caps["blender_version"] = BlenderVersion(blender);
  // Every build the owner lends (--blender given several times), the first the default: their versions and
  // denoisers, never their paths.
  json builds = json::array();
  for (const auto& b : blenders.empty() ? std::vector<std::string>{blender} : blenders) {
    builds.push_back(DescribeBlender(b));
  }
  caps["blenders"] = builds;
  return caps;
}

}  // namespace inferix::net
