#pragma once
// The file adapter's presigned URLs: short-lived HMAC-signed paths on the manager, each naming exactly one
// object, one method, an expiry and the terms the URL grants (the largest upload, who it was made for, the
// digest the object must have), all under one signature.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace inferix::blob {

/// What a URL grants beyond its key, method and expiry; each field is signed (empty or 0: not limited).
struct UrlTerms {
  int64_t max_bytes = 0;  ///< PUT: the largest body accepted
  std::string issued_to;  ///< PUT: who the URL was made for ([a-z0-9-]), checked by the manager on use
  std::string sha256;     ///< GET: the digest the object must have to be served
};

/// True when `terms` can be carried in a URL: max_bytes >= 0, issued_to of [a-z0-9-] (at most 64), sha256
/// empty or 64 lower-case hex digits.
bool ValidTerms(const UrlTerms& terms);

/// The query string "method=GET&expires=<unix s>[&max=][&to=][&sha256=]&sig=<hex>" for `key`.
std::string SignQuery(std::string_view secret, std::string_view method, std::string_view key,
                      int64_t expires_s, const UrlTerms& terms);
/// The path and query of a signed URL: "/api/v1/blobs/<key>?<SignQuery>".
std::string SignedPath(std::string_view secret, std::string_view method, std::string_view key,
                       int64_t expires_s, const UrlTerms& terms);
/// Checks a request's query against its signature: same key, same method, same terms, not expired; returns
/// the terms. kPermissionDenied otherwise.
Result<UrlTerms> VerifySignature(std::string_view secret, std::string_view method, std::string_view key,
                                 const std::map<std::string, std::string>& query, int64_t now_s);

}  // namespace inferix::blob
