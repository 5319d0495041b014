// S3ObjectStore: the port's calls as S3 requests. Multipart uploads are in s3_multipart.cpp, listing in
// s3_list.cpp, the signing and sending in s3_connection.cpp.
#include "blob/s3_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "blob/s3_connection.hpp"
#include "core/crypto.hpp"
#include "net/http.hpp"

namespace inferix::blob {
namespace fs = std::filesystem;

namespace {

// The longest a presigned URL may live (SigV4's limit: 7 days).
constexpr int64_t kMaxTtlS = 604800;
// S3's limits on one PUT and on a part.
constexpr int64_t kMaxSinglePut = int64_t{5} << 30;

std::string HeaderOf(const net::HttpResponse& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

Result<int64_t> CheckTtl(std::chrono::seconds ttl) {
  if (ttl.count() < 1 || ttl.count() > kMaxTtlS) {
    return MakeError(Errc::kInvalidArgument, "a presigned URL's lifetime must be 1 s to 7 days, not " +
                                                 std::to_string(ttl.count()) + " s");
  }
  return static_cast<int64_t>(ttl.count());
}

// A file name a Content-Disposition header can carry in quotes: quotes, backslashes and controls become '_'.
std::string QuotableName(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out += (c == '"' || c == '\\' || u < 0x20 || u == 0x7f) ? '_' : c;
  }
  return out;
}

// An object read by ranged GETs. Each read names the ETag the object had when opened (If-Match), so a read
// never mixes two versions: after the object was replaced, reads fail (kConflict) instead.
class S3Reader final : public domain::ObjectReader {
 public:
  S3Reader(std::shared_ptr<s3::Connection> connection, std::string key, int64_t size, std::string etag)
      : connection_(std::move(connection)), key_(std::move(key)), size_(size), etag_(std::move(etag)) {}
  int64_t Size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* out, size_t n) override {
    if (offset < 0) return MakeError(Errc::kInvalidArgument, "negative read offset in " + key_);
    if (offset >= size_ || n == 0) return size_t{0};
    const int64_t last = std::min<int64_t>(size_, offset + static_cast<int64_t>(n)) - 1;
    s3::Call call("GET", key_);
    call.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" + std::to_string(last));
    if (!etag_.empty()) call.headers.emplace_back("if-match", etag_);
    auto r = connection_->Send(call);
    if (!r.ok()) return r.error();
    if (r->status == 412) {
      return MakeError(Errc::kConflict, "object " + key_ + " was replaced or removed after it was opened");
    }
    if (r->status != 200 && r->status != 206) return s3::ErrorOf("GET " + key_, *r);
    std::string_view body = r->body;
    if (r->status == 200) body = body.substr(std::min<size_t>(body.size(), static_cast<size_t>(offset)));
    const size_t copied = std::min(body.size(), static_cast<size_t>(last - offset + 1));
    std::copy_n(body.data(), copied, out);
    return copied;
  }

 private:
  std::shared_ptr<s3::Connection> connection_;
  std::string key_;
  int64_t size_;
  std::string etag_;
};

}  // namespace

S3ObjectStore::S3ObjectStore(std::shared_ptr<s3::Connection> connection)
    : connection_(std::move(connection)) {}

S3ObjectStore::~S3ObjectStore() = default;

Result<void> S3ObjectStore::Put(const std::string& key, std::string_view bytes) {
  INFERIX_TRY(s3::CheckKey(key));
  const std::string sha256 = Sha256Hex(bytes);
  s3::Call call("PUT", key);
  call.payload_hash = sha256;
  call.body = bytes;
  call.headers.emplace_back("x-amz-meta-sha256", sha256);
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  if (r->status != 200) return s3::ErrorOf("PUT " + key, *r);
  return Ok();
}

Result<void> S3ObjectStore::PutFile(const std::string& key, const fs::path& source) {
  INFERIX_TRY(s3::CheckKey(key));
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(source, ec));
  if (ec)
    return MakeError(Errc::kNotFound,
                     "cannot store " + key + ": cannot read " + source.string() + ": " + ec.message());
  // The digest is signed as the body's, so the store refuses the upload when the file changes meanwhile.
  auto sha256 = Sha256File(source);
  if (!sha256.ok()) return sha256.error();
  if (size > connection_->config().part_size) return PutMultipart(key, source, size, *sha256);
  s3::Call call("PUT", key);
  call.payload_hash = *sha256;
  call.file = &source;
  call.headers.emplace_back("x-amz-meta-sha256", *sha256);
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  if (r->status != 200) return s3::ErrorOf("PUT " + key, *r);
  return Ok();
}

Result<void> S3ObjectStore::CreateFromFile(const std::string& key, const fs::path& source,
                                           const std::string& sha256) {
  INFERIX_TRY(s3::CheckKey(key));
  if (!IsSha256Hex(sha256)) {
    return MakeError(Errc::kInvalidArgument, "cannot store " + key + ": \"" + sha256.substr(0, 80) +
                                                 "\" is not a lower-case hex SHA-256");
  }
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(source, ec));
  if (ec)
    return MakeError(Errc::kNotFound,
                     "cannot store " + key + ": cannot read " + source.string() + ": " + ec.message());
  if (size > kMaxSinglePut) {
    return MakeError(Errc::kTooLarge, "cannot store " + key + ": " + std::to_string(size) +
                                          " bytes is over S3's 5 GiB limit of one write-once PUT");
  }
  // If-None-Match: * makes the store refuse a second object under the key (412); the signed digest makes it
  // refuse a body that is not the one the caller hashed (400 XAmzContentSHA256Mismatch).
  s3::Call call("PUT", key);
  call.payload_hash = sha256;
  call.file = &source;
  call.headers.emplace_back("if-none-match", "*");
  call.headers.emplace_back("x-amz-meta-sha256", sha256);
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  if (r->status == 412) return MakeError(Errc::kConflict, "object " + key + " already exists");
  if (r->status != 200) return s3::ErrorOf("PUT " + key, *r);
  fs::remove(source, ec);  // consumed; a leftover file is the caller's temporary file, harmless
  return Ok();
}

Result<std::unique_ptr<domain::ObjectReader>> S3ObjectStore::Open(const std::string& key) {
  INFERIX_TRY(s3::CheckKey(key));
  auto r = connection_->Send(s3::Call("HEAD", key));
  if (!r.ok()) return r.error();
  if (r->status == 404) return MakeError(Errc::kNotFound, "no object " + key);
  if (r->status != 200) return s3::ErrorOf("HEAD " + key, *r);
  const int64_t size = std::strtoll(HeaderOf(*r, "content-length").c_str(), nullptr, 10);
  return std::unique_ptr<domain::ObjectReader>(
      std::make_unique<S3Reader>(connection_, key, size, HeaderOf(*r, "etag")));
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  INFERIX_TRY(s3::CheckKey(key));
  auto r = connection_->Send(s3::Call("GET", key));
  if (!r.ok()) return r.error();
  if (r->status == 404) return MakeError(Errc::kNotFound, "no object " + key);
  if (r->status != 200) return s3::ErrorOf("GET " + key, *r);
  return std::move(r->body);
}

Result<std::optional<domain::ObjectInfo>> S3ObjectStore::Stat(const std::string& key) {
  INFERIX_TRY(s3::CheckKey(key));
  auto r = connection_->Send(s3::Call("HEAD", key));
  if (!r.ok()) return r.error();
  if (r->status == 404) return std::optional<domain::ObjectInfo>();
  if (r->status != 200) return s3::ErrorOf("HEAD " + key, *r);
  domain::ObjectInfo info;
  info.size = std::strtoll(HeaderOf(*r, "content-length").c_str(), nullptr, 10);
  info.sha256 = HeaderOf(*r, "x-amz-meta-sha256");
  if (!IsSha256Hex(info.sha256)) info.sha256.clear();
  return std::optional<domain::ObjectInfo>(std::move(info));
}

Result<void> S3ObjectStore::Delete(const std::string& key) {
  INFERIX_TRY(s3::CheckKey(key));
  auto r = connection_->Send(s3::Call("DELETE", key));
  if (!r.ok()) return r.error();
  if (r->status == 404 || r->status == 204 || r->status == 200) return Ok();
  return s3::ErrorOf("DELETE " + key, *r);
}

Result<std::string> S3ObjectStore::PresignGet(const std::string& key, std::chrono::seconds ttl,
                                              const std::optional<std::string>& download_name,
                                              const std::string& sha256) {
  INFERIX_TRY(s3::CheckKey(key));
  auto ttl_s = CheckTtl(ttl);
  if (!ttl_s.ok()) return ttl_s.error();
  if (!sha256.empty() && !IsSha256Hex(sha256)) {
    return MakeError(Errc::kInvalidArgument,
                     "\"" + sha256.substr(0, 80) + "\" is not a lower-case hex SHA-256");
  }
  sigv4::Request request;
  request.method = "GET";
  request.payload_hash = std::string(sigv4::kUnsignedPayload);
  if (download_name.has_value()) {
    request.query.emplace_back("response-content-disposition",
                               "attachment; filename=\"" + QuotableName(*download_name) + "\"");
  }
  const sigv4::Signed s = connection_->Presign(key, std::move(request), *ttl_s);
  return connection_->UrlOf(key, s.query);
}

Result<PresignedRequest> S3ObjectStore::PresignPutRequest(const std::string& key, std::chrono::seconds ttl,
                                                          const domain::PutTerms& terms) {
  INFERIX_TRY(s3::CheckKey(key));
  auto ttl_s = CheckTtl(ttl);
  if (!ttl_s.ok()) return ttl_s.error();
  if (terms.max_bytes < 0) return MakeError(Errc::kInvalidArgument, "max_bytes must not be negative");
  sigv4::Request request;
  request.method = "PUT";
  request.payload_hash = std::string(sigv4::kUnsignedPayload);
  request.headers.emplace_back("if-none-match", "*");
  if (!terms.sha256.empty()) {
    if (!IsSha256Hex(terms.sha256)) {
      return MakeError(Errc::kInvalidArgument,
                       "\"" + terms.sha256.substr(0, 80) + "\" is not a lower-case hex SHA-256");
    }
    request.headers.emplace_back("x-amz-content-sha256", terms.sha256);
    request.headers.emplace_back("x-amz-meta-sha256", terms.sha256);
    request.payload_hash = terms.sha256;
  }
  sigv4::Signed s = connection_->Presign(key, std::move(request), *ttl_s);
  return PresignedRequest{connection_->UrlOf(key, s.query), std::move(s.headers)};
}

std::map<std::string, std::string> S3ObjectStore::PutHeaders(const domain::PutTerms& terms) const {
  std::map<std::string, std::string> headers = {{"if-none-match", "*"}};
  if (!terms.sha256.empty()) {
    headers["x-amz-content-sha256"] = terms.sha256;
    headers["x-amz-meta-sha256"] = terms.sha256;
  }
  return headers;
}

Result<std::string> S3ObjectStore::PresignPut(const std::string& key, std::chrono::seconds ttl,
                                              const domain::PutTerms& terms) {
  auto r = PresignPutRequest(key, ttl, terms);
  if (!r.ok()) return r.error();
  return std::move(r->url);
}

}  // namespace inferix::blob
