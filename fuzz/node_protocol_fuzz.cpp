// Fuzz target: the node protocol's decoders of what a manager answers (net/node_protocol.hpp). For any JSON,
// each decoder answers a value or an error, never throws; a value holds only numbers within their ranges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "net/node_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j =
      nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  if (auto t = inferix::net::ClaimedTaskFromJson(j); t.ok()) {
    if (t->task_id < 0 || t->job_id < 0 || t->lease_ms < 0 || t->heartbeat_ms < 1) std::abort();
    for (int f : t->frames) {
      if (f < -1048574 || f > 1048574) std::abort();
    }
    for (const auto& f : t->scene.files) {
      if (f.size < 0) std::abort();
    }
    if (t->check && (t->check->exact_rate < 0 || t->check->exact_rate > 1 || t->check->regions < 0))
      std::abort();
  }
  if (auto s = inferix::net::SceneFromJson(j); s.ok()) {
    if (s->resolution_percentage < 0 || s->resolution_percentage > 100) std::abort();
  }
  (void)inferix::net::HeartbeatAnswerFromJson(j);
  (void)inferix::net::UploadSlotFromJson(j);
  if (auto r = inferix::net::RegisterAnswerFromJson(j); r.ok() && r->node_id < 0) std::abort();
  return 0;
}
