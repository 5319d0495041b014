// GET /events: server-sent events, stored with increasing ids. Each answer carries what is there after the
// client's Last-Event-ID, waiting (without a thread) until there is something or the long-poll ends, then
// closes; EventSource and the CLI reconnect with the last id they saw, so nothing is missed, across restarts
// too. A client resuming before what retention kept gets a "resync" event first: re-read the state.
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"

namespace inferix::manager {
namespace {

using net::HttpResponse;

// The query's value of `name`, or "" when absent.
std::string Query(const net::HttpRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

HttpResponse Events(Call& c) {
  const net::HttpRequest& req = c.req;
  int64_t job_id = 0;
  if (req.query.contains("job")) {
    const std::string text = Query(req, "job");
    auto id = ParseId(text);
    if (!id) return Fail(Errc::kInvalidArgument, "job must be a job id");
    auto job = OwnJob(c.api, *c.user, text);
    if (!job) return Fail(job.error());
    job_id = *id;
  }
  std::string last = req.Header("last-event-id");
  if (last.empty()) last = Query(req, "last_event_id");
  int64_t after = 0;
  if (!last.empty()) {
    auto id = ParseId(last);
    if (!id) return Fail(Errc::kInvalidArgument, "Last-Event-ID must be an event id");
    after = *id;
  }
  // The network's events (workers changing) too, for the dashboard's workers page.
  bool network = false;
  if (req.query.contains("workers")) {
    const std::string workers = Query(req, "workers");
    if (workers != "0" && workers != "1") return Fail(Errc::kInvalidArgument, "workers must be 0 or 1");
    if (job_id != 0 && workers == "1") {
      return Fail(Errc::kInvalidArgument,
                  "workers=1 follows the whole network; it cannot be combined with job");
    }
    network = workers == "1";
  }
  // A waiting stream reads the table again only when an event was appended since its last look, or every few
  // seconds whatever the wake-ups say (PostgreSQL; on SQLite it reads every time).
  if (c.api.NothingNew(req, std::nullopt) &&
      c.api.clock.NowMs() - req.received_ms < c.api.options.long_poll_ms) {
    HttpResponse wait;
    wait.retry_after_ms = 200;
    return wait;
  }
  // Retention removed events up to `removed`: a client resuming before that may have missed some, and is told
  // to read the state again rather than left with a silent gap. The hint carries the id it resumes after.
  auto removed = c.api.store.EventsRemovedThrough();
  if (!removed) return Fail(removed.error());
  const bool resync = after > 0 && after < *removed;
  if (resync) after = *removed;
  auto events = c.api.store.ListEvents(c.user->id, job_id, after, 500, network);
  if (!events) return Fail(events.error());
  if (!resync && events->empty() && c.api.clock.NowMs() - req.received_ms < c.api.options.long_poll_ms) {
    HttpResponse wait;
    wait.retry_after_ms = 200;
    return wait;
  }
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.headers["Cache-Control"] = "no-cache";
  r.body = "retry: 500\n\n";
  if (resync) {
    const nlohmann::json hint = {
        {"removed_through", *removed},
        {"message", "events up to id " + std::to_string(*removed) +
                        " were removed by the manager's retention; some you did not see may be among them: "
                        "read the job (or your jobs) again, then go on from this event"}};
    r.body += "id: " + std::to_string(*removed) + "\nevent: resync\ndata: " + hint.dump() + "\n\n";
  }
  for (const auto& e : *events) {
    r.body += "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
  }
  return r;
}

}  // namespace

std::vector<Route> EventRoutes() { return {{"GET", "events", Auth::kUser, Events}}; }

}  // namespace inferix::manager
