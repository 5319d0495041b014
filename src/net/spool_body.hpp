#pragma once
// Internal to the HTTP server (http_server.cpp): a Beast body that writes a request body to a file of the
// spool folder and hashes it as it arrives, on the io thread, so no handler ever holds, copies or hashes a
// large upload. Not part of the module's interface.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "core/crypto.hpp"

namespace inferix::net::internal {

/// A spooled body: the file it is written to, its SHA-256 so far, and its size.
struct SpoolBody {
  class value_type {
   public:
    value_type() = default;
    ~value_type() { CloseFile(); }
    value_type(const value_type&) = delete;
    value_type& operator=(const value_type&) = delete;
    value_type(value_type&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)),
          hash_(std::move(other.hash_)),
          size_(other.size_),
          digest_(std::move(other.digest_)) {}
    value_type& operator=(value_type&& other) noexcept {
      if (this != &other) {
        CloseFile();
        fd_ = std::exchange(other.fd_, -1);
        hash_ = std::move(other.hash_);
        size_ = other.size_;
        digest_ = std::move(other.digest_);
      }
      return *this;
    }

    /// Creates `path` (which must not exist) for the body; false with `ec` set when it cannot.
    bool Create(const std::filesystem::path& path, std::error_code& ec) {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd_ < 0) {
        ec = std::error_code(errno, std::generic_category());
        return false;
      }
      hash_ = std::make_unique<Sha256Stream>();
      return true;
    }
    /// Appends bytes to the file and the digest; 0, or the errno of the failed write (e.g. ENOSPC).
    int Append(const char* data, size_t n) {
      if (fd_ < 0 || !hash_) return EBADF;
      hash_->Update(std::string_view(data, n));
      size_t written = 0;
      while (written < n) {
        const ssize_t w = ::write(fd_, data + written, n - written);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        written += static_cast<size_t>(w);
      }
      size_ += n;
      return 0;
    }
    /// Closes the file and finishes the digest.
    bool Finish() {
      if (!hash_) return false;
      digest_ = hash_->FinishHex();
      hash_.reset();
      return CloseFile();
    }
    uint64_t size() const { return size_; }
    /// The lower-case hex SHA-256 of the body, once finished.
    const std::string& digest() const { return digest_; }

   private:
    bool CloseFile() {
      if (fd_ < 0) return true;
      const bool ok = ::close(fd_) == 0;
      fd_ = -1;
      return ok;
    }

    int fd_ = -1;
    std::unique_ptr<Sha256Stream> hash_;
    uint64_t size_ = 0;
    std::string digest_;
  };

  /// Beast's body reader: feeds the parsed body bytes to the file.
  class reader {
   public:
    template <bool isRequest, class Fields>
    explicit reader(boost::beast::http::header<isRequest, Fields>& /*header*/, value_type& body)
        : body_(body) {}

    void init(const boost::optional<uint64_t>& /*length*/, boost::beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      size_t total = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer buffer = *it;
        if (const int err = body_.Append(static_cast<const char*>(buffer.data()), buffer.size()); err != 0) {
          ec = boost::beast::error_code(err, boost::beast::generic_category());
          return total;
        }
        total += buffer.size();
      }
      ec = {};
      return total;
    }

    void finish(boost::beast::error_code& ec) {
      if (body_.Finish()) {
        ec = {};
      } else {
        ec = boost::beast::error_code(EIO, boost::beast::generic_category());
      }
    }

   private:
    value_type& body_;
  };
};

/// Removes a spooled body's file when the request is done with (answered, refused or abandoned).
class SpoolFile {
 public:
  SpoolFile() = default;
  explicit SpoolFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~SpoolFile() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace inferix::net::internal
