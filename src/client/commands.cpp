#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/client.hpp"
#include "client/internal.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "domain/job_compiler.hpp"
#include "domain/model.hpp"
#include "net/node_client.hpp"
#include "render/blender_process.hpp"

namespace inferix::client {

using json = nlohmann::json;

std::string Shown(std::string_view text) { return SafeText(text, kShownTextBytes); }

int PrintError(const Error& e, bool as_json) {
  if (as_json) {
    std::cout << json{{"error", {{"code", ErrcName(e.code)}, {"message", e.message}}}}.dump() << "\n";
  } else {
    // Messages quote what users and nodes sent (names, paths): shown escaped, never as terminal commands.
    std::cerr << "error: " << SafeLines(e.message, kShownMessageBytes) << "\n";
  }
  return e.code == Errc::kInvalidArgument || e.code == Errc::kNotFound ? 2 : 1;
}

Result<int64_t> UploadAndCreate(net::ApiClient& api, const ScenePlan& plan, const SubmitOptions& o,
                                std::string* waiting_for) {
  json hashes = json::array();
  for (const auto& f : plan.files) hashes.push_back(f.sha256);
  auto check = api.Call("POST", "/api/v1/files/check", {{"sha256", hashes}});
  if (!check) return check.error();
  for (const auto& sha : check->value("missing", std::vector<std::string>{})) {
    auto it = plan.local_paths.find(sha);
    if (it == plan.local_paths.end()) continue;
    INFERIX_TRY(UploadSceneFile(api, sha, it->second));
  }
  json files = json::array();
  for (const auto& f : plan.files)
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}});
  std::string format = o.format;
  if (format.empty()) {
    format = domain::ParseOutputFormat(plan.info.file_format) ? plan.info.file_format : "PNG";
  }
  json requirements = json::object();
  if (!o.require_device.empty()) requirements["device"] = o.require_device;
  if (o.min_gpu_memory_gib > 0)
    requirements["min_gpu_memory_bytes"] = static_cast<int64_t>(o.min_gpu_memory_gib * 1024 * 1024 * 1024);
  if (!o.blender_min.empty()) requirements["blender_min"] = o.blender_min;
  if (!o.blender_max.empty()) requirements["blender_max"] = o.blender_max;
  json body = {{"name", o.name.empty() ? o.scene.filename().string() : o.name},
               {"requirements", requirements},
               {"main", plan.files.front().path},
               {"files", files},
               {"frames", o.frames},
               {"format", format},
               {"chunk_size", o.chunk_size},
               {"priority", o.priority},
               {"fps", plan.info.fps > 0 ? plan.info.fps : 24.0},
               {"root", plan.root},
               {"denoisers", plan.info.denoisers},
               {"without_denoiser", o.without_denoiser},
               {"resolution_percentage", o.resolution_percentage}};
  // The scene's render engine, as Blender read it here: the manager gives its frames only to workers that
  // render it (issue #17).
  if (plan.opened && !plan.info.engine.empty()) body["engine"] = plan.info.engine;
  auto job = api.Call("POST", "/api/v1/jobs", body);
  if (!job) return job.error();
  if (waiting_for != nullptr) *waiting_for = job->value("waiting_for", "");
  return job->value("id", int64_t{0});
}

std::vector<StreamEvent> ParseEventStream(const std::string& body) {
  std::vector<StreamEvent> events;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    StreamEvent ev;
    std::string data;
    bool has_id = false;
    size_t line_start = pos;
    while (line_start < end) {
      size_t nl = body.find('\n', line_start);
      if (nl == std::string::npos || nl > end) nl = end;
      std::string line = body.substr(line_start, nl - line_start);
      if (line.starts_with("id: ")) {
        ev.id = std::stoll(line.substr(4));
        has_id = true;
      } else if (line.starts_with("event: ")) {
        ev.type = line.substr(7);
      } else if (line.starts_with("data: ")) {
        data += line.substr(6);
      }
      line_start = nl + 1;
    }
    if (has_id) {
      ev.data = json::parse(data, nullptr, false);
      events.push_back(std::move(ev));
    }
    pos = end + 2;
  }
  return events;
}

// The job's events after event `after` (0: from its first), as soon as there are any (the stream's long
// poll).
Result<std::vector<StreamEvent>> JobEvents(net::ApiClient& api, int64_t job_id, int64_t after) {
  std::map<std::string, std::string> headers{{"Accept", "text/event-stream"}};
  if (after > 0) headers["Last-Event-ID"] = std::to_string(after);
  auto body = api.CallText("GET", "/api/v1/events?job=" + std::to_string(job_id), headers, 120);
  if (!body) return body.error();
  return ParseEventStream(*body);
}

Result<json> FollowJob(net::ApiClient& api, int64_t job_id, ProgressDisplay& display,
                       const std::function<void(const StreamEvent&)>& on_event) {
  // Whatever is printed after this (a result, an error) starts on a line of its own.
  struct Finish {
    ProgressDisplay& display;
    ~Finish() { display.Finish(); }
  } finish{display};
  int64_t last_id = 0;
  int64_t backoff_ms = 500;
  while (true) {
    auto events = JobEvents(api, job_id, last_id);
    if (!events) {
      if (events.error().code != Errc::kUnavailable) return events.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));  // manager restarting: resume after
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000);
      continue;
    }
    backoff_ms = 500;
    for (const auto& e : *events) {
      last_id = std::max(last_id, e.id);
      if (on_event) on_event(e);
      if (auto message = EventMessage(e.type, e.data)) display.Message(*message);
    }
    if (events->empty()) continue;
    // The stream says something changed: show where the job stands now.
    auto job = api.Call("GET", "/api/v1/jobs/" + std::to_string(job_id));
    if (!job) {
      if (job.error().code != Errc::kUnavailable) return job.error();
      continue;
    }
    display.Update(ViewOfJob(job_id, *job));
    const std::string state = job->value("state", "");
    if (state == "completed" || state == "failed" || state == "canceled") return *job;
  }
}

Result<Downloaded> DownloadOutputs(net::ApiClient& api, const json& job, const std::filesystem::path& dir) {
  const int64_t job_id = job.value("id", int64_t{0});
  auto outputs = api.Call("GET", "/api/v1/jobs/" + std::to_string(job_id) + "/outputs");
  if (!outputs) return outputs.error();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot create " + dir.string() + ": " + ec.message());
  std::string stem = std::filesystem::path(job.value("main", "scene.blend")).stem().string();
  auto format = domain::ParseOutputFormat(job.value("format", "PNG")).value_or(domain::OutputFormat::kPng);
  Downloaded written;
  for (const auto& o : (*outputs)["outputs"]) {
    auto dest = dir / domain::FrameFileName(stem, o.value("frame", 0), format);
    INFERIX_TRY(api.Download(o.value("url", ""), dest));
    auto sha = Sha256File(dest);
    if (!sha || *sha != o.value("sha256", "")) {
      std::filesystem::remove(dest, ec);
      return MakeError(Errc::kInternal, dest.string() + " arrived damaged (hash mismatch); download again");
    }
    written.frames.push_back(dest);
  }
  // The video is assembled after the last frame is delivered; wait for it (bounded) when it is on its way: on
  // the job's event stream, which answers as soon as the manager records the video (or anything else).
  std::string video = outputs->value("video", "none");
  int64_t seen = 0;  // the last event of the job read so far
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
       video == "pending" && std::chrono::steady_clock::now() < deadline;) {
    auto events = JobEvents(api, job_id, seen);
    if (!events) {
      if (events.error().code != Errc::kUnavailable) return events.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // manager restarting
    } else {
      for (const auto& e : *events) seen = std::max(seen, e.id);
    }
    outputs = api.Call("GET", "/api/v1/jobs/" + std::to_string(job_id) + "/outputs");
    if (!outputs) return outputs.error();
    video = outputs->value("video", "none");
  }
  if (video == "ready") {
    auto dest = dir / (stem + ".mp4");
    INFERIX_TRY(api.Download(outputs->value("video_url", ""), dest));
    written.video = dest;
  } else if (video == "failed" || video == "pending") {
    std::cerr << "warning: no video for job " << job_id << " (" << video << ")\n";
  }
  return written;
}

int Submit(const Connection& c, const SubmitOptions& o) {
  auto plan = PlanScene(o.scene, {o.blender});
  if (!plan) return PrintError(plan.error(), o.json);
  net::ApiClient api(c.manager_url, c.token, net::ClientOptions{c.ca_file, 3600, 10});
  auto workers = api.Call("GET", "/api/v1/workers");
  if (!workers) return PrintError(workers.error(), o.json);
  CheckNetwork(*plan, NetworkBuilds(*workers), o.without_denoiser);
  auto checked = ReportProblems(*plan, o.json);
  if (!checked) return PrintError(checked.error(), o.json);
  std::string waiting_for;
  auto id = UploadAndCreate(api, *plan, o, &waiting_for);
  if (!id) return PrintError(id.error(), o.json);
  if (!waiting_for.empty() && !o.json)
    std::cerr << "warning: job " << *id << ": " << Shown(waiting_for) << "\n";
  if (!o.wait) {
    if (o.json) {
      json warnings = json::array();
      for (const auto& p : plan->problems) warnings.push_back({{"code", p.code}, {"message", p.message}});
      if (!waiting_for.empty()) warnings.push_back({{"code", "no_worker"}, {"message", waiting_for}});
      std::cout << json{{"job_id", *id}, {"warnings", warnings}}.dump() << "\n";
    } else {
      std::cout << *id << "\n";
    }
    return 0;
  }
  if (!o.json) std::cout << *id << std::endl;
  auto display = ProgressDisplay::ForStderr(o.json);
  auto job = FollowJob(api, *id, display);
  if (!job) return PrintError(job.error(), o.json);
  std::vector<std::filesystem::path> files;
  if (!o.download_dir.empty()) {
    auto got = DownloadOutputs(api, *job, o.download_dir);
    if (!got) return PrintError(got.error(), o.json);
    files = got->frames;
    if (!got->video.empty()) files.push_back(got->video);
  }
  const bool ok = job->value("state", "") == "completed";
  if (o.json) {
    json out = {{"job_id", *id}, {"state", job->value("state", "")}, {"message", job->value("message", "")}};
    json names = json::array();
    for (const auto& f : files) names.push_back(f.string());
    out["files"] = names;
    json warnings = json::array();
    for (const auto& p : plan->problems) warnings.push_back({{"code", p.code}, {"message", p.message}});
    out["warnings"] = warnings;
    out["progress"] = job->value("progress", json::object());
    std::cout << out.dump() << "\n";
  } else if (!ok) {
    std::cerr << "job " << *id << " " << Shown(job->value("state", "")) << ": "
              << Shown(job->value("message", "")) << "\n";
  }
  return ok ? 0 : 1;
}

int Status(const Connection& c, int64_t job_id, bool as_json, bool follow) {
  net::ApiClient api(c.manager_url, c.token, net::ClientOptions{c.ca_file, 180, 10});
  if (follow && job_id != 0) {
    // Follows the job's event stream to its end: one line (or JSON object) per event.
    auto display = ProgressDisplay::ForStderr(as_json);
    auto job = FollowJob(api, job_id, display, [&](const StreamEvent& e) {
      if (as_json) std::cout << json{{"id", e.id}, {"type", e.type}, {"data", e.data}}.dump() << std::endl;
    });
    if (!job) return PrintError(job.error(), as_json);
    return job->value("state", "") == "completed" ? 0 : 1;
  }
  auto r =
      api.Call("GET", job_id == 0 ? std::string("/api/v1/jobs") : "/api/v1/jobs/" + std::to_string(job_id));
  if (!r) return PrintError(r.error(), as_json);
  if (as_json) {
    std::cout << r->dump(2) << "\n";
    return 0;
  }
  auto line = [](const json& j) {
    const json& p = j["progress"];
    return fmt::format("{:>6}  {:<10} {:>5}/{:<5} {}", j.value("id", 0), Shown(j.value("state", "")),
                       p.value("delivered", 0), p.value("total", 0), Shown(j.value("name", "")));
  };
  if (job_id == 0) {
    std::cout << fmt::format("{:>6}  {:<10} {:>11} {}\n", "JOB", "STATE", "FRAMES", "NAME");
    for (const auto& j : (*r)["jobs"]) std::cout << line(j) << "\n";
    return 0;
  }
  std::cout << line(*r) << "\n";
  if (!r->value("message", "").empty()) std::cout << "  " << Shown(r->value("message", "")) << "\n";
  if (!r->value("waiting_for", "").empty()) std::cout << "  " << Shown(r->value("waiting_for", "")) << "\n";
  for (const auto& f : (*r)["frames"]) {
    std::string worker;
    std::string how;
    if (f["output"].is_object()) {
      worker = Shown(f["output"].value("worker", ""));
      const json method = f["output"].value("method", json::object());
      const int level = method.value("level", 0);
      if (f.value("verdict", "") == "trusted") {
        how = "layer 1 only (trusted worker)";
      } else if (method.value("layers", 0) == 2) {
        const size_t regions = method.value("regions", json::array()).size();
        how = level == 3 ? "whole frame re-rendered"
                         : fmt::format("layer 2, {} region{}", regions, regions == 1 ? "" : "s");
        if (method.contains("settled_by_output")) how += ", settled by a second render";
      }
    }
    int rejected = 0;
    for (const auto& a : f.value("attempts", json::array()))
      rejected += a.value("verdict", "") == "rejected" ? 1 : 0;
    if (rejected > 0) how += fmt::format("{}{} rejected before", how.empty() ? "" : "; ", rejected);
    std::cout << fmt::format("  frame {:>6}  {:<10} {:<9} {:<16} {}\n", f.value("frame", 0),
                             Shown(f.value("state", "")), Shown(f.value("verdict", "")), worker, how);
  }
  return 0;
}

int Download(const Connection& c, int64_t job_id, const std::filesystem::path& dir, bool wait, bool as_json) {
  net::ApiClient api(c.manager_url, c.token, net::ClientOptions{c.ca_file, 3600, 10});
  auto display = ProgressDisplay::ForStderr(as_json);
  Result<json> job =
      wait ? FollowJob(api, job_id, display) : api.Call("GET", "/api/v1/jobs/" + std::to_string(job_id));
  if (!job) return PrintError(job.error(), as_json);
  auto got = DownloadOutputs(api, *job, dir);
  if (!got) return PrintError(got.error(), as_json);
  auto files = got->frames;
  if (!got->video.empty()) files.push_back(got->video);
  if (as_json) {
    json names = json::array();
    for (const auto& f : files) names.push_back(f.string());
    std::cout << json{{"job_id", job_id}, {"files", names}}.dump() << "\n";
  } else {
    for (const auto& f : files) std::cout << f.string() << "\n";
  }
  return 0;
}

int Cancel(const Connection& c, int64_t job_id, bool as_json) {
  net::ApiClient api(c.manager_url, c.token, net::ClientOptions{c.ca_file, 60, 10});
  auto r = api.Call("POST", "/api/v1/jobs/" + std::to_string(job_id) + "/cancel", json::object());
  if (!r) return PrintError(r.error(), as_json);
  if (as_json) {
    std::cout << r->dump() << "\n";
  } else {
    std::cout << "job " << job_id << " " << Shown(r->value("state", "")) << "\n";
  }
  return 0;
}

}  // namespace inferix::client
