#pragma once
// The object-store port: scene files, rendered frames, previews and videos, each an immutable-looking object
// addressed by a key (domain/object_keys.hpp makes every key). Adapters: the file adapter (src/blob, objects
// as files under a folder, the default) and, later, S3. No code outside an adapter knows where or how an
// object is kept: callers move bytes through this port and hand out the URLs it makes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::domain {

/// What Stat says of an object that exists.
struct ObjectInfo {
  int64_t size = 0;    ///< bytes
  std::string sha256;  ///< the digest the store keeps for it (lower-case hex); empty when unknown
};

/// What a presigned PUT allows beyond its key and lifetime; the URL carries it, signed.
struct PutTerms {
  int64_t max_bytes = 0;  ///< the largest body the URL accepts; 0: only the server's own limit
  /// Who the URL was made for (e.g. "node-12"; [a-z0-9-], at most 64 characters), handed to the manager's
  /// check of each upload; empty: anyone holding the URL.
  std::string issued_to;
  /// The body's SHA-256 (lower-case hex) when the uploader said it beforehand; empty: unknown. An adapter
  /// whose server can refuse any other body signs it into the URL (PutHeaders names the headers to send;
  /// see docs/object-storage.md).
  std::string sha256 = {};  // initialised: PutTerms{max_bytes, issued_to} stays warning-free
};

/// An object opened for reading. It reads the object as it was when opened: an object put again under the
/// same key meanwhile is a new object, and this reader keeps reading the old one.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  /// The object's size in bytes.
  virtual int64_t Size() const = 0;
  /// Reads up to `n` bytes starting at `offset` into `out`; fewer only at the end of the object (0 at or past
  /// it). Positional, so several readers of one object, and byte ranges, need no seeking.
  virtual Result<size_t> ReadAt(int64_t offset, char* out, size_t n) = 0;
};

/// Object storage. Every call blocks and is safe from several threads at once (the API's store thread and the
/// post-processing thread share one). A key that is not well formed (domain::IsValidObjectKey) is refused
/// with kInvalidArgument by every call, before anything is read or written.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  /// Stores `bytes` under `key`, replacing any object there (the manager's own objects: previews, videos).
  /// Atomic: readers see the old object or the whole new one, never a part; an interrupted or failed Put
  /// leaves the old object (or none) in place.
  virtual Result<void> Put(const std::string& key, std::string_view bytes) = 0;

  /// Stores a copy of the local file `source` under `key`, streamed (never whole in memory), replacing any
  /// object there. Atomic like Put: when it fails (the source cannot be read, the disk is full) nothing is
  /// visible under `key` but what was there before. `source` itself is left as it was. kNotFound when
  /// `source` does not exist.
  virtual Result<void> PutFile(const std::string& key, const std::filesystem::path& source) = 0;

  /// Stores the local file `source` under `key`, write-once: kConflict when an object is already there
  /// (nothing changes). `source` is consumed: moved when on the same file system, else copied then removed.
  /// `sha256` is the content's lower-case hex digest, computed by the caller while receiving it; the store
  /// keeps it as the object's digest.
  virtual Result<void> CreateFromFile(const std::string& key, const std::filesystem::path& source,
                                      const std::string& sha256) = 0;

  /// Opens the object for reading. kNotFound when there is no object under `key`.
  virtual Result<std::unique_ptr<ObjectReader>> Open(const std::string& key) = 0;

  /// The whole object in memory; meant for small objects. kNotFound when there is no object under `key`.
  virtual Result<std::string> Get(const std::string& key) = 0;

  /// The object's size and stored digest, or nullopt when there is no object under `key` (not an error).
  virtual Result<std::optional<ObjectInfo>> Stat(const std::string& key) = 0;

  /// Removes the object. Idempotent: deleting a missing key is Ok. Readers opened before keep reading it.
  virtual Result<void> Delete(const std::string& key) = 0;

  /// A URL that lets whoever holds it GET the object until `ttl` has passed, with no other credential. The
  /// object need not exist yet (a GET of a missing object answers 404). When `download_name` is given, a
  /// browser saves the answer under that file name. When `sha256` is given (the digest the object must have),
  /// the URL carries it and the object is served only while its bytes still have it (a damaged object is
  /// refused, never served). The file adapter's URLs are paths on the manager ("/api/v1/blobs/<key>?..."),
  /// to be resolved against the manager's address; other adapters' are absolute.
  virtual Result<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                         const std::optional<std::string>& download_name,
                                         const std::string& sha256) = 0;

  /// A URL that lets whoever holds it PUT the object's bytes once until `ttl` has passed: the body is
  /// stored write-once (as CreateFromFile: a PUT to a key that holds an object is refused and changes
  /// nothing), a body over `terms.max_bytes` is refused. Same form as PresignGet's.
  virtual Result<std::string> PresignPut(const std::string& key, std::chrono::seconds ttl,
                                         const PutTerms& terms) = 0;
  /// The headers a PUT through a URL PresignPut made with `terms` must carry, exactly as given (the URL
  /// signs them); empty when it needs none (the file adapter).
  virtual std::map<std::string, std::string> PutHeaders(const PutTerms& terms) const = 0;

  // Listing (issue #14, retention: uploads no row records are found and removed).
  /// What List says of one object.
  struct Listed {
    std::string key;
    int64_t size = 0;         ///< bytes
    int64_t modified_ms = 0;  ///< when it was last written, ms since the Unix epoch
  };
  /// The objects whose keys start with `prefix` and sort after `start_after` ("" for the first page), in key
  /// order, at most `limit`: a listing in pages, as S3's ListObjectsV2. Objects put or deleted meanwhile may
  /// or may not be listed. A prefix no valid key can start with lists nothing; one with a "." or ".." segment
  /// or a leading '/' is kInvalidArgument.
  virtual Result<std::vector<Listed>> List(const std::string& prefix, const std::string& start_after,
                                           size_t limit) = 0;
};

}  // namespace inferix::domain
