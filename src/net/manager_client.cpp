#include "net/manager_client.hpp"

namespace inferix::net {

using json = nlohmann::json;

namespace {

std::string TaskPath(int64_t task_id) { return "/api/v1/tasks/" + std::to_string(task_id); }

Result<void> Discard(const Result<json>& r) {
  if (!r) return r.error();
  return Ok();
}

}  // namespace

HttpManagerClient::HttpManagerClient(const std::string& manager_url, const std::string& ca_file,
                                     const std::atomic<bool>* stop)
    : api_(manager_url, "", ClientOptions{ca_file, 60, 10, stop}),
      heartbeat_api_(manager_url, "", ClientOptions{ca_file, 20, 5}) {}

void HttpManagerClient::SetToken(const std::string& token) {
  api_.set_token(token);
  std::lock_guard lock(heartbeat_mu_);
  heartbeat_api_.set_token(token);
}

Result<RegisterAnswer> HttpManagerClient::Register(const RegisterRequest& request) {
  auto r = api_.Call("POST", "/api/v1/nodes/register", ToJson(request));
  if (!r) return r.error();
  return RegisterAnswerFromJson(*r);
}

Result<void> HttpManagerClient::UpdateCapabilities(const json& capabilities) {
  return Discard(api_.Call("POST", "/api/v1/nodes/capabilities", {{"capabilities", capabilities}}));
}

Result<std::optional<ClaimedTask>> HttpManagerClient::Claim(const ClaimRequest& request) {
  auto r = api_.Call("POST", "/api/v1/tasks/claim", ToJson(request), 40);
  if (!r) return r.error();
  if (r->is_null()) return std::optional<ClaimedTask>();  // 204: nothing to do
  auto task = ClaimedTaskFromJson(*r);
  if (!task) return task.error();
  return std::optional<ClaimedTask>(std::move(*task));
}

Result<HeartbeatAnswer> HttpManagerClient::Heartbeat(int64_t task_id, const HeartbeatRequest& request) {
  std::lock_guard lock(heartbeat_mu_);
  auto r = heartbeat_api_.Call("POST", TaskPath(task_id) + "/heartbeat", ToJson(request));
  if (!r) return r.error();
  return HeartbeatAnswerFromJson(*r);
}

Result<UploadSlot> HttpManagerClient::RequestUpload(int64_t task_id, int frame,
                                                    const UploadRequest& request) {
  auto r =
      api_.Call("POST", TaskPath(task_id) + "/frames/" + std::to_string(frame) + "/upload", ToJson(request));
  if (!r) return r.error();
  return UploadSlotFromJson(*r);
}

Result<void> HttpManagerClient::Upload(const UploadSlot& slot, const std::filesystem::path& file) {
  return Discard(api_.PutFile(slot.url, file, false, slot.headers));
}

Result<void> HttpManagerClient::Download(const std::string& signed_url, const std::filesystem::path& dest) {
  return api_.Download(signed_url, dest);
}

Result<void> HttpManagerClient::ReportFrame(int64_t task_id, int frame, const FrameReport& report) {
  return Discard(api_.Call("POST", TaskPath(task_id) + "/frames/" + std::to_string(frame), ToJson(report)));
}

Result<void> HttpManagerClient::CompleteTask(int64_t task_id) {
  return Discard(api_.Call("POST", TaskPath(task_id) + "/done", json::object()));
}

Result<void> HttpManagerClient::FailTask(int64_t task_id, const std::string& error) {
  return Discard(api_.Call("POST", TaskPath(task_id) + "/fail", {{"error", error}}));
}

// Over the heartbeats' connection, which a stopping node does not cut: a worker stopping hands its task back.
Result<void> HttpManagerClient::ReleaseTask(int64_t task_id, const std::string& reason) {
  std::lock_guard lock(heartbeat_mu_);
  return Discard(heartbeat_api_.Call("POST", TaskPath(task_id) + "/release", {{"reason", reason}}));
}

Result<void> HttpManagerClient::SetAvailability(const std::string& availability, const std::string& reason) {
  return Discard(
      api_.Call("POST", "/api/v1/nodes/availability", {{"availability", availability}, {"reason", reason}}));
}

Result<nlohmann::json> HttpManagerClient::Self() { return api_.Call("GET", "/api/v1/nodes/me", nullptr); }

Result<void> HttpManagerClient::ReportVerdict(int64_t task_id, const VerdictReport& report) {
  return Discard(api_.Call("POST", TaskPath(task_id) + "/verdict", ToJson(report)));
}

}  // namespace inferix::net
