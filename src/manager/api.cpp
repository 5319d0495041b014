#include "manager/api.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "blend/blend_file.hpp"
#include "core/crypto.hpp"
#include "domain/frame_spec.hpp"
#include "domain/job_compiler.hpp"
#include "domain/object_keys.hpp"
#include "domain/state_machine.hpp"
#include "domain/tokens.hpp"
#include "manager/api_util.hpp"
#include "manager/codec.hpp"
#include "manager/dashboard.hpp"
#include "manager/sessions.hpp"

namespace inferix::manager {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;

struct Api::Impl {
  Api& api;
  const HttpRequest& req;
  std::vector<std::string> parts;  // path segments after /api/v1

  // A presigned URL of the object store ("" for a key it refuses, which the store never holds).
  std::string Sign(const std::string& method, const std::string& key) const {
    const std::chrono::seconds ttl(api.options_.url_ttl_s);
    auto url =
        method == "PUT" ? api.blobs_.PresignPut(key, ttl) : api.blobs_.PresignGet(key, ttl, std::nullopt);
    return url ? *url : std::string();
  }

  Sessions BrowserSessions() const { return Sessions(api.store_, api.clock_, api.options_.secure_cookies); }

  // The user, by the API token (Authorization: Bearer) or by the dashboard's session cookie.
  Result<domain::User> User() {
    const std::string header = req.Header("authorization");
    if (header.empty()) {
      auto by_cookie = BrowserSessions().UserOf(req);
      if (!by_cookie) return by_cookie.error();
      if (by_cookie->has_value()) return **by_cookie;
    }
    auto token = domain::BearerToken(header);
    if (domain::TokenKindOf(token) != domain::TokenKind::kUser) {
      return MakeError(Errc::kUnauthenticated,
                       "a user API token is required: send Authorization: Bearer <token>, or sign in to the "
                       "dashboard");
    }
    auto user = api.store_.FindUserByTokenHash(domain::TokenHash(token));
    if (!user) return user.error();
    if (!user->has_value()) return MakeError(Errc::kUnauthenticated, "unknown API token");
    return **user;
  }

  Result<domain::Node> Node() {
    const std::string header = req.Header("authorization");
    auto token = domain::BearerToken(header);
    if (domain::TokenKindOf(token) != domain::TokenKind::kNode) {
      return MakeError(Errc::kUnauthenticated,
                       "node credentials are required: send Authorization: Bearer <token>");
    }
    auto node = api.store_.FindNodeByTokenHash(domain::TokenHash(token));
    if (!node) return node.error();
    if (!node->has_value()) return MakeError(Errc::kUnauthenticated, "unknown node token");
    if ((*node)->banned) {
      return MakeError(Errc::kPermissionDenied,
                       "this node is banned: " + (*node)->ban_reason + "; ask the operator if this is wrong");
    }
    // Heard from: what tells a live node (idle, or a candidate for a retry) from one that went away. Claims
    // long-poll, so once a second is plenty.
    const int64_t now = api.clock_.NowMs();
    if (now - (*node)->last_seen_ms >= 1000) {
      auto touched = api.store_.TouchNode((*node)->id, now);
      if (!touched) return touched.error();
      (*node)->last_seen_ms = now;
    }
    return **node;
  }

  // The job, if it belongs to the user; another user's job is reported as not found.
  Result<domain::Job> OwnJob(const domain::User& user, const std::string& id_text) {
    auto id = ParseId(id_text);
    if (!id) return MakeError(Errc::kNotFound, "job " + id_text + " not found");
    auto job = api.store_.GetJob(*id);
    if (!job) return job.error();
    if (!job->has_value() || (*job)->user_id != user.id)
      return MakeError(Errc::kNotFound, "job " + id_text + " not found");
    return **job;
  }

  HttpResponse Route() {
    const std::string& m = req.method;
    const size_t n = parts.size();
    if (n == 1 && parts[0] == "health" && m == "GET") return Json(200, {{"status", "ok"}});
    if (n == 2 && parts[0] == "nodes" && parts[1] == "register" && m == "POST") return Register();
    if (n == 2 && parts[0] == "nodes" && parts[1] == "capabilities") {
      if (m == "POST") return UpdateCapabilities();
      return Fail(Errc::kNotFound, "no such endpoint: " + m + " " + req.path);
    }
    if (n >= 1 && parts[0] == "tasks") return Tasks();
    if (n == 1 && parts[0] == "session" && m == "POST") return BrowserSessions().SignIn(req);
    if (n == 1 && parts[0] == "session" && m == "GET") return BrowserSessions().Info(req);
    auto user = User();
    if (!user) return Fail(user.error());
    if (n == 1 && parts[0] == "session" && m == "DELETE") return BrowserSessions().SignOut(req);
    if (n == 1 && parts[0] == "whoami" && m == "GET") {
      auto who = WhoAmI(api.store_, *user);
      return who ? Json(200, *who) : Fail(who.error());
    }
    if (n == 2 && parts[0] == "files" && parts[1] == "check" && m == "POST") return CheckFiles(*user);
    if (n == 2 && parts[0] == "files" && m == "PUT") return UploadFile(*user, parts[1]);
    if (n == 1 && parts[0] == "jobs" && m == "POST") return CreateJob(*user);
    if (n == 1 && parts[0] == "jobs" && m == "GET") return ListJobs(*user);
    if (n == 1 && parts[0] == "workers" && m == "GET") return ListNodes(*user);
    if (n == 1 && parts[0] == "events" && m == "GET") return Events(*user);
    if (n >= 2 && parts[0] == "jobs") {
      auto job = OwnJob(*user, parts[1]);
      if (!job) return Fail(job.error());
      if (n == 2 && m == "GET") return JobDetail(*user, *job);
      if (n == 3 && parts[2] == "cancel" && m == "POST") {
        auto r = api.scheduler_.CancelJob(*job, "canceled by " + user->name);
        if (!r) return Fail(r.error());
        return Json(200, JobToJson(*r));
      }
      if (n == 3 && parts[2] == "outputs" && m == "GET") return Outputs(*job);
    }
    return Fail(Errc::kNotFound, "no such endpoint: " + m + " " + req.path);
  }

  HttpResponse CheckFiles(const domain::User& user) {
    auto body = ParseBody(req, {"sha256"});
    if (!body) return Fail(body.error());
    auto hashes = Field<std::vector<std::string>>(*body, "sha256");
    if (!hashes) return Fail(hashes.error());
    if (hashes->size() > 10000) return Fail(Errc::kInvalidArgument, "at most 10000 hashes per request");
    json missing = json::array();
    for (const auto& h : *hashes) {
      if (!IsSha256Hex(h))
        return Fail(Errc::kInvalidArgument, "\"" + h.substr(0, 80) + "\" is not a SHA-256");
      auto has = api.store_.UserHasFile(user.id, h);
      if (!has) return Fail(has.error());
      if (!*has) missing.push_back(h);
    }
    return Json(200, {{"missing", missing}});
  }

  HttpResponse UploadFile(const domain::User& user, const std::string& sha) {
    if (!IsSha256Hex(sha))
      return Fail(Errc::kInvalidArgument, "the file name in the URL must be its SHA-256");
    if (Sha256Hex(req.body) != sha) {
      return Fail(Errc::kInvalidArgument, "uploaded content does not match its SHA-256; nothing was stored");
    }
    auto put = api.blobs_.Put(domain::FileKey(sha), req.body);
    if (!put) return Fail(put.error());
    auto add = api.store_.AddUserFile(user.id, sha, static_cast<int64_t>(req.body.size()));
    if (!add) return Fail(add.error());
    return Json(201, {{"sha256", sha}, {"size", req.body.size()}});
  }

  HttpResponse CreateJob(const domain::User& user) {
    auto body = ParseBody(req, {"name", "main", "files", "frames", "format", "chunk_size", "priority", "fps",
                                "root", "denoisers", "without_denoiser", "resolution_percentage"});
    if (!body) return Fail(body.error());
    domain::Job job;
    auto name = Field<std::string>(*body, "name");
    auto main = Field<std::string>(*body, "main");
    auto frames = Field<std::string>(*body, "frames");
    auto format = Field<std::string>(*body, "format", false, "PNG");
    auto chunk = Field<int>(*body, "chunk_size", false, 4);
    auto priority = Field<int>(*body, "priority", false, 0);
    auto fps = Field<double>(*body, "fps", false, 24.0);
    auto root = Field<std::string>(*body, "root", false);
    auto denoisers = Field<std::vector<std::string>>(*body, "denoisers", false);
    auto without_denoiser = Field<bool>(*body, "without_denoiser", false, false);
    auto percentage = Field<int>(*body, "resolution_percentage", false, 0);
    if (!root) return Fail(root.error());
    if (!denoisers) return Fail(denoisers.error());
    if (!without_denoiser) return Fail(without_denoiser.error());
    if (!percentage) return Fail(percentage.error());
    if (!fps) return Fail(fps.error());
    if (!(*fps > 0 && *fps <= 1000)) return Fail(Errc::kInvalidArgument, "fps must be between 0 and 1000");
    if (!name) return Fail(name.error());
    if (!main) return Fail(main.error());
    if (!frames) return Fail(frames.error());
    if (!format) return Fail(format.error());
    if (!chunk) return Fail(chunk.error());
    if (!priority) return Fail(priority.error());
    auto fmt = domain::ParseOutputFormat(*format);
    if (!fmt) return Fail(Errc::kInvalidArgument, "format must be PNG, EXR or JPEG");
    auto files = body->find("files");
    if (files == body->end() || !files->is_array())
      return Fail(Errc::kInvalidArgument, "missing field \"files\"");
    for (const auto& f : *files) {
      if (!f.is_object()) return Fail(Errc::kInvalidArgument, "each file must be an object");
      for (const auto& [k, v] : f.items()) {
        if (k != "path" && k != "sha256" && k != "size")
          return Fail(Errc::kInvalidArgument, "unknown file field \"" + k + "\"");
      }
      auto path = Field<std::string>(f, "path");
      auto sha = Field<std::string>(f, "sha256");
      auto size = Field<int64_t>(f, "size", false, 0);
      if (!path) return Fail(path.error());
      if (!sha) return Fail(sha.error());
      if (!size) return Fail(size.error());
      job.files.push_back({*path, *sha, *size});
    }
    job.name = *name;
    job.main_file = *main;
    job.frames_spec = *frames;
    job.format = *fmt;
    job.chunk_size = *chunk;
    job.priority = *priority;
    job.fps = *fps;
    job.scene_root = *root;
    job.denoisers = *denoisers;
    job.without_denoiser = *without_denoiser;
    job.resolution_percentage = *percentage;
    // The main file must be a .blend (otherwise every worker would fail on it in turn); its header says which
    // Blender saved it, which decides the workers that may render it.
    for (const auto& f : job.files) {
      if (f.path != job.main_file) continue;
      // Never uploaded (no such object): the scheduler says so. The header lies in the first bytes,
      // compressed or not, so only those are read.
      auto object = api.blobs_.Open(domain::FileKey(f.sha256));
      if (!object) continue;
      std::string head(static_cast<size_t>(std::min<int64_t>((*object)->Size(), int64_t{1} << 20)), '\0');
      auto got = (*object)->ReadAt(0, head.data(), head.size());
      if (!got) return Fail(got.error());
      head.resize(*got);
      auto header = blend::ReadHeaderFromBytes(head);
      if (!header) {
        return Fail(Errc::kInvalidArgument,
                    "main file \"" + job.main_file + "\" is not a .blend file (plain, gzip or zstd): " +
                        header.error().message + "; save the scene from Blender and upload that file");
      }
      job.blender_version = header->version;
    }
    auto created = api.scheduler_.CreateJob(user.id, job);
    if (!created) return Fail(created.error());
    spdlog::info("job {} created by {}: {} frames {}", created->id, user.name, created->name,
                 created->frames_spec);
    return Json(201, JobToJson(*created));
  }

  HttpResponse ListJobs(const domain::User& user) {
    auto jobs = api.store_.ListJobs(user.id);
    if (!jobs) return Fail(jobs.error());
    json out = json::array();
    for (const auto& j : *jobs) {
      auto frames = api.store_.ListFrames(j.id);
      if (!frames) return Fail(frames.error());
      json item = JobToJson(j);
      item["owner"] = user.name;
      item["progress"] = ProgressToJson(j, domain::CountFrames(*frames), api.clock_.NowMs());
      out.push_back(item);
    }
    return Json(200, {{"jobs", out}});
  }

  HttpResponse JobDetail(const domain::User& user, const domain::Job& job) {
    auto frames = api.store_.ListFrames(job.id);
    if (!frames) return Fail(frames.error());
    auto outputs = api.store_.ListOutputs(job.id);
    if (!outputs) return Fail(outputs.error());
    auto nodes = api.store_.ListNodes();
    if (!nodes) return Fail(nodes.error());
    json item = JobToJson(job);
    item["owner"] = user.name;
    item["progress"] = ProgressToJson(job, domain::CountFrames(*frames), api.clock_.NowMs());
    std::map<int64_t, const domain::Output*> by_id;
    for (const auto& o : *outputs) by_id[o.id] = &o;
    json fl = json::array();
    for (const auto& f : *frames) {
      json frame = FrameToJson(f, *outputs, *nodes);
      // A delivered frame's image and thumbnail, through signed URLs (what <img> and links can fetch).
      auto delivered = by_id.find(f.output_id);
      if (f.state == domain::FrameState::kDelivered && delivered != by_id.end()) {
        const domain::Output& o = *delivered->second;
        frame["output"]["url"] = Sign("GET", o.blob_key);
        frame["output"]["preview_url"] =
            o.preview_key.empty() ? json(nullptr) : json(Sign("GET", o.preview_key));
      }
      fl.push_back(frame);
    }
    item["frames"] = fl;
    item["video_url"] = job.video_state == "ready" ? json(Sign("GET", job.video_key)) : json(nullptr);
    auto blocked = api.store_.ListBlocklist(job.id);
    if (!blocked) return Fail(blocked.error());
    item["blocklist"] = BlocklistToJson(*blocked, *nodes);
    return Json(200, item);
  }

  HttpResponse Outputs(const domain::Job& job) {
    auto frames = api.store_.ListFrames(job.id);
    if (!frames) return Fail(frames.error());
    json out = json::array();
    for (const auto& f : *frames) {
      if (f.state != domain::FrameState::kDelivered) continue;
      auto o = api.store_.GetOutput(f.output_id);
      if (!o) return Fail(o.error());
      if (!o->has_value()) continue;
      json item = {{"frame", f.number},
                   {"sha256", (*o)->sha256},
                   {"verdict", domain::ToString((*o)->verdict)},
                   {"url", Sign("GET", (*o)->blob_key)}};
      item["preview_url"] = (*o)->preview_key.empty() ? json(nullptr) : json(Sign("GET", (*o)->preview_key));
      out.push_back(item);
    }
    json video = nullptr;
    if (job.video_state == "ready") video = Sign("GET", job.video_key);
    return Json(200, {{"job_id", job.id},
                      {"state", domain::ToString(job.state)},
                      {"outputs", out},
                      {"video", job.video_state.empty() ? "none" : job.video_state},
                      {"video_url", video}});
  }

  // Server-sent events, stored with increasing ids. Each answer carries what is there after the client's
  // Last-Event-ID, waiting (without a thread) until there is something or the long-poll ends, then closes;
  // EventSource and the CLI reconnect with the last id they saw, so nothing is missed, across restarts too.
  HttpResponse Events(const domain::User& user) {
    int64_t job_id = 0;
    if (auto it = req.query.find("job"); it != req.query.end()) {
      auto id = ParseId(it->second);
      if (!id) return Fail(Errc::kInvalidArgument, "job must be a job id");
      auto job = OwnJob(user, it->second);
      if (!job) return Fail(job.error());
      job_id = *id;
    }
    std::string last = req.Header("last-event-id");
    if (auto it = req.query.find("last_event_id"); last.empty() && it != req.query.end()) last = it->second;
    int64_t after = 0;
    if (!last.empty()) {
      auto id = ParseId(last);
      if (!id) return Fail(Errc::kInvalidArgument, "Last-Event-ID must be an event id");
      after = *id;
    }
    // The network's events (workers changing) too, for the dashboard's workers page.
    bool network = false;
    if (auto it = req.query.find("workers"); it != req.query.end()) {
      if (it->second != "0" && it->second != "1")
        return Fail(Errc::kInvalidArgument, "workers must be 0 or 1");
      if (job_id != 0 && it->second == "1")
        return Fail(Errc::kInvalidArgument,
                    "workers=1 follows the whole network; it cannot be combined with job");
      network = it->second == "1";
    }
    auto events = api.store_.ListEvents(user.id, job_id, after, 500, network);
    if (!events) return Fail(events.error());
    if (events->empty() && api.clock_.NowMs() - req.received_ms < api.options_.long_poll_ms) {
      HttpResponse wait;
      wait.retry_after_ms = 200;
      return wait;
    }
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers["Cache-Control"] = "no-cache";
    r.body = "retry: 500\n\n";
    for (const auto& e : *events) {
      r.body += "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
    }
    return r;
  }

  // Every node, with what it is doing. A task is named with its job only to the job's owner.
  HttpResponse ListNodes(const domain::User& user) {
    auto nodes = api.store_.ListNodes();
    if (!nodes) return Fail(nodes.error());
    const int64_t now = api.clock_.NowMs();
    json out = json::array();
    for (const auto& n : *nodes) {
      json j = NodeToJson(n);
      auto tasks = api.store_.ListNodeTasks(n.id);
      if (!tasks) return Fail(tasks.error());
      json current = nullptr;
      if (!tasks->empty()) {
        const domain::Task& t = tasks->front();
        auto job = api.store_.GetJob(t.job_id);
        if (!job) return Fail(job.error());
        const bool own = job->has_value() && (*job)->user_id == user.id;
        current = {{"kind", domain::ToString(t.kind)}, {"frames", t.frames}};
        current["job_id"] = own ? json(t.job_id) : json(nullptr);
        current["job_name"] = own ? json((*job)->name) : json(nullptr);
      }
      j["current_task"] = current;
      j["state"] = NodeState(n, !tasks->empty(), now);
      // The chance that the worker's next output gets layer 2 (adaptive trust).
      if (n.role == domain::NodeRole::kWorker)
        j["check_rate"] = domain::CheckRate(api.scheduler_.options().trust, n.streak);
      out.push_back(j);
    }
    return Json(200, {{"nodes", out}});
  }

  // banned, busy (holds a task), idle (asked for work lately) or offline.
  std::string NodeState(const domain::Node& n, bool busy, int64_t now) const {
    if (n.banned) return "banned";
    if (busy) return "busy";
    const int64_t recent = api.options_.long_poll_ms + api.scheduler_.options().lease_ms;
    return now - n.last_seen_ms <= recent ? "idle" : "offline";
  }

  HttpResponse Register() {
    auto body = ParseBody(req, {"enrollment_token", "name", "role", "public_key", "capabilities"});
    if (!body) return Fail(body.error());
    auto token = Field<std::string>(*body, "enrollment_token");
    auto name = Field<std::string>(*body, "name");
    auto role = Field<std::string>(*body, "role");
    auto key = Field<std::string>(*body, "public_key");
    if (!token) return Fail(token.error());
    if (!name) return Fail(name.error());
    if (!role) return Fail(role.error());
    if (!key) return Fail(key.error());
    if (name->empty() || name->size() > 100)
      return Fail(Errc::kInvalidArgument, "name must be 1 to 100 characters");
    if (key->size() != 64 || !IsSha256Hex(*key))
      return Fail(Errc::kInvalidArgument, "public_key must be 32 bytes of hex");
    auto parsed_role = domain::ParseNodeRole(*role);
    if (!parsed_role) return Fail(Errc::kInvalidArgument, "role must be worker or verifier");
    json caps = body->value("capabilities", json::object());
    if (caps.is_null()) caps = json::object();
    if (auto checked = CheckCapabilities(caps); !checked) return Fail(checked.error());
    domain::Node node;
    node.name = *name;
    node.role = *parsed_role;
    node.public_key = *key;
    node.capabilities_json = caps.dump();
    node.det_class = DefaultClassOf(caps);
    node.last_seen_ms = api.clock_.NowMs();
    std::string node_token = domain::NewToken(domain::TokenKind::kNode);
    // One transaction: a token is used up only by the node it creates (never by a refused request, nor by a
    // crash between the two writes).
    int64_t id = 0;
    const std::string hash = domain::TokenHash(*token);
    auto created = api.store_.Transaction([&]() -> Result<void> {
      auto found = api.store_.FindEnrollment(hash, api.clock_.NowMs());
      if (!found) return found.error();
      if (!found->has_value()) {
        return MakeError(Errc::kUnauthenticated,
                         "enrollment token is unknown, expired or already used; ask the operator "
                         "for a new one (inferix admin enroll create)");
      }
      if (**found != *parsed_role) {
        return MakeError(Errc::kPermissionDenied,
                         "enrollment token is for a " + std::string(domain::ToString(**found)) + ", not a " +
                             *role + "; it is still good for a " + std::string(domain::ToString(**found)));
      }
      auto consumed = api.store_.ConsumeEnrollment(hash, api.clock_.NowMs());
      if (!consumed) return consumed.error();
      if (!consumed->has_value()) return MakeError(Errc::kUnauthenticated, "enrollment token already used");
      auto made = api.store_.CreateNode(node, domain::TokenHash(node_token));
      if (!made) return made.error();
      id = *made;
      return api.scheduler_.WorkerChanged(id);  // joined
    });
    if (!created) return Fail(created.error());
    spdlog::info("{} {} registered as node {}", *role, *name, id);
    return Json(201, {{"node_id", id}, {"node_token", node_token}});
  }

  // A node started again tells what it lends now (other Blender builds, an upgrade): its machine description
  // and default class follow, so that claims choose among the builds it really has.
  HttpResponse UpdateCapabilities() {
    auto node = Node();
    if (!node) return Fail(node.error());
    auto body = ParseBody(req, {"capabilities"});
    if (!body) return Fail(body.error());
    auto caps = Field<json>(*body, "capabilities");
    if (!caps) return Fail(caps.error());
    if (auto checked = CheckCapabilities(*caps); !checked) return Fail(checked.error());
    node->capabilities_json = caps->dump();
    node->det_class = DefaultClassOf(*caps);
    auto saved = api.store_.Transaction([&]() -> Result<void> {
      INFERIX_TRY(api.store_.UpdateNode(*node));
      return api.scheduler_.WorkerChanged(node->id);
    });
    if (!saved) return Fail(saved.error());
    return Json(200, {{"node_id", node->id}, {"class", node->det_class}, {"capabilities", *caps}});
  }

  HttpResponse Tasks() {
    auto node = Node();
    if (!node) return Fail(node.error());
    const size_t n = parts.size();
    const std::string& m = req.method;
    if (n == 2 && parts[1] == "claim" && m == "POST") return ClaimTask(*node);
    if (n < 3 || m != "POST") return Fail(Errc::kNotFound, "no such endpoint: " + m + " " + req.path);
    auto task_id = ParseId(parts[1]);
    if (!task_id) return Fail(Errc::kNotFound, "task " + parts[1] + " not found");
    if (n == 3 && parts[2] == "heartbeat") {
      auto action = api.scheduler_.Heartbeat(*node, *task_id);
      if (!action) return Fail(action.error());
      const char* names[] = {"continue", "cancel", "abort"};
      return Json(200, {{"action", names[static_cast<int>(*action)]}});
    }
    if (n == 3 && parts[2] == "done") {
      auto r = api.scheduler_.CompleteTask(*node, *task_id);
      return r ? Json(200, {{"status", "done"}}) : Fail(r.error());
    }
    if (n == 3 && parts[2] == "fail") {
      auto body = ParseBody(req, {"error"});
      if (!body) return Fail(body.error());
      auto error = Field<std::string>(*body, "error");
      if (!error) return Fail(error.error());
      spdlog::warn("task {} failed on {}: {}", *task_id, node->name, *error);
      auto r = api.scheduler_.FailTask(*node, *task_id, *error);
      return r ? Json(200, {{"status", "failed"}}) : Fail(r.error());
    }
    if (n == 3 && parts[2] == "verdict") return Verdict(*node, *task_id);
    if (n >= 4 && parts[2] == "frames") {
      auto frame = ParseFrame(parts[3]);
      if (!frame) return Fail(Errc::kInvalidArgument, "invalid frame number");
      if (n == 5 && parts[4] == "upload") return UploadUrl(*node, *task_id, *frame);
      if (n == 4) return ReportFrame(*node, *task_id, *frame);
    }
    return Fail(Errc::kNotFound, "no such endpoint: " + m + " " + req.path);
  }

  json SceneToJson(const domain::Job& job) {
    json files = json::array();
    for (const auto& f : job.files) {
      files.push_back({{"path", f.path},
                       {"sha256", f.sha256},
                       {"size", f.size},
                       {"url", Sign("GET", domain::FileKey(f.sha256))}});
    }
    json scene = {{"main", job.main_file}, {"files", files}};
    if (!job.scene_root.empty()) scene["root"] = job.scene_root;
    if (job.resolution_percentage > 0) scene["resolution_percentage"] = job.resolution_percentage;
    return scene;
  }

  HttpResponse ClaimTask(const domain::Node& node) {
    auto body = ParseBody(req, {"cached"});
    if (!body) return Fail(body.error());
    auto cached = Field<std::vector<std::string>>(*body, "cached", false);
    if (!cached) return Fail(cached.error());
    auto claim = api.scheduler_.ClaimTask(node, *cached);
    if (!claim) return Fail(claim.error());
    if (!claim->has_value()) {
      if (api.clock_.NowMs() - req.received_ms < api.options_.long_poll_ms) {
        HttpResponse wait;
        wait.retry_after_ms = 250;
        return wait;
      }
      HttpResponse none;
      none.status = 204;
      return none;
    }
    const Claim& c = **claim;
    json task = {{"task_id", c.task.id},
                 {"kind", domain::ToString(c.task.kind)},
                 {"job_id", c.job.id},
                 {"frames", c.task.frames},
                 {"format", domain::BlenderFormatName(c.job.format)},
                 {"scene", SceneToJson(c.job)},
                 {"denoise", !c.job.without_denoiser},
                 {"blender", c.build},
                 {"lease_ms", api.scheduler_.options().lease_ms},
                 {"heartbeat_ms", api.scheduler_.options().heartbeat_ms}};
    if (c.output) {
      task["output"] = {{"output_id", c.output->id},
                        {"sha256", c.output->sha256},
                        {"node_id", c.output->node_id},
                        {"url", Sign("GET", c.output->blob_key)}};
      const auto counts = domain::RegionsFor(api.scheduler_.options().trust, c.task.level);
      task["check"] = {{"level", c.task.level},
                       {"layer2", c.task.level >= domain::kRegions},
                       {"whole_frame", c.task.level == domain::kWholeFrame},
                       {"regions", counts.regions},
                       {"detail_regions", counts.detail_regions},
                       {"exact_rate", api.scheduler_.options().trust.exact_rate}};
      if (c.original) {
        task["original"] = {{"output_id", c.original->id},
                            {"sha256", c.original->sha256},
                            {"url", Sign("GET", c.original->blob_key)}};
      }
    }
    spdlog::info("task {} ({} of job {}, frames {}) claimed by {}", c.task.id, domain::ToString(c.task.kind),
                 c.job.id, json(c.task.frames).dump(), node.name);
    return Json(200, task);
  }

  HttpResponse UploadUrl(const domain::Node& node, int64_t task_id, int frame) {
    auto task = api.scheduler_.HeldTask(node, task_id);
    if (!task) return Fail(task.error());
    if (std::find(task->frames.begin(), task->frames.end(), frame) == task->frames.end()) {
      return Fail(Errc::kInvalidArgument, "frame " + std::to_string(frame) + " is not part of this task");
    }
    const std::string key = domain::OutputKey(task->job_id, task_id, frame, RandomHex(8));
    return Json(200, {{"key", key}, {"url", Sign("PUT", key)}});
  }

  HttpResponse ReportFrame(const domain::Node& node, int64_t task_id, int frame) {
    auto body = ParseBody(req, {"sha256", "key", "render_seconds", "render_cpu_seconds", "signature"});
    if (!body) return Fail(body.error());
    auto sha = Field<std::string>(*body, "sha256");
    auto key = Field<std::string>(*body, "key");
    auto seconds = Field<double>(*body, "render_seconds", false, 0.0);
    auto cpu = Field<double>(*body, "render_cpu_seconds", false, 0.0);
    if (!cpu) return Fail(cpu.error());
    auto sig = Field<std::string>(*body, "signature");
    if (!sha) return Fail(sha.error());
    if (!key) return Fail(key.error());
    if (!seconds) return Fail(seconds.error());
    if (!sig) return Fail(sig.error());
    if (!IsSha256Hex(*sha)) return Fail(Errc::kInvalidArgument, "sha256 must be 64 lower-case hex digits");
    if (!Ed25519Verify(node.public_key, domain::FrameReportMessage(task_id, frame, *sha, *key), *sig)) {
      return Fail(Errc::kPermissionDenied, "report signature does not verify with this node's key");
    }
    auto task = api.store_.GetTask(task_id);
    if (!task) return Fail(task.error());
    if (!task->has_value()) return Fail(Errc::kNotFound, "task not found");
    if (!domain::IsOutputKeyFor(*key, (*task)->job_id, task_id, frame)) {
      return Fail(Errc::kInvalidArgument, "key was not issued for this task and frame");
    }
    auto exists = api.blobs_.Stat(*key);
    if (!exists) return Fail(exists.error());
    if (!exists->has_value())
      return Fail(Errc::kInvalidArgument, "nothing was uploaded under this key; upload the frame first");
    auto r = api.scheduler_.ReportFrame(node, task_id, frame, *sha, *key, *seconds, *cpu);
    if (!r) return Fail(r.error());
    return Json(200, {{"status", *r == ReportOutcome::kDuplicate ? "duplicate" : "recorded"}});
  }

  HttpResponse Verdict(const domain::Node& node, int64_t task_id) {
    if (node.role != domain::NodeRole::kVerifier)
      return Fail(Errc::kPermissionDenied, "only verifiers give verdicts");
    auto body = ParseBody(req, {"verdict", "detail", "verify_seconds", "verify_cpu_seconds", "method",
                                "matches_original", "signature"});
    if (!body) return Fail(body.error());
    auto verdict = Field<std::string>(*body, "verdict");
    auto detail = Field<std::string>(*body, "detail", false);
    auto seconds = Field<double>(*body, "verify_seconds", false, 0.0);
    auto cpu = Field<double>(*body, "verify_cpu_seconds", false, 0.0);
    auto sig = Field<std::string>(*body, "signature");
    if (!cpu) return Fail(cpu.error());
    const json method = body->value("method", json::object());
    if (!method.is_object()) return Fail(Errc::kInvalidArgument, "method must be an object");
    std::optional<bool> matches;
    if (body->contains("matches_original")) {
      if (!(*body)["matches_original"].is_boolean())
        return Fail(Errc::kInvalidArgument, "matches_original must be true or false");
      matches = (*body)["matches_original"].get<bool>();
    }
    if (!verdict) return Fail(verdict.error());
    if (!detail) return Fail(detail.error());
    if (!seconds) return Fail(seconds.error());
    if (!sig) return Fail(sig.error());
    if (!Ed25519Verify(node.public_key, domain::VerdictMessage(task_id, *verdict), *sig)) {
      return Fail(Errc::kPermissionDenied, "verdict signature does not verify with this node's key");
    }
    spdlog::info("task {}: verdict {} by {}: {}", task_id, *verdict, node.name, *detail);
    auto r = api.scheduler_.RecordVerdict(
        node, task_id, VerdictReport{*verdict, *detail, *seconds, *cpu, method.dump(), matches});
    return r ? Json(200, {{"status", "recorded"}}) : Fail(r.error());
  }
};

HttpResponse Api::Handle(const HttpRequest& request) {
  if (!request.path.starts_with("/api/v1/")) return ServeDashboard(request);
  Impl impl{*this, request, Split(request.path.substr(8))};
  try {
    return impl.Route();
  } catch (const std::exception& e) {
    return Fail(Errc::kInternal, std::string("internal error: ") + e.what());
  }
}

}  // namespace inferix::manager
