#include "net/wait_list.hpp"

#include <utility>
#include <vector>

namespace inferix::net {

uint64_t WaitList::Wakes() const { return wakes_.load(); }

WaitList::Token WaitList::Park(const std::string& key, std::function<void()> wake, uint64_t since) {
  std::unique_lock lock(mu_);
  if (auto last = last_wake_.find(key); last != last_wake_.end() && last->second > since) {
    lock.unlock();
    wake();  // woken while it was on its way here
    return 0;
  }
  const Token token = next_++;
  Queue& queue = by_key_[key];
  queue.push_back({token, std::move(wake)});
  where_.emplace(token, std::make_pair(&queue, std::prev(queue.end())));
  return token;
}

bool WaitList::Leave(Token token) {
  std::lock_guard lock(mu_);
  auto found = where_.find(token);
  if (found == where_.end()) return false;
  found->second.first->erase(found->second.second);
  where_.erase(found);
  return true;
}

size_t WaitList::Wake(const std::string& key, size_t n) {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    last_wake_.insert_or_assign(key, ++wakes_);
    auto queue = by_key_.find(key);
    if (queue == by_key_.end()) return 0;
    while (woken.size() < n && !queue->second.empty()) {
      Entry& first = queue->second.front();
      woken.push_back(std::move(first.wake));
      where_.erase(first.token);
      queue->second.pop_front();
    }
  }
  for (auto& wake : woken) wake();
  return woken.size();
}

size_t WaitList::Waiting(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto queue = by_key_.find(key);
  return queue == by_key_.end() ? 0 : queue->second.size();
}

}  // namespace inferix::net
