#include "manager/dashboard.hpp"
#include "manager/sessions.hpp"

#include <gtest/gtest.h>

namespace inferix::manager {
namespace {

net::HttpRequest Get(const std::string& path) {
  net::HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.target = path;
  return r;
}

TEST(Dashboard, ServesThePageAndItsFilesWithTheirTypes) {
  auto page = ServeDashboard(Get("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_NE(page.headers["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.headers["X-Frame-Options"], "DENY");
  auto js = ServeDashboard(Get("/assets/app.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_FALSE(js.body.empty());
  EXPECT_EQ(js.headers["X-Content-Type-Options"], "nosniff");
}

TEST(Dashboard, EverythingElseIsNotFound) {
  for (const char* path : {"/assets/", "/assets/nope.js", "/assets/../index.html", "/etc/passwd", "/jobs/1",
                           "/assets/index.html"}) {
    auto r = ServeDashboard(Get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body.find("not_found"), std::string::npos) << path;
  }
  auto post = Get("/");
  post.method = "POST";
  EXPECT_EQ(ServeDashboard(post).status, 400);
}

TEST(Dashboard, EveryEmbeddedFileHasAKnownType) {
  ASSERT_FALSE(WebAssets().empty());
  for (const auto& a : WebAssets()) {
    EXPECT_NE(ContentTypeFor(a.name), "application/octet-stream") << a.name;
  }
  EXPECT_EQ(ContentTypeFor("previews/1/2_3.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("videos/4.mp4"), "video/mp4");
  EXPECT_EQ(ContentTypeFor("outputs/1/2_3_ab"), "application/octet-stream");
}

TEST(SessionCookie, FoundAmongOthers) {
  auto r = Get("/");
  EXPECT_EQ(SessionCookie(r), "");
  r.headers["cookie"] = "a=1; inferix_session=abc123; b=2";
  EXPECT_EQ(SessionCookie(r), "abc123");
  r.headers["cookie"] = "inferix_sessionx=1;inferix_session=z";
  EXPECT_EQ(SessionCookie(r), "z");
  r.headers["cookie"] = "xinferix_session=1";
  EXPECT_EQ(SessionCookie(r), "");
}

TEST(SessionCookie, HeaderIsHttpOnlyAndStrict) {
  const std::string plain = SessionCookieHeader("v", 60, false);
  EXPECT_EQ(plain, "inferix_session=v; Max-Age=60; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_NE(SessionCookieHeader("v", 60, true).find("; Secure"), std::string::npos);
}

TEST(SameOrigin, OtherSitesAreRefused) {
  auto r = Get("/");
  r.headers["host"] = "127.0.0.1:8080";
  EXPECT_TRUE(IsSameOrigin(r));  // no Origin: not a cross-site browser request
  r.headers["origin"] = "http://127.0.0.1:8080";
  EXPECT_TRUE(IsSameOrigin(r));
  r.headers["origin"] = "https://127.0.0.1:8080";
  EXPECT_TRUE(IsSameOrigin(r));
  r.headers["origin"] = "http://evil.example";
  EXPECT_FALSE(IsSameOrigin(r));
  r.headers["origin"] = "null";
  EXPECT_FALSE(IsSameOrigin(r));
  r.headers.erase("origin");
  r.headers["sec-fetch-site"] = "cross-site";
  EXPECT_FALSE(IsSameOrigin(r));
  r.headers["sec-fetch-site"] = "same-origin";
  EXPECT_TRUE(IsSameOrigin(r));
  r.headers["sec-fetch-site"] = "same-site";
  EXPECT_FALSE(IsSameOrigin(r));
}

TEST(SameOrigin, BehindAProxyThatRewritesHostTheBrowsersWordDecides) {
  // nginx's default passes Host as the upstream's address: the page's Origin is the public name.
  auto r = Get("/");
  r.headers["host"] = "127.0.0.1:8420";
  r.headers["origin"] = "https://farm.example";
  EXPECT_FALSE(IsSameOrigin(r));  // an older browser: only Origin and Host to go by
  r.headers["sec-fetch-site"] = "same-origin";
  EXPECT_TRUE(IsSameOrigin(r));
  r.headers["sec-fetch-site"] = "cross-site";
  r.headers["origin"] = "http://127.0.0.1:8420";
  EXPECT_FALSE(IsSameOrigin(r));  // Origin matching Host does not overrule the browser
}

TEST(DownloadName, OnlyPlainFileNames) {
  EXPECT_TRUE(IsSafeDownloadName("shot_0001.png"));
  for (const char* bad : {"", ".hidden", "a/b.png", "a\"b", "a b", "a\r\nSet-Cookie: x", "..", "é.png"}) {
    EXPECT_FALSE(IsSafeDownloadName(bad)) << bad;
  }
}

}  // namespace
}  // namespace inferix::manager
