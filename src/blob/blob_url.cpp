#include "blob/blob_url.hpp"

#include <cctype>
#include <vector>

namespace inferix::blob {
namespace {

Error Invalid(std::string_view url, const std::string& why) {
  return Error{Errc::kInvalidArgument, "invalid blob store \"" + std::string(url.substr(0, 200)) + "\": " +
                                           why + " (use file:DIR or s3://BUCKET?endpoint=URL&region=REGION)"};
}

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query value; nullopt on a malformed escape.
std::optional<std::string> Decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = FromHex(text[i + 1]);
    const int lo = FromHex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool IsIpShaped(std::string_view s) {
  int dots = 0;
  for (const char c : s) {
    if (c == '.') {
      dots++;
    } else if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return dots == 3;
}

bool IsRegion(std::string_view region) {
  if (region.empty() || region.size() > 32) return false;
  for (const char c : region) {
    if (std::islower(static_cast<unsigned char>(c)) == 0 &&
        std::isdigit(static_cast<unsigned char>(c)) == 0 && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<void> CheckBucketName(std::string_view bucket) {
  const auto bad = [&](const std::string& why) {
    return MakeError(Errc::kInvalidArgument,
                     "invalid S3 bucket name \"" + std::string(bucket.substr(0, 80)) + "\": " + why);
  };
  if (bucket.size() < 3 || bucket.size() > 63) return bad("it must be 3 to 63 characters long");
  for (const char c : bucket) {
    if (std::islower(static_cast<unsigned char>(c)) == 0 &&
        std::isdigit(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-') {
      return bad("only lower-case letters, digits, '.' and '-' are allowed");
    }
  }
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(bucket.front()) || !alnum(bucket.back()))
    return bad("it must start and end with a letter or digit");
  if (bucket.find("..") != std::string_view::npos) return bad("it must not contain \"..\"");
  if (IsIpShaped(bucket)) return bad("it must not be shaped like an IP address");
  return Ok();
}

Result<BlobUrl> ParseBlobUrl(std::string_view url) {
  BlobUrl out;
  if (url.starts_with("file:")) {
    const std::string_view dir = url.substr(5);
    if (dir.empty()) return Invalid(url, "file: needs a folder");
    out.kind = BlobUrl::Kind::kFile;
    out.dir = std::filesystem::path(std::string(dir));
    return out;
  }
  if (!url.starts_with("s3://")) return Invalid(url, "unknown scheme");
  out.kind = BlobUrl::Kind::kS3;
  std::string_view rest = url.substr(5);
  const size_t q = rest.find('?');
  const std::string_view bucket = rest.substr(0, q);
  if (bucket.find('/') != std::string_view::npos) return Invalid(url, "the bucket name must not contain '/'");
  if (auto ok = CheckBucketName(bucket); !ok.ok()) return Invalid(url, ok.error().message);
  out.s3.bucket = std::string(bucket);
  std::string endpoint;
  if (q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      const size_t eq = part.find('=');
      if (eq == std::string_view::npos)
        return Invalid(url, "parameter \"" + std::string(part) + "\" has no value");
      const std::string_view name = part.substr(0, eq);
      const auto value = Decode(part.substr(eq + 1));
      if (!value.has_value()) return Invalid(url, "malformed %-escape in " + std::string(name));
      if (name == "endpoint") {
        endpoint = *value;
      } else if (name == "region") {
        out.s3.region = *value;
      } else {
        return Invalid(url,
                       "unknown parameter \"" + std::string(name) + "\" (endpoint and region are known)");
      }
    }
  }
  if (!IsRegion(out.s3.region)) return Invalid(url, "the region must be of a-z, 0-9 and '-'");
  if (endpoint.empty()) endpoint = "https://s3." + out.s3.region + ".amazonaws.com";
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return Invalid(url, "the endpoint must start with http:// or https://");
  }
  const size_t host_at = endpoint.find("://") + 3;
  const std::string_view after_host = std::string_view(endpoint).substr(host_at);
  const size_t slash = after_host.find('/');
  if (after_host.empty() || slash == 0 ||
      (slash != std::string_view::npos && slash + 1 != after_host.size())) {
    return Invalid(url, "the endpoint must be scheme://host[:port], without a path");
  }
  while (endpoint.ends_with('/')) endpoint.pop_back();
  out.s3.endpoint = endpoint;
  return out;
}

}  // namespace inferix::blob
