// A process and its descendants, read from /proc: the CPU time and the memory of a Blender and everything it
// started (the sandbox's bwrap, Blender, its helpers).
#include "render/process_tree.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace inferix::render {
namespace {

namespace fs = std::filesystem;

struct ProcStat {
  int ppid = 0;
  double ticks = 0.0;  ///< user and system time, in clock ticks
};

// Every process's parent and CPU ticks. /proc/<pid>/stat: "pid (comm) state ppid ..."; utime and stime are
// fields 14 and 15.
std::map<int, ProcStat> ReadProcs() {
  std::map<int, ProcStat> procs;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(it->path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 > line.size()) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    ProcStat st;
    fields >> state >> st.ppid;
    std::string skip;
    for (int i = 5; i <= 13; ++i) fields >> skip;
    double utime = 0.0;
    double stime = 0.0;
    fields >> utime >> stime;
    if (!fields) continue;
    st.ticks = utime + stime;
    procs[std::stoi(name)] = st;
  }
  return procs;
}

// `root` and its live descendants, of `procs`.
std::vector<int> TreeOf(int root, const std::map<int, ProcStat>& procs) {
  std::vector<int> tree;
  std::vector<int> todo = {root};
  std::set<int> seen;
  while (!todo.empty()) {
    const int pid = todo.back();
    todo.pop_back();
    if (!seen.insert(pid).second || !procs.contains(pid)) continue;
    tree.push_back(pid);
    for (const auto& [child, st] : procs) {
      if (st.ppid == pid) todo.push_back(child);
    }
  }
  return tree;
}

}  // namespace

double ProcessTreeCpuSeconds(int root) {
  const auto procs = ReadProcs();
  double ticks = 0.0;
  for (int pid : TreeOf(root, procs)) ticks += procs.at(pid).ticks;
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int64_t ProcessTreeMemoryBytes(int root) {
  const auto procs = ReadProcs();
  const auto page = static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
  int64_t bytes = 0;
  for (int pid : TreeOf(root, procs)) {
    // /proc/<pid>/statm: size resident shared ... in pages. Resident less shared: what the process holds
    // itself (its libraries' pages, shared with every other Blender, are not counted once per process).
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    int64_t size = 0;
    int64_t resident = 0;
    int64_t shared = 0;
    if (in >> size >> resident >> shared) bytes += (resident - shared) * page;
  }
  return bytes;
}

}  // namespace inferix::render
