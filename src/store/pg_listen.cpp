// The PostgreSQL change feed (store/change_feed.hpp): LISTEN on the adapter's channels, on a connection of
// its own, outside the pool.
#include <poll.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/change_feed.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_store.hpp"

namespace inferix::store {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PgChangeFeed final : public ChangeFeed {
 public:
  explicit PgChangeFeed(pg::ConnOptions options) : options_(std::move(options)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PgChangeFeed() override { Stop(); }
  PgChangeFeed(const PgChangeFeed&) = delete;
  PgChangeFeed& operator=(const PgChangeFeed&) = delete;

  int64_t TasksChangedMs() const override { return tasks_ms_.load(); }
  int64_t EventsChangedMs() const override { return events_ms_.load(); }
  bool Listening() const override { return listening_.load(); }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Sleeps up to `ms`, or less when stopped; true while not stopped.
  bool Pause(int64_t ms) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
    return !stopping_;
  }

  void Run() {
    int64_t backoff_ms = 100;
    bool warned = false;
    while (!Stopping()) {
      std::string failure;
      auto conn = pg::Conn::Open(options_);
      if (conn) {
        auto listen = (*conn)->ExecScript(std::string("LISTEN ") + pg::kTasksChannel + "; LISTEN " +
                                          pg::kEventsChannel);
        if (listen) {
          if (warned) spdlog::info("listening to the database's wake-ups again");
          warned = false;
          backoff_ms = 100;
          // Whatever happened while not listening is unknown: every waiting request reads the tables again.
          const int64_t now = NowMs();
          tasks_ms_.store(now);
          events_ms_.store(now);
          listening_.store(true);
          Listen(**conn);
          listening_.store(false);
          continue;
        }
        failure = listen.error().message;
      } else {
        failure = conn.error().message;
      }
      if (!warned) {
        spdlog::warn(
            "not listening to the database's wake-ups ({}); waiting requests read the tables "
            "more often until it is back",
            failure);
        warned = true;
      }
      if (!Pause(backoff_ms)) break;
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 5'000);
    }
  }

  // Waits for notifications until the connection breaks or the feed stops.
  void Listen(pg::Conn& conn) {
    while (!Stopping() && conn.Healthy()) {
      pollfd fd{conn.Socket(), POLLIN, 0};
      if (fd.fd < 0) return;
      const int ready = ::poll(&fd, 1, 200);  // a short wait, so that Stop is quick
      if (ready < 0) continue;                // interrupted
      if (ready == 0) continue;
      for (const auto& [channel, payload] : conn.TakeNotifications()) {
        const int64_t now = NowMs();
        if (channel == pg::kTasksChannel) tasks_ms_.store(now);
        if (channel == pg::kEventsChannel) events_ms_.store(now);
      }
    }
  }

  const pg::ConnOptions options_;
  std::atomic<int64_t> tasks_ms_{0};
  std::atomic<int64_t> events_ms_{0};
  std::atomic<bool> listening_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<ChangeFeed>> OpenChangeFeed(const std::string& url) {
  if (url.starts_with("sqlite:")) return std::unique_ptr<ChangeFeed>();
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return MakeError(Errc::kInvalidArgument, "no change feed for this store URL");
  }
  auto options = pg::ParseUrl(url);
  if (!options) return options.error();
  return std::unique_ptr<ChangeFeed>(std::make_unique<PgChangeFeed>(std::move(*options)));
}

}  // namespace inferix::store
