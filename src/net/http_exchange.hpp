#pragma once
// Internal to the HTTP server (http_server.cpp): between Beast's messages and Inferix's HttpRequest and
// HttpResponse, apart from the connections that carry them. Not part of the module's interface.
#include <cstdint>
#include <string>
#include <string_view>

// <utility> must come before the Asio headers: g++ 12 otherwise fails on Asio's coroutine support.
#include <utility>

#include <boost/beast/http.hpp>

#include "net/http.hpp"

namespace inferix::net::internal {

namespace http = boost::beast::http;

// The API's error shape: {"error":{"code":...,"message":...}}.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

// The system clock, in milliseconds since the Unix epoch.
int64_t NowMs();

// The 413 answer to a body over `limit` bytes.
HttpResponse TooLarge(uint64_t limit);

// `s` in ASCII lower case.
std::string ToLower(std::string_view s);

// Statuses that must not carry a body (RFC 9110 section 6.4.1).
bool StatusForbidsBody(int status);

// Fills `request` from a parsed head (method, target, path, query, headers; not the body); false when the
// target is not origin-form.
bool BuildHead(const http::request_header<>& head, HttpRequest& request);

// A file answer to a GET with a single byte range: that part of the file (at most kMaxRangeBytes) as a 206,
// or 416 when the file has no such bytes. Every whole-file answer says ranges are accepted.
void ServeRange(const std::string& header, HttpResponse& response);

// The fields every answer carries: the server's name, the content type, the handler's headers, keep-alive.
template <class Body>
void SetFields(http::response<Body>& message, const HttpResponse& response, bool keep_alive) {
  message.set(http::field::server, "inferix");
  if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message.set(name, value);
  message.keep_alive(keep_alive);
}

}  // namespace inferix::net::internal
