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

Result<std::string> NoWorkerFor(domain::Store& store, const domain::Job& job) {
  if (job.requirements == domain::JobRequirements{}) return std::string();
  auto nodes = store.ListNodes();
  if (!nodes) return nodes.error();
  const auto needs = domain::NeedsOf(job);
  std::map<std::string, int>
      lent;  // what the workers lend, for the message: "cuda NVIDIA ..., 12 GiB" -> count
  for (const auto& n : *nodes) {
    if (n.role != domain::NodeRole::kWorker || n.banned) continue;
    const auto builds = BuildsOf(n);
    const bool build = std::any_of(builds.begin(), builds.end(), [&](const domain::BlenderBuild& b) {
      return domain::CanRender(needs, b);
    });
    std::vector<std::string> slots = SlotsOf(n);
    if (slots.empty()) slots.emplace_back();
    for (const auto& slot : slots) {
      const domain::SlotOffer offer = OfferOf(n, slot);
      if (build && domain::SlotMeets(job.requirements, offer)) return std::string();
      auto device = SlotDevice(n, slot);
      std::string what = device ? *device : std::string("cpu");
      if (offer.memory_bytes > 0 && what != "cpu")
        what += ", " + std::to_string(offer.memory_bytes >> 30) + " GiB";
      if (!build) what += " (no Blender build in the range)";
      ++lent[what];
    }
  }
  std::string have;
  for (const auto& [what, count] : lent)
    have += (have.empty() ? "" : "; ") + what + (count > 1 ? " x" + std::to_string(count) : "");
  return "no registered worker can render it: it requires " + domain::RequirementsText(job.requirements) +
         (have.empty() ? "; no worker is registered" : "; the workers lend: " + have) +
         ". It waits until such a worker joins (or cancel it and submit with other requirements)";
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
  std::vector<WaitingClass> out;
  for (const auto& [det_class, checks] : *waiting) {
    if (verified.count(det_class) == 0) out.push_back({det_class, checks});
  }
  return out;
}

Result<std::string> ChecksWithoutVerifier(const std::string& store_url) {
  auto store = store::OpenStore(store_url);
  if (!store) return store.error();
  auto classes = ClassesWithoutVerifier(**store);
  if (!classes) return classes.error();
  if (classes->empty()) return std::string("every waiting check has a verifier of its class");
  std::string out;
  for (const auto& c : *classes) {
    if (!out.empty()) out += "\n";
    out +=
        "class \"" + c.det_class + "\": " + std::to_string(c.checks) +
        " check(s) waiting and no verifier of this class; enroll a verifier with a build of this class, or "
        "revoke the workers of this class (inferix admin node revoke) to render their frames elsewhere";
  }
  return out;
}

}  // namespace inferix::manager
