#include "blob/signed_url.hpp"

#include <charconv>

#include "core/crypto.hpp"

namespace inferix::blob {
namespace {

std::string Payload(std::string_view method, std::string_view key, int64_t expires_s) {
  return std::string(method) + "\n" + std::string(key) + "\n" + std::to_string(expires_s);
}

}  // namespace

std::string SignQuery(std::string_view secret, std::string_view method, std::string_view key,
                      int64_t expires_s) {
  return "method=" + std::string(method) + "&expires=" + std::to_string(expires_s) +
         "&sig=" + HmacSha256Hex(secret, Payload(method, key, expires_s));
}

std::string SignedPath(std::string_view secret, std::string_view method, std::string_view key,
                       int64_t expires_s) {
  return "/api/v1/blobs/" + std::string(key) + "?" + SignQuery(secret, method, key, expires_s);
}

Result<void> VerifySignature(std::string_view secret, std::string_view method, std::string_view key,
                             std::string_view expires, std::string_view sig, int64_t now_s) {
  int64_t expires_s = 0;
  auto [ptr, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), expires_s);
  if (ec != std::errc() || ptr != expires.data() + expires.size()) {
    return MakeError(Errc::kPermissionDenied,
                     "signed URL has no valid expiry; ask the manager for a new one");
  }
  if (!ConstantTimeEqual(HmacSha256Hex(secret, Payload(method, key, expires_s)), sig)) {
    return MakeError(Errc::kPermissionDenied, "signed URL does not match this object and method");
  }
  if (expires_s < now_s)
    return MakeError(Errc::kPermissionDenied, "signed URL has expired; ask the manager for a new one");
  return Ok();
}

}  // namespace inferix::blob
