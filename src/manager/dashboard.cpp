#include "manager/dashboard.hpp"

#include "manager/api_util.hpp"

namespace inferix::manager {
namespace {

// The page may load only its own files; media come from the manager's own signed URLs; nothing may frame it.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

net::HttpResponse Asset(std::string_view name) {
  for (const auto& a : WebAssets()) {
    if (a.name != name) continue;
    net::HttpResponse r;
    r.content_type = ContentTypeFor(name);
    r.body = std::string(a.data);
    r.headers["Cache-Control"] = "no-cache";
    r.headers["X-Content-Type-Options"] = "nosniff";
    r.headers["Referrer-Policy"] = "no-referrer";  // signed URLs never leak through Referer
    if (name == "index.html") {
      r.headers["Content-Security-Policy"] = kPagePolicy;
      r.headers["X-Frame-Options"] = "DENY";
    }
    return r;
  }
  return Fail(Errc::kNotFound, "no such page: " + std::string(name));
}

}  // namespace

std::string ContentTypeFor(std::string_view name) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".mp4", "video/mp4"},
      {".json", "application/json"},
  };
  for (const auto& t : kTypes) {
    if (name.ends_with(t.ext)) return std::string(t.type);
  }
  return "application/octet-stream";
}

bool IsSafeDownloadName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

net::HttpResponse ServeDashboard(const net::HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    return Fail(Errc::kInvalidArgument, "the dashboard's pages are read with GET");
  }
  if (req.path == "/" || req.path == "/index.html") return Asset("index.html");
  constexpr std::string_view kAssets = "/assets/";
  if (req.path.starts_with(kAssets)) {
    std::string_view name = std::string_view(req.path).substr(kAssets.size());
    if (name != "index.html" && name.find('/') == std::string_view::npos) return Asset(name);
  }
  return Fail(Errc::kNotFound, "no such page: " + req.path);
}

}  // namespace inferix::manager
