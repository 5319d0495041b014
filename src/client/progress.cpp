#include "client/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/text.hpp"

namespace inferix::client {

using json = nlohmann::json;

namespace {

// What a user, a node or the manager said, as it may be shown on a terminal (escaped, capped).
std::string ShownText(std::string_view text) { return SafeText(text, 500); }

int Count(const json& progress, const char* key) {
  if (!progress.is_object()) return 0;
  auto it = progress.find(key);
  return it != progress.end() && it->is_number_integer() ? it->get<int>() : 0;
}

bool IsFinal(const std::string& state) {
  return state == "completed" || state == "failed" || state == "canceled";
}

// "[####+++....]": delivered frames, then rendered ones being verified, then the rest; `width` inside.
std::string Bar(const ProgressView& v, int width) {
  std::string bar(static_cast<size_t>(width), '.');
  if (v.total > 0) {
    const auto cells = [&](int frames) {
      return static_cast<size_t>(std::clamp(frames, 0, v.total) * static_cast<int64_t>(width) / v.total);
    };
    const size_t rendered = cells(v.rendered());
    const size_t delivered = std::min(cells(v.delivered), rendered);
    std::fill(bar.begin(), bar.begin() + static_cast<std::ptrdiff_t>(rendered), '+');
    std::fill(bar.begin(), bar.begin() + static_cast<std::ptrdiff_t>(delivered), '#');
  }
  return "[" + bar + "]";
}

}  // namespace

ProgressView ViewOfJob(int64_t job_id, const json& job) {
  ProgressView v;
  v.job_id = job_id;
  if (!job.is_object()) return v;
  v.state = job.value("state", "");
  const json empty = json::object();
  const json& p = job.contains("progress") ? job["progress"] : empty;
  v.total = Count(p, "total");
  v.queued = Count(p, "queued");
  v.rendering = Count(p, "rendering");
  v.verifying = Count(p, "verifying");
  v.delivered = Count(p, "delivered");
  v.failed = Count(p, "failed");
  if (p.is_object()) {
    auto eta = p.find("eta_s");
    if (eta != p.end() && eta->is_number() && std::isfinite(eta->get<double>()) && eta->get<double>() >= 0) {
      v.eta_s = eta->get<double>();
    }
  }
  return v;
}

std::string PlainProgressLine(const ProgressView& v) {
  return fmt::format("job {} {}: {}/{} delivered, {} rendering, {} verifying, {} queued", v.job_id, v.state,
                     v.delivered, v.total, v.rendering, v.verifying, v.queued);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const auto s = static_cast<int64_t>(std::llround(std::min(seconds, 1e12)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string FormatEta(const std::optional<double>& eta_s) {
  return "ETA " + (eta_s ? FormatDuration(*eta_s) : std::string("--"));
}

std::string ProgressBarText(const ProgressView& v, int columns) {
  const size_t room = static_cast<size_t>(std::max(columns - 1, 0));
  const bool final = IsFinal(v.state);
  const std::string head = fmt::format("job {}", v.job_id);
  const std::string failed = v.failed > 0 ? fmt::format(", {} failed", v.failed) : "";
  const std::string end = final ? ": " + v.state : ", " + FormatEta(v.eta_s);
  const std::string counts =
      fmt::format("{}/{} rendered, {}/{} delivered", v.rendered(), v.total, v.delivered, v.total) + failed +
      end;
  // The bar keeps its width while the counts grow and the ETA changes: it is sized for the widest counts
  // this job can show ("ETA 59m59s", every frame rendered).
  const size_t widest_counts =
      fmt::format("{}/{} rendered, {}/{} delivered", v.total, v.total, v.total, v.total).size() +
      failed.size() + std::max<size_t>(end.size(), std::string_view(", ETA 59m59s").size());
  const size_t fixed = head.size() + widest_counts + 4;  // the spaces and the bar's brackets
  if (room >= fixed + 10) {
    const int width = static_cast<int>(std::min<size_t>(room - fixed, 40));
    return head + " " + Bar(v, width) + " " + counts;
  }
  // Narrower: without the bar, then without the job, then the least that says something; cut to the room
  // when even that is too wide.
  const std::string least = fmt::format("{}/{} delivered", v.delivered, v.total) +
                            (v.failed > 0 ? fmt::format(" {} failed", v.failed) : "") +
                            (final ? " " + v.state : " " + FormatEta(v.eta_s));
  const std::vector<std::string> candidates = {head + ": " + counts, counts, least};
  for (const auto& c : candidates) {
    if (c.size() <= room) return c;
  }
  return least.substr(0, room);
}

std::optional<std::string> EventMessage(const std::string& type, const json& data) {
  if (!data.is_object()) return std::nullopt;
  const std::string message = ShownText(data.value("message", ""));
  if (type == "frame" && data.value("verdict", "") == "rejected") {
    if (!message.empty()) return "warning: " + message;
    return fmt::format("warning: frame {} was rejected by verification; another worker renders it again",
                       data.value("frame", 0));
  }
  if (type == "suspect" && !message.empty()) return "warning: " + message;
  if (type == "blocklist") {
    return fmt::format("warning: worker {} is kept off this job: {}",
                       ShownText(data.value("worker", std::string("?"))),
                       ShownText(data.value("reason", "")));
  }
  return std::nullopt;
}

ProgressMode ChooseProgressMode(bool json, bool stderr_is_tty, const char* no_color, const char* term) {
  if (json) return ProgressMode::kQuiet;
  if (!stderr_is_tty) return ProgressMode::kPlain;
  if (no_color != nullptr && no_color[0] != '\0') return ProgressMode::kPlain;
  if (term == nullptr || term[0] == '\0' || std::strcmp(term, "dumb") == 0) return ProgressMode::kPlain;
  return ProgressMode::kBar;
}

int ColumnsOrFallback(int ioctl_columns, const char* columns_env) {
  if (ioctl_columns > 0) return ioctl_columns;
  if (columns_env != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(columns_env, &end, 10);
    if (end != columns_env && *end == '\0' && n > 0 && n < 100000) return static_cast<int>(n);
  }
  return 80;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, Writer write, Columns columns)
    : mode_(mode), write_(std::move(write)), columns_(std::move(columns)) {}

ProgressDisplay ProgressDisplay::ForStderr(bool json) {
  const ProgressMode mode =
      ChooseProgressMode(json, ::isatty(STDERR_FILENO) == 1, std::getenv("NO_COLOR"), std::getenv("TERM"));
  auto write = [](std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      text.remove_prefix(static_cast<size_t>(n));
    }
  };
  auto columns = [] {
    winsize ws{};
    const int cols = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
    return ColumnsOrFallback(cols, std::getenv("COLUMNS"));
  };
  return ProgressDisplay(mode, write, columns);
}

ProgressDisplay::~ProgressDisplay() { Finish(); }

void ProgressDisplay::Update(const ProgressView& v) {
  view_ = v;
  if (mode_ == ProgressMode::kPlain) {
    std::string line = PlainProgressLine(v);
    if (line != shown_) write_(line + "\n");
    shown_ = std::move(line);
  } else if (mode_ == ProgressMode::kBar) {
    std::string text = ProgressBarText(v, columns_());
    if (bar_on_screen_ && text == shown_) return;
    // Overwritten in place, then the rest of the old text cleared: one write, nothing blank in between.
    write_("\r" + text + "\x1b[K");
    shown_ = std::move(text);
    bar_on_screen_ = true;
  }
}

void ProgressDisplay::Message(std::string_view line) {
  if (mode_ == ProgressMode::kQuiet) return;
  if (mode_ == ProgressMode::kBar && bar_on_screen_) {
    std::string text = view_ ? ProgressBarText(*view_, columns_()) : shown_;
    write_("\r\x1b[K" + std::string(line) + "\n" + text + "\x1b[K");
    shown_ = std::move(text);
    return;
  }
  write_(std::string(line) + "\n");
}

void ProgressDisplay::Finish() {
  if (mode_ != ProgressMode::kBar || !bar_on_screen_) return;
  write_("\n");
  bar_on_screen_ = false;
}

}  // namespace inferix::client
