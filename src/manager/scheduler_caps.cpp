#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "manager/codec.hpp"
#include "manager/manager.hpp"
#include "manager/scheduler.hpp"
#include "store/store_url.hpp"

// The scheduler's caps on one node (issue #14: one node cannot hoard work) and the operator's view of checks
// no verifier may take. Claims themselves are in scheduler.cpp.
namespace inferix::manager {

Result<std::optional<ClaimRefusal>> Scheduler::ClaimCaps(const domain::Node& node) {
  const std::string who = std::string(domain::ToString(node.role)) + " " + node.name;
  auto held = store_.ListNodeTasks(node.id);
  if (!held) return held.error();
  // Each slot beyond the first renders a task of its own at the same time.
  const int64_t slots = static_cast<int64_t>(std::max<size_t>(1, SlotsOf(node).size()));
  const int64_t most = options_.max_node_tasks + slots - 1;
  if (static_cast<int64_t>(held->size()) >= most) {
    return std::optional<ClaimRefusal>(
        ClaimRefusal{"tasks_in_flight",
                     who + " holds " + std::to_string(held->size()) +
                         " tasks, the most one node may hold at once (" + std::to_string(most) +
                         ": the manager's --max-node-tasks, plus one for each slot beyond the first" +
                         "); finish or fail one before claiming another",
                     std::max<int64_t>(1, options_.heartbeat_ms / 1000)});
  }
  const int64_t now = clock_.NowMs();
  auto day = store_.NodeClaimsInDay(node.id, now);
  if (!day) return day.error();
  if (day->count >= options_.max_node_claims_per_day) {
    const int64_t frees_ms = (day->oldest_hour + 24) * domain::kClaimHourMs;
    return std::optional<ClaimRefusal>(
        ClaimRefusal{"daily_claims",
                     who + " claimed " + std::to_string(day->count) +
                         " tasks in the last 24 hours, the most one node may (" +
                         std::to_string(options_.max_node_claims_per_day) +
                         ", the manager's --max-node-claims-per-day); ask again after Retry-After",
                     std::max<int64_t>(1, (frees_ms - now + 999) / 1000)});
  }
  return std::optional<ClaimRefusal>();
}

Result<std::vector<WaitingClass>> ClassesWithoutVerifier(domain::Store& store) {
  auto waiting = store.CountClassBoundChecks();
  if (!waiting) return waiting.error();
  auto nodes = store.ListNodes();
  if (!nodes) return nodes.error();
  std::set<std::string> verified;  // the classes of the verifiers' builds
  for (const auto& n : *nodes) {
    if (n.role != domain::NodeRole::kVerifier || n.banned) continue;
    for (auto& c : AllClassesOf(n)) verified.insert(std::move(c));
  }
  std::map<std::string, WaitingClass> by_class;
  for (const auto& [det_class, checks] : *waiting) {
    if (verified.count(det_class) == 0) by_class[det_class] = {det_class, checks, 0};
  }
  // The classes workers render in that no verifier has: the scheduler holds those renders back.
  for (const auto& n : *nodes) {
    if (n.role != domain::NodeRole::kWorker || n.banned) continue;
    for (auto& c : AllClassesOf(n)) {
      if (c.empty() || verified.count(c) > 0) continue;
      WaitingClass& w = by_class[c];
      w.det_class = c;
      ++w.workers;
    }
  }
  std::vector<WaitingClass> out;
  out.reserve(by_class.size());
  for (auto& [det_class, w] : by_class) out.push_back(std::move(w));
  return out;
}

Result<std::string> ChecksWithoutVerifier(const std::string& store_url) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto classes = ClassesWithoutVerifier(**store);
  if (!classes) return classes.error();
  if (classes->empty())
    return std::string("every waiting check has a verifier of its class, and every worker's class has one");
  std::string out;
  for (const auto& c : *classes) {
    if (!out.empty()) out += "\n";
    out += "class \"" + c.det_class + "\": ";
    if (c.checks > 0) out += std::to_string(c.checks) + " check(s) waiting and no verifier of this class";
    if (c.checks > 0 && c.workers > 0) out += "; ";
    if (c.workers > 0) {
      out += std::string(c.checks > 0 ? "" : "no verifier of this class, so ") + "the renders of its " +
             std::to_string(c.workers) + " worker(s) in this class are held back";
    }
    out +=
        "; enroll a verifier with a build of this class, or revoke the workers of this class (inferix admin "
        "node revoke) to render their frames elsewhere";
  }
  return out;
}

}  // namespace inferix::manager
