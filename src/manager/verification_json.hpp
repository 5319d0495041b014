#pragma once
// The stored form of a verification's record (domain::VerificationRecord): the JSON object kept in
// Output::method, which the API also shows as the output's "method". Written byte for byte as the manager
// wrote it before the record was typed (nlohmann's objects keep their keys sorted), so records old and new
// read back alike. JSON stays out of `domain` (it includes only `core` and the standard library).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "domain/verification.hpp"

namespace inferix::manager {

namespace verification_json_detail {

using nlohmann::json;

/// An integer that fits `T` (what the manager writes), else nullopt (kept unparsed).
template <class T>
std::optional<T> IntOf(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(u);
  }
  if (!v.is_number_integer()) return std::nullopt;
  const auto i = v.get<int64_t>();
  if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(i);
}

inline bool IsRegion(const json& r) {
  return r.is_array() && r.size() == 4 &&
         std::all_of(r.begin(), r.end(), [](const json& v) { return IntOf<int64_t>(v).has_value(); });
}

inline domain::VerificationRecord FromObject(const json& j) {
  domain::VerificationRecord r;
  for (const auto& [key, v] : j.items()) {
    bool typed = true;
    if (key == "layers" && IntOf<int>(v)) {
      r.layers = IntOf<int>(v);
    } else if (key == "regions" && v.is_array() && std::all_of(v.begin(), v.end(), IsRegion)) {
      r.regions.emplace();
      for (const auto& q : v) {
        r.regions->push_back(
            {*IntOf<int64_t>(q[0]), *IntOf<int64_t>(q[1]), *IntOf<int64_t>(q[2]), *IntOf<int64_t>(q[3])});
      }
    } else if (key == "level" && IntOf<int>(v)) {
      r.level = IntOf<int>(v);
    } else if (key == "verifier_id" && IntOf<int64_t>(v)) {
      r.verifier_id = IntOf<int64_t>(v);
    } else if (key == "verifier" && v.is_string()) {
      r.verifier = v.get<std::string>();
    } else if (key == "verifier_class" && v.is_string()) {
      r.verifier_class = v.get<std::string>();
    } else if (key == "worker_class" && v.is_string()) {
      r.worker_class = v.get<std::string>();
    } else if (key == "verdict" && v.is_string() && domain::ParseCheckVerdict(v.get<std::string>())) {
      r.verdict = domain::ParseCheckVerdict(v.get<std::string>());
    } else if (key == "discarded_because" && IntOf<int64_t>(v)) {
      r.discarded_because = IntOf<int64_t>(v);
    } else if (key == "rechecked" && v.is_boolean() && v.get<bool>()) {
      r.rechecked = true;
    } else if (key == "settled_by_output" && IntOf<int64_t>(v)) {
      r.settled_by_output = IntOf<int64_t>(v);
    } else if (key == "discard_check" && v.is_string() && v.get<std::string>() == "rejected") {
      r.discard_check_rejected = true;
    } else if (key == "matches_second_render" && v.is_boolean()) {
      r.matches_second_render = v.get<bool>();
    } else if (key == "history" && v.is_array() && !v.empty() &&
               std::all_of(v.begin(), v.end(),
                           [](const json& e) { return e.is_object() && !e.contains("history"); })) {
      for (const auto& e : v) r.history.push_back(FromObject(e));
    } else {
      typed = false;
    }
    if (!typed) r.unparsed.emplace_back(key, v.dump());
  }
  return r;
}

inline json ToObject(const domain::VerificationRecord& r) {
  json j = json::object();
  if (r.layers) j["layers"] = *r.layers;
  if (r.regions) {
    j["regions"] = json::array();
    for (const auto& q : *r.regions) j["regions"].push_back({q.x0, q.y0, q.x1, q.y1});
  }
  if (r.level) j["level"] = *r.level;
  if (r.verifier_id) j["verifier_id"] = *r.verifier_id;
  if (r.verifier) j["verifier"] = *r.verifier;
  if (r.verifier_class) j["verifier_class"] = *r.verifier_class;
  if (r.worker_class) j["worker_class"] = *r.worker_class;
  if (r.verdict) j["verdict"] = std::string(domain::ToString(*r.verdict));
  if (r.discarded_because) j["discarded_because"] = *r.discarded_because;
  if (r.rechecked) j["rechecked"] = true;
  if (r.settled_by_output) j["settled_by_output"] = *r.settled_by_output;
  if (r.discard_check_rejected) j["discard_check"] = "rejected";
  if (r.matches_second_render) j["matches_second_render"] = *r.matches_second_render;
  if (!r.history.empty()) {
    j["history"] = json::array();
    for (const auto& h : r.history) j["history"].push_back(ToObject(h));
  }
  for (const auto& [key, text] : r.unparsed) j[key] = json::parse(text, nullptr, false);
  return j;
}

}  // namespace verification_json_detail

/// Reads a stored record; text that is not a JSON object (an output never checked has "") is an empty one.
inline domain::VerificationRecord VerificationRecordFromJson(std::string_view text) {
  const auto j = nlohmann::json::parse(text.empty() ? std::string_view("{}") : text, nullptr, false);
  return j.is_object() ? verification_json_detail::FromObject(j) : domain::VerificationRecord{};
}

/// The record as a JSON object.
inline nlohmann::json VerificationRecordToObject(const domain::VerificationRecord& r) {
  return verification_json_detail::ToObject(r);
}

/// The record as stored.
inline std::string VerificationRecordToJson(const domain::VerificationRecord& r) {
  return verification_json_detail::ToObject(r).dump();
}

}  // namespace inferix::manager
