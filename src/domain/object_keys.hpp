#pragma once
// Every object key, in one place. Keys are what the object store (domain/object_store.hpp) addresses objects
// by and what the database records (Output::blob_key, Output::preview_key, Job::video_key), so their formats
// never change once written:
//
//   files/<sha256>                          a user's uploaded scene file, by the SHA-256 of its bytes
//   outputs/<job>/<task>_<frame>_<nonce>    a frame a node rendered and uploaded (the nonce makes each upload
//                                           of the same frame a new object)
//   previews/<job>/<frame>_<output>.png     the manager's display thumbnail of an output
//   videos/<job>.mp4                        the manager's video of a completed job
//   uploads/<sha256>/<user>_<nonce>         a scene file on its way in, before its digest is checked (an S3
//                                           multipart upload, or a proof of a file the store already has)
//
// Pure functions; no I/O.
#include <cstdint>
#include <string>
#include <string_view>

namespace inferix::domain {

/// True when `key` is well formed: 1 to 512 characters, segments of [a-z0-9_.-] separated by single '/', no
/// "." or ".." segment, no leading or trailing '/'. Every object store call refuses other keys.
bool IsValidObjectKey(std::string_view key);

/// True when a listing prefix may name keys (ObjectStore::List): no leading '/', no "." or ".." segment, no
/// empty segment before its last '/'. Every adapter's List refuses other prefixes.
bool IsListablePrefix(std::string_view prefix);

/// The key of an uploaded scene file: "files/<sha256>" (the hash as 64 lower-case hex digits).
std::string FileKey(std::string_view sha256);

/// The staging key a user uploads a scene file to before the manager has checked its digest:
/// "uploads/<sha256>/<user>_<nonce>". `nonce` is random lower-case hex made by the caller. Nothing is ever
/// read from it but by that check: a body under it that differs from its digest is never seen under FileKey.
std::string UploadKey(std::string_view sha256, int64_t user_id, std::string_view nonce);

/// True when `key` is a well-formed key UploadKey makes for this file and user, with any non-empty nonce of
/// [a-z0-9]: what a user's completion of an upload must name (a user completes only their own uploads).
bool IsUploadKeyFor(std::string_view key, std::string_view sha256, int64_t user_id);

/// The key a node uploads a rendered frame to: "outputs/<job>/<task>_<frame>_<nonce>". `nonce` is random
/// lower-case hex (non-empty) made by the caller, so that the key cannot be guessed and two uploads never
/// share it.
std::string OutputKey(int64_t job_id, int64_t task_id, int frame, std::string_view nonce);

/// True when `key` is a well-formed key that OutputKey makes for this job, task and frame, with any non-empty
/// nonce of [a-z0-9]: what a node's report of a frame must name.
bool IsOutputKeyFor(std::string_view key, int64_t job_id, int64_t task_id, int frame);

/// The key of the manager's thumbnail of an output: "previews/<job>/<frame>_<output>.png".
std::string PreviewKey(int64_t job_id, int frame, int64_t output_id);

/// The key of the manager's video of a job: "videos/<job>.mp4".
std::string VideoKey(int64_t job_id);

/// True for the objects the manager makes itself (previews and videos), whose content it knows and may serve
/// as what it is; every other object (uploads by users and nodes) is only ever served as bytes to save.
bool IsManagerMade(std::string_view key);

}  // namespace inferix::domain
