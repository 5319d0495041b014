#include "domain/tokens.hpp"

#include <cctype>

#include "core/crypto.hpp"

namespace inferix::domain {

std::string NewToken(TokenKind kind) {
  const char* prefix = kind == TokenKind::kUser ? "ixu_" : kind == TokenKind::kEnrollment ? "ixe_" : "ixn_";
  return prefix + RandomHex(32);
}

std::optional<TokenKind> TokenKindOf(std::string_view token) {
  if (token.size() != 68 || !IsSha256Hex(token.substr(4))) return std::nullopt;
  auto prefix = token.substr(0, 4);
  if (prefix == "ixu_") return TokenKind::kUser;
  if (prefix == "ixe_") return TokenKind::kEnrollment;
  if (prefix == "ixn_") return TokenKind::kNode;
  return std::nullopt;
}

std::string TokenHash(std::string_view token) { return Sha256Hex(token); }

std::string_view BearerToken(std::string_view authorization) {
  // The scheme is case-insensitive (RFC 7235 section 2.1): "bearer" and "BEARER" are "Bearer" too.
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  auto token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

std::string FrameReportMessage(int64_t task_id, int frame, std::string_view sha256,
                               std::string_view blob_key) {
  return "inferix-frame-v1|" + std::to_string(task_id) + "|" + std::to_string(frame) + "|" +
         std::string(sha256) + "|" + std::string(blob_key);
}

std::string VerdictMessage(int64_t task_id, std::string_view verdict) {
  return "inferix-verdict-v1|" + std::to_string(task_id) + "|" + std::string(verdict);
}

}  // namespace inferix::domain
