#pragma once
// A node's identity: enrollment with the manager and the credentials kept in its data folder.
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/manager_client.hpp"

namespace inferix::agent {

/// What a node keeps in `<data>/node.json` (mode 0600) after enrolling.
struct NodeCredentials {
  int64_t node_id = 0;
  std::string node_token;
  std::string private_key;  ///< Ed25519 seed, hex
  std::string public_key;
};

/// Loads the node's credentials from `data_dir`, or enrolls with `enrollment_token` and saves them; either
/// way the manager client then calls with the node's token. `role` is "worker" or "verifier";
/// `capabilities` describes the machine.
Result<NodeCredentials> LoadOrEnroll(net::ManagerClient& manager, const std::filesystem::path& data_dir,
                                     const std::string& enrollment_token, const std::string& name,
                                     const std::string& role, const nlohmann::json& capabilities);

}  // namespace inferix::agent
