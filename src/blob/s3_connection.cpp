#include "blob/s3_connection.hpp"

#include <cstdlib>

#include "domain/object_keys.hpp"
#include "net/http_client.hpp"

namespace inferix::blob::s3 {
namespace {

// The shortest answer body kept in an error message.
constexpr size_t kMaxMessage = 300;

// Returns a client to the pool when the call is done.
class Lease {
 public:
  Lease(std::mutex& mu, std::vector<std::unique_ptr<net::HttpClient>>& idle, long timeout_s)
      : mu_(mu), idle_(idle) {
    {
      const std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        client_ = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (client_ == nullptr) {
      net::ClientOptions options;
      options.timeout_s = timeout_s;
      client_ = std::make_unique<net::HttpClient>(options);
    }
  }
  ~Lease() {
    const std::lock_guard lock(mu_);
    idle_.push_back(std::move(client_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  net::HttpClient& operator*() { return *client_; }

 private:
  std::mutex& mu_;
  std::vector<std::unique_ptr<net::HttpClient>>& idle_;
  std::unique_ptr<net::HttpClient> client_;
};

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

Connection::Connection(S3Config config) : config_(std::move(config)) {
  std::string endpoint = config_.endpoint;
  while (endpoint.ends_with('/')) endpoint.pop_back();
  scheme_host_ = endpoint;
  const size_t colon_slashes = endpoint.find("://");
  host_ = colon_slashes == std::string::npos ? endpoint : endpoint.substr(colon_slashes + 3);
  // curl leaves the default port out of its Host header; the signed host must be the one sent.
  if (endpoint.starts_with("http://") && host_.ends_with(":80")) host_.resize(host_.size() - 3);
  if (endpoint.starts_with("https://") && host_.ends_with(":443")) host_.resize(host_.size() - 4);
  if (config_.clock == nullptr) config_.clock = std::make_shared<SystemClock>();
}

Connection::~Connection() = default;

std::string Connection::PathOf(const std::string& key) const {
  return key.empty() ? "/" + config_.bucket : "/" + config_.bucket + "/" + key;
}

int64_t Connection::NowS() const { return config_.clock->NowMs() / 1000; }

std::string Connection::UrlOf(const std::string& key, const std::string& encoded_query) const {
  std::string url = scheme_host_ + sigv4::EncodedPath(PathOf(key));
  if (!encoded_query.empty()) url += "?" + encoded_query;
  return url;
}

Result<net::HttpResponse> Connection::Send(const Call& call) {
  sigv4::Request request;
  request.method = call.method;
  request.path = PathOf(call.key);
  request.query = call.query;
  request.headers = call.headers;
  request.headers.emplace_back("host", host_);
  request.headers.emplace_back("x-amz-content-sha256", call.payload_hash);
  request.payload_hash = call.payload_hash;
  const sigv4::Signed s = sigv4::SignHeaders(config_.credentials, {config_.region, "s3"}, NowS(), request);
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : s.headers) headers[name] = value;
  headers["Authorization"] = s.authorization;
  headers["Content-Type"] = "application/octet-stream";
  const std::string url = UrlOf(call.key, s.query);
  Lease client(mu_, idle_, config_.timeout_s);
  if (call.file != nullptr) return (*client).UploadFile(call.method, url, *call.file, headers);
  return (*client).Request(call.method, url, std::string(call.body), headers);
}

sigv4::Signed Connection::Presign(const std::string& key, sigv4::Request request, int64_t ttl_s) const {
  request.path = PathOf(key);
  request.headers.emplace_back("host", host_);
  return sigv4::Presign(config_.credentials, {config_.region, "s3"}, NowS(), ttl_s, std::move(request));
}

Error ErrorOf(const std::string& what, const net::HttpResponse& response) {
  size_t pos = 0;
  const std::string code = XmlText(response.body, "Code", &pos).value_or("");
  pos = 0;
  std::string message = XmlText(response.body, "Message", &pos).value_or("");
  if (message.size() > kMaxMessage) message.resize(kMaxMessage);
  Errc errc = Errc::kInternal;
  switch (response.status) {
    case 400:
      errc = Errc::kInvalidArgument;
      break;
    case 401:
    case 403:
      errc = Errc::kPermissionDenied;
      break;
    case 404:
      errc = Errc::kNotFound;
      break;
    case 409:
    case 412:
      errc = Errc::kConflict;
      break;
    case 413:
      errc = Errc::kTooLarge;
      break;
    default:
      errc = response.status >= 500 ? Errc::kUnavailable : Errc::kInternal;
  }
  std::string text = "S3 " + what + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (errc == Errc::kPermissionDenied) text += " (check the access key, the secret key and the region)";
  return Error{errc, text};
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag, size_t* pos) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t begin = xml.find(open, *pos);
  if (begin == std::string_view::npos) return std::nullopt;
  const size_t start = begin + open.size();
  const size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return std::nullopt;
  *pos = end + close.size();
  return XmlDecode(xml.substr(start, end - start));
}

std::string XmlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t semi = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos || semi - i > 12) {
      out += text[i++];
      continue;
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out += text.substr(i, semi - i + 1);
      } else {
        AppendUtf8(out, cp);
      }
    } else {
      out += text.substr(i, semi - i + 1);
    }
    i = semi + 1;
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<void> CheckKey(const std::string& key) {
  if (domain::IsValidObjectKey(key)) return {};
  return MakeError(Errc::kInvalidArgument, "invalid object key \"" + key.substr(0, 100) + "\"");
}

}  // namespace inferix::blob::s3
