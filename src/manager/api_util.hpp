#pragma once
// Request parsing and JSON answers shared by the API's handlers.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// The HTTP status of an error code.
int HttpStatus(Errc code);
/// A JSON answer.
net::HttpResponse Json(int status, const nlohmann::json& body);
/// The JSON error answer {"error": {"code", "message"}} for an error.
net::HttpResponse Fail(const Error& e);
/// The JSON error answer for a code and message.
net::HttpResponse Fail(Errc code, const std::string& message);
/// The non-empty segments of a path.
std::vector<std::string> Split(const std::string& path);
/// A positive decimal id, or nullopt.
std::optional<int64_t> ParseId(const std::string& s);
/// A frame number within Blender's limits, or nullopt.
std::optional<int> ParseFrame(const std::string& s);
/// A JSON object body with only the allowed fields; a clear error otherwise.
Result<nlohmann::json> ParseBody(const net::HttpRequest& req, const std::set<std::string>& allowed);

/// A field of a JSON object with its type checked; `fallback` when optional and absent or null.
template <class T>
Result<T> Field(const nlohmann::json& body, const std::string& name, bool required = true, T fallback = T{}) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return MakeError(Errc::kInvalidArgument, "missing field \"" + name + "\"");
    return fallback;
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return MakeError(Errc::kInvalidArgument, "field \"" + name + "\" has the wrong type");
  }
}

}  // namespace inferix::manager
