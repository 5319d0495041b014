// The node protocol: a node claims a task (long-poll), keeps its lease with heartbeats, uploads and reports
// each frame (signed), ends the task; a verifier gives its verdict (signed).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "domain/tokens.hpp"
#include "manager/api_routes.hpp"
#include "manager/api_util.hpp"
#include "manager/blob_endpoint.hpp"
#include "manager/codec.hpp"
#include "manager/requests.hpp"

namespace inferix::manager {
namespace {

using json = nlohmann::json;
using net::HttpResponse;

// How long a waiting claim waits before it looks again when no wake-up came, on a shared database: another
// manager's tasks are heard through the change feed, which is read at this pace. Alone on its database the
// manager wakes claims itself for every task it queues, and the pause grows with the claims waiting
// (Wakeups::RecheckMs): it only catches a task that the woken claims could not take.
constexpr int64_t kSharedClaimRecheckMs = 250;

// The task id of the path, or the not-found answer.
Result<int64_t> TaskId(const Call& c) {
  auto id = ParseId(c.params.at(0));
  if (!id) return MakeError(Errc::kNotFound, "task " + c.params.at(0) + " not found");
  return *id;
}

Result<int> FrameNumber(const Call& c) {
  auto frame = ParseFrame(c.params.at(1));
  if (!frame) return MakeError(Errc::kInvalidArgument, "invalid frame number");
  return *frame;
}

HttpResponse ClaimTask(Call& c) {
  auto request = DecodeClaim(c.req);
  if (!request) return Fail(request.error());
  // A node at one of its caps is told which, and when to ask again (no long-poll: nothing will change soon).
  auto capped = c.api.scheduler.ClaimCaps(*c.node);
  if (!capped) return Fail(capped.error());
  if (capped->has_value()) {
    const ClaimRefusal& refusal = **capped;
    HttpResponse busy = Json(429, {{"error", {{"code", refusal.code}, {"message", refusal.reason}}}});
    busy.headers["Retry-After"] = std::to_string(refusal.retry_after_s);
    return busy;
  }
  // A waiting claim is parked under its kind's key and runs again as soon as this manager queues a task of
  // that kind (Wakeups); otherwise it looks again after a pause, and reads the tables only when a task may
  // have been queued since its last look: by this manager, or by another one sharing the database (its
  // change feed; then also every few seconds whatever the feed says).
  const domain::TaskKind kind =
      c.node->role == domain::NodeRole::kWorker ? domain::TaskKind::kRender : domain::TaskKind::kVerify;
  auto wait = [&] {
    HttpResponse waiting;
    waiting.retry_after_ms = c.api.changes != nullptr || c.api.wakeups == nullptr
                                 ? kSharedClaimRecheckMs
                                 : c.api.wakeups->RecheckMs(kind, c.api.options.long_poll_ms);
    waiting.wait_key = Wakeups::Key(kind);
    return waiting;
  };
  const bool in_poll = c.api.clock.NowMs() - c.req.received_ms < c.api.options.long_poll_ms;
  // A node that said it takes no work now (its owner paused it, its hours ended) gets none, even on a claim
  // it sent before saying so (the node is read again each time the claim runs).
  if (!c.node->availability.empty()) {
    if (in_poll) return wait();
    HttpResponse none;
    none.status = 204;
    return none;
  }
  if (in_poll && c.api.NothingNew(c.req, kind)) return wait();
  auto claim = c.api.scheduler.ClaimTask(*c.node, request->cached, request->slot);
  if (!claim) return Fail(claim.error());
  if (!claim->has_value()) {
    if (in_poll) return wait();
    HttpResponse none;
    none.status = 204;
    return none;
  }
  const Claim& claimed = **claim;
  if (c.api.wakeups != nullptr) c.api.wakeups->Claimed(kind);
  spdlog::info("task {} ({} of job {}, frames {}) claimed by {}", claimed.task.id,
               domain::ToString(claimed.task.kind), claimed.job.id, json(claimed.task.frames).dump(),
               SafeText(c.node->name));
  const SignGet sign_get = [&](const std::string& key) { return c.api.Sign("GET", key); };
  return Json(200, net::ToJson(ClaimedTaskOf(claimed, c.api.scheduler.options(), sign_get)));
}

HttpResponse Heartbeat(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  // Older nodes send `{}` (or nothing): no progress shown.
  net::HeartbeatRequest beat;
  if (!c.req.body.empty()) {
    const json body = json::parse(c.req.body, nullptr, false);
    if (body.is_discarded()) return Fail(Errc::kInvalidArgument, "heartbeat body is not valid JSON");
    auto decoded = net::HeartbeatRequestFromJson(body);
    if (!decoded) return Fail(decoded.error());
    beat = *decoded;
  }
  auto action = c.api.scheduler.Heartbeat(*c.node, *id, beat.progress);
  if (!action) return Fail(action.error());
  const char* names[] = {"continue", "cancel", "abort"};
  return Json(200, {{"action", names[static_cast<int>(*action)]}});
}

HttpResponse Done(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  auto r = c.api.scheduler.CompleteTask(*c.node, *id);
  return r ? Json(200, {{"status", "done"}}) : Fail(r.error());
}

HttpResponse FailTask(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  auto request = DecodeFail(c.req);
  if (!request) return Fail(request.error());
  spdlog::warn("task {} failed on {}: {}", *id, SafeText(c.node->name), SafeText(request->error));
  auto r = c.api.scheduler.FailTask(*c.node, *id, request->error);
  return r ? Json(200, {{"status", "failed"}}) : Fail(r.error());
}

// The node hands the task back unfinished (its owner needs the machine, or it is stopping): not a failure.
HttpResponse ReleaseTask(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  auto request = DecodeRelease(c.req);
  if (!request) return Fail(request.error());
  spdlog::info("task {} handed back by {}: {}", *id, SafeText(c.node->name), SafeText(request->reason));
  auto r = c.api.scheduler.ReleaseTask(*c.node, *id, request->reason);
  return r ? Json(200, {{"status", "released"}}) : Fail(r.error());
}

HttpResponse UploadUrl(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  auto frame = FrameNumber(c);
  if (!frame) return Fail(frame.error());
  // Older nodes send `{}`: no digest or size, and the URL signs neither.
  const nlohmann::json body =
      c.req.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(c.req.body, nullptr, false);
  auto request = net::UploadRequestFromJson(body);
  if (!request) return Fail(request.error());
  if (request->size > c.api.options.max_output_bytes) {
    return Fail(Errc::kTooLarge, "a frame of " + std::to_string(request->size) +
                                     " bytes is over this network's limit of " +
                                     std::to_string(c.api.options.max_output_bytes) + " bytes per frame");
  }
  auto task = c.api.scheduler.HeldTask(*c.node, *id);
  if (!task) return Fail(task.error());
  if (std::find(task->frames.begin(), task->frames.end(), *frame) == task->frames.end()) {
    return Fail(Errc::kInvalidArgument, "frame " + std::to_string(*frame) + " is not part of this task");
  }
  auto reported = c.api.store.FindOutput(*id, *frame);
  if (!reported) return Fail(reported.error());
  if (reported->has_value()) {
    return Fail(Errc::kConflict, "frame " + std::to_string(*frame) +
                                     " of this task is already reported; it is never replaced");
  }
  // One object, once, for this node while it holds the task, no larger than a frame may be.
  const std::string key = domain::OutputKey(task->job_id, *id, *frame, RandomHex(8));
  // A node that said its frame's size gets a URL for no more than that; its digest is signed where the object
  // store can refuse another body (S3), and checked at report time in every case.
  const int64_t max_bytes = request->size > 0 ? request->size : c.api.options.max_output_bytes;
  const domain::PutTerms terms{max_bytes, IssuedToNode(c.node->id), request->sha256};
  auto url = c.api.blobs.PresignPut(key, std::chrono::seconds(c.api.options.url_ttl_s), terms);
  if (!url) return Fail(url.error());
  net::UploadSlot slot{key, *url, c.api.blobs.PutHeaders(terms)};
  nlohmann::json answer = net::ToJson(slot);
  answer["max_bytes"] = max_bytes;
  return Json(200, answer);
}

HttpResponse ReportFrame(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  auto frame = FrameNumber(c);
  if (!frame) return Fail(frame.error());
  auto report = DecodeFrameReport(c.req);
  if (!report) return Fail(report.error());
  const domain::Node& node = *c.node;
  if (!Ed25519Verify(node.public_key, domain::FrameReportMessage(*id, *frame, report->sha256, report->key),
                     report->signature)) {
    return Fail(Errc::kPermissionDenied, "report signature does not verify with this node's key");
  }
  auto task = c.api.store.GetTask(*id);
  if (!task) return Fail(task.error());
  if (!task->has_value()) return Fail(Errc::kNotFound, "task not found");
  if (!domain::IsOutputKeyFor(report->key, (*task)->job_id, *id, *frame)) {
    return Fail(Errc::kInvalidArgument, "key was not issued for this task and frame");
  }
  auto exists = c.api.blobs.Stat(report->key);
  if (!exists) return Fail(exists.error());
  if (!exists->has_value())
    return Fail(Errc::kInvalidArgument, "nothing was uploaded under this key; upload the frame first");
  // An object store that cannot hold a URL to its size (S3) may have taken more than a frame may be: such an
  // upload is refused here, as the manager's own URLs refuse it before the body.
  if ((*exists)->size > c.api.options.max_output_bytes) {
    return Fail(Errc::kTooLarge, "the frame uploaded under this key has " + std::to_string((*exists)->size) +
                                     " bytes, over this network's limit of " +
                                     std::to_string(c.api.options.max_output_bytes) + " bytes per frame");
  }
  // The bytes stored are the bytes reported: nothing later trusts the report alone. The report is signed and
  // the upload URL was the node's own, so a digest that differs is the node's lie (the output is rejected at
  // once and counts towards a ban); a missing digest is the store's failing, refused without blame.
  const std::string& stored = (*exists)->sha256;
  if (stored.empty()) {
    return Fail(Errc::kConflict,
                "the frame uploaded under this key has no recorded digest; upload it again "
                "through a new upload URL");
  }
  const std::string forged = stored == report->sha256
                                 ? std::string()
                                 : "the frame uploaded under this key has SHA-256 " + stored +
                                       " but the node's signed report says " + report->sha256;
  auto r = c.api.scheduler.ReportFrame(node, *id, *frame, report->sha256, report->key, report->render_seconds,
                                       report->render_cpu_seconds, forged);
  if (!r) return Fail(r.error());
  if (*r == ReportOutcome::kForged) return Fail(Errc::kConflict, forged + "; the frame was rejected");
  return Json(200, {{"status", *r == ReportOutcome::kDuplicate ? "duplicate" : "recorded"}});
}

HttpResponse Verdict(Call& c) {
  auto id = TaskId(c);
  if (!id) return Fail(id.error());
  const domain::Node& node = *c.node;
  if (node.role != domain::NodeRole::kVerifier)
    return Fail(Errc::kPermissionDenied, "only verifiers give verdicts");
  auto v = DecodeVerdict(c.req);
  if (!v) return Fail(v.error());
  if (!Ed25519Verify(node.public_key, domain::VerdictMessage(*id, v->verdict), v->signature)) {
    return Fail(Errc::kPermissionDenied, "verdict signature does not verify with this node's key");
  }
  spdlog::info("task {}: verdict {} by {}: {}", *id, SafeText(v->verdict), SafeText(node.name),
               SafeText(v->detail));
  auto r = c.api.scheduler.RecordVerdict(
      node, *id,
      VerdictReport{v->verdict, v->detail, v->verify_seconds, v->verify_cpu_seconds, v->method.dump(),
                    v->matches_original});
  return r ? Json(200, {{"status", "recorded"}}) : Fail(r.error());
}

}  // namespace

std::vector<Route> TaskRoutes() {
  return {
      {"POST", "tasks/claim", Auth::kNode, ClaimTask},
      {"POST", "tasks/:id/heartbeat", Auth::kNode, Heartbeat},
      {"POST", "tasks/:id/done", Auth::kNode, Done},
      {"POST", "tasks/:id/fail", Auth::kNode, FailTask},
      {"POST", "tasks/:id/release", Auth::kNode, ReleaseTask},
      {"POST", "tasks/:id/verdict", Auth::kNode, Verdict},
      {"POST", "tasks/:id/frames/:frame/upload", Auth::kNode, UploadUrl},
      {"POST", "tasks/:id/frames/:frame", Auth::kNode, ReportFrame},
  };
}

}  // namespace inferix::manager
