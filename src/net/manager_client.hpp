#pragma once
// What a node (worker or verifier) asks of the manager, behind an interface: the node's code depends on
// ManagerClient, the production wiring gives it an HttpManagerClient, and unit tests give it a fake.
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/node_client.hpp"
#include "net/node_protocol.hpp"

namespace inferix::net {

/// The node protocol, one call per endpoint. Errors follow ErrorFromResponse: kUnavailable when the manager
/// cannot be reached (retry with backoff), the HTTP status's code otherwise (kConflict: the task is no longer
/// the node's). Heartbeat may be called from another thread than the other calls; the others from one
/// thread at a time.
class ManagerClient {
 public:
  virtual ~ManagerClient() = default;
  /// The manager's base URL (kept in the node's credentials file).
  virtual std::string manager_url() const = 0;
  /// The bearer token of the later calls: the node's token once it has one, empty to enroll.
  virtual void SetToken(const std::string& token) = 0;
  /// POST /nodes/register.
  virtual Result<RegisterAnswer> Register(const RegisterRequest& request) = 0;
  /// POST /nodes/capabilities: what a node started again lends now.
  virtual Result<void> UpdateCapabilities(const nlohmann::json& capabilities) = 0;
  /// POST /tasks/claim (long-poll); nullopt when the manager has no task for the node.
  virtual Result<std::optional<ClaimedTask>> Claim(const ClaimRequest& request) = 0;
  /// POST /tasks/{id}/heartbeat with the task's progress so far (HeartbeatRequest): renews the lease while
  /// the task shows progress; the answer says whether to go on.
  virtual Result<HeartbeatAnswer> Heartbeat(int64_t task_id, const HeartbeatRequest& request) = 0;
  /// POST /tasks/{id}/frames/{frame}/upload: where to upload a rendered frame (its digest and size given).
  virtual Result<UploadSlot> RequestUpload(int64_t task_id, int frame, const UploadRequest& request) = 0;
  /// PUT of a file to a slot's signed URL (no token), with the headers the slot names.
  virtual Result<void> Upload(const UploadSlot& slot, const std::filesystem::path& file) = 0;
  /// GET of a signed URL into `dest`, atomically.
  virtual Result<void> Download(const std::string& signed_url, const std::filesystem::path& dest) = 0;
  /// POST /tasks/{id}/frames/{frame}: a rendered, uploaded frame.
  virtual Result<void> ReportFrame(int64_t task_id, int frame, const FrameReport& report) = 0;
  /// POST /tasks/{id}/done.
  virtual Result<void> CompleteTask(int64_t task_id) = 0;
  /// POST /tasks/{id}/fail.
  virtual Result<void> FailTask(int64_t task_id, const std::string& error) = 0;
  /// POST /tasks/{id}/verdict.
  virtual Result<void> ReportVerdict(int64_t task_id, const VerdictReport& report) = 0;
  /// POST /tasks/{id}/release: hands a task back unfinished, not as a failure (its owner needs the machine).
  virtual Result<void> ReleaseTask(int64_t task_id, const std::string& reason) = 0;
  /// POST /nodes/availability: why the node takes no work now ("" and "": it takes work).
  virtual Result<void> SetAvailability(const std::string& availability, const std::string& reason) = 0;
  /// GET /nodes/me: what the manager knows of this node (its owner's view).
  virtual Result<nlohmann::json> Self() = 0;
};

/// The real ManagerClient: JSON over HTTP(S) with ApiClient. Transfers end early when `stop` becomes true;
/// heartbeats go over a connection of their own (shorter limits), so that they are not queued behind an
/// upload.
class HttpManagerClient : public ManagerClient {
 public:
  HttpManagerClient(const std::string& manager_url, const std::string& ca_file,
                    const std::atomic<bool>* stop = nullptr);
  std::string manager_url() const override { return api_.manager_url(); }
  void SetToken(const std::string& token) override;
  Result<RegisterAnswer> Register(const RegisterRequest& request) override;
  Result<void> UpdateCapabilities(const nlohmann::json& capabilities) override;
  Result<std::optional<ClaimedTask>> Claim(const ClaimRequest& request) override;
  Result<HeartbeatAnswer> Heartbeat(int64_t task_id, const HeartbeatRequest& request) override;
  Result<UploadSlot> RequestUpload(int64_t task_id, int frame, const UploadRequest& request) override;
  Result<void> ReleaseTask(int64_t task_id, const std::string& reason) override;
  Result<void> SetAvailability(const std::string& availability, const std::string& reason) override;
  Result<nlohmann::json> Self() override;
  Result<void> Upload(const UploadSlot& slot, const std::filesystem::path& file) override;
  Result<void> Download(const std::string& signed_url, const std::filesystem::path& dest) override;
  Result<void> ReportFrame(int64_t task_id, int frame, const FrameReport& report) override;
  Result<void> CompleteTask(int64_t task_id) override;
  Result<void> FailTask(int64_t task_id, const std::string& error) override;
  Result<void> ReportVerdict(int64_t task_id, const VerdictReport& report) override;

 private:
  ApiClient api_;
  std::mutex heartbeat_mu_;
  ApiClient heartbeat_api_;
};

}  // namespace inferix::net
