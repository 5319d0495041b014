#include "agent/credentials.hpp"

#include "core/crypto.hpp"
#include "core/files.hpp"

namespace inferix::agent {

using json = nlohmann::json;

Result<NodeCredentials> LoadOrEnroll(net::ManagerClient& manager, const std::filesystem::path& data_dir,
                                     const std::string& enrollment_token, const std::string& name,
                                     const std::string& role, const json& capabilities) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return MakeError(Errc::kInternal, "cannot create " + data_dir.string() + ": " + ec.message());
  const auto path = data_dir / "node.json";
  if (std::filesystem::exists(path, ec)) {
    auto text = ReadFile(path);
    if (!text) return text.error();
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("node_token")) {
      return MakeError(Errc::kInvalidArgument, path.string() + " is damaged; remove it and enroll again");
    }
    NodeCredentials c{j.value("node_id", int64_t{0}), j.value("node_token", ""), j.value("private_key", ""),
                      j.value("public_key", "")};
    manager.SetToken(c.node_token);
    return c;
  }
  if (enrollment_token.empty()) {
    return MakeError(Errc::kUnauthenticated, "this node has no credentials in " + data_dir.string() +
                                                 "; pass --token with an enrollment token");
  }
  auto keys = Ed25519Generate();
  manager.SetToken("");
  auto r = manager.Register({enrollment_token, name, role, keys.public_hex, capabilities});
  if (!r) return r.error();
  NodeCredentials c{r->node_id, r->node_token, keys.private_hex, keys.public_hex};
  json saved = {{"node_id", c.node_id},
                {"node_token", c.node_token},
                {"private_key", c.private_key},
                {"public_key", c.public_key},
                {"manager", manager.manager_url()}};
  INFERIX_TRY(WriteFileAtomic(path, saved.dump(2)));
  manager.SetToken(c.node_token);
  return c;
}

}  // namespace inferix::agent
