// Nodes: enrolling one, a node telling what it lends now, and the workers page (every node, with what it is
// doing).
#include <spdlog/spdlog.h>

#include <map>
#include <string>
#include <vector>

#include "domain/trust.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"
#include "manager/enrollment.hpp"
#include "manager/identity.hpp"
#include "manager/requests.hpp"

namespace inferix::manager {
namespace {

using json = nlohmann::json;
using net::HttpResponse;

HttpResponse Register(Call& c) {
  auto request = DecodeRegister(c.req);
  if (!request) return Fail(request.error());
  auto enrolled = Enroll(c.api.store, c.api.scheduler, c.api.clock, *request);
  if (!enrolled) return Fail(enrolled.error());
  spdlog::info("{} {} registered as node {}", domain::ToString(request->role), SafeText(request->name),
               enrolled->node_id);
  return Json(201, {{"node_id", enrolled->node_id}, {"node_token", enrolled->node_token}});
}

// A node started again tells what it lends now (other Blender builds, an upgrade): its machine description
// and default class follow, so that claims choose among the builds it really has.
HttpResponse UpdateCapabilities(Call& c) {
  auto request = DecodeCapabilities(c.req);
  if (!request) return Fail(request.error());
  // Read again and written in one transaction: the node read at authentication may be stale by now.
  auto saved = UpdateCapabilities(c.api.store, c.api.scheduler, c.node->id, request->capabilities);
  if (!saved) return Fail(saved.error());
  *c.node = *saved;
  return Json(200,
              {{"node_id", saved->id}, {"class", saved->det_class}, {"capabilities", request->capabilities}});
}

// The node says why it takes no work now (its owner paused it, its hours, its owner's load), or that it
// takes work again.
HttpResponse SetAvailability(Call& c) {
  auto request = DecodeAvailability(c.req);
  if (!request) return Fail(request.error());
  auto r = c.api.scheduler.SetAvailability(*c.node, request->availability, request->reason);
  if (!r) return Fail(r.error());
  return Json(200, {{"availability", request->availability}, {"reason", request->reason}});
}

// The node's machine as it described itself, for its owner: CPU, memory, GPUs, devices and lent slots, the
// Blender builds (versions, denoisers, engines; never their paths) and the engines it renders.
json OwnersMachine(const domain::Node& n) {
  json caps = json::parse(n.capabilities_json, nullptr, false);
  json machine = json::object();
  if (!caps.is_object()) return machine;
  for (const char* key :
       {"cpu_model", "cpu_threads", "memory_bytes", "gpus", "devices", "slots", "engines", "arch"})
    if (caps.contains(key)) machine[key] = caps[key];
  if (caps.contains("blenders") && caps["blenders"].is_array()) {
    machine["blenders"] = json::array();
    for (const auto& b : caps["blenders"]) {
      if (!b.is_object()) continue;
      json build = {{"version", b.value("version", json())},
                    {"denoisers", b.value("denoisers", json::array())}};
      if (b.contains("engines")) build["engines"] = b["engines"];
      machine["blenders"].push_back(build);
    }
  }
  return machine;
}

// What the manager knows of a node, for its owner (`inferix worker status`, the dashboard's "My nodes"): its
// machine, state and why it takes no work, the tasks it holds, its record and its latest outputs with their
// verdicts. A verdict of trusted (no check drawn) reads "accepted", and no check rate is given: a worker's
// owner must not learn which of its outputs went unchecked. A task or output names its job's id only.
Result<json> OwnersView(ApiServices& api, const domain::Node& node) {
  auto held = api.store.ListNodeTasks(node.id);
  if (!held) return held.error();
  json tasks = json::array();
  for (const auto& t : *held) {
    if (t.state != domain::TaskState::kActive) continue;
    tasks.push_back({{"task_id", t.id},
                     {"job_id", t.job_id},
                     {"kind", domain::ToString(t.kind)},
                     {"frames", t.frames},
                     {"slot", t.slot}});
  }
  auto outputs = api.store.ListNodeOutputs(node.id, 20);
  if (!outputs) return outputs.error();
  json recent = json::array();
  for (const auto& o : *outputs) {
    const domain::Verdict v = o.verdict == domain::Verdict::kTrusted ? domain::Verdict::kAccepted : o.verdict;
    recent.push_back({{"job_id", o.job_id},
                      {"frame", o.frame},
                      {"verdict", domain::ToString(v)},
                      {"render_seconds", o.render_seconds},
                      {"class", o.det_class},
                      {"created_ms", o.created_ms}});
  }
  const int64_t recent_ms = api.options.long_poll_ms + api.scheduler.options().lease_ms;
  return json{{"id", node.id},
              {"name", node.name},
              {"role", domain::ToString(node.role)},
              {"state", NodeState(node, !tasks.empty(), api.clock.NowMs(), recent_ms)},
              {"availability", node.availability},
              {"reason", node.availability_reason},
              {"banned", node.banned},
              {"ban_reason", node.ban_reason},
              {"accepted", node.accepted},
              {"rejected", node.rejected},
              {"last_seen_ms", node.last_seen_ms},
              {"machine", OwnersMachine(node)},
              {"slots", SlotsOf(node)},
              {"tasks", tasks},
              {"outputs", recent}};
}

// The node itself asks (`inferix worker status`).
HttpResponse Self(Call& c) {
  auto view = OwnersView(c.api, *c.node);  // the node as read at authentication
  if (!view) return Fail(view.error());
  return Json(200, *view);
}

// A user's own nodes (`inferix admin enroll create --owner NAME` made them theirs): the dashboard's "My
// nodes" page. Another user's nodes are never in it, whatever the role.
HttpResponse MyNodes(Call& c) {
  auto nodes = c.api.store.ListNodes();
  if (!nodes) return Fail(nodes.error());
  json out = json::array();
  for (const auto& n : *nodes) {
    if (n.owner_id == 0 || n.owner_id != c.user->id) continue;
    auto view = OwnersView(c.api, n);
    if (!view) return Fail(view.error());
    out.push_back(std::move(*view));
  }
  return Json(200, {{"nodes", out}});
}

// What a plain user sees of a node: its id, role and state, and the Blender builds it lends (what a scene
// is checked against before it is submitted). No host name, hardware, online times, ban reason, trust
// record or check rate: a node's owner with a user account must not learn when checks of it drop.
json PlainNodeJson(const domain::Node& n) {
  json caps = json::parse(n.capabilities_json, nullptr, false);
  json lent = json::object();
  if (caps.is_object()) {
    if (caps.contains("blender_version") && caps["blender_version"].is_string())
      lent["blender_version"] = caps["blender_version"];
    if (caps.contains("blenders") && caps["blenders"].is_array()) {
      json builds = json::array();
      for (const auto& b : caps["blenders"]) {
        if (!b.is_object() || !b.contains("version")) continue;
        json build = {{"version", b["version"]}, {"denoisers", b.value("denoisers", json::array())}};
        if (b.contains("engines")) build["engines"] = b["engines"];
        builds.push_back(build);
      }
      lent["blenders"] = builds;
    }
    // The render engines it renders (issue #17): what a scene's engine is checked against before upload.
    if (caps.contains("engines") && caps["engines"].is_array()) lent["engines"] = caps["engines"];
  }
  return {{"id", n.id},
          {"role", domain::ToString(n.role)},
          {"banned", n.banned},
          {"capabilities", lent},
          {"details", false}};
}

// Why a worker's slots get no render work whatever waits (issue #17): for each slot whose every class (a
// build on that slot) no verifier checks now, why, so that its renders are held back; "" when none is.
std::string HeldBack(const Scheduler& scheduler, const domain::Node& worker, const Census& census) {
  const auto builds = BuildsOf(worker);
  std::vector<std::string> slots = SlotsOf(worker);
  const bool named = !slots.empty();
  if (!named) slots.emplace_back();
  std::string text;
  for (const auto& slot : slots) {
    std::string why;
    for (const auto& det_class : ClassesOf(worker, builds, slot)) {
      const std::string one = scheduler.Unverifiable(worker, det_class, "", census);
      if (one.empty()) {
        why.clear();
        break;
      }
      if (why.find(one) == std::string::npos) why += (why.empty() ? "" : ", ") + one;
    }
    if (why.empty()) continue;
    if (!text.empty()) text += "; ";
    if (named) text += "slot " + slot + ": ";
    text += why;
  }
  return text.empty() ? text : text + ": its renders are held back until one joins (inferix admin checks)";
}

// Every node, with what it is doing: every detail to operators, PlainNodeJson to the others. A task is named
// with its job only to the job's owner.
HttpResponse ListNodes(Call& c) {
  const bool op = c.user->role == domain::UserRole::kOperator;
  auto nodes = c.api.store.ListNodes();
  if (!nodes) return Fail(nodes.error());
  auto active = c.api.store.ListActiveTasks();
  if (!active) return Fail(active.error());
  std::map<int64_t, std::vector<const domain::Task*>> held_by;  // each node's tasks (by id): one per slot
  std::vector<int64_t> job_ids;
  for (const auto& t : *active) {
    held_by[t.node_id].push_back(&t);
    job_ids.push_back(t.job_id);
  }
  auto jobs = c.api.store.GetJobs(job_ids);
  if (!jobs) return Fail(jobs.error());
  std::map<int64_t, const domain::Job*> job_of;
  for (const auto& j : *jobs) job_of[j.id] = &j;
  const int64_t now = c.api.clock.NowMs();
  const int64_t recent = c.api.options.long_poll_ms + c.api.scheduler.options().lease_ms;
  auto census = c.api.scheduler.FarmCensus();
  if (!census) return Fail(census.error());
  json out = json::array();
  for (const auto& n : *nodes) {
    json j = op ? NodeToJson(n) : PlainNodeJson(n);
    if (op) j["details"] = true;
    auto held = held_by.find(n.id);
    json tasks = json::array();
    for (const domain::Task* t : held == held_by.end() ? std::vector<const domain::Task*>{} : held->second) {
      auto job = job_of.find(t->job_id);
      const bool own = job != job_of.end() && job->second->user_id == c.user->id;
      json task = {{"kind", domain::ToString(t->kind)}, {"frames", t->frames}, {"slot", t->slot}};
      task["job_id"] = own ? json(t->job_id) : json(nullptr);
      task["job_name"] = own ? json(job->second->name) : json(nullptr);
      tasks.push_back(task);
    }
    j["current_task"] = tasks.empty() ? json(nullptr) : tasks.front();
    j["tasks"] = tasks;  // what each of its slots holds
    if (op) j["slots"] = SlotsOf(n);
    j["state"] = NodeState(n, held != held_by.end(), now, recent);
    if (op) j["why"] = n.availability_reason;  // why it takes no work, as it said
    // The chance that the worker's next output gets layer 2 (adaptive trust).
    if (op && n.role == domain::NodeRole::kWorker)
      j["check_rate"] = domain::CheckRate(c.api.scheduler.options().trust, n.streak);
    if (op && n.role == domain::NodeRole::kWorker && !n.banned)
      j["waiting_for"] = HeldBack(c.api.scheduler, n, **census);
    out.push_back(j);
  }
  return Json(200, {{"nodes", out}});
}

}  // namespace

std::vector<Route> NodeRoutes() {
  return {
      {"POST", "nodes/register", Auth::kNone, Register},
      {"POST", "nodes/capabilities", Auth::kNode, UpdateCapabilities},
      {"POST", "nodes/availability", Auth::kNode, SetAvailability},
      {"GET", "nodes/me", Auth::kNode, Self},
      {"GET", "nodes/mine", Auth::kUser, MyNodes},
      {"GET", "workers", Auth::kUser, ListNodes},
  };
}

}  // namespace inferix::manager
