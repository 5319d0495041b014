// Fuzz target: the request headers Inferix itself parses (the rest is Beast's): Range (file answers), Cookie
// (the dashboard's session) and Origin / Sec-Fetch-Site (the cross-site check). The first 8 bytes are a file
// size, the rest the header's value. Invariants checked: a satisfiable range lies inside the file and is in
// order; an unsatisfiable one is only reported for a range that starts at or beyond the end (or asks for no
// bytes); the session cookie found is a part of the header, without a ';'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "manager/dashboard.hpp"
#include "manager/sessions.hpp"
#include "net/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t file_size = 0;
  std::memcpy(&file_size, data, 8);
  file_size %= uint64_t{1} << 40;
  const std::string value(reinterpret_cast<const char*>(data + 8), size - 8);

  if (auto range = inferix::net::ParseRange(value, file_size)) {
    if (range->first <= range->last) {
      if (range->last >= file_size) std::abort();
    } else if (file_size > 0 && value.find("bytes=-") != 0 && value.find("bytes=") == 0) {
      // "bytes=A-..." is unsatisfiable only when A is at or past the end.
      const uint64_t first = std::strtoull(value.c_str() + 6, nullptr, 10);
      if (first < file_size) std::abort();
    }
  }

  inferix::net::HttpRequest request;
  request.method = "POST";
  request.headers["cookie"] = value;
  request.headers["origin"] = value;
  request.headers["host"] = value.substr(value.size() / 2);
  request.headers["sec-fetch-site"] = value.substr(0, value.size() / 3);
  const std::string session = inferix::manager::SessionCookie(request);
  if (!session.empty() &&
      (value.find(session) == std::string::npos || session.find(';') != std::string::npos))
    std::abort();
  (void)inferix::manager::IsSameOrigin(request);
  return 0;
}
