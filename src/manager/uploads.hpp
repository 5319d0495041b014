#pragma once
// Scene files that go straight to the object store (issue #15): the manager answers where and how to upload
// a file, and records it as the user's only once the store holds it with the right digest. With the file
// adapter the bytes still come to the manager (PUT /files/{sha256}); with S3 they never do, except once for
// a multipart upload, whose whole-file digest no store checks (docs/object-storage.md "Scene uploads").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"
#include "manager/api_routes.hpp"

namespace inferix::manager {

/// POST /files/{sha256}/upload {"size"}: the user's quota is checked first; then the answer says there is
/// nothing to upload ({"have": true}), or where to PUT the file ({"url", "headers", "complete"}), or that it
/// goes in parts ({"multipart": {"key", "upload_id", "part_size", "parts"}}).
Result<nlohmann::json> StartUpload(ApiServices& api, const domain::User& user, const std::string& sha256,
                                   int64_t size);

/// POST /files/{sha256}/part {"key", "upload_id", "number", "sha256"}: the presigned URL of one part, which
/// signs that part's digest.
Result<nlohmann::json> PartUrl(ApiServices& api, const domain::User& user, const std::string& sha256,
                               const std::string& key, const std::string& upload_id, int number,
                               const std::string& part_sha256);

/// One part of a multipart upload as the client reports it.
struct UploadedPart {
  int number = 0;
  std::string etag;
};

/// POST /files/{sha256}/complete {"key", "upload_id"?, "parts"?}: joins the parts (multipart), checks that
/// the store holds the file's bytes (the store's digest, or the manager's reading of a multipart object),
/// moves a staged file to its own key, and records the file as the user's. Idempotent.
Result<nlohmann::json> CompleteUpload(ApiServices& api, const domain::User& user, const std::string& sha256,
                                      const std::string& key, const std::string& upload_id,
                                      const std::vector<UploadedPart>& parts);

}  // namespace inferix::manager
