#pragma once
// The S3 adapter of the object store: objects in one bucket of an S3 store (Ceph's RADOS Gateway, AWS S3),
// addressed path-style (endpoint/bucket/key), every request signed with SigV4 (blob/sigv4.hpp). Workers and
// users move bytes straight to and from the store through the presigned URLs it makes; the manager carries
// none. What the store itself enforces, and what the manager must check, is in docs/object-storage.md.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blob/sigv4.hpp"
#include "core/clock.hpp"
#include "domain/object_store.hpp"

namespace inferix::blob {

namespace s3 {
class Connection;
}

/// Where the objects are and how to sign for them.
struct S3Config {
  std::string endpoint;  ///< "http://127.0.0.1:57480" or "https://s3.eu-west-1.amazonaws.com"; no path
  std::string region = "us-east-1";
  std::string bucket;
  /// Empty access key: taken from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).
  sigv4::Credentials credentials;
  /// Files larger than this go up as a multipart upload, in parts of this size (5 MiB to 5 GiB).
  int64_t part_size = int64_t{64} << 20;
  /// Time for signatures and expiries; null: the system's clock.
  std::shared_ptr<const Clock> clock;
  long timeout_s = 300;  ///< the longest one request may take
};

/// A presigned request: the URL, and the headers its holder must send with it (each one is signed).
struct PresignedRequest {
  std::string url;
  sigv4::Pairs headers;
};

/// Objects in an S3 bucket; see domain::ObjectStore for what each call promises and docs/object-storage.md
/// for where S3 keeps them differently (readers of a replaced object, digests of downloads).
class S3ObjectStore final : public domain::ObjectStore {
 public:
  /// Use OpenS3ObjectStore, which checks the configuration and the bucket.
  explicit S3ObjectStore(std::shared_ptr<s3::Connection> connection);
  ~S3ObjectStore() override;

  Result<void> Put(const std::string& key, std::string_view bytes) override;
  Result<void> PutFile(const std::string& key, const std::filesystem::path& source) override;
  Result<void> CreateFromFile(const std::string& key, const std::filesystem::path& source,
                              const std::string& sha256) override;
  Result<std::unique_ptr<domain::ObjectReader>> Open(const std::string& key) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::optional<domain::ObjectInfo>> Stat(const std::string& key) override;
  Result<void> Delete(const std::string& key) override;
  /// The store cannot refuse a damaged object for us: `sha256` is not carried; whoever downloads checks the
  /// digest (the verifier compares every download with the reported digest).
  Result<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                 const std::optional<std::string>& download_name,
                                 const std::string& sha256) override;
  /// The URL signs `If-None-Match: *` (and, with terms.sha256, `x-amz-content-sha256`): its holder must send
  /// those headers (PresignPutRequest lists them). max_bytes is not enforced by the store: the manager
  /// checks the object's size (Stat) when the upload is reported.
  Result<std::string> PresignPut(const std::string& key, std::chrono::seconds ttl,
                                 const domain::PutTerms& terms) override;
  /// `If-None-Match: *` always; with a digest, `x-amz-content-sha256` and `x-amz-meta-sha256` too (the
  /// headers PresignPutRequest signs).
  std::map<std::string, std::string> PutHeaders(const domain::PutTerms& terms) const override;
  Result<std::vector<Listed>> List(const std::string& prefix, const std::string& start_after,
                                   size_t limit) override;

  /// PresignPut's URL with the headers its holder must send.
  Result<PresignedRequest> PresignPutRequest(const std::string& key, std::chrono::seconds ttl,
                                             const domain::PutTerms& terms);

  // Multipart uploads (s3_multipart.cpp): for large files, ours (PutFile) and clients' (presigned parts).

  /// One uploaded part: its number (1 to 10000) and the ETag the store answered.
  struct Part {
    int number = 0;
    std::string etag;
  };
  /// Starts a multipart upload to `key`; returns its upload id. `sha256`, when given, is kept as the
  /// object's digest (x-amz-meta-sha256).
  Result<std::string> CreateMultipartUpload(const std::string& key, const std::string& sha256);
  /// Uploads one part from memory; returns its ETag.
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view bytes);
  /// A URL that lets its holder PUT part `number` of the upload until `ttl` has passed; the response's
  /// ETag header is what CompleteMultipartUpload needs.
  Result<std::string> PresignUploadPart(const std::string& key, const std::string& upload_id, int number,
                                        std::chrono::seconds ttl);
  /// PresignUploadPart's URL that also signs the part's SHA-256 (x-amz-content-sha256, one of the headers
  /// its holder must send): the store refuses a part whose body has another digest.
  Result<PresignedRequest> PresignUploadPartRequest(const std::string& key, const std::string& upload_id,
                                                    int number, std::chrono::seconds ttl,
                                                    const std::string& sha256);
  /// Joins the parts (in number order) into the object.
  Result<void> CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                       const std::vector<Part>& parts);
  /// Copies the object `from` to `to` inside the store (no byte passes through us), as a multipart copy of
  /// ranges (any size; S3's single copy stops at 5 GiB), keeping `sha256` as the copy's digest. kNotFound
  /// when `from` does not exist. Replaces any object under `to`, so only for bytes already checked.
  Result<void> CopyObject(const std::string& from, const std::string& to, const std::string& sha256);
  /// Abandons the upload and frees its parts; Ok when it no longer exists.
  Result<void> AbortMultipartUpload(const std::string& key, const std::string& upload_id);

 private:
  Result<void> PutMultipart(const std::string& key, const std::filesystem::path& source, int64_t size,
                            const std::string& sha256);
  std::shared_ptr<s3::Connection> connection_;
};

/// Checks `config` (endpoint, bucket name, credentials, part size; credentials from the environment when
/// not given) and that the bucket answers (kNotFound when it does not exist, kPermissionDenied when the
/// credentials are refused, kUnavailable when the store does not answer).
Result<std::unique_ptr<S3ObjectStore>> OpenS3ObjectStore(S3Config config);

}  // namespace inferix::blob
