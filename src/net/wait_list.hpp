#pragma once
// Long polls parked under a key until something wakes them: the server's side of an in-process wake-up. A
// handler that has nothing to answer yet names a key (HttpResponse::wait_key); whoever makes that answer
// possible wakes the key's oldest waiters, so a waiting request runs again at once instead of at its next
// poll.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace inferix::net {

/// Thread-safe. Waiters of one key are woken oldest first.
class WaitList {
 public:
  using Token = uint64_t;
  /// How many Wake calls there have been, whether or not they found waiters. A handler notes it before it
  /// looks for work, and passes it to Park: a wake-up that came between its look and its park is not lost.
  uint64_t Wakes() const;
  /// Parks a waiter under `key`. `wake` is called once, outside the list's lock and on the waking thread,
  /// if the waiter is woken before it leaves. When `key` was woken after `since` (a Wakes() value), the
  /// waiter is not parked: `wake` is called at once, and the token is 0.
  Token Park(const std::string& key, std::function<void()> wake, uint64_t since = UINT64_MAX);
  /// The waiter's wait has ended (woken or not): it leaves the list. False when it had been woken.
  bool Leave(Token token);
  /// Wakes up to `n` of `key`'s longest-waiting waiters; returns how many were woken.
  size_t Wake(const std::string& key, size_t n);
  /// How many waiters `key` holds.
  size_t Waiting(const std::string& key) const;

 private:
  struct Entry {
    Token token;
    std::function<void()> wake;
  };
  using Queue = std::list<Entry>;
  mutable std::mutex mu_;
  std::map<std::string, Queue, std::less<>> by_key_;
  std::unordered_map<Token, std::pair<Queue*, Queue::iterator>> where_;
  std::map<std::string, uint64_t, std::less<>> last_wake_;  // each key's latest Wake, as a Wakes() value
  std::atomic<uint64_t> wakes_ = 0;  // written under mu_; read without it (every request reads it)
  Token next_ = 1;
};

}  // namespace inferix::net
