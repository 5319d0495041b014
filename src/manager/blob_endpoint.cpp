#include "manager/blob_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/api_util.hpp"
#include "manager/dashboard.hpp"

namespace inferix::manager {
namespace {

constexpr std::string_view kOutputs = "outputs/";
constexpr std::string_view kNodePrefix = "node-";

// Reads a decimal integer (optionally negative) from `s` at `pos` up to `stop`, advancing past `stop`.
bool ReadNumber(std::string_view s, size_t& pos, char stop, int64_t& out) {
  const size_t end = s.find(stop, pos + 1);  // + 1: a leading '-' is part of the number
  if (end == std::string_view::npos) return false;
  auto [ptr, ec] = std::from_chars(s.data() + pos, s.data() + end, out);
  if (ec != std::errc() || ptr != s.data() + end) return false;
  pos = end + 1;
  return true;
}

// The job, task and frame of an output's key ("outputs/<job>/<task>_<frame>_<nonce>").
struct OutputOf {
  int64_t job = 0, task = 0, frame = 0;
};
std::optional<OutputOf> ParseOutputKey(std::string_view key) {
  OutputOf o;
  size_t pos = kOutputs.size();
  if (!key.starts_with(kOutputs) || !ReadNumber(key, pos, '/', o.job) || !ReadNumber(key, pos, '_', o.task) ||
      !ReadNumber(key, pos, '_', o.frame) || o.frame < INT32_MIN || o.frame > INT32_MAX)
    return std::nullopt;
  if (!domain::IsOutputKeyFor(key, o.job, o.task, static_cast<int>(o.frame))) return std::nullopt;
  return o;
}

// The answer for a full disk: 507, which says the server cannot store it now rather than a fault.
net::HttpResponse InsufficientStorage(const std::string& message) {
  return Json(507, {{"error", {{"code", "insufficient_storage"}, {"message", message}}}});
}

Result<void> CheckOutputUpload(domain::Store& store, const std::string& key, const std::string& issued_to) {
  auto output = ParseOutputKey(key);
  if (!output) return MakeError(Errc::kPermissionDenied, "this upload URL is not for a frame of a task");
  int64_t node_id = 0;
  if (!issued_to.starts_with(kNodePrefix) ||
      std::from_chars(issued_to.data() + kNodePrefix.size(), issued_to.data() + issued_to.size(), node_id)
              .ec != std::errc()) {
    return MakeError(Errc::kPermissionDenied,
                     "this upload URL was not issued to a node; ask the manager for a new one");
  }
  auto node = store.GetNode(node_id);
  if (!node) return node.error();
  if (!node->has_value() || (*node)->banned) {
    return MakeError(Errc::kPermissionDenied, "node " + std::to_string(node_id) +
                                                  " is banned or revoked: its upload URLs no longer work");
  }
  auto task = store.GetTask(output->task);
  if (!task) return task.error();
  if (!task->has_value() || (*task)->job_id != output->job || (*task)->node_id != node_id ||
      (*task)->state != domain::TaskState::kActive) {
    return MakeError(Errc::kPermissionDenied, "task " + std::to_string(output->task) +
                                                  " is no longer held by the node this URL was issued to; "
                                                  "its upload URLs no longer work");
  }
  auto reported = store.FindOutput(output->task, static_cast<int>(output->frame));
  if (!reported) return reported.error();
  if (reported->has_value()) {
    return MakeError(Errc::kConflict, "frame " + std::to_string(output->frame) + " of task " +
                                          std::to_string(output->task) +
                                          " is already reported; a reported frame is never replaced");
  }
  return Ok();
}

net::HttpResponse Upload(blob::FsObjectStore& objects, const UploadGate& gate, const net::HttpRequest& req,
                         const std::string& key, const blob::UrlTerms& terms) {
  const bool spooled = !req.body_file.empty();
  const uint64_t size = spooled ? req.body_size : req.body.size();
  if (size == 0) return Fail(Errc::kInvalidArgument, "empty upload");
  if (terms.max_bytes > 0 && size > static_cast<uint64_t>(terms.max_bytes)) {
    return Fail(Errc::kTooLarge, "upload of " + std::to_string(size) + " bytes is over the " +
                                     std::to_string(terms.max_bytes) +
                                     " bytes this URL allows (the manager's --max-output-bytes)");
  }
  auto there = objects.Stat(key);
  if (!there) return Fail(there.error());
  if (there->has_value()) {
    return Fail(Errc::kConflict,
                "object " + key +
                    " already exists and is never replaced; an upload URL stores one object, "
                    "once");
  }
  if (gate) {
    if (auto allowed = gate(key, terms.issued_to); !allowed) return Fail(allowed.error());
  }
  if (auto room = objects.CheckRoom(key); !room) return InsufficientStorage(room.error().message);
  std::string sha256;
  Result<void> stored = Ok();
  if (spooled) {
    sha256 = req.body_sha256;
    if (sha256.empty()) {
      auto hashed = Sha256File(req.body_file);
      if (!hashed) return Fail(hashed.error());
      sha256 = *hashed;
    }
    stored = objects.CreateFromFile(key, req.body_file, sha256);
  } else {
    sha256 = Sha256Hex(req.body);
    stored = objects.CreateFromBytes(key, req.body);
  }
  if (!stored) {
    if (stored.error().code == Errc::kUnavailable) return InsufficientStorage(stored.error().message);
    return Fail(stored.error());
  }
  return Json(200, {{"key", key}, {"sha256", sha256}, {"size", size}});
}

}  // namespace

std::string IssuedToNode(int64_t node_id) { return std::string(kNodePrefix) + std::to_string(node_id); }

UploadGate OutputUploadGate(domain::Store& store) {
  return [&store](const std::string& key, const std::string& issued_to) -> Result<void> {
    if (!key.starts_with(kOutputs)) return Ok();
    return CheckOutputUpload(store, key, issued_to);
  };
}

net::HttpResponse ServeBlob(blob::FsObjectStore& objects, const UploadGate& gate,
                            const net::HttpRequest& req) {
  const std::string key = req.path.substr(kBlobPathPrefix.size());
  auto terms = objects.VerifyPresigned(req.method, key, req.query);
  if (!terms) return Fail(terms.error());
  if (req.method == "GET") {
    net::HttpResponse r;
    auto served = objects.Serve(key, r, terms->sha256);
    if (!served) {
      if (served.error().code == Errc::kInternal) spdlog::error("{}", served.error().message);
      return Fail(served.error());
    }
    // Previews and videos are the manager's own files; a worker's upload is never shown as anything but bytes
    // to save, whatever it holds.
    r.content_type = domain::IsManagerMade(key) ? ContentTypeFor(key) : "application/octet-stream";
    r.headers["X-Content-Type-Options"] = "nosniff";
    r.headers["Content-Security-Policy"] = "default-src 'none'; sandbox";
    r.headers["Cache-Control"] = "private, max-age=3600";
    auto name = req.query.find("name");
    if (name != req.query.end() && IsSafeDownloadName(name->second))
      r.headers["Content-Disposition"] = "attachment; filename=\"" + name->second + "\"";
    return r;
  }
  if (req.method == "PUT") return Upload(objects, gate, req, key, *terms);
  return Fail(Errc::kInvalidArgument, "signed URLs support GET and PUT");
}

}  // namespace inferix::manager
