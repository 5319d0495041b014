// GET /metrics (issue #16): the Prometheus text format, for operators. What happens (requests, store
// transactions, uploads) is counted as it happens, in the registry; the network's state (queues, leases,
// nodes, the verification backlog, events) is read from the store when scraped, one query each, and so is
// the process's (/proc). docs/operations.md, "Metrics and alerts", says what each figure means.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"
#include "manager/identity.hpp"

namespace inferix::manager {
namespace {

using domain::NodeRole;
using domain::TaskKind;
using metrics::Sample;
using metrics::ScrapedFamily;
using metrics::Type;
using net::HttpResponse;

Sample Of(std::vector<std::pair<std::string, std::string>> labels, int64_t value) {
  return Sample{std::move(labels), static_cast<double>(value)};
}

// Queued tasks by kind and class; both kinds are always there (0 when none queue), so that an alert on a
// queue that stops draining has a series to read.
Result<ScrapedFamily> QueuedTasks(domain::Store& store) {
  auto counts = store.CountQueuedTasks();
  if (!counts) return counts.error();
  std::map<std::pair<TaskKind, std::string>, int64_t> all{{{TaskKind::kRender, ""}, 0},
                                                          {{TaskKind::kVerify, ""}, 0}};
  for (const auto& [key, n] : *counts) all[key] = n;
  ScrapedFamily f{"inferix_tasks_queued",
                  "Tasks waiting that a node could claim, by kind (render, verify) and, for checks, the "
                  "determinism class of the output under check (\"\" for render tasks).",
                  Type::kGauge,
                  {}};
  for (const auto& [key, n] : all) {
    f.samples.push_back(Of({{"kind", std::string(domain::ToString(key.first))}, {"class", key.second}}, n));
  }
  return f;
}

// Leases held (active tasks) by kind, and nodes by role and state as the workers page shows them.
std::vector<ScrapedFamily> Leases(ApiServices& api, const std::vector<domain::Node>& nodes,
                                  const std::vector<domain::Task>& active) {
  std::map<TaskKind, int64_t> held{{TaskKind::kRender, 0}, {TaskKind::kVerify, 0}};
  std::set<int64_t> busy;
  for (const auto& t : active) {
    ++held[t.kind];
    busy.insert(t.node_id);
  }
  ScrapedFamily leases{"inferix_tasks_active", "Tasks a node holds a lease on, by kind.", Type::kGauge, {}};
  for (const auto& [kind, n] : held)
    leases.samples.push_back(Of({{"kind", std::string(domain::ToString(kind))}}, n));

  const int64_t now = api.clock.NowMs();
  const int64_t recent = api.options.long_poll_ms + api.scheduler.options().lease_ms;
  std::map<std::pair<std::string, std::string>, int64_t> by_state;
  for (NodeRole role : {NodeRole::kWorker, NodeRole::kVerifier}) {
    for (const char* state : {"idle", "busy", "offline", "banned"}) {
      by_state[{std::string(domain::ToString(role)), state}] = 0;
    }
  }
  for (const auto& n : nodes) {
    ++by_state[{std::string(domain::ToString(n.role)), NodeState(n, busy.count(n.id) > 0, now, recent)}];
  }
  ScrapedFamily states{"inferix_nodes",
                       "Workers and verifiers by state: busy (holds a task), idle (heard from within a lease "
                       "and a long poll), offline (not heard from since), banned (or revoked).",
                       Type::kGauge,
                       {}};
  for (const auto& [key, n] : by_state)
    states.samples.push_back(Of({{"role", key.first}, {"state", key.second}}, n));
  return {std::move(leases), std::move(states)};
}

// The checks only a verifier of their output's class may take, by class, and whether a verifier (not banned)
// lends that class: every class with such checks, and every class a node lends.
Result<std::vector<ScrapedFamily>> Backlog(domain::Store& store, const std::vector<domain::Node>& nodes) {
  auto waiting = store.CountClassBoundChecks();
  if (!waiting) return waiting.error();
  std::set<std::string> classes;
  std::set<std::string> verified;
  for (const auto& n : nodes) {
    if (n.banned) continue;
    for (auto& c : AllClassesOf(n)) {
      if (c.empty()) continue;
      if (n.role == NodeRole::kVerifier) verified.insert(c);
      classes.insert(std::move(c));
    }
  }
  for (const auto& [c, n] : *waiting) classes.insert(c);
  ScrapedFamily backlog{"inferix_verification_backlog",
                        "Checks waiting that only a verifier of the output's determinism class may take, by "
                        "class.",
                        Type::kGauge,
                        {}};
  ScrapedFamily has{"inferix_class_has_verifier",
                    "1 when a verifier that is not banned lends the determinism class, else 0.",
                    Type::kGauge,
                    {}};
  for (const auto& c : classes) {
    auto it = waiting->find(c);
    backlog.samples.push_back(Of({{"class", c}}, it == waiting->end() ? 0 : it->second));
    has.samples.push_back(Of({{"class", c}}, verified.count(c) > 0 ? 1 : 0));
  }
  return std::vector<ScrapedFamily>{std::move(backlog), std::move(has)};
}

// The server's refusals, as GET /health counts them under "limits".
ScrapedFamily Refusals(const net::LimitCounters& c) {
  ScrapedFamily f{"inferix_http_refused_total",
                  "Requests and connections the server refused before a handler ran, by reason.",
                  Type::kCounter,
                  {}};
  for (const auto& [reason, n] : std::vector<std::pair<const char*, uint64_t>>{
           {"connections", c.connections_total.load()},
           {"connections_per_address", c.connections_per_address.load()},
           {"accept_failure", c.accept_failures.load()},
           {"header_timeout", c.header_timeouts.load()},
           {"body_timeout", c.body_timeouts.load()},
           {"too_large", c.too_large.load()},
           {"unauthenticated", c.unauthenticated.load()},
           {"rate_limited", c.rate_limited.load()}}) {
    f.samples.push_back(Sample{{{"reason", reason}}, static_cast<double>(n)});
  }
  return f;
}

// The state read when scraped.
Result<std::vector<ScrapedFamily>> State(ApiServices& api) {
  std::vector<ScrapedFamily> out;
  auto queued = QueuedTasks(api.store);
  if (!queued) return queued.error();
  out.push_back(std::move(*queued));
  auto nodes = api.store.ListNodes();
  if (!nodes) return nodes.error();
  auto active = api.store.ListActiveTasks();
  if (!active) return active.error();
  for (auto& f : Leases(api, *nodes, *active)) out.push_back(std::move(f));
  auto backlog = Backlog(api.store, *nodes);
  if (!backlog) return backlog.error();
  for (auto& f : *backlog) out.push_back(std::move(f));
  auto events = api.store.MaxEventId();
  if (!events) return events.error();
  out.push_back(ScrapedFamily{"inferix_events_total",
                              "Events appended (job and frame changes, verdicts): the highest event id, of "
                              "every manager sharing the database.",
                              Type::kCounter,
                              {Of({}, *events)}});
  if (api.limits != nullptr) out.push_back(Refusals(*api.limits));
  return out;
}

HttpResponse Scrape(Call& c) {
  auto state = State(c.api);
  if (!state) return Fail(state.error());
  std::string body =
      c.api.registry != nullptr ? c.api.registry->Render() : metrics::DefaultRegistry().Render();
  for (const auto& f : *state) metrics::RenderScraped(f, body);
  for (const auto& f : metrics::ProcessFamilies()) metrics::RenderScraped(f, body);
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

std::vector<Route> MetricRoutes() { return {{"GET", "metrics", Auth::kOperator, Scrape}}; }

}  // namespace inferix::manager
