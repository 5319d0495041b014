#include "render/blender_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "core/files.hpp"
#include "domain/scene_layout.hpp"
#include "render/sandbox.hpp"

extern char** environ;

namespace inferix::render {
namespace internal {
extern const std::string_view kDriverScript;  // driver_script.cpp, generated from blender/driver.py
// and from blender/scene_checks.py, which the driver imports
extern const std::string_view kSceneChecksScript;
}  // namespace internal

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kReadyTimeout = std::chrono::seconds(120);  // start-up plus loading a large scene
constexpr auto kListTimeout = std::chrono::seconds(120);
constexpr auto kQuitGrace = std::chrono::seconds(2);
constexpr int kPollMs = 100;
constexpr int kMemoryCheckMs = 500;  // how often Blender's memory is read against its owner's cap
constexpr int kLogTailLines = 20;
// The child's ends of the pipes are moved at or above this number first, so that no dup2 onto 0-3 clobbers
// another of them (and no dup2 is a no-op that would leave close-on-exec set).
constexpr int kHighFd = 10;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int MoveHigh(int fd) {
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kHighFd);
  ::close(fd);
  return moved;
}

bool IsUnder(const fs::path& p, const fs::path& dir) {
  auto [d, _] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end();
}

// The last lines of Blender's log: its own words on why it stopped.
std::string LogTail(const fs::path& log_file) {
  std::ifstream in(log_file, std::ios::binary);
  if (!in) return "(no log at " + log_file.string() + ")";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  constexpr std::streamoff kMaxBytes = std::streamoff{16} * 1024;
  in.seekg(std::max<std::streamoff>(0, size - kMaxBytes));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::deque<std::string> lines;
  size_t start = 0;
  while (start < data.size()) {
    size_t nl = data.find('\n', start);
    std::string line = data.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? data.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    lines.push_back(std::move(line));
    if (lines.size() > static_cast<size_t>(kLogTailLines)) lines.pop_front();
  }
  if (lines.empty()) return "(the log " + log_file.string() + " is empty)";
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  out.pop_back();
  return out;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

// Runs `fn` on one thread that lives as long as the program. bwrap --die-with-parent is PR_SET_PDEATHSIG,
// whose "parent" is the thread that started the process, not the program: a sandbox started from a worker's
// short-lived thread would be killed the moment that thread ended.
void OnSpawnerThread(std::function<void()> fn) {
  struct Spawner {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::packaged_task<void()>> queue;
    Spawner() {
      std::thread([this] {
        while (true) {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return !queue.empty(); });
          auto task = std::move(queue.front());
          queue.pop_front();
          lock.unlock();
          task();
        }
      }).detach();
    }
  };
  static Spawner* spawner = new Spawner;  // never destroyed: its thread must outlive every sandbox it started
  std::packaged_task<void()> task(std::move(fn));
  auto done = task.get_future();
  {
    std::lock_guard lock(spawner->mu);
    spawner->queue.push_back(std::move(task));
  }
  spawner->cv.notify_one();
  done.get();
}

class PosixBlenderProcess final : public BlenderProcess {
 public:
  PosixBlenderProcess(BlenderOptions options, pid_t pid, int cmd_fd, int event_fd)
      : options_(std::move(options)), pid_(pid), cmd_fd_(cmd_fd), event_fd_(event_fd) {}

  ~PosixBlenderProcess() override {
    if (Alive()) {
      (void)Send("{\"cmd\":\"quit\"}\n");
      CloseFd(cmd_fd_);  // end of input quits the driver too
      auto deadline = Clock::now() + kQuitGrace;
      while (Alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Kill();
  }

  // Waits for the driver's "ready"; on failure the process is killed.
  Result<void> WaitReady() {
    auto deadline = Clock::now() + kReadyTimeout;
    auto ev = NextEvent(nullptr, deadline);
    if (!ev.ok()) {
      Kill();
      return ev.error();
    }
    if (ev->kind == DriverEvent::Kind::kError) {
      std::string message = ev->message;
      Kill();
      return MakeError(Errc::kInternal, "Blender could not load " + options_.scene.string() + ": " + message +
                                            "\nBlender's log (" + options_.log_file.string() + "):\n" +
                                            LogTail(options_.log_file));
    }
    if (ev->kind != DriverEvent::Kind::kReady || options_.spare == ev->scene.has_value()) {
      Kill();
      return MakeError(Errc::kInternal, options_.spare && ev->kind == DriverEvent::Kind::kReady
                                            ? "a spare Blender's driver loaded a scene"
                                            : "the Blender driver sent another event before \"ready\"");
    }
    if (ev->scene) scene_ = *ev->scene;
    return Ok();
  }

  Result<void> Open(const fs::path& scene, int resolution_percentage) override {
    // A spare's scene is set by its one Open.
    if (!options_.spare || !options_.scene.empty()) return BlenderProcess::Open(scene, resolution_percentage);
    const fs::path host = Absolute(scene);
    if (!IsUnder(host, options_.scene_dir)) {
      return MakeError(Errc::kInvalidArgument,
                       "scene " + host.string() + " is not inside the spare's folder " +
                           options_.scene_dir.string() + ", so the sandbox would hide it");
    }
    options_.scene = host;
    const fs::path shown = options_.sandbox ? SandboxScenePath(options_) : host;
    std::optional<SceneInfo> info;
    auto r = RunCommand(
        EncodeOpenCommand(shown.string(), resolution_percentage) + "\n", "loading",
        [&](const DriverEvent& ev) {
          if (ev.kind == DriverEvent::Kind::kReady) info = ev.scene;
        },
        nullptr, Clock::now() + kReadyTimeout);
    if (!r.ok() || !info) {
      Kill();
      return MakeError(Errc::kInternal, "Blender could not load " + host.string() + ": " +
                                            (r.ok() ? "the driver sent no scene" : r.error().message));
    }
    scene_ = *info;
    return Ok();
  }

  const SceneInfo& scene() const override { return scene_; }

  Result<void> Render(const RenderCommand& cmd, const std::function<void(const DriverEvent&)>& on_event,
                      const std::function<bool()>& cancel) override {
    // Absolute, as the sandbox sees it: a relative folder would resolve against Blender's working folder.
    RenderCommand absolute = cmd;
    absolute.output_dir = Absolute(cmd.output_dir).string();
    if (!IsUnder(absolute.output_dir, options_.work_dir)) {
      return MakeError(Errc::kInvalidArgument,
                       "output folder " + cmd.output_dir + " is not inside the work folder " +
                           options_.work_dir.string() + ", the only one Blender may write");
    }
    return RunCommand(EncodeRenderCommand(absolute) + "\n", "rendering", on_event, cancel,
                      Clock::time_point::max());
  }

  Result<std::vector<SceneDependency>> ListFiles() override {
    std::vector<SceneDependency> files;
    bool got = false;
    auto r = RunCommand(
        "{\"cmd\":\"list_files\"}\n", "listing the scene's files",
        [&](const DriverEvent& ev) {
          if (ev.kind == DriverEvent::Kind::kFiles) {
            files = ev.files;
            got = true;
          }
        },
        nullptr, Clock::now() + kListTimeout);
    if (!r.ok()) return r.error();
    if (!got) return MakeError(Errc::kInternal, "the Blender driver listed no files (no \"files\" event)");
    return files;
  }

  Result<std::vector<PreflightProblem>> Preflight() override {
    std::vector<PreflightProblem> problems;
    bool got = false;
    auto r = RunCommand(
        "{\"cmd\":\"preflight\"}\n", "checking the scene",
        [&](const DriverEvent& ev) {
          if (ev.kind == DriverEvent::Kind::kPreflight) {
            problems = ev.problems;
            got = true;
          }
        },
        nullptr, Clock::now() + kListTimeout);
    if (!r.ok()) return r.error();
    if (!got) return MakeError(Errc::kInternal, "the Blender driver sent no preflight result");
    return problems;
  }

  bool Alive() override {
    if (reaped_ || pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      status_ = status;
      return false;
    }
    return true;
  }

  double CpuSeconds() override { return reaped_ ? 0.0 : ProcessTreeCpuSeconds(pid_); }

  void Kill() override {
    if (pid_ > 0 && !reaped_) {
      ::killpg(pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      status_ = status;
      killed_ = true;
    }
    CloseFd(cmd_fd_);
    CloseFd(event_fd_);
  }

 private:
  Result<void> Send(const std::string& line) {
    if (cmd_fd_ < 0) return MakeError(Errc::kUnavailable, "Blender is not running");
    size_t off = 0;
    while (off < line.size()) {
      // A socket, not a pipe: MSG_NOSIGNAL turns a dead Blender into EPIPE instead of killing us with
      // SIGPIPE.
      ssize_t n = ::send(cmd_fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return MakeError(Errc::kInternal, Errno("cannot send a command to Blender"));
      }
      off += static_cast<size_t>(n);
    }
    return Ok();
  }

  // The error for a Blender that stopped while `doing`, with the end of its log.
  Error Died(const std::string& doing) {
    // Its pipe closed: it is gone or going; reap it (SIGKILL covers a process that closed fd 3 but lingers).
    auto deadline = Clock::now() + kQuitGrace;
    while (Alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    bool was_killed = killed_;
    Kill();
    std::string how = was_killed ? "was killed" : DescribeStatus(status_);
    return MakeError(Errc::kInternal, "Blender " + how + " while " + doing + " " + options_.scene.string() +
                                          "; the end of its log (" + options_.log_file.string() + "):\n" +
                                          LogTail(options_.log_file));
  }

  // The next event line. `cancel` (may be empty) is checked on every wake-up; past `deadline` it gives up.
  Result<DriverEvent> NextEvent(const std::function<bool()>& cancel, Clock::time_point deadline,
                                const std::string& doing = "loading") {
    while (true) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto ev = ParseDriverEvent(line);
        if (!ev.ok()) {
          Kill();  // the protocol is broken: nothing more it says can be trusted
          return MakeError(Errc::kInternal,
                           "Blender driver protocol error while " + doing + ": " + ev.error().message);
        }
        return ev;
      }
      if (event_fd_ < 0) return MakeError(Errc::kUnavailable, "Blender is not running");
      if (cancel && cancel()) {
        Kill();
        return MakeError(Errc::kUnavailable, "canceled while " + doing + ": Blender was stopped");
      }
      if (Clock::now() >= deadline) {
        Kill();
        return MakeError(Errc::kUnavailable, "Blender did not answer in time while " + doing + " " +
                                                 options_.scene.string() + "; it was stopped. Its log (" +
                                                 options_.log_file.string() + "):\n" +
                                                 LogTail(options_.log_file));
      }
      if (std::string over = OverMemoryCap(doing); !over.empty()) {
        Kill();
        return MakeError(Errc::kInternal, over);
      }
      pollfd pfd{event_fd_, POLLIN, 0};
      int pr = ::poll(&pfd, 1, kPollMs);
      if (pr < 0) {
        if (errno == EINTR) continue;
        return MakeError(Errc::kInternal, Errno("poll on Blender's event pipe"));
      }
      if (pr == 0) {
        // A Blender that died while something else kept the pipe open must not hang us.
        if (!Alive()) return Died(doing);
        continue;
      }
      char chunk[65536];
      ssize_t n = ::read(event_fd_, chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return MakeError(Errc::kInternal, Errno("read from Blender's event pipe"));
      }
      if (n == 0) return Died(doing);
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // What to say when Blender holds more memory than its owner lends (read every kMemoryCheckMs); "" within
  // the cap, or with none.
  std::string OverMemoryCap(const std::string& doing) {
    if (options_.max_memory_bytes <= 0 || Clock::now() < next_memory_check_) return "";
    next_memory_check_ = Clock::now() + std::chrono::milliseconds(kMemoryCheckMs);
    const int64_t used = ProcessTreeMemoryBytes(pid_);
    if (used <= options_.max_memory_bytes) return "";
    return "Blender held " + std::to_string(used >> 20) + " MiB while " + doing + " " +
           options_.scene.string() + ", more than the " + std::to_string(options_.max_memory_bytes >> 20) +
           " MiB its owner lends this worker (inferix worker --max-memory); it was stopped";
  }

  // Sends one command and relays its events until "done". An "error" event fails the command (after "done").
  Result<void> RunCommand(const std::string& line, const std::string& doing,
                          const std::function<void(const DriverEvent&)>& on_event,
                          const std::function<bool()>& cancel, Clock::time_point deadline) {
    if (!Alive()) {
      Kill();
      return MakeError(Errc::kUnavailable,
                       "Blender is not running (it " +
                           (killed_ ? std::string("was killed") : DescribeStatus(status_)) +
                           "); start a new process");
    }
    if (cancel && cancel()) return MakeError(Errc::kUnavailable, "canceled before " + doing);
    if (auto sent = Send(line); !sent.ok()) return Died(doing);
    std::string error;
    while (true) {
      auto ev = NextEvent(cancel, deadline, doing);
      if (!ev.ok()) return ev.error();
      if (ev->kind == DriverEvent::Kind::kError && error.empty()) error = ev->message;
      if (on_event) on_event(*ev);
      if (ev->kind == DriverEvent::Kind::kDone) break;
      if (cancel && cancel()) {
        Kill();
        return MakeError(Errc::kUnavailable, "canceled while " + doing + ": Blender was stopped");
      }
    }
    if (!error.empty()) return MakeError(Errc::kInternal, "Blender failed while " + doing + ": " + error);
    return Ok();
  }

  BlenderOptions options_;
  pid_t pid_ = -1;
  int cmd_fd_ = -1;    // our end of Blender's stdin (a socket)
  int event_fd_ = -1;  // read end of Blender's fd 3
  Clock::time_point next_memory_check_{};
  bool reaped_ = false;
  bool killed_ = false;
  int status_ = 0;
  std::string buffer_;
  SceneInfo scene_;
};

// Owns file descriptors until they are handed over.
struct Fds {
  int log = -1, cmd_parent = -1, cmd_child = -1, event_parent = -1, event_child = -1;
  ~Fds() {
    for (int* fd : {&log, &cmd_parent, &cmd_child, &event_parent, &event_child}) CloseFd(*fd);
  }
};

}  // namespace

Result<std::unique_ptr<BlenderProcess>> BlenderProcess::Start(const BlenderOptions& given) {
  BlenderOptions options = given;
  options.scene = Absolute(given.scene);
  options.scene_dir = given.scene_dir.empty() && !given.read_only_files.empty()
                          ? fs::path()
                          : Absolute(given.scene_dir.empty() ? options.scene.parent_path() : given.scene_dir);
  for (auto& f : options.read_only_files) f = Absolute(f);
  if (!given.scene_root.empty()) INFERIX_TRY(domain::CheckSceneRoot(given.scene_root.string()));
  options.work_dir = Absolute(given.work_dir);
  options.driver = Absolute(given.driver);
  options.log_file = Absolute(given.log_file);
  options.blender = ResolveExecutable(given.blender);

  std::error_code ec;
  if (options.spare) {
    options.scene.clear();
    if (given.scene_dir.empty() || !fs::is_directory(options.scene_dir, ec)) {
      return MakeError(Errc::kInvalidArgument, "a spare Blender needs its (empty) scene folder");
    }
    if (options.sandbox) INFERIX_TRY(CheckSpareSceneFolder(options));
  } else if (!fs::is_regular_file(options.scene, ec)) {
    return MakeError(Errc::kNotFound, "scene " + options.scene.string() + " does not exist or is not a file");
  }
  if (!fs::is_directory(options.work_dir, ec)) {
    return MakeError(Errc::kInvalidArgument, "work folder " + options.work_dir.string() + " does not exist");
  }
  if (!fs::is_regular_file(options.driver, ec)) {
    return MakeError(Errc::kNotFound,
                     "driver script " + options.driver.string() + " does not exist (InstallDriverScript)");
  }
  if (::access(options.blender.c_str(), X_OK) != 0) {
    return MakeError(Errc::kNotFound, "Blender executable " + given.blender.string() +
                                          " not found or not executable; install Blender or pass its path");
  }
  const bool listed = std::find(options.read_only_files.begin(), options.read_only_files.end(),
                                options.scene) != options.read_only_files.end();
  if (options.sandbox && !options.spare && !listed && !IsUnder(options.scene, options.scene_dir)) {
    return MakeError(Errc::kInvalidArgument, "scene " + options.scene.string() +
                                                 " is not inside its folder " + options.scene_dir.string() +
                                                 ", so the sandbox would hide it");
  }

  Fds fds;
  fds.log = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fds.log < 0)
    return MakeError(Errc::kInternal, Errno("cannot open Blender's log " + options.log_file.string()));
  int sv[2];
  // Commands go through a socket so that writing to a dead Blender is EPIPE (MSG_NOSIGNAL), never SIGPIPE.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return MakeError(Errc::kInternal, Errno("socketpair for Blender's input"));
  }
  fds.cmd_parent = sv[0];
  fds.cmd_child = sv[1];
  ::shutdown(fds.cmd_parent, SHUT_RD);
  int pp[2];
  if (::pipe2(pp, O_CLOEXEC) != 0) return MakeError(Errc::kInternal, Errno("pipe for Blender's events"));
  fds.event_parent = pp[0];
  fds.event_child = pp[1];
  fds.log = MoveHigh(fds.log);
  fds.cmd_child = MoveHigh(fds.cmd_child);
  fds.event_child = MoveHigh(fds.event_child);
  if (fds.log < 0 || fds.cmd_child < 0 || fds.event_child < 0) {
    return MakeError(Errc::kInternal, Errno("cannot arrange Blender's file descriptors"));
  }

  std::vector<std::string> argv = BlenderArgv(options);
  if (options.sandbox) {
    auto wrapped = SandboxArgv(options, argv);
    if (!wrapped) return wrapped.error();
    argv = std::move(*wrapped);
  }
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, fds.cmd_child, 0);
  posix_spawn_file_actions_adddup2(&actions, fds.log, 1);
  posix_spawn_file_actions_adddup2(&actions, fds.log, 2);
  posix_spawn_file_actions_adddup2(&actions, fds.event_child, 3);
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);  // nothing else of ours leaks into Blender
  if (!options.sandbox) posix_spawn_file_actions_addchdir_np(&actions, options.work_dir.c_str());
  // Its own process group, so that Kill reaches everything it started; default signals and an empty mask,
  // whatever the worker set for itself (an ignored SIGPIPE or SIGINT would be inherited).
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = 0;
  OnSpawnerThread([&] { rc = ::posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ); });
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string what = options.sandbox ? "bubblewrap (bwrap; install the bubblewrap package)" : argv[0];
    return MakeError(Errc::kUnavailable, "cannot start " + what + ": " + std::strerror(rc));
  }
  CloseFd(fds.cmd_child);
  CloseFd(fds.event_child);
  CloseFd(fds.log);

  auto process = std::make_unique<PosixBlenderProcess>(options, pid, std::exchange(fds.cmd_parent, -1),
                                                       std::exchange(fds.event_parent, -1));
  INFERIX_TRY(process->WaitReady());
  return std::unique_ptr<BlenderProcess>(std::move(process));
}

Result<fs::path> InstallDriverScript(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot create " + dir.string() + ": " + ec.message());
  constexpr auto kPerms =
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;
  // The module first: a driver that finds its folder without it cannot start.
  INFERIX_TRY(WriteFileAtomic(dir / kSceneChecksFile, internal::kSceneChecksScript, kPerms));
  fs::path path = dir / "driver.py";
  INFERIX_TRY(WriteFileAtomic(path, internal::kDriverScript, kPerms));
  return Absolute(path);
}

}  // namespace inferix::render
