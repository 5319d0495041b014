#include "worker/status.hpp"

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <sstream>

#include "core/clock.hpp"
#include "core/files.hpp"
#include "net/manager_client.hpp"

namespace inferix::worker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr size_t kRecentFrames = 20;
constexpr int64_t kRewriteMs = 5'000;  // the file is rewritten at least this often while the worker runs
constexpr int64_t kLiveMs = 30'000;    // a file older than this is a worker that is gone

int64_t NowMs() { return SystemClock().NowMs(); }

std::string FramesText(const json& frames) {
  if (!frames.is_array() || frames.empty()) return "";
  const std::string first = frames.front().dump();
  const std::string last = frames.back().dump();
  return frames.size() == 1 ? "frame " + first : "frames " + first + "-" + last;
}

std::string Ago(int64_t ms) {
  const int64_t s = std::max<int64_t>(0, (NowMs() - ms) / 1000);
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

}  // namespace

StatusBoard::StatusBoard(const fs::path& data_dir, const std::vector<agent::Device>& devices,
                         const std::vector<agent::Device>& slots, std::string manager_url)
    : file_(data_dir / "status.json") {
  std::error_code ec;
  fs::create_directories(data_dir, ec);  // before the worker enrolls, which makes it too
  json devs = json::array();
  for (const auto& d : devices) devs.push_back(agent::DeviceJson(d));
  json lent = json::array();
  for (const auto& d : slots) lent.push_back({{"id", d.id}, {"name", d.name}, {"task", nullptr}});
  if (lent.empty()) lent.push_back({{"id", "cpu"}, {"name", "CPU"}, {"task", nullptr}});
  status_ = {{"pid", static_cast<int64_t>(getpid())},
             {"started_ms", NowMs()},
             {"manager", std::move(manager_url)},
             {"availability", ""},
             {"reason", ""},
             {"devices", std::move(devs)},
             {"slots", std::move(lent)},
             {"handed_back", nullptr},
             {"recent", json::array()}};
  std::lock_guard lock(mu_);
  WriteLocked();
}

void StatusBoard::SetState(const agent::OwnerState& state) {
  std::lock_guard lock(mu_);
  const std::string name(agent::ToString(state.availability));
  if (status_["availability"] == name && status_["reason"] == state.reason) return;
  status_["availability"] = name;
  status_["reason"] = state.reason;
  WriteLocked();
}

void StatusBoard::SlotTask(size_t slot, int64_t task_id, int64_t job_id, const std::vector<int>& frames) {
  std::lock_guard lock(mu_);
  if (slot >= status_["slots"].size()) return;
  status_["slots"][slot]["task"] =
      task_id == 0
          ? json(nullptr)
          : json{{"task_id", task_id}, {"job_id", job_id}, {"frames", frames}, {"since_ms", NowMs()}};
  WriteLocked();
}

void StatusBoard::FrameDone(int64_t task_id, int64_t job_id, int frame, double render_seconds) {
  std::lock_guard lock(mu_);
  recent_.push_front({{"task_id", task_id},
                      {"job_id", job_id},
                      {"frame", frame},
                      {"render_seconds", render_seconds},
                      {"at_ms", NowMs()}});
  if (recent_.size() > kRecentFrames) recent_.pop_back();
  status_["recent"] = json(recent_);
  WriteLocked();
}

void StatusBoard::HandedBack(int64_t task_id, const std::string& reason) {
  std::lock_guard lock(mu_);
  status_["handed_back"] = {{"task_id", task_id}, {"reason", reason}, {"at_ms", NowMs()}};
  WriteLocked();
}

void StatusBoard::Touch() {
  std::lock_guard lock(mu_);
  if (NowMs() - written_ms_ >= kRewriteMs) WriteLocked();
}

void StatusBoard::WriteLocked() {
  written_ms_ = NowMs();
  status_["updated_ms"] = written_ms_;
  (void)WriteFileAtomic(file_,
                        status_.dump(2) + "\n");  // the owner's view only: rendering goes on without it
}

Result<std::optional<json>> ReadStatus(const fs::path& data_dir) {
  std::error_code ec;
  if (!fs::exists(data_dir / "status.json", ec)) return std::optional<json>();
  auto text = ReadFile(data_dir / "status.json");
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    return MakeError(Errc::kInvalidArgument, (data_dir / "status.json").string() + " is not a JSON object");
  }
  return std::optional<json>(std::move(j));
}

Result<json> ManagerView(const fs::path& data_dir, const std::string& ca_file) {
  auto text = ReadFile(data_dir / "node.json");
  if (!text)
    return MakeError(Errc::kNotFound,
                     "this data folder has no node credentials (node.json): the worker has not enrolled");
  const json creds = json::parse(*text, nullptr, false);
  if (!creds.is_object() || !creds.contains("manager") || !creds.contains("node_token")) {
    return MakeError(Errc::kInvalidArgument,
                     (data_dir / "node.json").string() + " names no manager or token");
  }
  net::HttpManagerClient manager(creds.value("manager", ""), ca_file);
  manager.SetToken(creds.value("node_token", ""));
  return manager.Self();
}

bool StatusIsLive(const json& status) {
  const int64_t pid = status.value("pid", int64_t{0});
  if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0) return false;
  return NowMs() - status.value("updated_ms", int64_t{0}) <= kLiveMs;
}

std::string DescribeStatus(const json& local, const json& manager, const std::string& manager_error) {
  std::ostringstream out;
  if (local.is_object()) {
    const bool live = StatusIsLive(local);
    const std::string availability = local.value("availability", "");
    bool busy = false;
    for (const auto& s : local.value("slots", json::array()))
      busy = busy || !s.value("task", json()).is_null();
    std::string state = !live ? "not running (last seen " + Ago(local.value("updated_ms", int64_t{0})) + ")"
                        : !availability.empty() ? availability
                        : busy                  ? "rendering"
                                                : "idle: waiting for work";
    out << "worker: " << state << "\n";
    if (live && !local.value("reason", "").empty()) out << "  why: " << local.value("reason", "") << "\n";
    out << "manager: " << local.value("manager", "") << "\n";
    out << "slots:\n";
    for (const auto& s : local.value("slots", json::array())) {
      out << "  " << s.value("id", "") << "  " << s.value("name", "") << ": ";
      const json task = s.value("task", json());
      if (!live || task.is_null()) {
        out << "idle\n";
      } else {
        out << "task " << task.value("task_id", int64_t{0}) << ", job " << task.value("job_id", int64_t{0})
            << ", " << FramesText(task.value("frames", json::array())) << "\n";
      }
    }
    out << "devices:\n";
    for (const auto& d : local.value("devices", json::array())) {
      out << "  " << d.value("id", "") << "  " << d.value("name", "") << "\n";
    }
    const json back = local.value("handed_back", json());
    if (back.is_object()) {
      out << "last handed back: task " << back.value("task_id", int64_t{0}) << ", "
          << Ago(back.value("at_ms", int64_t{0})) << ": " << back.value("reason", "") << "\n";
    }
  } else {
    out << "worker: no status in this data folder (the worker has not run here)\n";
  }
  if (manager.is_object()) {
    out << "the manager's view: node " << manager.value("id", int64_t{0}) << " (" << manager.value("name", "")
        << "), " << manager.value("state", "");
    if (manager.value("banned", false)) out << ", banned: " << manager.value("ban_reason", "");
    out << "\n  verified frames: " << manager.value("accepted", 0) << " accepted, "
        << manager.value("rejected", 0) << " rejected\n";
    const json outputs = manager.value("outputs", json::array());
    if (!outputs.empty()) out << "  latest frames:\n";
    for (const auto& o : outputs) {
      out << "    job " << o.value("job_id", int64_t{0}) << " frame " << o.value("frame", 0) << ": "
          << o.value("verdict", "") << " (" << o.value("render_seconds", 0.0) << " s, "
          << Ago(o.value("created_ms", int64_t{0})) << ")\n";
    }
  } else if (!manager_error.empty()) {
    out << "the manager's view: " << manager_error << "\n";
  }
  return out.str();
}

}  // namespace inferix::worker
