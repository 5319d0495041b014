#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>

#include "agent/machine.hpp"
#include "client/client.hpp"
#include "client/internal.hpp"
#include "core/files.hpp"
#include "domain/scene_layout.hpp"
#include "net/node_client.hpp"
#include "render/sandbox.hpp"

namespace inferix::client {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A child process of the local network, its output in a log file; stopped when this object goes. `pass_fd`
// (>= 0): a descriptor the child inherits as its descriptor 3.
class Child {
 public:
  Child(const std::filesystem::path& exe, const std::vector<std::string>& args,
        const std::filesystem::path& log, int pass_fd = -1) {
    std::vector<std::string> argv = {exe.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      if (null >= 0) ::dup2(null, 0);
      if (pass_fd == 3) {
        ::fcntl(3, F_SETFD, 0);  // keep it across exec
      } else if (pass_fd >= 0) {
        ::dup2(pass_fd, 3);  // the copy does not close on exec
      }
      std::vector<char*> cargv;
      cargv.reserve(argv.size() + 1);
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
  }
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  // Asks the process to stop (SIGTERM); Stop waits for it.
  void Signal() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Runs `self` with args and returns its trimmed standard output (admin commands).
Result<std::string> Capture(const std::filesystem::path& exe, const std::vector<std::string>& args) {
  std::string cmd = "'" + exe.string() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return MakeError(Errc::kInternal, "cannot run " + cmd);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (rc != 0) return MakeError(Errc::kInternal, cmd + " failed");
  return out;
}

// A TCP socket listening on a free port of 127.0.0.1 (close-on-exec: only the child given it keeps it), and
// that port. The manager serves on it (--listen-fd): its URL is known, and the nodes may connect (their
// requests wait in the socket's queue), before the manager has started.
Result<std::pair<int, uint16_t>> ListenOnLoopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(Errc::kInternal, std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);  // NOLINT
  if (::bind(fd, raw, sizeof address) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, raw, &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return MakeError(Errc::kInternal, "cannot listen on 127.0.0.1 for the local manager: " + why);
  }
  return std::make_pair(fd, ntohs(address.sin_port));
}

// Where the local nodes' spare Blenders expect the scene's project folder
// (agent::NodeOptions::warm_scene_root) before preflight has found it: the folder above the scene's, so that
// assets in a sibling folder still fit, else the scene's own folder; only one the nodes' sandboxes can show
// whole beside their work folders under `state` (render::CheckSpareSceneFolder, the rule the nodes apply).
// Empty: no spare.
std::filesystem::path WarmSceneRoot(const std::filesystem::path& scene, const std::filesystem::path& state) {
  const auto folder = std::filesystem::absolute(scene).lexically_normal().parent_path();
  render::BlenderOptions spare;
  spare.spare = true;
  spare.scene_dir = state / "spare";
  spare.work_dir = state;  // the nodes' spare folders lie in it: the folder must not hold it
  for (const auto& candidate : {folder.parent_path(), folder}) {
    spare.scene_root = candidate;
    if (domain::CheckSceneRoot(candidate.string()).ok() && render::CheckSpareSceneFolder(spare).ok())
      return candidate;
  }
  return {};
}

}  // namespace

int RenderLocal(const std::filesystem::path& self_exe, const RenderOptions& o) {
  const auto started = Clock::now();
  std::error_code ec;
  // Preflight (a sandboxed Blender loading the scene) runs while the local network starts: neither waits
  // for the other, and a scene that fails preflight still never reaches a worker.
  // The local workers run the same Blender that checks the scene.
  auto planning = std::async(std::launch::async, [&] {
    const auto local = agent::DescribeBlender(o.blender);
    domain::BlenderBuild build{local.value("version", ""),
                               local.value("denoisers", std::vector<std::string>{}),
                               local.value("engines", std::vector<std::string>{})};
    auto plan = PlanScene(o.scene, {o.blender});
    if (plan) CheckNetwork(*plan, {build}, o.without_denoiser);
    return plan;
  });
  auto checked_plan = [&]() -> Result<ScenePlan> {
    auto plan = planning.get();
    if (!plan) return plan.error();
    INFERIX_TRY(ReportProblems(*plan, o.json));
    return plan;
  };
  std::filesystem::path state = o.state_dir;
  const bool temp_state = state.empty();
  if (temp_state) {
    char tmpl[] = "/tmp/inferix-render-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      return PrintError(MakeError(Errc::kInternal, "cannot create a state folder"), o.json);
    state = tmpl;
  }
  std::filesystem::create_directories(state, ec);
  struct Cleanup {
    std::filesystem::path dir;
    bool active;
    ~Cleanup() {
      std::error_code e;
      if (active) std::filesystem::remove_all(dir, e);
    }
  } cleanup{state, temp_state};

  const auto manager_dir = state / "manager";
  std::filesystem::create_directories(manager_dir, ec);
  std::filesystem::remove(manager_dir / "manager.url", ec);
  // The user's token and the nodes' enrollment tokens go into the manager's database before it starts, and
  // the manager serves on a socket opened here, so its URL is known at once: the nodes (and their spare
  // Blenders) start beside the manager instead of after it.
  auto token =
      Capture(self_exe, {"admin", "token", "create", "--data", manager_dir.string(), "--user", "local"});
  if (!token) return PrintError(token.error(), o.json);
  const int workers = std::max(1, o.workers);
  std::vector<std::string> enrollments;  // one per node, the verifier's last
  for (const auto& [role, count] : {std::pair{"worker", workers}, std::pair{"verifier", 1}}) {
    auto tokens = Capture(self_exe, {"admin", "enroll", "create", "--data", manager_dir.string(), "--role",
                                     role, "--count", std::to_string(count)});
    if (!tokens) return PrintError(tokens.error(), o.json);
    std::istringstream lines(*tokens);
    for (std::string line; std::getline(lines, line) && !line.empty();) enrollments.push_back(line);
  }
  if (enrollments.size() != static_cast<size_t>(workers) + 1) {
    return PrintError(MakeError(Errc::kInternal, "inferix admin enroll create gave too few tokens"), o.json);
  }
  auto listening = ListenOnLoopback();
  if (!listening) return PrintError(listening.error(), o.json);
  const std::string url = fmt::format("http://127.0.0.1:{}", listening->second);
  std::vector<std::string> manager_args = {"manager", "--listen-fd", "3", "--data", manager_dir.string()};
  manager_args.insert(manager_args.end(), o.manager_options.begin(), o.manager_options.end());
  Child manager(self_exe, manager_args, state / "manager.log", listening->first);
  ::close(listening->first);  // the manager's now: when it stops, the nodes' connections are refused

  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / workers);
  const std::string warm_root = WarmSceneRoot(o.scene, state).string();
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i <= workers; ++i) {
    const bool verifier = i == workers;
    const std::string name = verifier ? "local-verifier" : "local-worker-" + std::to_string(i + 1);
    std::vector<std::string> args = {verifier ? "verifier" : "worker",
                                     "--manager",
                                     url,
                                     "--token",
                                     enrollments[i],
                                     "--data",
                                     (state / name).string(),
                                     "--blender",
                                     o.blender,
                                     "--name",
                                     name};
    if (!warm_root.empty()) args.insert(args.end(), {"--warm-scene-root", warm_root});
    args.insert(args.end(), {"--device", verifier ? o.device.substr(0, o.device.find(',')) : o.device});
    if (!verifier) {
      args.push_back("--threads");
      args.push_back(std::to_string(threads));
    }
    children.push_back(std::make_unique<Child>(self_exe, args, state / (name + ".log")));
  }
  // The manager writes its URL once it serves; one that stopped instead says why in its log.
  bool serving = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline && !serving;) {
    auto text = ReadFile(manager_dir / "manager.url");
    serving = text && !text->empty() && text->back() == '\n';
    if (!serving && !manager.Running()) break;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!serving) {
    return PrintError(MakeError(Errc::kInternal,
                                "the local manager did not start; see " + (state / "manager.log").string()),
                      o.json);
  }

  auto plan = checked_plan();
  if (!plan) return PrintError(plan.error(), o.json);
  net::ApiClient api(url, *token, net::ClientOptions{"", 3600, 10});
  SubmitOptions so;
  so.scene = o.scene;
  so.frames = o.frames;
  so.format = o.format;
  so.chunk_size = o.chunk_size;
  so.without_denoiser = o.without_denoiser;
  so.resolution_percentage = o.resolution_percentage;
  auto id = UploadAndCreate(api, *plan, so);
  if (!id) return PrintError(id.error(), o.json);
  if (!o.json) std::cerr << "job " << *id << " submitted to the local network at " << url << "\n";
  auto display = ProgressDisplay::ForStderr(o.json);
  auto job = FollowJob(api, *id, display);
  if (!job) return PrintError(job.error(), o.json);
  auto files = DownloadOutputs(api, *job, o.output_dir);
  if (!files) return PrintError(files.error(), o.json);
  auto detail = api.Call("GET", "/api/v1/jobs/" + std::to_string(*id));
  if (!detail) return PrintError(detail.error(), o.json);

  double render_s = 0;
  double verify_s = 0;
  double render_cpu = 0;
  double verify_cpu = 0;
  std::map<std::string, int> verdicts;
  for (const auto& f : (*detail)["frames"]) {
    verdicts[f.value("verdict", "pending")]++;
    for (const auto& a : f["attempts"]) {
      render_s += a.value("render_seconds", 0.0);
      verify_s += a.value("verify_seconds", 0.0);
      render_cpu += a.value("render_cpu_seconds", 0.0);
      verify_cpu += a.value("verify_cpu_seconds", 0.0);
    }
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string state_name = detail->value("state", "");
  const int total = (*detail)["progress"].value("total", 0);
  const bool ok = state_name == "completed" && static_cast<int>(files->frames.size()) == total;
  if (o.json) {
    json names = json::array();
    for (const auto& f : files->frames) names.push_back(f.string());
    std::cout << json{{"job_id", *id},
                      {"state", state_name},
                      {"frames", total},
                      {"delivered", files->frames.size()},
                      {"render_seconds", render_s},
                      {"verify_seconds", verify_s},
                      {"render_cpu_seconds", render_cpu},
                      {"verify_cpu_seconds", verify_cpu},
                      {"verdicts", verdicts},
                      {"wall_seconds", wall_s},
                      {"files", names},
                      {"video", files->video.string()},
                      {"message", detail->value("message", "")}}
                     .dump()
              << "\n";
  } else {
    std::string v;
    for (const auto& [name, count] : verdicts)
      v += fmt::format("{}{} {}", v.empty() ? "" : ", ", count, name);
    std::cout << fmt::format("{}: {} of {} frames delivered to {}{}\n", state_name, files->frames.size(),
                             total, o.output_dir.string(),
                             files->video.empty() ? "" : ", video " + files->video.string());
    std::cout << fmt::format("render time {:.1f} s, verification time {:.1f} s ({}), wall time {:.1f} s\n",
                             render_s, verify_s, v, wall_s);
    if (!ok && !detail->value("message", "").empty())
      std::cout << Shown(detail->value("message", "")) << "\n";
  }
  // Every node is asked to stop at once (each stops its Blender), then waited for.
  for (auto& child : children) child->Signal();
  children.clear();
  manager.Stop();
  return ok ? 0 : 1;
}

}  // namespace inferix::client
