#include "net/http_exchange.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace inferix::net::internal {
namespace {

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse TooLarge(uint64_t limit) {
  return ErrorResponse(
      413, "too_large",
      "request body exceeds the limit of " + std::to_string(limit) + " bytes for this request");
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body =
      "{\"error\":{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" + JsonEscape(message) + "\"}}";
  return response;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool StatusForbidsBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

bool BuildHead(const http::request_header<>& head, HttpRequest& request) {
  request.method = std::string(head.method_string());
  request.target = std::string(head.target());
  request.received_ms = NowMs();
  for (const auto& field : head) {
    std::string name = ToLower(std::string_view(field.name_string()));
    auto [it, inserted] = request.headers.emplace(std::move(name), std::string(field.value()));
    if (!inserted) {
      // Repeated fields combine into one comma-separated value (RFC 9110 section 5.3).
      it->second += ", ";
      it->second += std::string_view(field.value());
    }
  }
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) return false;
  request.path = url->path();
  for (const auto& param : url->params()) request.query[param.key] = param.value;  // last one wins
  return true;
}

void ServeRange(const std::string& header, HttpResponse& response) {
  if (response.status != 200) return;
  response.headers["Accept-Ranges"] = "bytes";
  if (header.empty()) return;
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(response.file, ec);
  if (ec) return;  // answered as a missing file
  auto range = ParseRange(header, size);
  if (!range) return;
  if (range->first > range->last) {
    response = ErrorResponse(416, "invalid_argument", "the requested range lies outside the file");
    response.headers["Content-Range"] = "bytes */" + std::to_string(size);
    return;
  }
  const uint64_t last = std::min(range->last, range->first + kMaxRangeBytes - 1);
  std::ifstream in(response.file, std::ios::binary);
  std::string part(last - range->first + 1, '\0');
  in.seekg(static_cast<std::streamoff>(range->first));
  in.read(part.data(), static_cast<std::streamsize>(part.size()));
  if (!in) return;  // changed under us: the whole file, as it is now
  response.status = 206;
  response.headers["Content-Range"] =
      "bytes " + std::to_string(range->first) + "-" + std::to_string(last) + "/" + std::to_string(size);
  response.body = std::move(part);
  response.file.clear();
}

}  // namespace inferix::net::internal
