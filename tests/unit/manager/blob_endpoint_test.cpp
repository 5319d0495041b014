#include "manager/blob_endpoint.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/crypto.hpp"
#include "core/files.hpp"
#include "domain/object_keys.hpp"

namespace inferix::manager {
namespace {

namespace fs = std::filesystem;
constexpr std::chrono::seconds kTtl{60};

class BlobEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_blob_endpoint_test_" + RandomHex(8));
    auto s = blob::OpenFsObjectStore(dir_, "secret", clock_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // The request a client makes of a URL the store handed out.
  static net::HttpRequest RequestFor(const std::string& method, const std::string& url) {
    net::HttpRequest req;
    req.method = method;
    req.target = url;
    const size_t q = url.find('?');
    req.path = url.substr(0, q);
    std::string query = url.substr(q + 1);
    size_t start = 0;
    while (start <= query.size()) {
      const size_t amp = query.find('&', start);
      const std::string part =
          query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      const size_t eq = part.find('=');
      if (eq != std::string::npos) req.query[part.substr(0, eq)] = part.substr(eq + 1);
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
    return req;
  }
  static std::string ErrorCode(const net::HttpResponse& r) {
    return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
  }

  fs::path dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::unique_ptr<blob::FsObjectStore> store_;
};

TEST_F(BlobEndpointTest, GetOfAnUploadIsBytesToSave) {
  const auto key = domain::OutputKey(1, 2, 3, "ab");
  ASSERT_TRUE(store_->Put(key, "<html>not a page</html>").ok());
  auto r = ServeBlob(*store_, RequestFor("GET", *store_->PresignGet(key, kTtl, std::string("frame_3.png"))));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.file.empty());  // streamed by the server, which honours byte ranges
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_EQ(r.headers["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r.headers["Content-Security-Policy"], "default-src 'none'; sandbox");
  EXPECT_EQ(r.headers["Content-Disposition"], "attachment; filename=\"frame_3.png\"");
}

TEST_F(BlobEndpointTest, ManagerMadeObjectsKeepTheirType) {
  ASSERT_TRUE(store_->Put(domain::VideoKey(4), "mp4").ok());
  ASSERT_TRUE(store_->Put(domain::PreviewKey(4, 1, 9), "png").ok());
  auto video =
      ServeBlob(*store_, RequestFor("GET", *store_->PresignGet(domain::VideoKey(4), kTtl, std::nullopt)));
  EXPECT_EQ(video.status, 200);
  EXPECT_EQ(video.content_type, "video/mp4");
  auto preview = ServeBlob(
      *store_, RequestFor("GET", *store_->PresignGet(domain::PreviewKey(4, 1, 9), kTtl, std::nullopt)));
  EXPECT_EQ(preview.content_type, "image/png");
  EXPECT_EQ(preview.headers.count("Content-Disposition"), 0u);
}

TEST_F(BlobEndpointTest, UnsafeDownloadNameIgnored) {
  const auto key = domain::VideoKey(5);
  ASSERT_TRUE(store_->Put(key, "mp4").ok());
  auto r = ServeBlob(*store_, RequestFor("GET", *store_->PresignGet(key, kTtl, std::string("../x\".mp4"))));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("Content-Disposition"), 0u);
}

TEST_F(BlobEndpointTest, PutStoresTheBody) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl));
  req.body = "frame bytes";
  auto r = ServeBlob(*store_, req);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["key"], key);
  EXPECT_EQ(body["sha256"], Sha256Hex("frame bytes"));
  EXPECT_EQ(body["size"], 11);
  EXPECT_EQ(*store_->Get(key), "frame bytes");
  req.body.clear();
  EXPECT_EQ(ServeBlob(*store_, req).status, 400);  // an empty upload
}

TEST_F(BlobEndpointTest, Refusals) {
  const auto key = domain::OutputKey(1, 2, 3, "ef");
  const auto get_url = *store_->PresignGet(key, kTtl, std::nullopt);
  // Correctly signed, nothing there.
  auto missing = ServeBlob(*store_, RequestFor("GET", get_url));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
  // A GET URL used to PUT.
  auto wrong_method = RequestFor("PUT", get_url);
  wrong_method.body = "x";
  EXPECT_EQ(ServeBlob(*store_, wrong_method).status, 403);
  EXPECT_FALSE(store_->Stat(key)->has_value());
  // Expired.
  clock_->Advance((kTtl.count() + 1) * 1000);
  EXPECT_EQ(ServeBlob(*store_, RequestFor("GET", get_url)).status, 403);
  // An invalid key, whatever the signature.
  auto invalid = RequestFor("GET", "/api/v1/blobs/files/UPPER?method=GET&expires=1&sig=0");
  EXPECT_EQ(ServeBlob(*store_, invalid).status, 400);
}

}  // namespace
}  // namespace inferix::manager
