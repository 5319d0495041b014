#pragma once
// Hashing, HMAC, random tokens and Ed25519 signatures (OpenSSL 3).
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace inferix {

/// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
/// Lower-case hex SHA-256 of a file's content, read in chunks.
Result<std::string> Sha256File(const std::filesystem::path& path);
/// Incremental SHA-256 for streamed data.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  /// Adds bytes.
  void Update(std::string_view data);
  /// Lower-case hex digest; the stream is finished afterwards.
  std::string FinishHex();

 private:
  void* ctx_;
};
/// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
/// `bytes` cryptographically random bytes as lower-case hex.
std::string RandomHex(size_t bytes);
/// Comparison whose time does not depend on where the inputs differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);
/// True when `s` is a 64-character lower-case hex SHA-256.
bool IsSha256Hex(std::string_view s);

/// An Ed25519 key pair; the private key never leaves the node's data folder.
struct Ed25519KeyPair {
  std::string private_hex;  ///< 32-byte seed, hex
  std::string public_hex;   ///< 32-byte public key, hex
};
/// Generates a new Ed25519 key pair.
Ed25519KeyPair Ed25519Generate();
/// Hex signature of `message` with the private key.
Result<std::string> Ed25519Sign(std::string_view private_hex, std::string_view message);
/// True when `signature_hex` is a valid signature of `message` under `public_hex`.
bool Ed25519Verify(std::string_view public_hex, std::string_view message, std::string_view signature_hex);

}  // namespace inferix
