#pragma once
// Reads what Inferix needs from a .blend file without Blender: the header (which Blender saved it, pointer
// size, byte order) and the paths of the libraries it links. Files may be plain, gzip (Blender 2.x) or zstd
// (Blender 3.0 and later) compressed. Every length in the file is checked, so hostile files give errors, not
// crashes.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::blend {

/// How a .blend is stored on disk.
enum class Compression { kNone, kGzip, kZstd };

/// What a .blend's header says.
struct BlendHeader {
  Compression compression = Compression::kNone;
  int format_version =
      0;  ///< 0: the 12-byte header "BLENDER-v304"; 1: "BLENDER17-01v0502" (Blender 5 and later)
  int pointer_size = 8;  ///< 4 or 8
  bool little_endian = true;
  int version = 0;  ///< the Blender version that saved it, major * 100 + minor: 304 for 3.4, 502 for 5.2

  /// The major Blender version (3 for 304).
  int Major() const { return version / 100; }
  /// The minor Blender version (4 for 304, 79 for 279).
  int Minor() const { return version % 100; }
  /// The version as Blender names it: "3.4", "5.2", "2.79".
  std::string VersionString() const;
};

/// Parses the first bytes of a decompressed .blend (the 12- or 17-byte header); an error (kInvalidArgument)
/// saying what is wrong otherwise.
Result<BlendHeader> ParseHeader(std::string_view decompressed_head);

/// Reads a file's header, decompressing only its first bytes when it is gzip (1f 8b) or zstd (28 b5 2f fd)
/// compressed. kNotFound when the file cannot be read; kInvalidArgument when it is not a .blend.
Result<BlendHeader> ReadHeader(const std::filesystem::path& file);

/// Same as ReadHeader, from bytes already in memory (possibly compressed); for tests and the fuzzer.
Result<BlendHeader> ReadHeaderFromBytes(std::string_view file_bytes);

/// The paths of the libraries a .blend links (its Library data-blocks, code "LI"), exactly as stored
/// ("//../lib/props.blend", "C:\\assets\\lib.blend", "/abs/x.blend"), in file order, each once. Streams
/// through the file, keeping only the Library blocks and the struct catalog (DNA1).
Result<std::vector<std::string>> ReadLibraryPaths(const std::filesystem::path& file);

/// Same as ReadLibraryPaths, from bytes already in memory (possibly compressed); for tests and the fuzzer.
Result<std::vector<std::string>> ReadLibraryPathsFromBytes(std::string_view file_bytes);

}  // namespace inferix::blend
