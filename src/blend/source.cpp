#include "blend/source.hpp"

#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include "blend/bytes.hpp"

namespace inferix::blend::internal {
namespace {

namespace fs = std::filesystem;

// zstd frames may ask for a window of up to 2^31 bytes; Blender's are far smaller. 2^27 (128 MiB) is zstd's
// own default limit, set explicitly so that a hostile frame cannot make the reader allocate more.
constexpr int kZstdWindowLogMax = 27;
constexpr size_t kChunk = size_t{64} << 10;

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

}  // namespace

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

Result<uint64_t> Source::Skip(uint64_t n) {
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

Result<std::unique_ptr<RawSource>> OpenFileSource(const fs::path& path) {
  auto source = FileSource::Open(path);
  if (!source) {
    return source.error();
  }
  return std::unique_ptr<RawSource>(std::move(*source));
}

std::unique_ptr<RawSource> MemorySourceOf(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

}  // namespace inferix::blend::internal
