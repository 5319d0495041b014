#pragma once
// The file adapter's presigned URLs: short-lived HMAC-signed paths on the manager, each naming exactly one
// object, one method and an expiry.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace inferix::blob {

/// The query string "method=GET&expires=<unix s>&sig=<hex>" for `key`.
std::string SignQuery(std::string_view secret, std::string_view method, std::string_view key,
                      int64_t expires_s);
/// The path and query of a signed URL: "/api/v1/blobs/<key>?<SignQuery>".
std::string SignedPath(std::string_view secret, std::string_view method, std::string_view key,
                       int64_t expires_s);
/// Checks a request against its signature: same key, same method, not expired. kPermissionDenied otherwise.
Result<void> VerifySignature(std::string_view secret, std::string_view method, std::string_view key,
                             std::string_view expires, std::string_view sig, int64_t now_s);

}  // namespace inferix::blob
