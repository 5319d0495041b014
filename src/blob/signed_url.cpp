#include "blob/signed_url.hpp"

#include <charconv>

#include "core/crypto.hpp"

namespace inferix::blob {
namespace {

// Everything the signature covers, one field a line; a field a URL leaves out signs as empty, so that no
// term can be added to or dropped from a URL without breaking its signature.
std::string Payload(std::string_view method, std::string_view key, int64_t expires_s, const UrlTerms& t) {
  return std::string(method) + "\n" + std::string(key) + "\n" + std::to_string(expires_s) + "\n" +
         std::to_string(t.max_bytes) + "\n" + t.issued_to + "\n" + t.sha256;
}

bool ParseInt(std::string_view s, int64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

bool ValidTerms(const UrlTerms& terms) {
  if (terms.max_bytes < 0 || terms.issued_to.size() > 64) return false;
  for (char c : terms.issued_to) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return terms.sha256.empty() || IsSha256Hex(terms.sha256);
}

std::string SignQuery(std::string_view secret, std::string_view method, std::string_view key,
                      int64_t expires_s, const UrlTerms& terms) {
  std::string q = "method=" + std::string(method) + "&expires=" + std::to_string(expires_s);
  if (terms.max_bytes > 0) q += "&max=" + std::to_string(terms.max_bytes);
  if (!terms.issued_to.empty()) q += "&to=" + terms.issued_to;
  if (!terms.sha256.empty()) q += "&sha256=" + terms.sha256;
  return q + "&sig=" + HmacSha256Hex(secret, Payload(method, key, expires_s, terms));
}

std::string SignedPath(std::string_view secret, std::string_view method, std::string_view key,
                       int64_t expires_s, const UrlTerms& terms) {
  return "/api/v1/blobs/" + std::string(key) + "?" + SignQuery(secret, method, key, expires_s, terms);
}

Result<UrlTerms> VerifySignature(std::string_view secret, std::string_view method, std::string_view key,
                                 const std::map<std::string, std::string>& query, int64_t now_s) {
  auto q = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  int64_t expires_s = 0;
  if (!ParseInt(q("expires"), expires_s)) {
    return MakeError(Errc::kPermissionDenied,
                     "signed URL has no valid expiry; ask the manager for a new one");
  }
  UrlTerms terms;
  const std::string max = q("max");
  if (!max.empty() && (!ParseInt(max, terms.max_bytes) || terms.max_bytes <= 0)) {
    return MakeError(Errc::kPermissionDenied, "signed URL has an invalid size limit; ask for a new one");
  }
  terms.issued_to = q("to");
  terms.sha256 = q("sha256");
  if (!ValidTerms(terms) ||
      !ConstantTimeEqual(HmacSha256Hex(secret, Payload(method, key, expires_s, terms)), q("sig"))) {
    return MakeError(Errc::kPermissionDenied, "signed URL does not match this object and method");
  }
  if (expires_s < now_s)
    return MakeError(Errc::kPermissionDenied, "signed URL has expired; ask the manager for a new one");
  return terms;
}

}  // namespace inferix::blob
