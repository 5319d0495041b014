// Jobs: submitting one, the user's list, one job with its frames, its delivered outputs, and canceling it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <vector>

#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"
#include "manager/quotas.hpp"
#include "manager/requests.hpp"
#include "manager/scene_intake.hpp"

namespace inferix::manager {
namespace {

using json = nlohmann::json;
using net::HttpResponse;

HttpResponse CreateJob(Call& c) {
  auto request = DecodeCreateJob(c.req);
  if (!request) return Fail(request.error());
  domain::Job& job = request->job;
  // Before any work on the scene: a priority the user may not give, or a job past their limits, is refused.
  if (auto allowed = AllowNewJob(c.api.store, *c.user, c.api.options.quotas, job); !allowed)
    return Fail(allowed.error());
  if (auto read = ReadMainFileHeader(c.api.blobs, job); !read) return Fail(read.error());
  if (auto sizes = TakeStoredSizes(c.api.blobs, job); !sizes) return Fail(sizes.error());
  auto created = c.api.scheduler.CreateJob(c.user->id, job);
  if (!created) return Fail(created.error());
  spdlog::info("job {} created by {}: {} frames {}", created->id, SafeText(c.user->name),
               SafeText(created->name), SafeText(created->frames_spec));
  json answer = JobToJson(*created);
  auto waiting = c.api.scheduler.NoWorkerFor(*created);
  if (!waiting) return Fail(waiting.error());
  answer["waiting_for"] = *waiting;  // said at once: the job is kept, and starts when such a worker joins
  return Json(201, answer);
}

HttpResponse ListJobs(Call& c) {
  auto jobs = c.api.store.ListJobs(c.user->id);
  if (!jobs) return Fail(jobs.error());
  auto counts = c.api.store.CountFramesByJob(c.user->id);
  if (!counts) return Fail(counts.error());
  json out = json::array();
  for (const auto& j : *jobs) {
    json item = JobToJson(j);
    item["owner"] = c.user->name;
    item["progress"] = ProgressToJson(j, (*counts)[j.id], c.api.clock.NowMs());
    out.push_back(item);
  }
  return Json(200, {{"jobs", out}});
}

// One of the user's jobs with its frames and outputs, read for a view.
struct JobView {
  domain::Job job;
  std::vector<domain::Frame> frames;
  std::vector<domain::Output> outputs;
  std::map<int64_t, size_t> by_id;  // output id -> index in outputs (indices survive the view being moved)

  // The output a frame delivered, or null while it has none.
  const domain::Output* DeliveredOf(const domain::Frame& f) const {
    if (f.state != domain::FrameState::kDelivered) return nullptr;
    auto found = by_id.find(f.output_id);
    return found == by_id.end() ? nullptr : &outputs[found->second];
  }
};

Result<JobView> LoadJobView(Call& c) {
  JobView v;
  auto job = OwnJob(c.api, *c.user, c.params.at(0));
  if (!job) return job.error();
  v.job = std::move(*job);
  auto frames = c.api.store.ListFrames(v.job.id);
  if (!frames) return frames.error();
  v.frames = std::move(*frames);
  auto outputs = c.api.store.ListOutputs(v.job.id);
  if (!outputs) return outputs.error();
  v.outputs = std::move(*outputs);
  for (size_t i = 0; i < v.outputs.size(); ++i) v.by_id[v.outputs[i].id] = i;
  return v;
}

// A signed URL of a delivered output's bytes: it carries the output's reported digest, and the manager serves
// only bytes that still have it.
json OutputUrl(const ApiServices& api, const domain::Output& o) {
  auto url =
      api.blobs.PresignGet(o.blob_key, std::chrono::seconds(api.options.url_ttl_s), std::nullopt, o.sha256);
  return url ? json(*url) : json(nullptr);
}

// A signed URL of a delivered output's thumbnail, null until it is made.
json PreviewUrl(const ApiServices& api, const domain::Output& o) {
  return o.preview_key.empty() ? json(nullptr) : json(api.Sign("GET", o.preview_key));
}

HttpResponse JobDetail(Call& c) {
  auto view = LoadJobView(c);
  if (!view) return Fail(view.error());
  const domain::Job& job = view->job;
  auto blocked = c.api.store.ListBlocklist(job.id);
  if (!blocked) return Fail(blocked.error());
  // The names of the nodes this job names (its workers, verifiers and blocklist), not of the whole farm, and
  // each frame's outputs grouped once: the view costs the job's size, whatever the farm's.
  std::vector<int64_t> ids;
  std::map<int, std::vector<const domain::Output*>> by_frame;
  for (const auto& o : view->outputs) {
    ids.push_back(o.node_id);
    if (o.verifier_node_id != 0) ids.push_back(o.verifier_node_id);
    by_frame[o.frame].push_back(&o);
  }
  for (const auto& b : *blocked) ids.push_back(b.node_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto nodes = c.api.store.GetNodes(ids);
  if (!nodes) return Fail(nodes.error());
  NodeNames names;
  for (const auto& n : *nodes) names[n.id] = n.name;
  json item = JobToJson(job);
  item["owner"] = c.user->name;
  auto waiting =
      domain::IsFinal(job.state) ? Result<std::string>(std::string()) : c.api.scheduler.NoWorkerFor(job);
  if (!waiting) return Fail(waiting.error());
  item["waiting_for"] = *waiting;
  item["progress"] = ProgressToJson(job, domain::CountFrames(view->frames), c.api.clock.NowMs());
  json fl = json::array();
  const std::vector<const domain::Output*> none;
  for (const auto& f : view->frames) {
    auto attempts = by_frame.find(f.number);
    json frame = FrameToJson(f, attempts == by_frame.end() ? none : attempts->second, names);
    // A delivered frame's image and thumbnail, through signed URLs (what <img> and links can fetch).
    if (const domain::Output* o = view->DeliveredOf(f)) {
      frame["output"]["url"] = OutputUrl(c.api, *o);
      frame["output"]["preview_url"] = PreviewUrl(c.api, *o);
    }
    fl.push_back(frame);
  }
  item["frames"] = fl;
  item["video_url"] = job.video_state == "ready" ? json(c.api.Sign("GET", job.video_key)) : json(nullptr);
  item["blocklist"] = BlocklistToJson(*blocked, names);
  return Json(200, item);
}

HttpResponse Outputs(Call& c) {
  auto view = LoadJobView(c);
  if (!view) return Fail(view.error());
  const domain::Job& job = view->job;
  json out = json::array();
  for (const auto& f : view->frames) {
    const domain::Output* o = view->DeliveredOf(f);
    if (o == nullptr) continue;
    json item = {{"frame", f.number},
                 {"sha256", o->sha256},
                 {"verdict", domain::ToString(o->verdict)},
                 {"url", OutputUrl(c.api, *o)}};
    item["preview_url"] = PreviewUrl(c.api, *o);
    out.push_back(item);
  }
  json video = nullptr;
  if (job.video_state == "ready") video = c.api.Sign("GET", job.video_key);
  return Json(200, {{"job_id", job.id},
                    {"state", domain::ToString(job.state)},
                    {"outputs", out},
                    {"video", job.video_state.empty() ? "none" : job.video_state},
                    {"video_url", video}});
}

HttpResponse Cancel(Call& c) {
  auto job = OwnJob(c.api, *c.user, c.params.at(0));
  if (!job) return Fail(job.error());
  auto r = c.api.scheduler.CancelJob(*job, "canceled by " + c.user->name);
  if (!r) return Fail(r.error());
  return Json(200, JobToJson(*r));
}

}  // namespace

std::vector<Route> JobRoutes() {
  return {
      {"POST", "jobs", Auth::kUser, CreateJob},          {"GET", "jobs", Auth::kUser, ListJobs},
      {"GET", "jobs/:id", Auth::kUser, JobDetail},       {"POST", "jobs/:id/cancel", Auth::kUser, Cancel},
      {"GET", "jobs/:id/outputs", Auth::kUser, Outputs},
  };
}

}  // namespace inferix::manager
