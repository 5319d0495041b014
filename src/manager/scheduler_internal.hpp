#pragma once
// Helpers shared by scheduler.cpp and verdicts.cpp (one class, two files); not for other modules.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"

namespace inferix::manager::internal {

inline bool Contains(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// The value of a store lookup, or kNotFound naming `what`.
template <class T>
Result<T> Found(Result<std::optional<T>> r, const std::string& what) {
  if (!r) return r.error();
  if (!r->has_value()) return MakeError(Errc::kNotFound, what + " not found");
  return std::move(**r);
}

/// A JSON object from stored text; an empty object for anything else.
inline nlohmann::json ParseObject(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

inline Error NotARenderTask(int64_t task_id) {
  return MakeError(Errc::kInvalidArgument,
                   "task " + std::to_string(task_id) + " is a verification task; report its verdict instead");
}

inline std::string JobEvent(const domain::Job& job) {
  return nlohmann::json{{"job_id", job.id}, {"state", domain::ToString(job.state)}, {"message", job.message}}
      .dump();
}

/// A frame event: the frame's state and verdict, and the output's worker, class and method where there is
/// one.
inline std::string FrameEvent(const domain::Job& job, int frame, domain::FrameState state,
                              domain::Verdict verdict, const domain::Output& out) {
  nlohmann::json j = {{"job_id", job.id},
                      {"frame", frame},
                      {"state", domain::ToString(state)},
                      {"verdict", domain::ToString(verdict)}};
  if (out.node_id != 0) {
    j["worker_id"] = out.node_id;
    j["output_id"] = out.id;
    j["class"] = out.det_class;
  }
  nlohmann::json method = ParseObject(out.method);
  if (!method.empty()) j["method"] = method;
  return j.dump();
}

}  // namespace inferix::manager::internal
