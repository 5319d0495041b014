#pragma once
// AWS Signature Version 4 (SigV4), written for this project over OpenSSL: the canonical request, the string
// to sign, the signing key and the signature, for requests signed in their `Authorization` header and for
// presigned URLs. Pure functions: the time is an argument (no clock inside), nothing is sent.
//
// Paths and query values are given decoded (the bytes of the key, not their %-escapes); the signer encodes
// them exactly as S3 wants them on the wire, once (S3 does not double-encode the path, unlike other AWS
// services). Callers send the request with the same encoded path and query (EncodedPath, CanonicalQuery), so
// what is signed is what is sent.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inferix::blob::sigv4 {

/// An access key pair; `session_token` only for temporary credentials (then sent as x-amz-security-token).
struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
};

/// Where a signature is valid: a region and a service ("s3" for object storage).
struct Scope {
  std::string region = "us-east-1";
  std::string service = "s3";
};

/// Name/value pairs (query parameters or headers), in any order.
using Pairs = std::vector<std::pair<std::string, std::string>>;

/// The hex SHA-256 of an empty body, and the payload hash that leaves the body unsigned.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

/// One request to sign.
struct Request {
  std::string method;  ///< "GET", "PUT", ...
  std::string path;    ///< decoded, starting with '/': "/bucket/some key"
  Pairs query;         ///< decoded names and values
  /// The headers to sign, "host" included (names in any case). Signing adds x-amz-date (and, with a session
  /// token, x-amz-security-token) for header signing.
  Pairs headers;
  /// The body's hex SHA-256, or kUnsignedPayload.
  std::string payload_hash = std::string(kEmptySha256);
};

/// What signing made, each step kept so that tests can compare it with published values.
struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       ///< lower-case hex
  std::string signed_headers;  ///< "host;x-amz-date"
  /// Header signing: the Authorization header's value; presigning: empty.
  std::string authorization;
  /// Header signing: the headers to send (the request's plus x-amz-date, ...); presigning: the headers the
  /// holder of the URL must send besides Host (each signed one).
  Pairs headers;
  /// Presigning: the URL's whole query string, encoded, X-Amz-Signature last; header signing: the request's
  /// query, encoded as it must be sent.
  std::string query;
};

/// `unix_s` (seconds since the epoch) as the ISO 8601 basic form SigV4 uses: "20150830T123600Z".
std::string AmzDate(int64_t unix_s);

/// RFC 3986 encoding as SigV4 specifies: A-Z a-z 0-9 - . _ ~ stay, every other byte is %XX (upper case);
/// '/' stays unless `encode_slash`.
std::string UriEncode(std::string_view text, bool encode_slash);

/// The path as sent and signed: each segment encoded, the '/' kept.
std::string EncodedPath(std::string_view path);

/// The canonical query string: names and values encoded, sorted by name then value, joined with '&'.
std::string CanonicalQuery(const Pairs& query);

/// The canonical request of `request` (its headers as given, none added).
std::string CanonicalRequest(const Request& request);

/// The string to sign for a canonical request made at `amz_date` within `scope`.
std::string StringToSign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request);

/// The signing key (raw bytes): HMAC-SHA256 chain over the date, region, service and "aws4_request".
std::string SigningKey(std::string_view secret_key, std::string_view date8, const Scope& scope);

/// Signs `request` in its Authorization header at `unix_s`: adds x-amz-date (and x-amz-security-token when
/// the credentials have a session token) to the signed headers.
Signed SignHeaders(const Credentials& credentials, const Scope& scope, int64_t unix_s, Request request);

/// Presigns `request` at `unix_s` for `expires_s` seconds (1 to 604800): the X-Amz-* parameters go into
/// the query, the request's headers are signed (the holder must send them), the payload hash is the
/// request's (S3: kUnsignedPayload, or the digest the body must have, then also sent as
/// x-amz-content-sha256).
Signed Presign(const Credentials& credentials, const Scope& scope, int64_t unix_s, int64_t expires_s,
               Request request);

}  // namespace inferix::blob::sigv4
