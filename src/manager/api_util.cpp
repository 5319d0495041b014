#include "manager/api_util.hpp"

#include <spdlog/spdlog.h>

#include "core/text.hpp"
#include "domain/frame_spec.hpp"

namespace inferix::manager {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;

int HttpStatus(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return 400;
    case Errc::kUnauthenticated:
      return 401;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
      return 409;
    case Errc::kTooLarge:
      return 413;
    case Errc::kUnavailable:
      return 503;
    case Errc::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  // A string cut inside a UTF-8 sequence (an excerpt of a bad request in an error message) becomes U+FFFD
  // rather than an exception and a 500 (api_request_fuzz found one).
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse Fail(const Error& e) {
  if (e.code == Errc::kInternal) spdlog::error("internal error: {}", SafeText(e.message, 2000));
  return Json(HttpStatus(e.code), {{"error", {{"code", ErrcName(e.code)}, {"message", e.message}}}});
}
HttpResponse Fail(Errc code, const std::string& message) { return Fail(MakeError(code, message)); }

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::optional<int64_t> ParseId(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}
std::optional<int> ParseFrame(const std::string& s) {
  bool neg = !s.empty() && s[0] == '-';
  auto v = ParseId(neg ? s.substr(1) : s);
  if (!v || *v > domain::kMaxFrameNumber) return std::nullopt;
  return static_cast<int>(neg ? -*v : *v);
}

// A JSON object body with only the allowed fields.
Result<json> ParseBody(const HttpRequest& req, const std::set<std::string>& allowed) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return MakeError(Errc::kInvalidArgument, "request body is not valid JSON");
  if (!body.is_object()) return MakeError(Errc::kInvalidArgument, "request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (!allowed.contains(key)) return MakeError(Errc::kInvalidArgument, "unknown field \"" + key + "\"");
  }
  return body;
}

}  // namespace inferix::manager
