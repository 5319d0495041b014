#include "manager/enrollment.hpp"

#include "domain/tokens.hpp"
#include "manager/codec.hpp"

namespace inferix::manager {

Result<Enrolled> Enroll(domain::Store& store, Scheduler& scheduler, const Clock& clock,
                        const RegisterRequest& request) {
  domain::Node node;
  node.name = request.name;
  node.role = request.role;
  node.public_key = request.public_key;
  node.capabilities_json = request.capabilities.dump();
  node.det_class = DefaultClassOf(request.capabilities);
  node.last_seen_ms = clock.NowMs();
  Enrolled enrolled{0, domain::NewToken(domain::TokenKind::kNode)};
  const std::string hash = domain::TokenHash(request.enrollment_token);
  INFERIX_TRY(store.Transaction([&]() -> Result<void> {
    auto found = store.FindEnrollment(hash, clock.NowMs());
    if (!found) return found.error();
    if (!found->has_value()) {
      return MakeError(Errc::kUnauthenticated,
                       "enrollment token is unknown, expired or already used; ask the operator for a new one "
                       "(inferix admin enroll create)");
    }
    if ((*found)->role != request.role) {
      const std::string role(domain::ToString((*found)->role));
      return MakeError(Errc::kPermissionDenied, "enrollment token is for a " + role + ", not a " +
                                                    std::string(domain::ToString(request.role)) +
                                                    "; it is still good for a " + role);
    }
    auto consumed = store.ConsumeEnrollment(hash, clock.NowMs());
    if (!consumed) return consumed.error();
    if (!consumed->has_value()) return MakeError(Errc::kUnauthenticated, "enrollment token already used");
    node.owner_id = (*consumed)->owner_id;
    auto made = store.CreateNode(node, domain::TokenHash(enrolled.node_token));
    if (!made) return made.error();
    enrolled.node_id = *made;
    return scheduler.WorkerChanged(enrolled.node_id);  // joined
  }));
  scheduler.NodesChanged(request.role);  // a verifier's class may release held work
  return enrolled;
}

Result<domain::Node> UpdateCapabilities(domain::Store& store, Scheduler& scheduler, int64_t node_id,
                                        const nlohmann::json& capabilities) {
  domain::Node node;
  INFERIX_TRY(store.Transaction([&]() -> Result<void> {
    auto stored = store.GetNode(node_id);  // locked until commit on PostgreSQL
    if (!stored) return stored.error();
    if (!stored->has_value())
      return MakeError(Errc::kNotFound, "node " + std::to_string(node_id) + " not found");
    node = std::move(**stored);
    node.capabilities_json = capabilities.dump();
    node.det_class = DefaultClassOf(capabilities);
    INFERIX_TRY(store.UpdateNode(node));
    return scheduler.WorkerChanged(node.id);
  }));
  scheduler.NodesChanged(node.role);
  return node;
}

}  // namespace inferix::manager
