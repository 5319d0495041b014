#pragma once
// The manager's end of the file adapter's presigned URLs: GET and PUT
// /api/v1/blobs/<key>?method=&expires=&sig=. Only the file adapter's URLs point at the manager (other
// adapters hand out URLs of their own servers), so this endpoint is wired only with it. The adapter checks
// the signature and says how to send the object; this endpoint decides what the answer says about it (content
// type, security headers, download name) and whether an upload may still be stored (the gate below).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "blob/fs_blob_store.hpp"
#include "domain/ports.hpp"
#include "net/http.hpp"

namespace inferix::manager {

/// The path prefix of every presigned URL of the file adapter.
inline constexpr std::string_view kBlobPathPrefix = "/api/v1/blobs/";

/// Whether an upload through a URL made for `issued_to` (domain::PutTerms) may still store `key`: Ok, or the
/// refusal to answer with. Runs on the handler thread.
using UploadGate = std::function<Result<void>(const std::string& key, const std::string& issued_to)>;

/// The `issued_to` of the upload URLs made for node `node_id` ("node-<id>").
std::string IssuedToNode(int64_t node_id);

/// The manager's gate: a URL of an output works only while the node it was issued to is neither banned nor
/// revoked and still holds the task it was issued for, and that frame of the task is not yet reported
/// (kPermissionDenied, or kConflict for a reported frame). Other objects are not uploaded through URLs made
/// for someone; they pass. Reads `store`, so it runs where the store may be read (the handler thread).
UploadGate OutputUploadGate(domain::Store& store);

/// Answers a request whose path starts with kBlobPathPrefix. A PUT stores its body write-once (409 when the
/// key holds an object), refuses a body over the URL's limit (413), asks `gate` (403/409), and refuses while
/// the disk is below its watermark (507). A GET serves the object only when its bytes are intact (500 with
/// "stored object ... is damaged" otherwise).
net::HttpResponse ServeBlob(blob::FsObjectStore& objects, const UploadGate& gate,
                            const net::HttpRequest& req);

}  // namespace inferix::manager
