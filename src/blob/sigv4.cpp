#include "blob/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/crypto.hpp"

namespace inferix::blob::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// Raw HMAC-SHA256 bytes (the chain of the signing key needs the raw bytes, not hex).
std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return {reinterpret_cast<const char*>(out), len};
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header value as signed: leading and trailing spaces removed, each run of spaces inside made one.
std::string TrimValue(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The headers lower-cased, values trimmed, sorted by name; values of one name joined with ','.
Pairs CanonicalHeaders(const Pairs& headers) {
  Pairs sorted;
  sorted.reserve(headers.size());
  for (const auto& [name, value] : headers) sorted.emplace_back(Lower(name), TrimValue(value));
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Pairs merged;
  for (auto& [name, value] : sorted) {
    if (!merged.empty() && merged.back().first == name) {
      merged.back().second += ',' + value;
    } else {
      merged.emplace_back(std::move(name), std::move(value));
    }
  }
  return merged;
}

std::string SignedHeaderNames(const Pairs& canonical) {
  std::string out;
  for (const auto& [name, value] : canonical) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string Date8(std::string_view amz_date) { return std::string(amz_date.substr(0, 8)); }

std::string CredentialScope(std::string_view amz_date, const Scope& scope) {
  return Date8(amz_date) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

}  // namespace

std::string AmzDate(int64_t unix_s) {
  const auto t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  const size_t n = std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
  return {out, n};
}

std::string UriEncode(std::string_view text, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string EncodedPath(std::string_view path) { return UriEncode(path, false); }

std::string CanonicalQuery(const Pairs& query) {
  Pairs encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name, true), UriEncode(value, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string CanonicalRequest(const Request& request) {
  const Pairs headers = CanonicalHeaders(request.headers);
  std::string out =
      request.method + "\n" + EncodedPath(request.path) + "\n" + CanonicalQuery(request.query) + "\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += "\n" + SignedHeaderNames(headers) + "\n" + request.payload_hash;
  return out;
}

std::string StringToSign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + CredentialScope(amz_date, scope) +
         "\n" + Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret_key, std::string_view date8, const Scope& scope) {
  const std::string date_key = Hmac("AWS4" + std::string(secret_key), date8);
  const std::string region_key = Hmac(date_key, scope.region);
  const std::string service_key = Hmac(region_key, scope.service);
  return Hmac(service_key, "aws4_request");
}

Signed SignHeaders(const Credentials& credentials, const Scope& scope, int64_t unix_s, Request request) {
  const std::string amz_date = AmzDate(unix_s);
  request.headers.emplace_back("x-amz-date", amz_date);
  if (!credentials.session_token.empty())
    request.headers.emplace_back("x-amz-security-token", credentials.session_token);
  Signed out;
  out.signed_headers = SignedHeaderNames(CanonicalHeaders(request.headers));
  out.canonical_request = CanonicalRequest(request);
  out.string_to_sign = StringToSign(amz_date, scope, out.canonical_request);
  out.signature = Hex(Hmac(SigningKey(credentials.secret_key, Date8(amz_date), scope), out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key + "/" +
                      CredentialScope(amz_date, scope) + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  out.headers = std::move(request.headers);
  out.query = CanonicalQuery(request.query);
  return out;
}

Signed Presign(const Credentials& credentials, const Scope& scope, int64_t unix_s, int64_t expires_s,
               Request request) {
  const std::string amz_date = AmzDate(unix_s);
  Signed out;
  out.signed_headers = SignedHeaderNames(CanonicalHeaders(request.headers));
  request.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  request.query.emplace_back("X-Amz-Credential",
                             credentials.access_key + "/" + CredentialScope(amz_date, scope));
  request.query.emplace_back("X-Amz-Date", amz_date);
  request.query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!credentials.session_token.empty())
    request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  request.query.emplace_back("X-Amz-SignedHeaders", out.signed_headers);
  out.canonical_request = CanonicalRequest(request);
  out.string_to_sign = StringToSign(amz_date, scope, out.canonical_request);
  out.signature = Hex(Hmac(SigningKey(credentials.secret_key, Date8(amz_date), scope), out.string_to_sign));
  out.query = CanonicalQuery(request.query) + "&X-Amz-Signature=" + out.signature;
  for (auto& [name, value] : request.headers) {
    if (Lower(name) != "host") out.headers.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace inferix::blob::sigv4
