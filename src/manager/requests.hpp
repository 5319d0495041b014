#pragma once
// Every request body the API accepts, as a typed struct decoded in one declarative step: the fields it may
// have, their types, which are required and their defaults, and the checks of their values. A handler gets a
// struct or the first error, worded as clients have always seen it.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/checked_number.hpp"
#include "core/result.hpp"
#include "core/text.hpp"  // SafeText, for the handlers that log what a request held
#include "domain/model.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// Bounds of what a request may hold (docs/operations.md, "Limits of requests").
inline constexpr int64_t kMinPriority = -1000;
inline constexpr int64_t kMaxPriority = 1000;
/// The most seconds a node may report for a render or a check (30 days).
inline constexpr double kMaxReportedSeconds = 30.0 * 24 * 3600;
/// The largest size a job may state for one of its files (1 TiB).
inline constexpr int64_t kMaxStatedFileBytes = int64_t{1} << 40;
/// What is kept of a node's failure message and of a verifier's detail; the rest is cut with a marker.
inline constexpr size_t kMaxNodeMessageBytes = 4096;
/// The largest check method a verdict may carry, as JSON.
inline constexpr size_t kMaxMethodBytes = 16384;

/// Reads the fields of a JSON object in the order they are declared, keeping the first error.
class BodyReader {
 public:
  explicit BodyReader(const nlohmann::json& body) : body_(body) {}

  /// A field that must be present (not null) and of type T.
  template <class T>
  BodyReader& Required(const char* name, T& out) {
    return Read(name, out, true);
  }
  /// A field that may be absent or null (then `out` keeps its value, the default).
  template <class T>
  BodyReader& Optional(const char* name, T& out) {
    return Read(name, out, false);
  }
  /// A whole-number field within [min, max] (CheckedInteger: no fraction, no boolean, no overflow); absent or
  /// null keeps `out` unless `required`.
  template <class T>
  BodyReader& Integer(const char* name, T& out, int64_t min, int64_t max, bool required = false) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    const nlohmann::json* v = Find(name, required);
    if (v == nullptr) return *this;
    auto checked = CheckedInteger(*v, name, min, max);
    if (checked) {
      out = static_cast<T>(*checked);
    } else {
      error_ = checked.error();
    }
    return *this;
  }
  /// A finite number field within [min, max] (CheckedNumber); absent or null keeps `out` unless `required`.
  BodyReader& Number(const char* name, double& out, double min, double max, bool required = false);
  /// A text field; one longer than `max_bytes` is cut to that size with a marker (CapText).
  BodyReader& Text(const char* name, std::string& out, size_t max_bytes, bool required = false);
  /// Records `message` (kInvalidArgument) unless `ok` or an earlier error.
  BodyReader& Check(bool ok, const std::string& message);
  /// Ok, or the first error.
  Result<void> Done() const;
  bool ok() const { return !error_; }

 private:
  // The field, or null when it is absent or null (an error when `required`) or an error came before.
  const nlohmann::json* Find(const char* name, bool required);

  template <class T>
  BodyReader& Read(const char* name, T& out, bool required) {
    static_assert(!std::is_arithmetic_v<T> || std::is_same_v<T, bool>,
                  "numbers are read with Integer or Number, which check their range");
    if (error_) return *this;
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) {
      if (required) error_ = MakeError(Errc::kInvalidArgument, std::string("missing field \"") + name + "\"");
      return *this;
    }
    try {
      out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
      error_ = MakeError(Errc::kInvalidArgument, std::string("field \"") + name + "\" has the wrong type");
    }
    return *this;
  }

  const nlohmann::json& body_;
  std::optional<Error> error_;
};

/// POST /files/check.
struct CheckFilesRequest {
  std::vector<std::string> sha256;
};
Result<CheckFilesRequest> DecodeCheckFiles(const net::HttpRequest& req);

/// POST /jobs: the job as submitted (files, frames, format, scene fields), not yet checked against the
/// uploaded files.
struct CreateJobRequest {
  domain::Job job;
};
Result<CreateJobRequest> DecodeCreateJob(const net::HttpRequest& req);

/// POST /nodes/register.
struct RegisterRequest {
  std::string enrollment_token;
  std::string name;
  domain::NodeRole role = domain::NodeRole::kWorker;
  std::string public_key;
  nlohmann::json capabilities = nlohmann::json::object();
};
Result<RegisterRequest> DecodeRegister(const net::HttpRequest& req);

/// POST /nodes/capabilities.
struct CapabilitiesRequest {
  nlohmann::json capabilities;
};
Result<CapabilitiesRequest> DecodeCapabilities(const net::HttpRequest& req);

/// POST /tasks/claim.
struct ClaimRequest {
  std::vector<std::string> cached;  ///< hashes of the scene files the node holds
  std::string slot;                 ///< the node's slot that asks ("cpu", "cuda:0"); "": its first
};
Result<ClaimRequest> DecodeClaim(const net::HttpRequest& req);

/// POST /tasks/{id}/fail.
struct FailRequest {
  std::string error;
};
Result<FailRequest> DecodeFail(const net::HttpRequest& req);

/// POST /tasks/{id}/release: why the node hands the task back.
struct ReleaseRequest {
  std::string reason;
};
Result<ReleaseRequest> DecodeRelease(const net::HttpRequest& req);

/// POST /nodes/availability: why the node takes no work now.
struct AvailabilityRequest {
  std::string availability;  ///< "" (takes work), "paused", "draining", "outside hours" or "owner busy"
  std::string reason;
};
Result<AvailabilityRequest> DecodeAvailability(const net::HttpRequest& req);

/// POST /tasks/{id}/frames/{frame}: a signed report of one rendered frame.
struct FrameReportRequest {
  std::string sha256;
  std::string key;
  double render_seconds = 0.0;
  double render_cpu_seconds = 0.0;
  std::string signature;
};
Result<FrameReportRequest> DecodeFrameReport(const net::HttpRequest& req);

/// POST /tasks/{id}/verdict: a verifier's signed verdict.
struct VerdictRequest {
  std::string verdict;
  std::string detail;
  double verify_seconds = 0.0;
  double verify_cpu_seconds = 0.0;
  nlohmann::json method = nlohmann::json::object();
  std::optional<bool> matches_original;
  std::string signature;
};
Result<VerdictRequest> DecodeVerdict(const net::HttpRequest& req);

}  // namespace inferix::manager
