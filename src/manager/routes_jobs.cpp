// Jobs: submitting one, the user's list, one job with its frames, its delivered outputs, and canceling it.
#include <spdlog/spdlog.h>

#include <map>

#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"
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
  if (auto read = ReadMainFileHeader(c.api.blobs, job); !read) return Fail(read.error());
  auto created = c.api.scheduler.CreateJob(c.user->id, job);
  if (!created) return Fail(created.error());
  spdlog::info("job {} created by {}: {} frames {}", created->id, c.user->name, created->name,
               created->frames_spec);
  return Json(201, JobToJson(*created));
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

HttpResponse JobDetail(Call& c) {
  auto job = OwnJob(c.api, *c.user, c.params.at(0));
  if (!job) return Fail(job.error());
  auto frames = c.api.store.ListFrames(job->id);
  if (!frames) return Fail(frames.error());
  auto outputs = c.api.store.ListOutputs(job->id);
  if (!outputs) return Fail(outputs.error());
  auto nodes = c.api.store.ListNodes();
  if (!nodes) return Fail(nodes.error());
  json item = JobToJson(*job);
  item["owner"] = c.user->name;
  item["progress"] = ProgressToJson(*job, domain::CountFrames(*frames), c.api.clock.NowMs());
  std::map<int64_t, const domain::Output*> by_id;
  for (const auto& o : *outputs) by_id[o.id] = &o;
  json fl = json::array();
  for (const auto& f : *frames) {
    json frame = FrameToJson(f, *outputs, *nodes);
    // A delivered frame's image and thumbnail, through signed URLs (what <img> and links can fetch).
    auto delivered = by_id.find(f.output_id);
    if (f.state == domain::FrameState::kDelivered && delivered != by_id.end()) {
      const domain::Output& o = *delivered->second;
      frame["output"]["url"] = c.api.Sign("GET", o.blob_key);
      frame["output"]["preview_url"] =
          o.preview_key.empty() ? json(nullptr) : json(c.api.Sign("GET", o.preview_key));
    }
    fl.push_back(frame);
  }
  item["frames"] = fl;
  item["video_url"] = job->video_state == "ready" ? json(c.api.Sign("GET", job->video_key)) : json(nullptr);
  auto blocked = c.api.store.ListBlocklist(job->id);
  if (!blocked) return Fail(blocked.error());
  item["blocklist"] = BlocklistToJson(*blocked, *nodes);
  return Json(200, item);
}

HttpResponse Outputs(Call& c) {
  auto job = OwnJob(c.api, *c.user, c.params.at(0));
  if (!job) return Fail(job.error());
  auto frames = c.api.store.ListFrames(job->id);
  if (!frames) return Fail(frames.error());
  auto outputs = c.api.store.ListOutputs(job->id);
  if (!outputs) return Fail(outputs.error());
  std::map<int64_t, const domain::Output*> by_id;
  for (const auto& o : *outputs) by_id[o.id] = &o;
  json out = json::array();
  for (const auto& f : *frames) {
    if (f.state != domain::FrameState::kDelivered) continue;
    auto found = by_id.find(f.output_id);
    if (found == by_id.end()) continue;
    const domain::Output& o = *found->second;
    json item = {{"frame", f.number},
                 {"sha256", o.sha256},
                 {"verdict", domain::ToString(o.verdict)},
                 {"url", c.api.Sign("GET", o.blob_key)}};
    item["preview_url"] = o.preview_key.empty() ? json(nullptr) : json(c.api.Sign("GET", o.preview_key));
    out.push_back(item);
  }
  json video = nullptr;
  if (job->video_state == "ready") video = c.api.Sign("GET", job->video_key);
  return Json(200, {{"job_id", job->id},
                    {"state", domain::ToString(job->state)},
                    {"outputs", out},
                    {"video", job->video_state.empty() ? "none" : job->video_state},
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
