#include "manager/api_metrics.hpp"

#include <algorithm>
#include <array>

#include "manager/blob_endpoint.hpp"

namespace inferix::manager {
namespace {

// The method as a label: the methods HTTP defines, any other "other" (a client cannot add label values).
std::string MethodLabel(const std::string& method) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",    "HEAD",  "POST",   "PUT",
                                                             "DELETE", "PATCH", "OPTIONS"};
  for (std::string_view m : kKnown) {
    if (method == m) return method;
  }
  return "other";
}

std::string CodeLabel(int status) { return std::to_string(status / 100) + "xx"; }

// The kinds of upload the manager handles itself (docs/operations.md, "Metrics and alerts").
constexpr std::string_view kSceneFile = "scene_file";      // PUT /files/{sha256}: the bytes came here
constexpr std::string_view kSceneDirect = "scene_direct";  // POST /files/{sha256}/complete: to the store
constexpr std::string_view kOutputUrl = "output_url";      // an output's upload URL handed out
constexpr std::string_view kOutput = "output";             // PUT through a presigned URL here: an output
constexpr std::string_view kObject = "object";             // ... any other object

}  // namespace

RequestMetrics::RequestMetrics(metrics::Registry& registry)
    : registry_(registry),
      requests_(registry.Counters("inferix_http_requests_total",
                                  "HTTP requests answered, by route pattern, method and status class "
                                  "(a long poll once, when it answers).",
                                  {"route", "method", "code"})),
      seconds_(registry.Histograms("inferix_http_request_duration_seconds",
                                   "Time handlers took, by route pattern and method: each run of a handler, "
                                   "a long poll's runs while it waits included, its waiting not.",
                                   {"route", "method"}, metrics::RequestSecondsBuckets())),
      uploads_(registry.Counters("inferix_uploads_total",
                                 "Uploads the manager handled, by kind: scene files received (scene_file) or "
                                 "recorded from the object store (scene_direct), upload URLs for outputs "
                                 "handed out (output_url), objects stored through its presigned URLs "
                                 "(output, object).",
                                 {"kind"})),
      upload_bytes_(registry.Counters("inferix_upload_bytes_total",
                                      "Bytes of the uploads that came through the manager, by kind.",
                                      {"kind"})),
      claimed_(registry.Counters("inferix_tasks_claimed_total",
                                 "Tasks handed out to nodes (claims answered with a task), by kind.",
                                 {"kind"})) {
  // Every kind from the start, at 0, so that a rate over them exists before the first upload.
  for (std::string_view kind : {kSceneFile, kSceneDirect, kOutputUrl, kOutput, kObject})
    uploads_.With({kind});
  for (std::string_view kind : {kSceneFile, kOutput, kObject}) upload_bytes_.With({kind});
  for (std::string_view kind : {"render", "verify"}) claimed_.With({kind});
}

void RequestMetrics::Record(const net::HttpRequest& req, const Routed& routed,
                            const net::HttpResponse& response, double seconds) {
  const std::string& route = routed.route;
  seconds_.With({route, MethodLabel(req.method)}).Observe(seconds);
  if (response.retry_after_ms > 0) return;  // a long poll still waiting
  Count(req, route, response);
  if (response.status < 200 || response.status >= 300) return;
  // A claim answers 200 with a task, 204 without: workers claim render tasks, verifiers checks.
  if (response.status == 200 && route == "/api/v1/tasks/claim" && !routed.node_role.empty()) {
    claimed_.With({routed.node_role == "worker" ? "render" : "verify"}).Inc();
  }
  std::string_view kind;
  if (req.method == "PUT" && route == "/api/v1/files/:sha256") kind = kSceneFile;
  if (req.method == "POST" && route == "/api/v1/files/:sha256/complete") kind = kSceneDirect;
  if (req.method == "POST" && route == "/api/v1/tasks/:id/frames/:frame/upload") kind = kOutputUrl;
  if (kind.empty()) return;
  uploads_.With({kind}).Inc();
  if (kind == kSceneFile) upload_bytes_.With({kind}).Inc(static_cast<double>(req.body_size));
}

void RequestMetrics::RecordBlob(const net::HttpRequest& req, const net::HttpResponse& response) {
  Count(req, "/api/v1/blobs/:key", response);
  if (req.method != "PUT" || response.status < 200 || response.status >= 300) return;
  const bool output =
      req.path.substr(std::min(req.path.size(), kBlobPathPrefix.size())).starts_with("outputs/");
  const std::string_view kind = output ? kOutput : kObject;
  uploads_.With({kind}).Inc();
  upload_bytes_.With({kind}).Inc(static_cast<double>(req.body_size));
}

void RequestMetrics::Count(const net::HttpRequest& req, std::string_view route,
                           const net::HttpResponse& response) {
  requests_.With({route, MethodLabel(req.method), CodeLabel(response.status)}).Inc();
}

}  // namespace inferix::manager
