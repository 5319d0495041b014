#include "manager/blob_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/crypto.hpp"
#include "core/files.hpp"
#include "domain/object_keys.hpp"
#include "store/sqlite_store.hpp"

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
  auto r = ServeBlob(*store_, nullptr,
                     RequestFor("GET", *store_->PresignGet(key, kTtl, std::string("frame_3.png"), "")));
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
  auto video = ServeBlob(*store_, nullptr,
                         RequestFor("GET", *store_->PresignGet(domain::VideoKey(4), kTtl, std::nullopt, "")));
  EXPECT_EQ(video.status, 200);
  EXPECT_EQ(video.content_type, "video/mp4");
  auto preview =
      ServeBlob(*store_, nullptr,
                RequestFor("GET", *store_->PresignGet(domain::PreviewKey(4, 1, 9), kTtl, std::nullopt, "")));
  EXPECT_EQ(preview.content_type, "image/png");
  EXPECT_EQ(preview.headers.count("Content-Disposition"), 0u);
}

TEST_F(BlobEndpointTest, UnsafeDownloadNameIgnored) {
  const auto key = domain::VideoKey(5);
  ASSERT_TRUE(store_->Put(key, "mp4").ok());
  auto r = ServeBlob(*store_, nullptr,
                     RequestFor("GET", *store_->PresignGet(key, kTtl, std::string("../x\".mp4"), "")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("Content-Disposition"), 0u);
}

TEST_F(BlobEndpointTest, PutStoresTheBody) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl, {}));
  req.body = "frame bytes";
  auto r = ServeBlob(*store_, nullptr, req);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["key"], key);
  EXPECT_EQ(body["sha256"], Sha256Hex("frame bytes"));
  EXPECT_EQ(body["size"], 11);
  EXPECT_EQ(*store_->Get(key), "frame bytes");
  req.body.clear();
  EXPECT_EQ(ServeBlob(*store_, nullptr, req).status, 400);  // an empty upload
}

TEST_F(BlobEndpointTest, Refusals) {
  const auto key = domain::OutputKey(1, 2, 3, "ef");
  const auto get_url = *store_->PresignGet(key, kTtl, std::nullopt, "");
  // Correctly signed, nothing there.
  auto missing = ServeBlob(*store_, nullptr, RequestFor("GET", get_url));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
  // A GET URL used to PUT.
  auto wrong_method = RequestFor("PUT", get_url);
  wrong_method.body = "x";
  EXPECT_EQ(ServeBlob(*store_, nullptr, wrong_method).status, 403);
  EXPECT_FALSE(store_->Stat(key)->has_value());
  // Expired.
  clock_->Advance((kTtl.count() + 1) * 1000);
  EXPECT_EQ(ServeBlob(*store_, nullptr, RequestFor("GET", get_url)).status, 403);
  // An invalid key, whatever the signature.
  auto invalid = RequestFor("GET", "/api/v1/blobs/files/UPPER?method=GET&expires=1&sig=0");
  EXPECT_EQ(ServeBlob(*store_, nullptr, invalid).status, 400);
}

TEST_F(BlobEndpointTest, AnUploadUrlStoresOneObjectOnce) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl, {}));
  req.body = "verified frame";
  ASSERT_EQ(ServeBlob(*store_, nullptr, req).status, 200);
  req.body = "replacement";
  auto again = ServeBlob(*store_, nullptr, req);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(ErrorCode(again), "conflict");
  EXPECT_EQ(*store_->Get(key), "verified frame");
}

TEST_F(BlobEndpointTest, ABodyOverTheUrlsLimitIsRefused) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl, domain::PutTerms{5, ""}));
  req.body = "123456";
  auto big = ServeBlob(*store_, nullptr, req);
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_THAT(big.body, ::testing::HasSubstr("over the 5 bytes this URL allows"));
  EXPECT_FALSE(store_->Stat(key)->has_value());
  req.body = "12345";
  EXPECT_EQ(ServeBlob(*store_, nullptr, req).status, 200);
  // The limit cannot be raised by editing the URL.
  auto raised = req;
  raised.query["max"] = "1000";
  EXPECT_EQ(ServeBlob(*store_, nullptr, raised).status, 403);
}

TEST_F(BlobEndpointTest, ASpooledBodyIsMovedIntoPlace) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl, {}));
  const auto spool = dir_.parent_path() / ("inferix_spool_" + RandomHex(6));
  ASSERT_TRUE(WriteFileAtomic(spool, "spooled frame").ok());
  req.body_file = spool;
  req.body_size = 13;
  req.body_sha256 = Sha256Hex("spooled frame");
  auto r = ServeBlob(*store_, nullptr, req);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["sha256"], Sha256Hex("spooled frame"));
  EXPECT_EQ(*store_->Get(key), "spooled frame");
  EXPECT_EQ((*store_->Stat(key))->sha256, Sha256Hex("spooled frame"));
  EXPECT_FALSE(fs::exists(spool));
}

TEST_F(BlobEndpointTest, ADamagedObjectIsRefusedNotServed) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  ASSERT_TRUE(store_->CreateFromBytes(key, "frame").ok());
  const auto url = *store_->PresignGet(key, kTtl, std::nullopt, Sha256Hex("frame"));
  EXPECT_EQ(ServeBlob(*store_, nullptr, RequestFor("GET", url)).status, 200);
  ASSERT_TRUE(WriteFileAtomic(dir_ / key, "fRame").ok());  // damaged on disk
  auto r = ServeBlob(*store_, nullptr, RequestFor("GET", url));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(r.file.empty());
  EXPECT_THAT(r.body, ::testing::HasSubstr("is damaged"));
}

TEST_F(BlobEndpointTest, UploadsStopBelowTheDiskWatermark) {
  const auto key = domain::OutputKey(1, 2, 3, "cd");
  store_->SetMinFreeBytes(int64_t{1} << 62);
  auto req = RequestFor("PUT", *store_->PresignPut(key, kTtl, {}));
  req.body = "frame";
  auto r = ServeBlob(*store_, nullptr, req);
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(ErrorCode(r), "insufficient_storage");
  EXPECT_THAT(r.body, ::testing::HasSubstr("disk is almost full"));
  EXPECT_FALSE(store_->Stat(key)->has_value());
}

// The manager's gate over a real store: a node, the task it holds, a frame of it.
class UploadGateTest : public BlobEndpointTest {
 protected:
  void SetUp() override {
    BlobEndpointTest::SetUp();
    auto s = store::OpenSqliteStore(":memory:");
    ASSERT_TRUE(s.ok()) << s.error().message;
    db_ = std::move(*s);
    user_ = *db_->CreateUser("alice", "hash-alice");
    node_.name = "w1";
    node_.role = domain::NodeRole::kWorker;
    node_.public_key = std::string(64, 'a');
    node_.id = *db_->CreateNode(node_, "token-w1");
    domain::Job job;
    job.user_id = user_;
    job.name = "job";
    job.main_file = "shot.blend";
    job.frames_spec = "3";
    job_ = *db_->CreateJob(job);
    task_.job_id = job_;
    task_.state = domain::TaskState::kActive;
    task_.frames = {3};
    task_.node_id = node_.id;
    task_.id = *db_->CreateTask(task_);
    key_ = domain::OutputKey(job_, task_.id, 3, "ab");
  }
  // A PUT of `body` through an upload URL of the frame issued to `node_id`.
  net::HttpResponse Upload(int64_t node_id, const std::string& body = "frame") {
    auto req =
        RequestFor("PUT", *store_->PresignPut(key_, kTtl, domain::PutTerms{1000, IssuedToNode(node_id)}));
    req.body = body;
    return ServeBlob(*store_, OutputUploadGate(*db_), req);
  }

  std::unique_ptr<domain::Store> db_;
  int64_t user_ = 0;
  domain::Node node_;
  int64_t job_ = 0;
  domain::Task task_;
  std::string key_;
};

TEST_F(UploadGateTest, TheHoldingNodeUploads) {
  auto r = Upload(node_.id);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(UploadGateTest, ARevokedNodesUrlsStopWorking) {
  node_.banned = true;
  node_.ban_reason = "revoked by the operator";
  ASSERT_TRUE(db_->UpdateNode(node_).ok());
  auto r = Upload(node_.id);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("banned or revoked"));
  EXPECT_FALSE(store_->Stat(key_)->has_value());
}

TEST_F(UploadGateTest, AUrlWorksOnlyWhileItsNodeHoldsTheTask) {
  task_.node_id = 0;
  task_.state = domain::TaskState::kQueued;
  ASSERT_TRUE(db_->UpdateTask(task_).ok());
  EXPECT_EQ(Upload(node_.id).status, 403);
  // Held again, by another node: the first node's URL still does not work.
  domain::Node other = node_;
  other.name = "w2";
  other.id = *db_->CreateNode(other, "token-w2");
  task_.node_id = other.id;
  task_.state = domain::TaskState::kActive;
  ASSERT_TRUE(db_->UpdateTask(task_).ok());
  EXPECT_EQ(Upload(node_.id).status, 403);
  EXPECT_EQ(Upload(other.id).status, 200);
}

TEST_F(UploadGateTest, AReportedFrameTakesNoMoreUploads) {
  domain::Output out;
  out.job_id = job_;
  out.frame = 3;
  out.task_id = task_.id;
  out.node_id = node_.id;
  out.blob_key = domain::OutputKey(job_, task_.id, 3, "cd");
  out.sha256 = Sha256Hex("x");
  ASSERT_TRUE(db_->CreateOutput(out).ok());
  auto r = Upload(node_.id);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("already reported"));
}

TEST_F(UploadGateTest, AnOutputUrlMustNameItsNode) {
  auto req = RequestFor("PUT", *store_->PresignPut(key_, kTtl, {}));
  req.body = "frame";
  EXPECT_EQ(ServeBlob(*store_, OutputUploadGate(*db_), req).status, 403);
}

}  // namespace
}  // namespace inferix::manager
