#pragma once
// Enrolling a node: a one-time enrollment token, good for one role, becomes a node with its own token.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/ports.hpp"
#include "manager/requests.hpp"
#include "manager/scheduler.hpp"

namespace inferix::manager {

/// A node just enrolled: its id and its token (shown once; the store keeps only its hash).
struct Enrolled {
  int64_t node_id = 0;
  std::string node_token;
};

/// Uses up the request's enrollment token and creates the node, in one transaction: a token is used up only
/// by the node it creates (never by a refused request, nor by a crash between the two writes). A token of
/// another role is refused and stays good for its own.
Result<Enrolled> Enroll(domain::Store& store, Scheduler& scheduler, const Clock& clock,
                        const RegisterRequest& request);

/// Records what node `node_id` lends now (its capabilities and the default class they give), reading the node
/// in the same transaction: its counters, trust and ban, which another manager may have changed since this
/// request authenticated it, are kept as stored. The node as saved.
Result<domain::Node> UpdateCapabilities(domain::Store& store, Scheduler& scheduler, int64_t node_id,
                                        const nlohmann::json& capabilities);

}  // namespace inferix::manager
