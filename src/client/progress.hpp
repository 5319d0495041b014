#pragma once
// How the CLI shows a job's progress: a bar redrawn in place on a terminal, plain lines otherwise, nothing
// with --json. The text is made by plain functions; ProgressDisplay only decides when to write what.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace inferix::client {

/// Where a job stands, as GET /api/v1/jobs/{id} says.
struct ProgressView {
  int64_t job_id = 0;
  std::string state;
  int total = 0;
  int queued = 0;
  int rendering = 0;
  int verifying = 0;
  int delivered = 0;
  int failed = 0;
  std::optional<double> eta_s;  ///< the manager's progress.eta_s; empty when null or absent

  /// Frames whose render has finished: being verified or delivered.
  int rendered() const { return verifying + delivered; }
};

/// Reads a job object of the API (its "state" and "progress", progress.eta_s included).
ProgressView ViewOfJob(int64_t job_id, const nlohmann::json& job);

/// The line printed when stderr is not a terminal, one per change; scripts and tests parse it, keep it
/// stable: "job 7 active: 3/6 delivered, 2 rendering, 1 verifying, 0 queued".
std::string PlainProgressLine(const ProgressView& v);

/// A duration for people: "45s", "3m07s", "1h02m", "2d03h".
std::string FormatDuration(double seconds);

/// "ETA 3m07s", or "ETA --" when the manager does not know.
std::string FormatEta(const std::optional<double>& eta_s);

/// The bar for a terminal `columns` wide, at most columns - 1 characters (writing the last column makes some
/// terminals wrap), ASCII only: "job 7 [#####+++.......] 4/6 rendered, 3/6 delivered, 1 failed, ETA 12s"
/// ('#' delivered, '+' rendered and being verified), "job 7 [####] 6/6 rendered, 6/6 delivered: completed"
/// at the end; narrower forms drop the bar, then the job, as the width shrinks.
std::string ProgressBarText(const ProgressView& v, int columns);

/// A line worth telling the user about an event of the job's stream (a rejected frame, suspect frames, a
/// worker kept off the job), or nothing.
std::optional<std::string> EventMessage(const std::string& type, const nlohmann::json& data);

/// How progress is shown.
enum class ProgressMode {
  kQuiet,  ///< --json: nothing on stderr
  kPlain,  ///< one line per change
  kBar,    ///< a bar redrawn in place
};

/// The bar only on a terminal that can take it: not with --json, not when stderr is no TTY, not with
/// NO_COLOR set (non-empty) nor with TERM unset, empty or "dumb".
ProgressMode ChooseProgressMode(bool json, bool stderr_is_tty, const char* no_color, const char* term);

/// A terminal's width: the TIOCGWINSZ answer when there is one (`ioctl_columns` > 0), else $COLUMNS, else 80.
int ColumnsOrFallback(int ioctl_columns, const char* columns_env);

/// Shows progress in one mode: in bar mode it keeps the bar on the last line and lifts it for messages.
class ProgressDisplay {
 public:
  using Writer = std::function<void(std::string_view)>;
  using Columns = std::function<int()>;

  /// `write` gets each piece of output whole (one write per redraw, so no flicker); `columns` is asked for
  /// the terminal's width at each redraw.
  ProgressDisplay(ProgressMode mode, Writer write, Columns columns);
  /// The display for this process's stderr, its mode chosen from the environment.
  static ProgressDisplay ForStderr(bool json);
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;
  ~ProgressDisplay();

  ProgressMode mode() const { return mode_; }
  /// Shows the job's state: redraws the bar, or prints a plain line when it changed.
  void Update(const ProgressView& v);
  /// Prints a whole line (no newline in it) without garbling the bar: clears it, prints, draws it again.
  void Message(std::string_view line);
  /// Ends the bar with a newline, so that what follows starts on a line of its own. Update draws it again.
  void Finish();

 private:
  ProgressMode mode_;
  Writer write_;
  Columns columns_;
  std::optional<ProgressView> view_;
  std::string shown_;  ///< the plain line last printed, or the bar text on screen
  bool bar_on_screen_ = false;
};

}  // namespace inferix::client
