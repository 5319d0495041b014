#pragma once
// Internal to the .blend reader: the bytes of a .blend as one stream, whether the file is plain, gzip or zstd
// compressed, from a file or from memory; and opening one, which reads its header. Not part of the module's
// interface; include blend/blend_file.hpp instead.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blend/blend_file.hpp"
#include "core/result.hpp"

namespace inferix::blend::internal {

// A sequential reader of bytes.
class Source {
 public:
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  virtual ~Source() = default;

  // Reads n bytes into `out`, fewer only where the data ends.
  virtual Result<size_t> Read(char* out, size_t n) = 0;

  // Skips n bytes, fewer only where the data ends; reads through them unless the source can seek.
  virtual Result<uint64_t> Skip(uint64_t n);

  // The bytes left, where known without reading them (plain files and memory).
  virtual std::optional<uint64_t> Remaining() const { return std::nullopt; }

 private:
  std::vector<char> scratch_;
};

// The bytes of the file itself, which can start over to be read again once their compression is known.
class RawSource : public Source {
 public:
  virtual Result<void> Rewind() = 0;
};

// A file's bytes; kNotFound when it cannot be opened.
Result<std::unique_ptr<RawSource>> OpenFileSource(const std::filesystem::path& path);

// Bytes in memory, which must outlive the source.
std::unique_ptr<RawSource> MemorySourceOf(std::string_view data);

// A file opened for reading: its raw bytes and, when compressed, the decoder in front of them.
struct Opened {
  Compression compression = Compression::kNone;
  std::unique_ptr<Source> decoder;
  Source* stream = nullptr;
  BlendHeader header;
  size_t header_size = 0;
};

// Detects the compression, puts a decoder in front of `raw` where needed and reads the header; `stream` is
// then positioned at the first block. `what` names the file in errors.
Result<Opened> Open(RawSource& raw, const std::string& what);

}  // namespace inferix::blend::internal
