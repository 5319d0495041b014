#pragma once
// Credentials: random bearer tokens with a kind prefix; only their SHA-256 is ever stored.
#include <optional>
#include <string>
#include <string_view>

namespace inferix::domain {

/// Token kinds, visible in the prefix so a leaked token is recognisable.
enum class TokenKind { kUser, kEnrollment, kNode };

/// A new random token: "ixu_", "ixe_" or "ixn_" followed by 64 hex digits.
std::string NewToken(TokenKind kind);
/// The kind of a well-formed token, or std::nullopt.
std::optional<TokenKind> TokenKindOf(std::string_view token);
/// What the store keeps instead of the token.
std::string TokenHash(std::string_view token);
/// The token of an "Authorization: Bearer <token>" header value, or "".
std::string_view BearerToken(std::string_view authorization);
/// The canonical text a node signs when it reports a rendered frame.
std::string FrameReportMessage(int64_t task_id, int frame, std::string_view sha256,
                               std::string_view blob_key);
/// The canonical text a verifier signs with its verdict.
std::string VerdictMessage(int64_t task_id, std::string_view verdict);

}  // namespace inferix::domain
