#include "blend/blend_file.hpp"

#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

// The format, as Blender's own reader (source/blender/blenloader_core, makesdna/intern/dna_genfile.cc) has
// it: a header, then blocks (a block header + `len` bytes) until one with the code "ENDB". One block, "DNA1",
// is the catalog of every struct (member names, types and sizes) the file was written with; a Library
// data-block ("LI") is one such struct, and where its path lies is found from that catalog, never assumed.

namespace inferix::blend {
namespace {

namespace fs = std::filesystem;

// Limits against hostile files. Real files have a few thousand blocks per megabyte, one DNA1 block of about
// 130 KiB with some 5000 names, and Library blocks of about 2 KiB.
constexpr uint64_t kMaxDecompressed = uint64_t{4} << 30;
constexpr uint64_t kMaxBlocks = uint64_t{64} << 20;
constexpr uint64_t kMaxLibraryBlockSize = uint64_t{1} << 20;
constexpr size_t kMaxLibraryBlocks = 65536;
constexpr uint64_t kMaxLibraryBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxDnaBlockSize = uint64_t{16} << 20;
constexpr int32_t kMaxDnaItems = 1 << 20;
constexpr uint64_t kMaxArrayLength = uint64_t{1} << 31;
// zstd frames may ask for a window of up to 2^31 bytes; Blender's are far smaller. 2^27 (128 MiB) is zstd's
// own default limit, set explicitly so that a hostile frame cannot make the reader allocate more.
constexpr int kZstdWindowLogMax = 27;
constexpr size_t kChunk = size_t{64} << 10;
constexpr size_t kHeaderSize0 = 12;
constexpr size_t kHeaderSize1 = 17;
constexpr size_t kMaxBlockHeaderSize = 32;

Error Invalid(std::string_view what, std::string_view message) {
  return MakeError(Errc::kInvalidArgument, std::string(what) + ": " + std::string(message));
}

Error NotABlend(std::string_view what) {
  return MakeError(Errc::kInvalidArgument, std::string(what) + " is not a .blend file (plain, gzip or zstd)");
}

// Bytes as they may be shown in a message: printable ASCII as is, the rest as \xNN.
std::string Printable(std::string_view bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit); }

int DigitsValue(std::string_view s) {
  int v = 0;
  for (const char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

uint64_t Load(const char* p, size_t n, bool little) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<unsigned char>(p[little ? n - 1 - i : i]);
    v = (v << 8) | byte;
  }
  return v;
}

int32_t LoadI32(const char* p, bool little) {
  return static_cast<int32_t>(static_cast<uint32_t>(Load(p, 4, little)));
}

int64_t LoadI64(const char* p, bool little) { return static_cast<int64_t>(Load(p, 8, little)); }

// ---- Byte sources: a file or memory, and the gzip and zstd decoders reading from one. ----

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
  virtual Result<uint64_t> Skip(uint64_t n) {
    scratch_.resize(kChunk);
    uint64_t done = 0;
    while (done < n) {
      const auto want = static_cast<size_t>(std::min<uint64_t>(n - done, kChunk));
      auto got = Read(scratch_.data(), want);
      if (!got) {
        return got.error();
      }
      done += *got;
      if (*got < want) {
        break;
      }
    }
    return done;
  }

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

class MemorySource final : public RawSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}

  Result<size_t> Read(char* out, size_t n) override {
    const size_t k = std::min(n, data_.size() - pos_);
    if (k > 0) {
      std::memcpy(out, data_.data() + pos_, k);
    }
    pos_ += k;
    return k;
  }
  Result<uint64_t> Skip(uint64_t n) override {
    const auto k = static_cast<size_t>(std::min<uint64_t>(n, data_.size() - pos_));
    pos_ += k;
    return uint64_t{k};
  }
  std::optional<uint64_t> Remaining() const override { return data_.size() - pos_; }
  Result<void> Rewind() override {
    pos_ = 0;
    return Ok();
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

class FileSource final : public RawSource {
 public:
  static Result<std::unique_ptr<FileSource>> Open(const fs::path& path) {
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
      return MakeError(Errc::kNotFound, "cannot read " + path.string() + ": " + ErrnoMessage());
    }
    std::optional<uint64_t> size;
    struct stat st {};
    if (::fstat(::fileno(file.get()), &st) == 0 && S_ISREG(st.st_mode)) {
      size = static_cast<uint64_t>(st.st_size);
    }
    return std::unique_ptr<FileSource>(new FileSource(std::move(file), path.string(), size));
  }

  Result<size_t> Read(char* out, size_t n) override {
    const size_t k = std::fread(out, 1, n, file_.get());
    if (k < n && std::ferror(file_.get())) {
      return MakeError(Errc::kNotFound, "cannot read " + name_ + ": " + ErrnoMessage());
    }
    pos_ += k;
    return k;
  }
  Result<uint64_t> Skip(uint64_t n) override {
    if (!size_) {
      return Source::Skip(n);
    }
    const uint64_t k = std::min(n, *size_ - std::min(pos_, *size_));
    if (::fseeko(file_.get(), static_cast<off_t>(k), SEEK_CUR) != 0) {
      return MakeError(Errc::kNotFound, "cannot read " + name_ + ": " + ErrnoMessage());
    }
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> Remaining() const override {
    if (!size_) {
      return std::nullopt;
    }
    return *size_ - std::min(pos_, *size_);
  }
  Result<void> Rewind() override {
    if (::fseeko(file_.get(), 0, SEEK_SET) != 0) {
      return MakeError(Errc::kNotFound, "cannot read " + name_ + ": " + ErrnoMessage());
    }
    std::clearerr(file_.get());
    pos_ = 0;
    return Ok();
  }

 private:
  FileSource(std::unique_ptr<std::FILE, FileCloser> file, std::string name, std::optional<uint64_t> size)
      : file_(std::move(file)), name_(std::move(name)), size_(size) {}

  static std::string ErrnoMessage() { return std::error_code(errno, std::generic_category()).message(); }

  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string name_;
  std::optional<uint64_t> size_;
  uint64_t pos_ = 0;
};

// Counts what a decoder produced, and refuses more than kMaxDecompressed (a compression bomb).
Result<void> CountOutput(uint64_t& produced, size_t more, std::string_view what) {
  produced += more;
  if (produced > kMaxDecompressed) {
    return Invalid(
        what, "decompresses to more than 4 GiB, more than this reader accepts (a damaged or hostile file)");
  }
  return Ok();
}

// gzip, as Blender 2.x wrote it (zlib's gzwrite); several members one after the other are read as one stream.
class GzipSource final : public Source {
 public:
  GzipSource(Source& raw, std::string what) : raw_(raw), what_(std::move(what)), in_(kChunk) {
    initialized_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  ~GzipSource() override {
    if (initialized_) {
      inflateEnd(&z_);
    }
  }

  Result<size_t> Read(char* out, size_t n) override {
    if (!initialized_) {
      return MakeError(Errc::kInternal, what_ + ": cannot start gzip decompression (zlib)");
    }
    size_t got = 0;
    while (got < n && !ended_) {
      if (z_.avail_in == 0) {
        auto more = Refill();
        if (!more) {
          return more.error();
        }
        if (!*more) {
          return Invalid(what_, "the gzip data ends early: the file is truncated");
        }
      }
      const size_t room = std::min<size_t>(n - got, UINT_MAX);
      z_.next_out = reinterpret_cast<Bytef*>(out + got);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      got += room - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Another member may follow; anything else after the end is ignored, as zlib's gzread does.
        if (z_.avail_in == 0) {
          auto more = Refill();
          if (!more) {
            return more.error();
          }
          if (!*more) {
            ended_ = true;
            break;
          }
        }
        if (*z_.next_in != 0x1f || inflateReset(&z_) != Z_OK) {
          ended_ = true;
        }
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z_.avail_in == 0)) {
        return Invalid(what_, std::string("the gzip data is damaged (") +
                                  (z_.msg != nullptr ? z_.msg : "zlib error") + ")");
      }
    }
    INFERIX_TRY(CountOutput(produced_, got, what_));
    return got;
  }

 private:
  // Reads the next compressed bytes; false where there are none left.
  Result<bool> Refill() {
    auto got = raw_.Read(reinterpret_cast<char*>(in_.data()), in_.size());
    if (!got) {
      return got.error();
    }
    z_.next_in = in_.data();
    z_.avail_in = static_cast<uInt>(*got);
    return *got > 0;
  }

  Source& raw_;
  std::string what_;
  std::vector<Bytef> in_;
  z_stream z_{};
  bool initialized_ = false;
  bool ended_ = false;
  uint64_t produced_ = 0;
};

struct ZstdFree {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// zstd, as Blender 3.0 and later write it: several frames and a skippable seek-table frame, which zstd's
// streaming decoder reads as one stream.
class ZstdSource final : public Source {
 public:
  ZstdSource(Source& raw, std::string what)
      : raw_(raw), what_(std::move(what)), ctx_(ZSTD_createDCtx()), in_(kChunk) {
    if (ctx_) {
      ZSTD_DCtx_setParameter(ctx_.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax);
    }
  }

  Result<size_t> Read(char* out, size_t n) override {
    if (!ctx_) {
      return MakeError(Errc::kInternal, what_ + ": cannot start zstd decompression");
    }
    size_t got = 0;
    while (got < n) {
      if (buffer_.pos == buffer_.size && !raw_done_) {
        auto more = raw_.Read(in_.data(), in_.size());
        if (!more) {
          return more.error();
        }
        buffer_ = ZSTD_inBuffer{in_.data(), *more, 0};
        raw_done_ = *more == 0;
      }
      ZSTD_outBuffer output{out + got, n - got, 0};
      const size_t rc = ZSTD_decompressStream(ctx_.get(), &output, &buffer_);
      if (ZSTD_isError(rc) != 0) {
        return Invalid(what_, std::string("the zstd data is damaged (") + ZSTD_getErrorName(rc) + ")");
      }
      got += output.pos;
      if (output.pos == 0 && buffer_.pos == buffer_.size && raw_done_) {
        // 0: the last frame ended exactly there; otherwise the data stops inside a frame.
        if (rc != 0) {
          return Invalid(what_, "the zstd data ends early: the file is truncated");
        }
        break;
      }
    }
    INFERIX_TRY(CountOutput(produced_, got, what_));
    return got;
  }

 private:
  Source& raw_;
  std::string what_;
  std::unique_ptr<ZSTD_DCtx, ZstdFree> ctx_;
  std::vector<char> in_;
  ZSTD_inBuffer buffer_{nullptr, 0, 0};
  bool raw_done_ = false;
  uint64_t produced_ = 0;
};

// ---- Opening: compression, then the header. ----

// What the first bytes say the file is; the source is rewound to its start.
Result<Compression> DetectCompression(RawSource& raw, std::string_view what) {
  std::array<char, 4> magic{};
  auto got = raw.Read(magic.data(), magic.size());
  if (!got) {
    return got.error();
  }
  INFERIX_TRY(raw.Rewind());
  const std::string_view m(magic.data(), *got);
  if (m.empty()) {
    return MakeError(Errc::kInvalidArgument,
                     std::string(what) + " is empty, so it is not a .blend file (plain, gzip or zstd)");
  }
  if (m.size() >= 2 && m[0] == '\x1f' && m[1] == '\x8b') {
    return Compression::kGzip;
  }
  if (m == std::string_view("\x28\xb5\x2f\xfd", 4)) {
    return Compression::kZstd;
  }
  if (std::string_view("BLENDER").substr(0, m.size()) == m) {
    return Compression::kNone;
  }
  return NotABlend(what);
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "plain";
}

// A file opened for reading: its raw bytes and, when compressed, the decoder in front of them.
struct Opened {
  Compression compression = Compression::kNone;
  std::unique_ptr<Source> decoder;
  Source* stream = nullptr;
  BlendHeader header;
  size_t header_size = 0;
};

Result<Opened> Open(RawSource& raw, const std::string& what) {
  Opened o;
  auto compression = DetectCompression(raw, what);
  if (!compression) {
    return compression.error();
  }
  o.compression = *compression;
  if (o.compression == Compression::kGzip) {
    o.decoder = std::make_unique<GzipSource>(raw, what);
  }
  if (o.compression == Compression::kZstd) {
    o.decoder = std::make_unique<ZstdSource>(raw, what);
  }
  o.stream = o.decoder ? o.decoder.get() : &raw;

  std::array<char, kHeaderSize1> head{};
  auto got = o.stream->Read(head.data(), kHeaderSize0);
  if (!got) {
    return got.error();
  }
  size_t size = *got;
  if (size == kHeaderSize0 && IsDigit(head[7])) {  // the longer header of format version 1
    auto more = o.stream->Read(head.data() + kHeaderSize0, kHeaderSize1 - kHeaderSize0);
    if (!more) {
      return more.error();
    }
    size += *more;
  }
  const std::string_view bytes(head.data(), size);
  auto header = ParseHeader(bytes);
  if (!header) {
    if (o.compression != Compression::kNone && !bytes.starts_with("BLENDER")) {
      return MakeError(Errc::kInvalidArgument,
                       what + " is " + std::string(CompressionName(o.compression)) +
                           "-compressed data but not a .blend file (plain, gzip or zstd)");
    }
    return Invalid(what, header.error().message);
  }
  header->compression = o.compression;
  o.header = *header;
  o.header_size = header->format_version == 0 ? kHeaderSize0 : kHeaderSize1;
  return o;
}

// ---- Blocks. ----

// A block header, whichever of the three stored forms it came from.
struct BlockHeader {
  std::array<char, 4> code{};
  int64_t len = 0;
  int64_t sdna = 0;
};

// BHead4 (4-byte pointers): code, int32 len, uint32 old, int32 SDNAnr, int32 nr.
// SmallBHead8 (8-byte pointers, format 0): code, int32 len, uint64 old, int32 SDNAnr, int32 nr.
// LargeBHead8 (format 1): code, int32 SDNAnr, uint64 old, int64 len, int64 nr.
size_t BlockHeaderSize(const BlendHeader& h) {
  if (h.format_version == 1) {
    return 32;
  }
  return h.pointer_size == 4 ? 20 : 24;
}

BlockHeader DecodeBlockHeader(const char* p, const BlendHeader& h) {
  BlockHeader b;
  std::memcpy(b.code.data(), p, 4);
  // ID codes are two characters stored as an int: "LI\0\0" little-endian, "\0\0LI" big-endian.
  if (!h.little_endian && b.code[0] == '\0' && b.code[1] == '\0') {
    b.code = {b.code[2], b.code[3], '\0', '\0'};
  }
  const bool le = h.little_endian;
  if (h.format_version == 1) {
    b.sdna = LoadI32(p + 4, le);
    b.len = LoadI64(p + 16, le);
  } else {
    b.len = LoadI32(p + 4, le);
    b.sdna = LoadI32(p + (h.pointer_size == 4 ? 12 : 16), le);
  }
  return b;
}

bool CodeIs(const std::array<char, 4>& code, std::string_view four) {
  return std::string_view(code.data(), 4) == four;
}

// ---- DNA1: the catalog of structs. ----

struct DnaMember {
  uint16_t type = 0;
  uint16_t name = 0;
};

struct DnaStruct {
  uint16_t type = 0;
  uint32_t first_member = 0;
  uint16_t member_count = 0;
};

// The parsed catalog; its names point into the DNA1 block's bytes, which must outlive it.
struct Dna {
  std::vector<std::string_view> names;
  std::vector<std::string_view> types;
  std::vector<uint16_t> type_sizes;
  std::vector<DnaStruct> structs;
  std::vector<DnaMember> members;
};

// Bounds-checked reads through a block's bytes.
class Cursor {
 public:
  Cursor(std::string_view data, bool little) : data_(data), little_(little) {}
  size_t Left() const { return data_.size() - pos_; }
  bool Tag(std::string_view tag) {
    if (Left() < tag.size() || data_.substr(pos_, tag.size()) != tag) {
      return false;
    }
    pos_ += tag.size();
    return true;
  }
  std::optional<int32_t> I32() {
    if (Left() < 4) {
      return std::nullopt;
    }
    const int32_t v = LoadI32(data_.data() + pos_, little_);
    pos_ += 4;
    return v;
  }
  std::optional<int16_t> I16() {
    if (Left() < 2) {
      return std::nullopt;
    }
    const auto v = static_cast<int16_t>(static_cast<uint16_t>(Load(data_.data() + pos_, 2, little_)));
    pos_ += 2;
    return v;
  }
  std::optional<std::string_view> CString() {
    const size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  // Sections start 4-byte aligned (relative to the block, which Blender reads into aligned memory).
  void Align4() { pos_ = std::min(data_.size(), (pos_ + 3) & ~size_t{3}); }

 private:
  std::string_view data_;
  bool little_;
  size_t pos_ = 0;
};

Result<std::vector<std::string_view>> ReadDnaNames(Cursor& c, std::string_view tag, std::string_view what) {
  if (!c.Tag(tag)) {
    return Invalid(what, "the DNA1 block is damaged: no " + std::string(tag) + " section");
  }
  const auto count = c.I32();
  if (!count || *count < 0 || *count > kMaxDnaItems || static_cast<size_t>(*count) > c.Left()) {
    return Invalid(what, "the DNA1 block is damaged: its " + std::string(tag) + " count is beyond its data");
  }
  std::vector<std::string_view> names;
  names.reserve(static_cast<size_t>(*count));
  for (int32_t i = 0; i < *count; ++i) {
    auto s = c.CString();
    if (!s) {
      return Invalid(what, "the DNA1 block is damaged: its " + std::string(tag) + " list runs past its end");
    }
    names.push_back(*s);
  }
  c.Align4();
  return names;
}

Result<Dna> ParseDna(std::string_view data, bool little, std::string_view what) {
  Cursor c(data, little);
  if (!c.Tag("SDNA")) {
    return Invalid(what, "the DNA1 block is damaged: it does not start with SDNA");
  }
  Dna dna;
  auto names = ReadDnaNames(c, "NAME", what);
  if (!names) {
    return names.error();
  }
  dna.names = std::move(*names);
  auto types = ReadDnaNames(c, "TYPE", what);
  if (!types) {
    return types.error();
  }
  dna.types = std::move(*types);

  if (!c.Tag("TLEN") || c.Left() < 2 * dna.types.size()) {
    return Invalid(what, "the DNA1 block is damaged: its TLEN section is missing or short");
  }
  dna.type_sizes.reserve(dna.types.size());
  for (size_t i = 0; i < dna.types.size(); ++i) {
    dna.type_sizes.push_back(static_cast<uint16_t>(c.I16().value_or(0)));
  }
  c.Align4();

  if (!c.Tag("STRC")) {
    return Invalid(what, "the DNA1 block is damaged: no STRC section");
  }
  const auto count = c.I32();
  if (!count || *count < 0 || *count > kMaxDnaItems || static_cast<size_t>(*count) > c.Left() / 4) {
    return Invalid(what, "the DNA1 block is damaged: its STRC count is beyond its data");
  }
  dna.structs.reserve(static_cast<size_t>(*count));
  for (int32_t i = 0; i < *count; ++i) {
    const auto type = c.I16();
    const auto member_count = c.I16();
    if (!type || !member_count || *type < 0 || static_cast<size_t>(*type) >= dna.types.size() ||
        *member_count < 0 || static_cast<size_t>(*member_count) > c.Left() / 4) {
      return Invalid(what, "the DNA1 block is damaged: struct " + std::to_string(i) + " is out of range");
    }
    DnaStruct s;
    s.type = static_cast<uint16_t>(*type);
    s.first_member = static_cast<uint32_t>(dna.members.size());
    s.member_count = static_cast<uint16_t>(*member_count);
    for (int16_t m = 0; m < *member_count; ++m) {
      const auto member_type = c.I16();
      const auto member_name = c.I16();
      if (!member_type || !member_name || *member_type < 0 ||
          static_cast<size_t>(*member_type) >= dna.types.size() || *member_name < 0 ||
          static_cast<size_t>(*member_name) >= dna.names.size()) {
        return Invalid(
            what, "the DNA1 block is damaged: a member of struct " + std::to_string(i) + " is out of range");
      }
      dna.members.push_back({static_cast<uint16_t>(*member_type), static_cast<uint16_t>(*member_name)});
    }
    dna.structs.push_back(s);
  }
  return dna;
}

// A member name without its pointer marks and array sizes: "*next" -> "next", "name[1024]" -> "name",
// "(*func)()" -> "func".
std::string_view BareName(std::string_view name) {
  size_t begin = 0;
  while (begin < name.size() && (name[begin] == '*' || name[begin] == '(')) {
    ++begin;
  }
  size_t end = begin;
  while (end < name.size() && name[end] != '[' && name[end] != ')') {
    ++end;
  }
  return name.substr(begin, end - begin);
}

bool IsPointer(std::string_view name) { return name.starts_with("*") || name.starts_with("(*"); }

// The number of elements a member name declares: the product of its [N] sizes, 1 without any.
std::optional<uint64_t> ArrayLength(std::string_view name) {
  uint64_t length = 1;
  size_t pos = name.find('[');
  while (pos != std::string_view::npos) {
    const size_t close = name.find(']', pos);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view digits = name.substr(pos + 1, close - pos - 1);
    if (!AllDigits(digits) || digits.size() > 9) {
      return std::nullopt;
    }
    length *= static_cast<uint64_t>(DigitsValue(digits));
    if (length > kMaxArrayLength) {
      return std::nullopt;
    }
    pos = name.find('[', close);
  }
  return length;
}

// Where a Library keeps the path it was linked with.
struct PathField {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Finds the Library's path member. On disk it has always been `name` (Blender renames it `filepath` only in
// memory: makesdna's dna_rename_defs.h); beside it 2.7x to 2.90 store the absolute path as `filepath`, 2.91
// to 4.x as `filepath_abs`, and 5.x nothing. A catalog that uses the in-memory names (`filepath` with
// `filepath_abs`, no `name`) is read too.
Result<PathField> FindLibraryPath(const Dna& dna, const DnaStruct& s, int pointer_size,
                                  std::string_view what) {
  std::optional<PathField> name;
  std::optional<PathField> filepath;
  bool has_filepath_abs = false;
  uint64_t offset = 0;
  for (uint32_t i = 0; i < s.member_count; ++i) {
    const DnaMember& m = dna.members[s.first_member + i];
    const std::string_view member = dna.names[m.name];
    const auto length = ArrayLength(member);
    if (!length) {
      return Invalid(what, "the DNA1 block is damaged: the Library member \"" + Printable(member) +
                               "\" has a malformed array size");
    }
    const bool pointer = IsPointer(member);
    const uint64_t size = *length * (pointer ? static_cast<uint64_t>(pointer_size) : dna.type_sizes[m.type]);
    const std::string_view bare = BareName(member);
    const bool char_array =
        !pointer && dna.types[m.type] == "char" && member.find('[') != std::string_view::npos;
    if (bare == "name" && char_array) {
      name = PathField{offset, size};
    }
    if (bare == "filepath" && char_array) {
      filepath = PathField{offset, size};
    }
    if (bare == "filepath_abs") {
      has_filepath_abs = true;
    }
    offset += size;
  }
  if (name) {
    return *name;
  }
  if (filepath && has_filepath_abs) {
    return *filepath;
  }
  return Invalid(
      what,
      "the Library struct in the DNA1 block has no path member (a char array `name`, or `filepath` beside "
      "`filepath_abs`): the file is damaged, or from a Blender this reader does not know");
}

// A Library block kept until the catalog (written near the end of the file) says how to read it.
struct LibraryBlock {
  uint64_t index = 0;
  int64_t sdna = 0;
  std::string bytes;
};

// Reads `len` bytes of a block that is kept; an error where the data ends first.
Result<std::string> ReadBlockBytes(Source& stream, uint64_t len, std::string_view what,
                                   std::string_view label) {
  std::string bytes(static_cast<size_t>(len), '\0');
  auto got = stream.Read(bytes.data(), bytes.size());
  if (!got) {
    return got.error();
  }
  if (*got < bytes.size()) {
    return Invalid(what, std::string(label) + " is cut short: the file is truncated");
  }
  return bytes;
}

Result<std::vector<std::string>> ReadLibraryPathsFrom(RawSource& raw, const std::string& what) {
  auto opened = Open(raw, what);
  if (!opened) {
    return opened.error();
  }
  const BlendHeader& header = opened->header;
  Source& stream = *opened->stream;
  const bool compressed = opened->compression != Compression::kNone;
  const size_t bhead_size = BlockHeaderSize(header);

  std::vector<LibraryBlock> libraries;
  uint64_t library_bytes = 0;
  std::optional<std::string> dna_bytes;
  uint64_t offset = opened->header_size;  // in the decompressed data
  std::array<char, kMaxBlockHeaderSize> raw_header{};
  for (uint64_t index = 0;; ++index) {
    if (index == kMaxBlocks) {
      return Invalid(
          what, "has more than " + std::to_string(kMaxBlocks) + " blocks: the file is damaged or hostile");
    }
    auto got = stream.Read(raw_header.data(), bhead_size);
    if (!got) {
      return got.error();
    }
    // Blender accepts a last block header cut short after its ENDB code.
    if (*got >= 4 && std::string_view(raw_header.data(), 4) == "ENDB") {
      break;
    }
    const std::string at = " at offset " + std::to_string(offset);
    if (*got == 0) {
      return Invalid(what, "ends" + at + " without its ENDB block: the file is truncated");
    }
    if (*got < bhead_size) {
      return Invalid(what, "the block header" + at + " is cut short: the file is truncated");
    }
    const BlockHeader block = DecodeBlockHeader(raw_header.data(), header);
    const std::string label = "block " + std::to_string(index) + " ('" +
                              Printable(std::string_view(block.code.data(), 4)) + "')" + at;
    if (block.len < 0) {
      return Invalid(
          what, label + " has a negative length (" + std::to_string(block.len) + "): the file is damaged");
    }
    offset += bhead_size;
    const auto len = static_cast<uint64_t>(block.len);
    if (const auto left = stream.Remaining(); left && len > *left) {
      return Invalid(what, label + " claims " + std::to_string(len) + " bytes but only " +
                               std::to_string(*left) + " are left: the file is truncated or damaged");
    }
    if (compressed && len > kMaxDecompressed - std::min(offset, kMaxDecompressed)) {
      return Invalid(what, label + " claims " + std::to_string(len) +
                               " bytes, past the 4 GiB of decompressed data this reader accepts");
    }

    if (CodeIs(block.code, std::string_view("LI\0\0", 4))) {
      if (len > kMaxLibraryBlockSize) {
        return Invalid(what, label + " claims " + std::to_string(len) +
                                 " bytes for a Library, which takes a few KiB: the file is damaged");
      }
      if (libraries.size() == kMaxLibraryBlocks || library_bytes + len > kMaxLibraryBytes) {
        return Invalid(what,
                       "has more Library blocks than this reader accepts: the file is damaged or hostile");
      }
      auto bytes = ReadBlockBytes(stream, len, what, label);
      if (!bytes) {
        return bytes.error();
      }
      library_bytes += len;
      libraries.push_back({index, block.sdna, std::move(*bytes)});
    } else if (CodeIs(block.code, "DNA1")) {
      if (dna_bytes) {
        return Invalid(what, label + " is a second DNA1 block: the file is damaged");
      }
      if (len > kMaxDnaBlockSize) {
        return Invalid(
            what, label + " claims " + std::to_string(len) +
                      " bytes for the struct catalog, which takes a few hundred KiB: the file is damaged");
      }
      auto bytes = ReadBlockBytes(stream, len, what, label);
      if (!bytes) {
        return bytes.error();
      }
      dna_bytes = std::move(*bytes);
    } else {
      auto skipped = stream.Skip(len);
      if (!skipped) {
        return skipped.error();
      }
      if (*skipped < len) {
        return Invalid(what, label + " is cut short: the file is truncated");
      }
    }
    offset += len;
  }

  if (!dna_bytes) {
    return Invalid(
        what,
        "has no DNA1 block (the catalog of structs that says where a Library keeps its path): the file is "
        "damaged");
  }
  auto dna = ParseDna(*dna_bytes, header.little_endian, what);
  if (!dna) {
    return dna.error();
  }

  std::vector<std::string> paths;
  std::unordered_set<std::string> seen;
  std::unordered_map<int64_t, PathField> fields;  // by struct index
  for (const LibraryBlock& library : libraries) {
    const std::string label = "Library block " + std::to_string(library.index);
    if (library.sdna < 0 || static_cast<uint64_t>(library.sdna) >= dna->structs.size()) {
      return Invalid(what, label + " names struct " + std::to_string(library.sdna) +
                               ", which the DNA1 block does not have: the file is damaged");
    }
    const DnaStruct& s = dna->structs[static_cast<size_t>(library.sdna)];
    if (dna->types[s.type] != "Library") {
      return Invalid(what, label + " is stored as struct \"" + Printable(dna->types[s.type]) +
                               "\", not Library: the file is damaged");
    }
    auto found = fields.find(library.sdna);
    if (found == fields.end()) {
      auto field = FindLibraryPath(*dna, s, header.pointer_size, what);
      if (!field) {
        return field.error();
      }
      found = fields.emplace(library.sdna, *field).first;
    }
    const PathField& field = found->second;
    if (field.offset > library.bytes.size() || field.size > library.bytes.size() - field.offset) {
      return Invalid(what, label + " has " + std::to_string(library.bytes.size()) +
                               " bytes, too few for the path its struct places at " +
                               std::to_string(field.offset) + ": the file is damaged");
    }
    const std::string_view value(library.bytes.data() + field.offset, static_cast<size_t>(field.size));
    const size_t end = value.find('\0');
    if (end == std::string_view::npos) {
      return Invalid(what, label + "'s path does not end within its field: the file is damaged");
    }
    std::string path(value.substr(0, end));
    if (path.empty()) {
      continue;  // a Library without a path links nothing to fetch
    }
    if (seen.insert(path).second) {
      paths.push_back(std::move(path));
    }
  }
  return paths;
}

Result<BlendHeader> ReadHeaderFrom(RawSource& raw, const std::string& what) {
  auto opened = Open(raw, what);
  if (!opened) {
    return opened.error();
  }
  return opened->header;
}

}  // namespace

std::string BlendHeader::VersionString() const {
  // Blender 2.x counted minors in two digits (2.79, 2.80); from 3.0 on they are single digits (3.4, 4.2).
  const int minor = Minor();
  std::string out = std::to_string(Major()) + ".";
  if (Major() < 3 && minor < 10) {
    out += "0";
  }
  return out + std::to_string(minor);
}

Result<BlendHeader> ParseHeader(std::string_view head) {
  const auto bad = [](const std::string& message) { return MakeError(Errc::kInvalidArgument, message); };
  constexpr std::string_view kMagic = "BLENDER";
  if (head.substr(0, kMagic.size()) != kMagic.substr(0, std::min(head.size(), kMagic.size()))) {
    return bad("not a .blend file: it does not start with \"BLENDER\"");
  }
  if (head.size() < kHeaderSize0) {
    return bad("the .blend header is cut short (" + std::to_string(head.size()) + " of 12 bytes)");
  }
  BlendHeader h;
  if (head[7] == '_' || head[7] == '-') {  // format 0: "BLENDER-v304"
    h.format_version = 0;
    h.pointer_size = head[7] == '_' ? 4 : 8;
    if (head[8] != 'v' && head[8] != 'V') {
      return bad("the .blend header has an unknown byte order '" + Printable(head.substr(8, 1)) +
                 "' (v or V)");
    }
    h.little_endian = head[8] == 'v';
    if (!AllDigits(head.substr(9, 3))) {
      return bad("the .blend header's version \"" + Printable(head.substr(9, 3)) + "\" is not 3 digits");
    }
    h.version = DigitsValue(head.substr(9, 3));
    return h;
  }
  // format 1: "BLENDER17-01v0502": header size, '-', format version, 'v', 4-digit version.
  if (!AllDigits(head.substr(7, 2))) {
    return bad("the .blend header has an unknown pointer size mark '" + Printable(head.substr(7, 1)) +
               "' (_ or -)");
  }
  const int header_size = DigitsValue(head.substr(7, 2));
  if (header_size != static_cast<int>(kHeaderSize1)) {
    return bad("the .blend header gives its size as " + std::to_string(header_size) +
               "; this reader knows 12 and 17 (saved by a newer Blender?)");
  }
  if (head.size() < kHeaderSize1) {
    return bad("the .blend header is cut short (" + std::to_string(head.size()) + " of 17 bytes)");
  }
  if (head[9] != '-') {
    return bad("the 17-byte .blend header has '" + Printable(head.substr(9, 1)) + "' where '-' belongs");
  }
  if (!AllDigits(head.substr(10, 2))) {
    return bad("the .blend header's format version \"" + Printable(head.substr(10, 2)) +
               "\" is not 2 digits");
  }
  h.format_version = DigitsValue(head.substr(10, 2));
  if (h.format_version != 1) {
    return bad("the .blend file format version " + std::to_string(h.format_version) +
               " is unknown to this reader (saved by a newer Blender?)");
  }
  // Blender writes this form only little-endian and reads no other.
  if (head[12] != 'v') {
    return bad("the 17-byte .blend header has byte order '" + Printable(head.substr(12, 1)) +
               "'; only 'v' exists");
  }
  if (!AllDigits(head.substr(13, 4))) {
    return bad("the .blend header's version \"" + Printable(head.substr(13, 4)) + "\" is not 4 digits");
  }
  h.pointer_size = 8;
  h.little_endian = true;
  h.version = DigitsValue(head.substr(13, 4));
  return h;
}

Result<BlendHeader> ReadHeader(const fs::path& file) {
  auto source = FileSource::Open(file);
  if (!source) {
    return source.error();
  }
  return ReadHeaderFrom(**source, file.string());
}

Result<BlendHeader> ReadHeaderFromBytes(std::string_view file_bytes) {
  MemorySource source(file_bytes);
  return ReadHeaderFrom(source, "input");
}

Result<std::vector<std::string>> ReadLibraryPaths(const fs::path& file) {
  auto source = FileSource::Open(file);
  if (!source) {
    return source.error();
  }
  return ReadLibraryPathsFrom(**source, file.string());
}

Result<std::vector<std::string>> ReadLibraryPathsFromBytes(std::string_view file_bytes) {
  MemorySource source(file_bytes);
  return ReadLibraryPathsFrom(source, "input");
}

}  // namespace inferix::blend
