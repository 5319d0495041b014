// The process's own figures (ProcessFamilies), read from /proc when scraped, as Prometheus' client libraries
// name them so that existing dashboards and alerts work unchanged.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics.hpp"

namespace inferix::metrics {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses): the first is
// field 3 of proc(5), "state".
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// Field `number` of proc(5)'s /proc/[pid]/stat as a number.
std::optional<double> StatField(const std::vector<std::string>& fields, size_t number) {
  const size_t at = number - 3;
  if (at >= fields.size()) return std::nullopt;
  try {
    return std::stod(fields[at]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The system's boot time, seconds since the epoch (/proc/stat's btime).
std::optional<double> BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("btime ")) {
      try {
        return std::stod(line.substr(6));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<double> OpenFds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++n;
  if (ec) return std::nullopt;
  return n;
}

void Add(std::vector<ScrapedFamily>& out, const char* name, const char* help, Type type,
         std::optional<double> value) {
  if (value) out.push_back(ScrapedFamily{name, help, type, {Sample{{}, *value}}});
}

}  // namespace

std::vector<ScrapedFamily> ProcessFamilies() {
  std::vector<ScrapedFamily> out;
  const auto stat = StatFields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const auto utime = StatField(stat, 14);
  const auto stime = StatField(stat, 15);
  if (utime && stime && ticks > 0) {
    Add(out, "process_cpu_seconds_total", "User and system CPU time the process has spent, in seconds.",
        Type::kCounter, (*utime + *stime) / ticks);
  }
  if (auto rss = StatField(stat, 24)) {
    Add(out, "process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge, *rss * page);
  }
  Add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge,
      StatField(stat, 23));
  Add(out, "process_open_fds", "Number of open file descriptors.", Type::kGauge, OpenFds());
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    Add(out, "process_max_fds", "Maximum number of open file descriptors.", Type::kGauge,
        static_cast<double>(limit.rlim_cur));
  }
  const auto start = StatField(stat, 22);
  const auto boot = BootTime();
  if (start && boot && ticks > 0) {
    Add(out, "process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.",
        Type::kGauge, *boot + *start / ticks);
  }
  return out;
}

}  // namespace inferix::metrics
