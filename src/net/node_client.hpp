#pragma once
// A node's (worker's or verifier's) side of the protocol: enrollment, credentials kept in its data folder,
// authenticated calls, signed reports and signed-URL transfers.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/http_client.hpp"

namespace inferix::net {

/// What a node keeps in `<data>/node.json` (mode 0600) after enrolling.
struct NodeCredentials {
  int64_t node_id = 0;
  std::string node_token;
  std::string private_key;  ///< Ed25519 seed, hex
  std::string public_key;
};

/// Maps an HTTP error answer ({"error":{"code","message"}}) to an Error.
Error ErrorFromResponse(const HttpResponse& response, const std::string& what);

/// JSON-over-HTTP calls to the manager; transport failures are kUnavailable (retry with backoff).
class ApiClient {
 public:
  ApiClient(std::string manager_url, std::string bearer_token, ClientOptions options = {});
  /// Sends a JSON request to `path` ("/api/v1/..."); non-2xx answers become Errors with the server's message.
  /// 204 gives a null JSON value.
  Result<nlohmann::json> Call(const std::string& method, const std::string& path,
                              const nlohmann::json& body = nullptr, long timeout_s = 0);
  /// Sends a request and returns the body as text (event streams); non-2xx answers become Errors.
  Result<std::string> CallText(const std::string& method, const std::string& path,
                               const std::map<std::string, std::string>& headers = {}, long timeout_s = 0);
  /// PUTs a file to a path with the bearer token (user uploads) or to a signed path (no token needed).
  Result<nlohmann::json> PutFile(const std::string& path_and_query, const std::filesystem::path& file,
                                 bool with_token);
  /// GETs a path into `dest` atomically.
  Result<void> Download(const std::string& path_and_query, const std::filesystem::path& dest);
  const std::string& manager_url() const { return manager_url_; }
  void set_token(std::string token) { token_ = std::move(token); }

 private:
  std::map<std::string, std::string> Headers(bool with_token, bool json) const;
  std::string manager_url_;
  std::string token_;
  HttpClient http_;
};

/// Loads the node's credentials from `data_dir`, or enrolls with `enrollment_token` and saves them.
/// `role` is "worker" or "verifier"; `capabilities` describes the machine.
Result<NodeCredentials> LoadOrEnroll(ApiClient& api, const std::filesystem::path& data_dir,
                                     const std::string& enrollment_token, const std::string& name,
                                     const std::string& role, const nlohmann::json& capabilities);

/// Downloads the scene's files (claim JSON "scene") into a content-addressed cache, verifying each SHA-256,
/// and lays them out under `scene_dir` at their relative paths. Returns the main .blend's path.
Result<std::filesystem::path> FetchScene(ApiClient& api, const nlohmann::json& scene,
                                         const std::filesystem::path& cache_dir,
                                         const std::filesystem::path& scene_dir);
/// Hashes of the files in the cache (for the claim's "cached" list).
std::vector<std::string> CachedHashes(const std::filesystem::path& cache_dir);

/// Machine description: CPU count, memory, GPUs (nvidia-smi when present), the first Blender's version
/// ("blender_version") and every Blender build's version and denoisers ("blenders": [{"version",
/// "denoisers"}]).
nlohmann::json DescribeMachine(const std::vector<std::string>& blenders);

/// One Blender build: {"version": "3.4.1", "denoisers": ["OPENIMAGEDENOISE", ...]} (kept in the user's cache
/// like the version).
nlohmann::json DescribeBlender(const std::string& blender);

/// The denoisers a Blender build has ("OPENIMAGEDENOISE", "OPTIX"), asked of its Cycles once and kept in the
/// user's cache like the version; empty when it has none or cannot say.
std::vector<std::string> BlenderDenoisers(const std::string& blender);

/// The version `blender --version` prints ("3.4.1"), empty when it prints none. The answer is kept in
/// $XDG_CACHE_HOME/inferix (or ~/.cache/inferix) under the executable's identity (path, inode, size, times).
std::string BlenderVersion(const std::string& blender);

}  // namespace inferix::net
