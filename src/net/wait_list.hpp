#pragma once
// Long polls parked under a key until something wakes them: the server's side of an in-process wake-up. A
// handler that has nothing to answer yet names a key (HttpResponse::wait_key); whoever makes that answer
// possible wakes the key's oldest waiters, so a waiting request runs again at once instead of at its next
// poll.
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
  /// Parks a waiter under `key`. `wake` is called once, outside the list's lock and on the waking thread,
  /// if the waiter is woken before it leaves.
  Token Park(const std::string& key, std::function<void()> wake);
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
  Token next_ = 1;
};

}  // namespace inferix::net
