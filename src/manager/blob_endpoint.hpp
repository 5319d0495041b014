#pragma once
// The manager's end of the file adapter's presigned URLs: GET and PUT
// /api/v1/blobs/<key>?method=&expires=&sig=. Only the file adapter's URLs point at the manager (other
// adapters hand out URLs of their own servers), so this endpoint is wired only with it. The adapter checks
// the signature and says how to send the object; this endpoint decides what the answer says about it (content
// type, security headers, download name).
#include <string_view>

#include "blob/fs_blob_store.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// The path prefix of every presigned URL of the file adapter.
inline constexpr std::string_view kBlobPathPrefix = "/api/v1/blobs/";

/// Answers a request whose path starts with kBlobPathPrefix.
net::HttpResponse ServeBlob(blob::FsObjectStore& objects, const net::HttpRequest& req);

}  // namespace inferix::manager
