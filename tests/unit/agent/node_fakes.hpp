#pragma once
// Fakes for the node's unit tests (agent, worker, verifier): a manager that answers from what the test
// scripted and records what it was told, a Blender that renders a given image, crashes or hangs, and a
// minimal PNG encoder for the images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/node_agent.hpp"
#include "core/crypto.hpp"
#include "net/manager_client.hpp"
#include "net/node_protocol.hpp"
#include "render/blender_process.hpp"

namespace inferix::testing {

/// A temporary folder, removed with its content at the end of the test.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "inferix-node-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

/// An 8-bit RGB PNG of `width` x `height` whose pixel (x, y) is `pixel(x, y)` (0xRRGGBB); stored (not
/// compressed) deflate blocks keep the encoder short.
inline std::string EncodePng(int width, int height, const std::function<uint32_t(int, int)>& pixel) {
  auto crc32 = [](const std::string& data) {
    uint32_t c = 0xffffffffu;
    for (unsigned char byte : data) {
      c ^= byte;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
  };
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
  };
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < width; ++x) {
      const uint32_t p = pixel(x, y);
      raw += static_cast<char>(p >> 16);
      raw += static_cast<char>(p >> 8);
      raw += static_cast<char>(p);
    }
  }
  std::string z = "\x78\x01";
  for (size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    const bool last = at + n >= raw.size();
    z += static_cast<char>(last ? 1 : 0);
    z += static_cast<char>(n & 0xff);
    z += static_cast<char>(n >> 8);
    z += static_cast<char>(~n & 0xff);
    z += static_cast<char>((~n >> 8) & 0xff);
    z += raw.substr(at, n);
    if (last) break;
  }
  uint32_t a = 1;
  uint32_t b = 0;
  for (unsigned char byte : raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  z += be32((b << 16) | a);
  std::string ihdr = be32(static_cast<uint32_t>(width)) + be32(static_cast<uint32_t>(height));
  ihdr += std::string{8, 2, 0, 0, 0};  // 8 bits, RGB, deflate, no filter, no interlace
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

/// A manager that answers from what the test scripted and records what the node told it.
class FakeManager : public net::ManagerClient {
 public:
  // What the test scripts (set before the node runs; read under the lock while it runs).
  std::deque<Error> register_errors;   ///< returned by the next Register calls, in order
  std::deque<Error> claim_errors;      ///< returned by the next Claim calls, before any task
  std::deque<net::ClaimedTask> tasks;  ///< handed out by Claim, in order
  std::string heartbeat_action = "continue";
  std::vector<int64_t> progress_seen;               ///< the progress counters heartbeats carried, in order
  std::optional<Error> upload_error;                ///< every Upload fails with it
  std::optional<Error> report_error;                ///< every ReportFrame fails with it
  std::map<std::string, std::string> blobs;         ///< what Download serves, by URL; Upload adds to it
  std::vector<net::UploadRequest> upload_requests;  ///< what each RequestUpload asked for
  std::map<std::string, std::map<std::string, std::string>> upload_headers;  ///< the headers of each Upload

  // What the node did.
  int registrations = 0;
  std::vector<net::RegisterRequest> register_requests;
  int capability_updates = 0;
  std::vector<std::string> tokens;  ///< every SetToken, in order
  std::vector<std::string> downloads;
  std::map<int, net::FrameReport> frames;  ///< reported, by frame
  std::vector<int64_t> completed;
  std::vector<std::pair<int64_t, std::string>> failed;
  std::vector<std::pair<int64_t, net::VerdictReport>> verdicts;
  std::vector<std::pair<int64_t, std::string>> released;            ///< tasks handed back, with the reason
  std::vector<std::pair<std::string, std::string>> availabilities;  ///< what the node said, in order

  int heartbeats() {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }

  std::string manager_url() const override { return "http://manager.test"; }
  void SetToken(const std::string& token) override {
    std::lock_guard lock(mu_);
    tokens.push_back(token);
  }
  Result<net::RegisterAnswer> Register(const net::RegisterRequest& request) override {
    std::lock_guard lock(mu_);
    register_requests.push_back(request);
    if (!register_errors.empty()) {
      Error e = register_errors.front();
      register_errors.pop_front();
      return e;
    }
    ++registrations;
    return net::RegisterAnswer{7, "node-token-7"};
  }
  Result<void> UpdateCapabilities(const nlohmann::json& capabilities) override {
    std::lock_guard lock(mu_);
    ++capability_updates;
    return Ok();
  }
  Result<std::optional<net::ClaimedTask>> Claim(const net::ClaimRequest& request) override {
    std::lock_guard lock(mu_);
    if (!claim_errors.empty()) {
      Error e = claim_errors.front();
      claim_errors.pop_front();
      return e;
    }
    if (tasks.empty()) return std::optional<net::ClaimedTask>();
    net::ClaimedTask t = tasks.front();
    tasks.pop_front();
    return std::optional<net::ClaimedTask>(t);
  }
  Result<net::HeartbeatAnswer> Heartbeat(int64_t task_id, const net::HeartbeatRequest& request) override {
    std::lock_guard lock(mu_);
    ++heartbeats_;
    if (request.progress) progress_seen.push_back(*request.progress);
    return net::HeartbeatAnswer{heartbeat_action};
  }
  Result<net::UploadSlot> RequestUpload(int64_t task_id, int frame,
                                        const net::UploadRequest& request) override {
    std::lock_guard lock(mu_);
    upload_requests.push_back(request);
    const std::string key = "outputs/1/" + std::to_string(task_id) + "_" + std::to_string(frame) + "_ab";
    return net::UploadSlot{key, "/signed/put/" + key, {{"x-test", "signed"}}};
  }
  Result<void> Upload(const net::UploadSlot& slot, const std::filesystem::path& file) override {
    std::lock_guard lock(mu_);
    if (upload_error) return *upload_error;
    blobs[slot.url] = ReadAll(file);
    upload_headers[slot.url] = slot.headers;
    return Ok();
  }
  Result<void> Download(const std::string& signed_url, const std::filesystem::path& dest) override {
    std::lock_guard lock(mu_);
    downloads.push_back(signed_url);
    auto it = blobs.find(signed_url);
    if (it == blobs.end()) return MakeError(Errc::kNotFound, "download of " + signed_url + ": not found");
    WriteAll(dest, it->second);
    return Ok();
  }
  Result<void> ReportFrame(int64_t task_id, int frame, const net::FrameReport& report) override {
    std::lock_guard lock(mu_);
    if (report_error) return *report_error;
    frames[frame] = report;
    return Ok();
  }
  Result<void> CompleteTask(int64_t task_id) override {
    std::lock_guard lock(mu_);
    completed.push_back(task_id);
    return Ok();
  }
  Result<void> FailTask(int64_t task_id, const std::string& error) override {
    std::lock_guard lock(mu_);
    failed.emplace_back(task_id, error);
    return Ok();
  }
  Result<void> ReportVerdict(int64_t task_id, const net::VerdictReport& report) override {
    std::lock_guard lock(mu_);
    verdicts.emplace_back(task_id, report);
    return Ok();
  }
  Result<void> ReleaseTask(int64_t task_id, const std::string& reason) override {
    std::lock_guard lock(mu_);
    released.emplace_back(task_id, reason);
    return Ok();
  }
  Result<void> SetAvailability(const std::string& availability, const std::string& reason) override {
    std::lock_guard lock(mu_);
    availabilities.emplace_back(availability, reason);
    return Ok();
  }
  Result<nlohmann::json> Self() override { return nlohmann::json{{"id", 1}}; }

 private:
  std::mutex mu_;
  int heartbeats_ = 0;
};

/// What a fake Blender does with a render command.
enum class BlenderBehaviour {
  kRender,  ///< saves `image(frame)` for each frame, then finishes
  kCrash,   ///< dies: the render fails and the process is gone
  kHang,    ///< never finishes: returns only when `cancel` says so
};

/// What the fake Blenders of one test share with it.
struct FakeBlenderLog {
  BlenderBehaviour behaviour = BlenderBehaviour::kRender;
  render::SceneInfo scene;
  std::function<std::string(int frame)> image;  ///< the bytes a frame is saved as
  std::vector<render::BlenderOptions> started;  ///< every start, in order
  std::vector<render::RenderCommand> commands;
  std::vector<std::filesystem::path> opened;  ///< every spare's Open, in order
  int alive = 0;                              ///< fake Blenders not yet stopped
  std::function<void()> on_render;            ///< called as each render begins (may be empty)
};

class FakeBlender : public render::BlenderProcess {
 public:
  explicit FakeBlender(std::shared_ptr<FakeBlenderLog> log) : log_(std::move(log)) { ++log_->alive; }
  ~FakeBlender() override { --log_->alive; }
  const render::SceneInfo& scene() const override { return log_->scene; }
  Result<void> Open(const std::filesystem::path& scene, int resolution_percentage) override {
    (void)resolution_percentage;
    log_->opened.push_back(scene);
    return Ok();
  }
  Result<void> Render(const render::RenderCommand& cmd,
                      const std::function<void(const render::DriverEvent&)>& on_event,
                      const std::function<bool()>& cancel) override {
    log_->commands.push_back(cmd);
    if (log_->on_render) log_->on_render();
    if (log_->behaviour == BlenderBehaviour::kCrash) {
      alive_ = false;
      return MakeError(Errc::kInternal, "Blender died (signal 11): Segmentation fault");
    }
    if (log_->behaviour == BlenderBehaviour::kHang) {
      while (!cancel()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      alive_ = false;
      return MakeError(Errc::kInternal, "render canceled");
    }
    for (int frame : cmd.frames) {
      if (cancel()) {
        alive_ = false;
        return MakeError(Errc::kInternal, "render canceled");
      }
      render::DriverEvent ev;
      ev.kind = render::DriverEvent::Kind::kFrameSaved;
      ev.frame = frame;
      ev.path =
          (std::filesystem::path(cmd.output_dir) / ("frame_" + std::to_string(frame) + ".png")).string();
      ev.render_seconds = 1.5;
      WriteAll(ev.path, log_->image(frame));
      on_event(ev);
    }
    return Ok();
  }
  Result<std::vector<render::SceneDependency>> ListFiles() override {
    return std::vector<render::SceneDependency>{};
  }
  Result<std::vector<render::PreflightProblem>> Preflight() override {
    return std::vector<render::PreflightProblem>{};
  }
  bool Alive() override { return alive_; }
  double CpuSeconds() override { return 0.0; }
  void Kill() override { alive_ = false; }

 private:
  std::shared_ptr<FakeBlenderLog> log_;
  bool alive_ = true;
};

/// A Blender factory that starts fake Blenders recording into `log`.
inline render::BlenderFactory FakeBlenderFactory(std::shared_ptr<FakeBlenderLog> log) {
  return [log](const render::BlenderOptions& options) -> Result<std::unique_ptr<render::BlenderProcess>> {
    log->started.push_back(options);
    return std::unique_ptr<render::BlenderProcess>(std::make_unique<FakeBlender>(log));
  };
}

/// A machine description with the given Blender versions, one per build (no probing).
inline std::function<nlohmann::json(const std::vector<std::string>&)> FakeMachine(
    std::vector<std::string> versions = {"4.2.0"}) {
  return [versions](const std::vector<std::string>&) {
    nlohmann::json builds = nlohmann::json::array();
    for (const auto& v : versions) builds.push_back({{"version", v}, {"denoisers", nlohmann::json::array()}});
    return nlohmann::json{
        {"cpu_threads", 4}, {"device", "cpu"}, {"blender_version", versions.front()}, {"blenders", builds}};
  };
}

/// A scene of one .blend whose bytes the fake manager serves; returns its reference.
inline net::SceneRef ServeScene(FakeManager& manager, const std::string& content = "BLENDER-v402 scene") {
  const std::string sha = Sha256Hex(content);
  manager.blobs["/signed/files/" + sha] = content;
  net::SceneRef scene;
  scene.main = "shot/main.blend";
  scene.files.push_back(
      {"shot/main.blend", sha, static_cast<int64_t>(content.size()), "/signed/files/" + sha});
  return scene;
}

}  // namespace inferix::testing
