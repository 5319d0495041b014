// The scheduler's census of the farm (census.hpp) and what it decides (issue #17): a render whose outputs no
// verifier could check is held back rather than left waiting in `verifying` for ever, and a job that no
// registered worker can render now says why. Part of Scheduler; see scheduler.hpp.
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "domain/capabilities.hpp"
#include "domain/trust.hpp"
#include "manager/codec.hpp"
#include "manager/scheduler.hpp"

namespace inferix::manager {

namespace {

// How long a census is used before it is read again: nodes that another manager enrolled, or that the admin
// command revoked, count after this long at most.
constexpr int64_t kCensusMs = 5'000;
// Wakes every waiting render claim (Wakeups::Queued wakes up to this many).
constexpr int kWakeAll = 1 << 20;

void Seen(int64_t& latest, int64_t seen_ms) { latest = std::max(latest, seen_ms); }

}  // namespace

Census Census::Of(std::vector<domain::Node> nodes, int64_t read_ms) {
  Census census;
  census.read_ms = read_ms;
  census.nodes = std::move(nodes);
  for (const auto& n : census.nodes) {
    if (n.role != domain::NodeRole::kVerifier || n.banned) continue;
    census.any_verifier_seen_ms = std::max(census.any_verifier_seen_ms, n.last_seen_ms);
    const auto builds = BuildsOf(n);
    std::vector<std::string> slots = SlotsOf(n);
    if (slots.empty()) slots.emplace_back();
    for (const auto& slot : slots) {
      const auto classes = ClassesOf(n, builds, slot);
      for (size_t i = 0; i < builds.size(); ++i) {
        Verifiers& v = census.classes[classes[i]];
        Seen(v.last_seen_ms, n.last_seen_ms);
        if (builds[i].engines.empty()) Seen(v.engines[""], n.last_seen_ms);  // did not say: every engine
        for (const auto& e : builds[i].engines) Seen(v.engines[e], n.last_seen_ms);
      }
    }
  }
  return census;
}

bool Census::Verifies(const std::string& det_class, const std::string& engine, int64_t since_ms) const {
  if (det_class.empty()) return any_verifier_seen_ms >= 0 && any_verifier_seen_ms >= since_ms;
  auto found = classes.find(det_class);
  if (found == classes.end()) return false;
  const Verifiers& v = found->second;
  if (engine.empty()) return v.last_seen_ms >= since_ms;
  for (const std::string& e : {std::string(), engine}) {
    auto it = v.engines.find(e);
    if (it != v.engines.end() && it->second >= since_ms) return true;
  }
  return false;
}

Result<std::shared_ptr<const Census>> Scheduler::FarmCensus() {
  const int64_t now = clock_.NowMs();
  if (!census_ || now - census_->read_ms >= kCensusMs || now < census_->read_ms) {
    auto nodes = store_.ListNodes();
    if (!nodes) return nodes.error();
    census_ = std::make_shared<const Census>(Census::Of(std::move(*nodes), now));
  }
  return census_;
}

void Scheduler::NodesChanged(domain::NodeRole role) {
  census_.reset();
  if (role != domain::NodeRole::kVerifier) return;
  // Told like queued render tasks: after the running transaction commits, and it marks the time, so that a
  // waiting claim's next look reads the tables (Wakeups).
  queued_[domain::TaskKind::kRender] += kWakeAll;
  if (depth_ == 0) TellQueued();
}

std::string Scheduler::Unverifiable(const domain::Node& worker, const std::string& det_class,
                                    const std::string& engine, const Census& census) const {
  const int64_t since = options_.verifier_seen_ms > 0 ? clock_.NowMs() - options_.verifier_seen_ms
                                                      : std::numeric_limits<int64_t>::min();
  const std::string there = options_.verifier_seen_ms > 0 ? " is online" : " is registered";
  // A worker whose outputs are never drawn for regions (a trusted one, with no spot checks) needs a verifier
  // that opens them (layer 1), of any class; every other one, a verifier of its class that renders the
  // engine.
  const bool regions = domain::CheckRate(options_.trust, worker.streak) > 0;
  if (!regions || det_class.empty())
    return census.Verifies("", "", since) ? std::string() : "no verifier" + there;
  if (census.Verifies(det_class, engine, since)) return {};
  if (!engine.empty() && census.Verifies(det_class, "", since))
    return "no verifier of class \"" + det_class + "\" that renders " + domain::EngineName(engine) + there;
  return "no verifier of class \"" + det_class + "\"" + there;
}

Result<std::string> Scheduler::NoWorkerFor(const domain::Job& job) {
  auto census = FarmCensus();
  if (!census) return census.error();
  const auto needs = domain::NeedsOf(job);
  auto required = needs;  // what the user requires and the scene's file needs, without the engine
  required.engine.clear();
  std::map<std::string, int>
      lent;             // what the workers lend, for the message: "cuda NVIDIA ..., 12 GiB" -> count
  std::string engines;  // the engines of the workers that meet the requirements
  std::set<std::string> unverified;  // why the workers that could render it are held back
  bool meets = false;
  bool renders = false;
  for (const auto& n : (*census)->nodes) {
    if (n.role != domain::NodeRole::kWorker || n.banned) continue;
    const auto builds = BuildsOf(n);
    const bool in_range = std::any_of(builds.begin(), builds.end(), [&](const domain::BlenderBuild& b) {
      return domain::CanRender(required, b);
    });
    std::vector<std::string> slots = SlotsOf(n);
    if (slots.empty()) slots.emplace_back();
    for (const auto& slot : slots) {
      const domain::SlotOffer offer = OfferOf(n, slot);
      if (!in_range || !domain::SlotMeets(job.requirements, offer)) {
        auto device = SlotDevice(n, slot);
        std::string what = device ? *device : std::string("cpu");
        if (offer.memory_bytes > 0 && what != "cpu")
          what += ", " + std::to_string(offer.memory_bytes >> 30) + " GiB";
        if (!in_range) what += " (no Blender build in the range)";
        ++lent[what];
        continue;
      }
      meets = true;
      auto build = domain::ChooseBuild(needs, builds);
      if (!build) {
        const std::string these = domain::EnginesText(builds);
        if (engines.find(these) == std::string::npos) engines += (engines.empty() ? "" : ", ") + these;
        continue;
      }
      renders = true;
      std::string why = Unverifiable(n, ClassesOf(n, builds, slot)[*build], job.engine, **census);
      if (why.empty()) return std::string();
      unverified.insert(std::move(why));
    }
  }
  if (!meets) {
    if (job.requirements == domain::JobRequirements{}) return std::string();  // as before: no such message
    std::string have;
    for (const auto& [what, count] : lent)
      have += (have.empty() ? "" : "; ") + what + (count > 1 ? " x" + std::to_string(count) : "");
    return "no registered worker can render it: it requires " + domain::RequirementsText(job.requirements) +
           (have.empty() ? "; no worker is registered" : "; the workers lend: " + have) +
           ". It waits until such a worker joins (or cancel it and submit with other requirements)";
  }
  if (!renders) {
    return "no registered worker renders " + domain::EngineName(job.engine) + " scenes (the workers render " +
           engines + "). It waits until one that does joins (or cancel it and render it with another engine)";
  }
  std::string why;
  for (const auto& w : unverified) why += (why.empty() ? "" : "; ") + w;
  return "its frames are held back: " + why +
         " to check what the workers that could render it would make. It waits until one joins (the "
         "operator: "
         "inferix admin checks)";
}

}  // namespace inferix::manager
