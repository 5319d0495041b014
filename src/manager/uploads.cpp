// Scene files uploaded straight to the object store; see uploads.hpp and docs/object-storage.md.
#include "manager/uploads.hpp"

#include <algorithm>
#include <chrono>

#include "blob/s3_store.hpp"
#include "core/crypto.hpp"
#include "domain/object_keys.hpp"
#include "manager/quotas.hpp"

namespace inferix::manager {
namespace {

using nlohmann::json;

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kMinPart = 5 * kMiB;          // S3's smallest part (but the last)
constexpr int64_t kMaxPart = int64_t{5} << 30;  // and its largest
constexpr int64_t kUsualPart = 64 * kMiB;       // what a client holds in memory at a time
constexpr int64_t kMaxParts = 10000;
constexpr size_t kReadChunk = size_t{8} << 20;  // the digest check reads this much at a time

// The S3 adapter, or null for a store whose uploads come to the manager (the file adapter).
blob::S3ObjectStore* S3Of(ApiServices& api) { return dynamic_cast<blob::S3ObjectStore*>(&api.blobs); }

// The size of each part of a multipart upload of `size` bytes: at most 10000 parts, each 5 MiB to 5 GiB.
Result<int64_t> PartSizeFor(int64_t size, int64_t threshold) {
  int64_t part = std::clamp(std::min(kUsualPart, threshold), kMinPart, kMaxPart);
  part = std::max(part, (size + kMaxParts - 1) / kMaxParts);
  if (part > kMaxPart) {
    return MakeError(Errc::kTooLarge, std::to_string(size) + " bytes is more than an object store takes (" +
                                          std::to_string(kMaxParts) + " parts of 5 GiB)");
  }
  return part;
}

// Whether the store holds the file's bytes under its own key: the store's digest (x-amz-meta-sha256, which
// the store checked against the body when the upload signed it) says so.
Result<std::optional<domain::ObjectInfo>> HeldFile(domain::ObjectStore& blobs, const std::string& sha256) {
  auto info = blobs.Stat(domain::FileKey(sha256));
  if (!info) return info.error();
  if (!info->has_value() || (*info)->sha256 != sha256) return std::optional<domain::ObjectInfo>();
  return info;
}

// Reads the object once and hashes it: the one time the manager reads a scene's bytes (a multipart upload,
// whose whole-file digest the store cannot check).
Result<std::string> DigestOf(domain::ObjectStore& blobs, const std::string& key) {
  auto reader = blobs.Open(key);
  if (!reader) return reader.error();
  Sha256Stream digest;
  std::string buffer(kReadChunk, '\0');
  const int64_t size = (*reader)->Size();
  for (int64_t offset = 0; offset < size;) {
    auto got = (*reader)->ReadAt(offset, buffer.data(), buffer.size());
    if (!got) return got.error();
    if (*got == 0) return MakeError(Errc::kUnavailable, "the object " + key + " got shorter while read");
    digest.Update(std::string_view(buffer.data(), *got));
    offset += static_cast<int64_t>(*got);
  }
  return digest.FinishHex();
}

// Moves a checked staged file (bytes with digest `sha256`) to the file's own key, unless the store holds the
// file there already; then removes the staged object.
Result<void> Promote(blob::S3ObjectStore& s3, const std::string& staged, const std::string& sha256) {
  auto held = HeldFile(s3, sha256);
  if (!held) return held.error();
  if (!held->has_value()) INFERIX_TRY(s3.CopyObject(staged, domain::FileKey(sha256), sha256));
  return s3.Delete(staged);
}

// Joins a multipart upload's parts, then checks the whole file's digest by reading it; a body that differs
// is deleted, so it never reaches the file's own key.
Result<void> FinishMultipart(blob::S3ObjectStore& s3, const std::string& key, const std::string& sha256,
                             const std::string& upload_id, const std::vector<UploadedPart>& parts) {
  std::vector<blob::S3ObjectStore::Part> joined;
  joined.reserve(parts.size());
  for (const auto& p : parts) joined.push_back({p.number, p.etag});
  auto done = s3.CompleteMultipartUpload(key, upload_id, joined);
  if (!done) {
    // A repeated call finds the upload joined already: the staged object is there.
    auto staged = s3.Stat(key);
    if (!staged || !staged->has_value()) return done.error();
  }
  auto digest = DigestOf(s3, key);
  if (!digest) return digest.error();
  if (*digest != sha256) {
    (void)s3.Delete(key);  // best effort: a staged object is never used, and lifecycle rules sweep uploads/
    return MakeError(Errc::kInvalidArgument, "the uploaded parts join into content with SHA-256 " + *digest +
                                                 ", not the " + sha256 +
                                                 " the upload named; nothing was stored");
  }
  return Promote(s3, key, sha256);
}

}  // namespace

Result<json> StartUpload(ApiServices& api, const domain::User& user, const std::string& sha256,
                         int64_t size) {
  auto has = api.store.UserHasFile(user.id, sha256);
  if (!has) return has.error();
  if (*has) return json{{"sha256", sha256}, {"size", size}, {"have", true}};
  // Before any byte moves: the stored-bytes quota (manager/quotas.hpp).
  INFERIX_TRY(AllowUpload(api.store, user, api.options.quotas, sha256, size));
  json answer = {{"sha256", sha256}, {"size", size}, {"have", false}};
  blob::S3ObjectStore* s3 = S3Of(api);
  if (s3 == nullptr) {
    // The file adapter: the manager takes the bytes itself, as before (it records the file as it stores it).
    answer["url"] = "/api/v1/files/" + sha256;
    answer["headers"] = json::object();
    answer["complete"] = false;
    return answer;
  }
  const std::chrono::seconds ttl(api.options.url_ttl_s);
  const std::string staged = domain::UploadKey(sha256, user.id, RandomHex(8));
  if (size > api.options.multipart_threshold_bytes) {
    auto part_size = PartSizeFor(size, api.options.multipart_threshold_bytes);
    if (!part_size) return part_size.error();
    // No digest on the staged object: a joined object whose check never finished (the manager stopped, the
    // store failed) must not pass for checked bytes (a single PUT's staged object carries the store-checked
    // one).
    auto upload_id = s3->CreateMultipartUpload(staged, "");
    if (!upload_id) return upload_id.error();
    answer["multipart"] = {{"key", staged},
                           {"upload_id", *upload_id},
                           {"part_size", *part_size},
                           {"parts", (size + *part_size - 1) / *part_size}};
    answer["complete"] = true;
    return answer;
  }
  // One PUT whose URL signs the digest: the store refuses any other body. To the file's own key, unless the
  // store holds it already (another user's): then to a staged key, so that this user too shows the bytes.
  auto held = HeldFile(*s3, sha256);
  if (!held) return held.error();
  const std::string key = held->has_value() ? staged : domain::FileKey(sha256);
  auto put = s3->PresignPutRequest(key, ttl, domain::PutTerms{size, "", sha256});
  if (!put) return put.error();
  json headers = json::object();
  for (const auto& [name, value] : put->headers) headers[name] = value;
  answer["url"] = put->url;
  answer["headers"] = headers;
  answer["key"] = key;
  answer["complete"] = true;
  return answer;
}

Result<json> PartUrl(ApiServices& api, const domain::User& user, const std::string& sha256,
                     const std::string& key, const std::string& upload_id, int number,
                     const std::string& part_sha256) {
  blob::S3ObjectStore* s3 = S3Of(api);
  if (s3 == nullptr) {
    return MakeError(
        Errc::kInvalidArgument,
        "this manager's object store takes no uploads in parts: PUT the file to /api/v1/files/" + sha256);
  }
  if (!domain::IsUploadKeyFor(key, sha256, user.id)) {
    return MakeError(Errc::kInvalidArgument, "\"key\" is not an upload of this file that you started");
  }
  auto put = s3->PresignUploadPartRequest(key, upload_id, number, std::chrono::seconds(api.options.url_ttl_s),
                                          part_sha256);
  if (!put) return put.error();
  json headers = json::object();
  for (const auto& [name, value] : put->headers) headers[name] = value;
  return json{{"url", put->url}, {"headers", headers}, {"number", number}};
}

Result<json> CompleteUpload(ApiServices& api, const domain::User& user, const std::string& sha256,
                            const std::string& key, const std::string& upload_id,
                            const std::vector<UploadedPart>& parts) {
  auto has = api.store.UserHasFile(user.id, sha256);
  if (!has) return has.error();
  if (*has) return json{{"sha256", sha256}, {"have", true}};
  blob::S3ObjectStore* s3 = S3Of(api);
  if (s3 == nullptr) {
    return MakeError(
        Errc::kInvalidArgument,
        "nothing to complete: this manager takes the file itself, PUT it to /api/v1/files/" + sha256);
  }
  const bool staged = domain::IsUploadKeyFor(key, sha256, user.id);
  if (!staged && key != domain::FileKey(sha256)) {
    return MakeError(Errc::kInvalidArgument, "\"key\" is not an upload of this file that you started");
  }
  if (!upload_id.empty()) {
    if (!staged)
      return MakeError(Errc::kInvalidArgument, "a multipart upload's \"key\" is the one it started");
    INFERIX_TRY(FinishMultipart(*s3, key, sha256, upload_id, parts));
  } else if (staged) {
    // A single PUT to a staged key: the store checked its digest (the URL signed it).
    auto info = s3->Stat(key);
    if (!info) return info.error();
    if (!info->has_value() || (*info)->sha256 != sha256) {
      return MakeError(Errc::kNotFound, "the store holds no upload of " + sha256 + " under " + key +
                                            ": PUT the file to the URL POST /files/" + sha256 +
                                            "/upload gave");
    }
    INFERIX_TRY(Promote(*s3, key, sha256));
  }
  // Only bytes whose digest the store or the manager checked are ever under the file's own key.
  auto held = HeldFile(*s3, sha256);
  if (!held) return held.error();
  if (!held->has_value()) {
    return MakeError(Errc::kNotFound, "the store holds no file " + sha256 +
                                          ": PUT it to the URL POST /files/" + sha256 +
                                          "/upload gave, then complete");
  }
  const int64_t size = (*held)->size;
  INFERIX_TRY(AllowUpload(api.store, user, api.options.quotas, sha256, size));
  INFERIX_TRY(api.store.AddUserFile(user.id, sha256, size));
  return json{{"sha256", sha256}, {"size", size}, {"have", true}};
}

}  // namespace inferix::manager
