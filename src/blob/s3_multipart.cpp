// S3ObjectStore's multipart uploads: PutFile's large files, and clients' uploads through presigned parts.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blob/s3_connection.hpp"
#include "blob/s3_store.hpp"
#include "core/crypto.hpp"

namespace inferix::blob {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxParts = 10000;

Result<void> CheckPartNumber(int number) {
  if (number < 1 || number > kMaxParts) {
    return MakeError(Errc::kInvalidArgument,
                     "a part number must be 1 to 10000, not " + std::to_string(number));
  }
  return Ok();
}

Result<void> CheckUploadId(const std::string& upload_id) {
  if (upload_id.empty() || upload_id.size() > 1024) {
    return MakeError(Errc::kInvalidArgument, "an upload id must be 1 to 1024 characters");
  }
  return Ok();
}

// Reads up to `n` bytes at `offset` of `fd` into `out`.
Result<void> ReadPart(int fd, int64_t offset, size_t n, std::string& out, const fs::path& source) {
  out.resize(n);
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return MakeError(Errc::kInternal, "cannot read " + source.string() + ": " +
                                            (got < 0 ? std::strerror(errno) : "the file got shorter"));
    }
    done += static_cast<size_t>(got);
  }
  return Ok();
}

}  // namespace

Result<std::string> S3ObjectStore::CreateMultipartUpload(const std::string& key, const std::string& sha256) {
  INFERIX_TRY(s3::CheckKey(key));
  s3::Call call("POST", key, {{"uploads", ""}});
  if (!sha256.empty()) call.headers.emplace_back("x-amz-meta-sha256", sha256);
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  if (r->status != 200) return s3::ErrorOf("POST " + key + "?uploads", *r);
  size_t pos = 0;
  auto id = s3::XmlText(r->body, "UploadId", &pos);
  if (!id.has_value() || id->empty()) {
    return MakeError(Errc::kInternal, "S3 POST " + key + "?uploads: the answer names no UploadId");
  }
  return std::move(*id);
}

Result<std::string> S3ObjectStore::UploadPart(const std::string& key, const std::string& upload_id,
                                              int number, std::string_view bytes) {
  INFERIX_TRY(s3::CheckKey(key));
  INFERIX_TRY(CheckPartNumber(number));
  INFERIX_TRY(CheckUploadId(upload_id));
  s3::Call call("PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}});
  call.payload_hash = Sha256Hex(bytes);
  call.body = bytes;
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  if (r->status != 200) return s3::ErrorOf("PUT " + key + " part " + std::to_string(number), *r);
  const auto etag = r->headers.find("etag");
  if (etag == r->headers.end()) {
    return MakeError(Errc::kInternal,
                     "S3 PUT " + key + " part " + std::to_string(number) + ": no ETag in the answer");
  }
  return etag->second;
}

Result<std::string> S3ObjectStore::PresignUploadPart(const std::string& key, const std::string& upload_id,
                                                     int number, std::chrono::seconds ttl) {
  INFERIX_TRY(s3::CheckKey(key));
  INFERIX_TRY(CheckPartNumber(number));
  INFERIX_TRY(CheckUploadId(upload_id));
  if (ttl.count() < 1 || ttl.count() > 604800) {
    return MakeError(Errc::kInvalidArgument, "a presigned URL's lifetime must be 1 s to 7 days");
  }
  sigv4::Request request;
  request.method = "PUT";
  request.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  request.payload_hash = std::string(sigv4::kUnsignedPayload);
  const sigv4::Signed s = connection_->Presign(key, std::move(request), ttl.count());
  return connection_->UrlOf(key, s.query);
}

Result<PresignedRequest> S3ObjectStore::PresignUploadPartRequest(const std::string& key,
                                                                 const std::string& upload_id, int number,
                                                                 std::chrono::seconds ttl,
                                                                 const std::string& sha256) {
  INFERIX_TRY(s3::CheckKey(key));
  INFERIX_TRY(CheckPartNumber(number));
  INFERIX_TRY(CheckUploadId(upload_id));
  if (ttl.count() < 1 || ttl.count() > 604800) {
    return MakeError(Errc::kInvalidArgument, "a presigned URL's lifetime must be 1 s to 7 days");
  }
  if (!IsSha256Hex(sha256)) {
    return MakeError(Errc::kInvalidArgument,
                     "\"" + sha256.substr(0, 80) + "\" is not a lower-case hex SHA-256");
  }
  sigv4::Request request;
  request.method = "PUT";
  request.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  request.headers.emplace_back("x-amz-content-sha256", sha256);
  request.payload_hash = sha256;
  sigv4::Signed s = connection_->Presign(key, std::move(request), ttl.count());
  return PresignedRequest{connection_->UrlOf(key, s.query), std::move(s.headers)};
}

Result<void> S3ObjectStore::CopyObject(const std::string& from, const std::string& to,
                                       const std::string& sha256) {
  INFERIX_TRY(s3::CheckKey(from));
  INFERIX_TRY(s3::CheckKey(to));
  auto info = Stat(from);
  if (!info.ok()) return info.error();
  if (!info->has_value()) return MakeError(Errc::kNotFound, "cannot copy " + from + ": no such object");
  const int64_t size = (*info)->size;
  // Parts of the configured size, fewer than 10000, each at most 5 GiB (S3's limit for one part).
  const int64_t part_size = std::max(connection_->config().part_size, (size + kMaxParts - 1) / kMaxParts);
  if (part_size > (int64_t{5} << 30)) {
    return MakeError(Errc::kTooLarge, "cannot copy " + from + ": " + std::to_string(size) + " bytes");
  }
  auto upload_id = CreateMultipartUpload(to, sha256);
  if (!upload_id.ok()) return upload_id.error();
  std::vector<Part> parts;
  Result<void> result = Ok();
  // An empty object is one empty part (a range cannot name it).
  for (int64_t offset = 0; (offset < size || parts.empty()) && result.ok(); offset += part_size) {
    const int number = static_cast<int>(parts.size()) + 1;
    s3::Call call("PUT", to, {{"partNumber", std::to_string(number)}, {"uploadId", *upload_id}});
    call.headers.emplace_back("x-amz-copy-source", connection_->PathOf(from));
    if (size > 0) {
      const int64_t last = std::min(size, offset + part_size) - 1;
      call.headers.emplace_back("x-amz-copy-source-range",
                                "bytes=" + std::to_string(offset) + "-" + std::to_string(last));
    }
    auto r = connection_->Send(call);
    if (!r.ok()) {
      result = r.error();
      break;
    }
    size_t pos = 0;
    auto etag = s3::XmlText(r->body, "ETag", &pos);
    if (r->status != 200 || !etag.has_value()) {
      std::string what = "PUT " + to;
      what += " part " + std::to_string(number) + " copied from " + from;
      result = s3::ErrorOf(what, *r);
      break;
    }
    parts.push_back({number, std::move(*etag)});
  }
  if (result.ok()) result = CompleteMultipartUpload(to, *upload_id, parts);
  if (!result.ok()) (void)AbortMultipartUpload(to, *upload_id);  // best effort
  return result;
}

Result<void> S3ObjectStore::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                                    const std::vector<Part>& parts) {
  INFERIX_TRY(s3::CheckKey(key));
  INFERIX_TRY(CheckUploadId(upload_id));
  if (parts.empty()) return MakeError(Errc::kInvalidArgument, "a multipart upload needs at least one part");
  std::vector<Part> sorted = parts;
  std::sort(sorted.begin(), sorted.end(), [](const Part& a, const Part& b) { return a.number < b.number; });
  std::string xml = "<CompleteMultipartUpload>";
  for (const Part& part : sorted) {
    INFERIX_TRY(CheckPartNumber(part.number));
    xml += "<Part><PartNumber>" + std::to_string(part.number) + "</PartNumber><ETag>" +
           s3::XmlEscape(part.etag) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  s3::Call call("POST", key, {{"uploadId", upload_id}});
  call.payload_hash = Sha256Hex(xml);
  call.body = xml;
  auto r = connection_->Send(call);
  if (!r.ok()) return r.error();
  // S3 may answer 200 and still fail: the error is then in the body.
  if (r->status != 200 || r->body.find("<Error>") != std::string::npos) {
    return s3::ErrorOf("POST " + key + "?uploadId", *r);
  }
  return Ok();
}

Result<void> S3ObjectStore::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  INFERIX_TRY(s3::CheckKey(key));
  INFERIX_TRY(CheckUploadId(upload_id));
  auto r = connection_->Send(s3::Call("DELETE", key, {{"uploadId", upload_id}}));
  if (!r.ok()) return r.error();
  if (r->status == 204 || r->status == 200 || r->status == 404) return Ok();
  return s3::ErrorOf("DELETE " + key + "?uploadId", *r);
}

Result<void> S3ObjectStore::PutMultipart(const std::string& key, const fs::path& source, int64_t size,
                                         const std::string& sha256) {
  const int64_t part_size = connection_->config().part_size;
  if ((size + part_size - 1) / part_size > kMaxParts) {
    return MakeError(Errc::kTooLarge, "cannot store " + key + ": " + std::to_string(size) +
                                          " bytes need more than 10000 parts; raise the part size");
  }
  const int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return MakeError(Errc::kNotFound, "cannot store " + key + ": cannot open " + source.string() + ": " +
                                          std::strerror(errno));
  auto upload_id = CreateMultipartUpload(key, sha256);
  if (!upload_id.ok()) {
    ::close(fd);
    return upload_id.error();
  }
  // One part in memory at a time: the file is never whole in memory.
  std::vector<Part> parts;
  std::string buffer;
  Result<void> result = Ok();
  for (int64_t offset = 0; offset < size && result.ok(); offset += part_size) {
    const auto n = static_cast<size_t>(std::min(part_size, size - offset));
    result = ReadPart(fd, offset, n, buffer, source);
    if (!result.ok()) break;
    auto etag = UploadPart(key, *upload_id, static_cast<int>(parts.size()) + 1, buffer);
    if (!etag.ok()) {
      result = etag.error();
      break;
    }
    parts.push_back({static_cast<int>(parts.size()) + 1, std::move(*etag)});
  }
  ::close(fd);
  if (result.ok()) result = CompleteMultipartUpload(key, *upload_id, parts);
  if (!result.ok())
    (void)AbortMultipartUpload(key, *upload_id);  // best effort; lifecycle rules sweep the rest
  return result;
}

}  // namespace inferix::blob
