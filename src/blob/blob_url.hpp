#pragma once
// Where the manager keeps objects, as the command line says it (--blobs): "file:DIR" (a folder, local or a
// shared file system such as NFS) or "s3://BUCKET?endpoint=URL&region=R" (an S3 bucket).
#include <filesystem>
#include <string>
#include <string_view>

#include "blob/s3_store.hpp"
#include "core/result.hpp"

namespace inferix::blob {

/// What a blob URL names.
struct BlobUrl {
  enum class Kind { kFile, kS3 };
  Kind kind = Kind::kFile;
  std::filesystem::path dir;  ///< kFile: the folder
  /// kS3: endpoint (default: AWS's regional endpoint "https://s3.<region>.amazonaws.com"), region (default
  /// us-east-1) and bucket; credentials are left empty (OpenS3ObjectStore reads the environment).
  S3Config s3;
};

/// Parses "file:DIR" or "s3://BUCKET[?endpoint=URL][&region=R]"; kInvalidArgument with what is wrong for
/// anything else (an unknown scheme or parameter, an empty folder, a bucket name S3 refuses, an endpoint
/// that is not http:// or https://, a malformed region).
Result<BlobUrl> ParseBlobUrl(std::string_view url);

/// Ok when `bucket` follows S3's rules: 3 to 63 characters of a-z 0-9 . -, starting and ending with a
/// letter or digit, no "..", not shaped like an IP address.
Result<void> CheckBucketName(std::string_view bucket);

}  // namespace inferix::blob
