#include "net/limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "net/http_exchange.hpp"

namespace inferix::net {

HttpResponse Refusal(int status, std::string_view code, std::string_view message, int64_t retry_after_s) {
  HttpResponse response = internal::ErrorResponse(status, code, message);
  if (retry_after_s > 0) response.headers["Retry-After"] = std::to_string(retry_after_s);
  return response;
}

std::chrono::steady_clock::duration BodyAllowance(uint64_t received, std::chrono::milliseconds base,
                                                  uint64_t min_rate) {
  const uint64_t bytes = received;
  if (min_rate == 0) return std::chrono::steady_clock::duration::max() / 2;
  // Milliseconds, computed so that a huge count cannot overflow (capped at about 35 years).
  constexpr uint64_t kMaxSeconds = uint64_t{1} << 30;
  const uint64_t seconds = std::min(bytes / min_rate, kMaxSeconds);
  const uint64_t transfer_ms = seconds * 1000 + bytes % min_rate * 1000 / min_rate;
  return base + std::chrono::milliseconds(static_cast<int64_t>(transfer_ms));
}

uint64_t ConnectionCapFromFileLimit() {
  rlimit limit{};
  uint64_t files = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) files = limit.rlim_cur;
  if (limit.rlim_cur == RLIM_INFINITY) files = 1u << 20;
  constexpr uint64_t kKeptForTheRest = 128;  // database, blobs, logs, Blender probes, the reserve descriptor
  return files > 2 * kKeptForTheRest ? (files - kKeptForTheRest) / 2 : 64;
}

RateLimiter::RateLimiter(const Clock& clock, double per_second, double burst)
    : clock_(clock), per_second_(per_second), burst_(std::max(1.0, burst)) {}

int64_t RateLimiter::Take(const std::string& credential) {
  if (per_second_ <= 0) return 0;
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  if (now - pruned_ms_ >= 60'000) Prune(now);
  auto [it, inserted] = buckets_.try_emplace(credential, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now - bucket.updated_ms)) / 1000.0;
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed_s * per_second_);
    bucket.updated_ms = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  const double wait_ms = std::ceil((1.0 - bucket.tokens) / per_second_ * 1000.0);
  return std::max<int64_t>(1, static_cast<int64_t>(wait_ms));
}

void RateLimiter::Prune(int64_t now_ms) {
  pruned_ms_ = now_ms;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed_s = static_cast<double>(now_ms - it->second.updated_ms) / 1000.0;
    if (it->second.tokens + elapsed_s * per_second_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

void RateLimitedLog::Note(const std::string& what) {
  std::lock_guard lock(mu_);
  ++count_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::seconds(1)) return;
  const auto seconds = last_ == std::chrono::steady_clock::time_point{}
                           ? 0
                           : std::chrono::duration_cast<std::chrono::seconds>(now - last_).count();
  std::fprintf(stderr, "inferix http: %s (%llu times in the last %lld s)\n", what.c_str(),
               static_cast<unsigned long long>(count_), static_cast<long long>(seconds));
  last_ = now;
  count_ = 0;
}

}  // namespace inferix::net
