#pragma once
// Every request body the API accepts, as a typed struct decoded in one declarative step: the fields it may
// have, their types, which are required and their defaults, and the checks of their values. A handler gets a
// struct or the first error, worded as clients have always seen it.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "net/http.hpp"

namespace inferix::manager {

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
  /// Records `message` (kInvalidArgument) unless `ok` or an earlier error.
  BodyReader& Check(bool ok, const std::string& message);
  /// Ok, or the first error.
  Result<void> Done() const;
  bool ok() const { return !error_; }

 private:
  template <class T>
  BodyReader& Read(const char* name, T& out, bool required) {
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
};
Result<ClaimRequest> DecodeClaim(const net::HttpRequest& req);

/// POST /tasks/{id}/fail.
struct FailRequest {
  std::string error;
};
Result<FailRequest> DecodeFail(const net::HttpRequest& req);

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
