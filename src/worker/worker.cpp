#include "worker/worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/crypto.hpp"
#include "domain/tokens.hpp"
#include "worker/status.hpp"

namespace inferix::worker {
namespace {

using json = nlohmann::json;

// While the node takes no work, it tells the manager so this often (the manager keeps seeing it), and looks
// again whether it may take work this often.
constexpr int64_t kAvailabilityRepeatMs = 20'000;
constexpr int64_t kUnavailablePollMs = 1'000;

// Tells the manager what the gate says, when that changed (or, while no work is taken, as a reminder).
void TellAvailability(agent::OwnerGate& gate, net::ManagerClient& manager) {
  auto report = gate.TakeReport(kAvailabilityRepeatMs);
  if (!report) return;
  if (report->availability == agent::Availability::kAvailable) {
    spdlog::info("taking work");
  } else {
    spdlog::info("taking no work: {}", report->reason);
  }
  auto told = manager.SetAvailability(std::string(agent::ToString(report->availability)), report->reason);
  if (!told) gate.ReportFailed();  // told again on the next turn
}

// Looks at the owner's gate every second while the slots wait in their claims (a long-poll), so that a pause
// shows at once: the status file and the manager are told, over a connection of its own.
void WatchOwner(agent::OwnerGate& gate, StatusBoard& board, net::ManagerClient& manager,
                const std::atomic<bool>& stop, const std::atomic<bool>& done) {
  while (!stop && !done) {
    board.SetState(gate.Now());
    board.Touch();
    TellAvailability(gate, manager);
    for (int i = 0; i < 10 && !stop && !done; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Renews one task's lease on its own thread, sending the render's progress (the driver's events so far: the
// manager renews the lease only while it rises or frames are reported); remembers when the manager says
// cancel or abort (the task was canceled, or is no longer this node's).
class Heartbeater {
 public:
  Heartbeater(net::ManagerClient& manager, int64_t task_id, int64_t interval_ms)
      : thread_([this, &manager, task_id, interval_ms] {
          std::unique_lock lock(mu_);
          while (!done_) {
            cv_.wait_for(lock, std::chrono::milliseconds(interval_ms));
            if (done_) break;
            const net::HeartbeatRequest beat{progress_};
            lock.unlock();
            auto r = manager.Heartbeat(task_id, beat);
            lock.lock();
            if (r && r->action != "continue") {
              spdlog::warn("task {}: manager says {}", task_id, r->action);
              stop_ = true;
            }
          }
        }) {}
  ~Heartbeater() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;
  bool ShouldStop() {
    std::lock_guard lock(mu_);
    return stop_;
  }
  /// Counts one event of the render (a frame started or saved).
  void Progressed() {
    std::lock_guard lock(mu_);
    ++progress_;
  }

 private:
  std::mutex mu_;
  int64_t progress_ = 0;
  std::condition_variable cv_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

Worker::Worker(WorkerOptions options, const std::atomic<bool>& stop, agent::NodeServices services,
               std::vector<agent::Device> slots, size_t slot, std::vector<agent::Device> devices,
               std::shared_ptr<agent::OwnerGate> gate, std::shared_ptr<StatusBoard> board)
    : options_(std::move(options)),
      stop_(stop),
      node_({options_.manager_url, options_.ca_file, options_.data_dir, options_.blenders,
             options_.warm_scene_root, std::move(slots), slot, std::move(devices),
             !options_.device_answers.empty(), options_.engines, options_.max_memory_bytes},
            stop, std::move(services)),
      slot_(slot),
      gate_(std::move(gate)),
      board_(std::move(board)) {}

Result<void> Worker::Start() {
  return node_.Start(options_.token, options_.name.empty() ? agent::HostName() : options_.name, "worker");
}

Result<void> Worker::Step() {
  if (!MayTakeWork()) {
    StopIdleBlender();
    node_.Sleep(kUnavailablePollMs);
    return Ok();
  }
  auto task = node_.Claim();
  if (!task) return task.error();
  if (!task->has_value()) {
    StopIdleBlender();
    return Ok();
  }
  if (!MayTakeWork()) {  // the owner paused or drained it while the claim waited
    HandBack((*task)->task_id, gate_->Now().reason);
    return Ok();
  }
  if (board_) board_->SlotTask(slot_, (*task)->task_id, (*task)->job_id, (*task)->frames);
  if (gate_) gate_->Rendering(true);
  RunTask(**task);
  if (gate_) gate_->Rendering(false);
  if (board_) board_->SlotTask(slot_, 0, 0, {});
  last_task_end_ = std::chrono::steady_clock::now();
  return Ok();
}

bool Worker::MayTakeWork() {
  if (!gate_) return true;
  const agent::OwnerState state = gate_->Now();
  if (board_) {
    board_->SetState(state);
    board_->Touch();
  }
  TellAvailability(*gate_, node_.manager());
  return state.availability == agent::Availability::kAvailable;
}

void Worker::HandBack(int64_t task_id, const std::string& reason) {
  spdlog::warn("task {}: handed back: {}", task_id, reason);
  auto r = node_.manager().ReleaseTask(task_id, reason);
  if (!r)
    spdlog::error("could not hand task {} back: {} (its lease will expire)", task_id, r.error().message);
  if (board_) board_->HandedBack(task_id, reason);
}

Result<void> Worker::Run() {
  INFERIX_TRY(Start());
  while (!stop_) INFERIX_TRY(Step());
  return Ok();
}

void Worker::StopIdleBlender() {
  if (node_.blender_job() != 0 && std::chrono::steady_clock::now() - last_task_end_ >
                                      std::chrono::milliseconds(options_.idle_blender_ms)) {
    spdlog::info("stopping idle Blender of job {}", node_.blender_job());
    node_.StopBlender();
  }
}

void Worker::Fail(int64_t task_id, const std::string& error) {
  spdlog::error("task {} failed: {}", task_id, error);
  auto r = node_.manager().FailTask(task_id, error);
  if (!r) spdlog::error("could not report the failure of task {}: {}", task_id, r.error().message);
}

Result<void> Worker::UploadFrame(int64_t task_id, const render::DriverEvent& ev, double cpu_seconds) {
  auto sha = Sha256File(ev.path);
  if (!sha) return sha.error();
  net::ManagerClient& manager = node_.manager();
  int64_t backoff_ms = 500;
  for (int attempt = 1;; ++attempt) {
    auto r = [&]() -> Result<void> {
      std::error_code ec;
      const auto size = std::filesystem::file_size(ev.path, ec);
      if (ec) return MakeError(Errc::kInternal, "cannot read the size of " + ev.path);
      auto slot = manager.RequestUpload(task_id, ev.frame, {*sha, static_cast<int64_t>(size)});
      if (!slot) return slot.error();
      INFERIX_TRY(manager.Upload(*slot, ev.path));
      auto sig = Ed25519Sign(node_.credentials().private_key,
                             domain::FrameReportMessage(task_id, ev.frame, *sha, slot->key));
      if (!sig) return sig.error();
      return manager.ReportFrame(task_id, ev.frame, {*sha, slot->key, ev.render_seconds, cpu_seconds, *sig});
    }();
    if (r || r.error().code != Errc::kUnavailable || attempt >= options_.upload_attempts || stop_) return r;
    node_.Sleep(backoff_ms);
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000);
  }
}

void Worker::RunTask(const net::ClaimedTask& task) {
  const int64_t task_id = task.task_id;
  const int64_t job_id = task.job_id;
  spdlog::info("task {}: job {}, frames {}", task_id, job_id, json(task.frames).dump());
  Heartbeater heartbeat(node_.manager(), task_id, task.heartbeat_ms);
  auto blender = node_.BlenderFor(job_id, task.scene, task.blender);
  if (!blender) {
    Fail(task_id, blender.error().message);
    return;
  }
  render::RenderCommand cmd;
  cmd.frames = task.frames;
  const auto out_dir = node_.JobDir(job_id) / "work" / ("task-" + std::to_string(task_id));
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  cmd.output_dir = out_dir.string();
  cmd.format = task.format;
  cmd.threads = options_.threads;
  cmd.denoise = task.denoise;
  std::string upload_error;
  std::string hand_back;  // why the task goes back to the manager unfinished (the owner needs the machine)
  bool canceled = false;
  // What each frame cost in CPU: the Blender process tree's CPU time between frames.
  double cpu_mark = (*blender)->CpuSeconds();
  auto rendered = (*blender)->Render(
      cmd,
      [&](const render::DriverEvent& ev) {
        heartbeat.Progressed();
        if (ev.kind != render::DriverEvent::Kind::kFrameSaved || !upload_error.empty()) return;
        const double cpu_now = (*blender)->CpuSeconds();
        const double cpu = std::max(0.0, cpu_now - cpu_mark);
        cpu_mark = cpu_now;
        auto up = UploadFrame(task_id, ev, cpu);
        if (!up) {
          upload_error = "frame " + std::to_string(ev.frame) + ": " + up.error().message;
          spdlog::error("task {}: {}", task_id, upload_error);
        } else {
          spdlog::info("task {}: frame {} uploaded ({:.2f} s render)", task_id, ev.frame, ev.render_seconds);
          if (board_) board_->FrameDone(task_id, job_id, ev.frame, ev.render_seconds);
        }
        std::filesystem::remove(ev.path, ec);
      },
      [&] {
        canceled = heartbeat.ShouldStop() || stop_;
        if (!canceled && gate_) {
          const agent::OwnerState owner = gate_->Now();
          if (owner.hand_back) hand_back = owner.reason;
        }
        return canceled || !hand_back.empty() || !upload_error.empty();
      });
  if (canceled && stop_ && !heartbeat.ShouldStop()) hand_back = "the worker is stopping";
  if (!hand_back.empty()) {
    node_.StopBlender();
    HandBack(task_id, hand_back);
    return;
  }
  if (canceled) {
    spdlog::warn("task {} stopped (canceled or lease lost)", task_id);
    node_.StopBlender();
    return;
  }
  if (!upload_error.empty()) {
    node_.StopBlender();
    Fail(task_id, upload_error);
    return;
  }
  if (!rendered) {
    if (!(*blender)->Alive()) node_.StopBlender();
    Fail(task_id, rendered.error().message);
    return;
  }
  auto done = node_.manager().CompleteTask(task_id);
  if (!done) spdlog::error("could not report task {} done: {}", task_id, done.error().message);
}

Result<agent::FoundDevices> FindDevices(const WorkerOptions& options) {
  return agent::FindDevices(options.blenders.empty() ? std::string("blender") : options.blenders.front(),
                            options.device, options.device_answers);
}

Result<agent::OwnerRules> OwnerRulesOf(const WorkerOptions& options) {
  agent::OwnerRules rules;
  auto schedule = domain::ParseSchedule(options.schedule);
  if (!schedule) return schedule.error();
  rules.schedule = *schedule;
  auto percent = [](int v, const char* name) -> Result<int> {
    if (v < 0 || v > 100) {
      return MakeError(Errc::kInvalidArgument,
                       std::string(name) + " must be a percentage from 0 (off) to 100");
    }
    return v;
  };
  auto cpu = percent(options.busy_cpu_percent, "--busy-cpu");
  if (!cpu) return cpu.error();
  auto gpu = percent(options.busy_gpu_percent, "--busy-gpu");
  if (!gpu) return gpu.error();
  if (options.busy_seconds < 1 || options.quiet_seconds < 1) {
    return MakeError(Errc::kInvalidArgument, "--busy-seconds and --quiet-seconds must be at least 1");
  }
  rules.busy_cpu_percent = *cpu;
  rules.busy_gpu_percent = *gpu;
  rules.busy_ms = int64_t{options.busy_seconds} * 1000;
  rules.quiet_ms = int64_t{options.quiet_seconds} * 1000;
  return rules;
}

Result<void> RunWorker(const WorkerOptions& options, const std::atomic<bool>& stop) {
  auto rules = OwnerRulesOf(options);
  if (!rules) return rules.error();
  auto found = FindDevices(options);
  if (!found) return found.error();
  std::vector<std::string> nvidia_buses;  // the lent NVIDIA cards, whose load by others pauses the worker
  for (const auto& s : found->slots) {
    if ((s.type == "CUDA" || s.type == "OPTIX") && !s.pci_bus.empty()) nvidia_buses.push_back(s.pci_bus);
  }
  auto probe = std::make_shared<agent::ProcLoadProbe>(nvidia_buses);
  auto gate = std::make_shared<agent::OwnerGate>(*rules, options.data_dir, agent::OwnerGate::Clock{},
                                                 [probe](bool gpus) { return probe->Sample(gpus); });
  auto board =
      std::make_shared<StatusBoard>(options.data_dir, found->devices, found->slots, options.manager_url);
  std::string lent;
  for (const auto& s : found->slots) lent += (lent.empty() ? "" : ", ") + s.id + " (" + s.name + ")";
  spdlog::info("devices of this machine:\n{}lent: {}{}", agent::DescribeDevices(found->devices), lent,
               found->simulated ? " (recorded answers: GPU renders are simulated on the CPU)" : "");
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < found->slots.size(); ++i) {
    WorkerOptions o = options;
    if (i > 0) o.warm_scene_root.clear();  // one spare Blender: the first slot's
    workers.push_back(std::make_unique<Worker>(o, stop, agent::NodeServices{}, found->slots, i,
                                               found->devices, gate, board));
  }
  // The first slot enrolls (or loads the credentials); the others then load them.
  for (auto& w : workers) INFERIX_TRY(w->Start());
  net::HttpManagerClient watcher_client(options.manager_url, options.ca_file, &stop);
  watcher_client.SetToken(workers.front()->node().credentials().node_token);
  std::atomic<bool> done{false};  // the slots ended (their credentials refused): the watcher too
  std::thread watcher([&] { WatchOwner(*gate, *board, watcher_client, stop, done); });
  struct Join {
    std::atomic<bool>& done;
    std::thread& t;
    ~Join() {
      done = true;
      t.join();
    }
  } join{done, watcher};
  if (workers.size() == 1) {
    while (!stop) INFERIX_TRY(workers.front()->Step());
    return Ok();
  }
  std::vector<std::future<Result<void>>> running;
  running.reserve(workers.size());
  for (auto& w : workers) {
    running.push_back(std::async(std::launch::async, [&w, &stop]() -> Result<void> {
      while (!stop) INFERIX_TRY(w->Step());
      return Ok();
    }));
  }
  Result<void> result = Ok();
  for (auto& r : running) {
    auto one = r.get();
    if (!one && result) result = one;
  }
  return result;
}

}  // namespace inferix::worker
