// S3ObjectStore::List (ListObjectsV2, a page at a time) and OpenS3ObjectStore (the configuration's checks).
#include <cstdlib>
#include <ctime>

#include "blob/blob_url.hpp"
#include "blob/s3_connection.hpp"
#include "blob/s3_store.hpp"
#include "domain/object_keys.hpp"

namespace inferix::blob {
namespace {

// S3's largest page.
constexpr size_t kMaxKeys = 1000;

// "2026-12-07T06:56:32.123Z" as ms since the epoch; 0 when it does not parse.
int64_t ParseIsoMs(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (*rest == '.') ms += std::strtol(std::string(rest + 1, 3).c_str(), nullptr, 10);
  return ms;
}

}  // namespace

Result<std::vector<domain::ObjectStore::Listed>> S3ObjectStore::List(const std::string& prefix,
                                                                     const std::string& start_after,
                                                                     size_t limit) {
  if (!domain::IsListablePrefix(prefix)) {
    return MakeError(Errc::kInvalidArgument, "invalid object key prefix \"" + prefix.substr(0, 100) + "\"");
  }
  std::vector<Listed> out;
  std::string after = start_after;
  while (out.size() < limit) {
    s3::Call call("GET", "");
    call.query = {{"list-type", "2"},
                  {"prefix", prefix},
                  {"max-keys", std::to_string(std::min(kMaxKeys, limit - out.size()))}};
    if (!after.empty()) call.query.emplace_back("start-after", after);
    auto r = connection_->Send(call);
    if (!r.ok()) return r.error();
    if (r->status != 200) return s3::ErrorOf("GET ?list-type=2&prefix=" + prefix, *r);
    const std::string& body = r->body;
    size_t pos = 0;
    size_t found = 0;
    while (out.size() < limit) {
      const size_t begin = body.find("<Contents>", pos);
      const size_t end = begin == std::string::npos ? begin : body.find("</Contents>", begin);
      if (end == std::string::npos) break;
      found++;
      const std::string_view element = std::string_view(body).substr(begin, end - begin);
      size_t p = 0;
      Listed item;
      item.key = s3::XmlText(element, "Key", &p).value_or("");
      p = 0;
      item.size = std::strtoll(s3::XmlText(element, "Size", &p).value_or("0").c_str(), nullptr, 10);
      p = 0;
      item.modified_ms = ParseIsoMs(s3::XmlText(element, "LastModified", &p).value_or(""));
      pos = end + 11;
      if (item.key.empty() || !item.key.starts_with(prefix) || item.key <= after) continue;
      out.push_back(std::move(item));
    }
    size_t t = 0;
    const bool truncated = s3::XmlText(body, "IsTruncated", &t).value_or("false") == "true";
    if (!truncated || found == 0 || out.empty()) break;
    after = out.back().key;
  }
  return out;
}

Result<std::unique_ptr<S3ObjectStore>> OpenS3ObjectStore(S3Config config) {
  INFERIX_TRY(CheckBucketName(config.bucket));
  if (!config.endpoint.starts_with("http://") && !config.endpoint.starts_with("https://")) {
    return MakeError(Errc::kInvalidArgument,
                     "the S3 endpoint \"" + config.endpoint + "\" must start with http:// or https://");
  }
  if (config.credentials.access_key.empty()) {
    const char* id = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    const char* token = std::getenv("AWS_SESSION_TOKEN");
    if (id == nullptr || secret == nullptr || *id == '\0' || *secret == '\0') {
      return MakeError(
          Errc::kInvalidArgument,
          "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
          "for temporary credentials)");
    }
    config.credentials = {id, secret, token == nullptr ? "" : token};
  }
  if (config.part_size < (int64_t{5} << 20) || config.part_size > (int64_t{5} << 30)) {
    return MakeError(Errc::kInvalidArgument, "the S3 part size must be 5 MiB to 5 GiB, not " +
                                                 std::to_string(config.part_size) + " bytes");
  }
  const std::string bucket = config.bucket;
  auto connection = std::make_shared<s3::Connection>(std::move(config));
  auto r = connection->Send(s3::Call("HEAD", ""));
  if (!r.ok()) return r.error();
  if (r->status == 404) {
    return MakeError(Errc::kNotFound, "S3 bucket " + bucket + " does not exist; create it first");
  }
  if (r->status != 200) return s3::ErrorOf("HEAD bucket " + bucket, *r);
  return std::make_unique<S3ObjectStore>(std::move(connection));
}

}  // namespace inferix::blob
