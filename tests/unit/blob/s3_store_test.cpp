// What only the S3 adapter shows, against the real gateway (INFERIX_TEST_S3): the store checks signatures,
// expiries, write-once and signed digests itself, and large files go up in parts.
#include "blob/s3_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "blob/s3_connection.hpp"
#include "core/crypto.hpp"
#include "net/http_client.hpp"
#include "object_store_contract.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::seconds kTtl{300};

std::map<std::string, std::string> HeaderMap(const sigv4::Pairs& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : pairs) out[name] = value;
  return out;
}

// S3's XML answers, read without the engine.
TEST(S3XmlTest, ReadsElementsInOrderAndDecodesEntities) {
  const std::string xml =
      "<ListBucketResult><Contents><Key>a&amp;b&lt;c&gt;&quot;&apos;&#233;&#x41;</Key></Contents>"
      "<Contents><Key>second</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  size_t pos = 0;
  EXPECT_EQ(s3::XmlText(xml, "Key", &pos).value_or("?"),
            "a&b<c>\"'\xc3\xa9"
            "A");
  EXPECT_EQ(s3::XmlText(xml, "Key", &pos).value_or("?"), "second");
  EXPECT_FALSE(s3::XmlText(xml, "Key", &pos).has_value());
  pos = 0;
  EXPECT_EQ(s3::XmlText(xml, "IsTruncated", &pos).value_or("?"), "false");
  EXPECT_EQ(s3::XmlDecode("&unknown; & &#zz;"), "&unknown; & &#zz;");
  EXPECT_EQ(s3::XmlEscape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
}

TEST(S3ErrorTest, MapsStatusesAndKeepsTheStoresCode) {
  net::HttpResponse r;
  r.status = 403;
  r.body = "<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>";
  Error e = s3::ErrorOf("PUT k", r);
  EXPECT_EQ(e.code, Errc::kPermissionDenied);
  EXPECT_THAT(e.message, HasSubstr("SignatureDoesNotMatch: bad signature"));
  r.status = 404;
  EXPECT_EQ(s3::ErrorOf("GET k", r).code, Errc::kNotFound);
  r.status = 412;
  EXPECT_EQ(s3::ErrorOf("PUT k", r).code, Errc::kConflict);
  r.status = 503;
  EXPECT_EQ(s3::ErrorOf("GET k", r).code, Errc::kUnavailable);
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip;
    auto config = testing::TestS3Config(&skip);
    if (HasFailure()) return;
    if (!config.has_value()) GTEST_SKIP() << skip;
    config_ = *config;
    auto store = OpenS3ObjectStore(config_);
    ASSERT_TRUE(store.ok()) << "the S3 engine does not answer: " << store.error().message;
    store_ = std::move(*store);
    prefix_ = "s3test/" + RandomHex(8) + "/";
    dir_ = fs::temp_directory_path() / ("inferix_s3_test_" + RandomHex(8));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  std::string Key(const std::string& name) const { return prefix_ + name; }

  S3Config config_;
  std::unique_ptr<S3ObjectStore> store_;
  std::string prefix_;
  fs::path dir_;
  net::HttpClient http_;  // a plain client: no credentials, as a worker or a browser
};

TEST_F(S3StoreTest, AWrongSecretKeyIsRefused) {
  S3Config wrong = config_;
  wrong.credentials.secret_key = "not-the-secret-" + RandomHex(4);
  auto opened = OpenS3ObjectStore(wrong);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::kPermissionDenied);
  // A store made without the bucket check, to see the error of a call with a body: the store's code, and
  // never the secret.
  S3ObjectStore direct(std::make_shared<s3::Connection>(wrong));
  auto put = direct.Put(Key("x"), "bytes");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, Errc::kPermissionDenied);
  EXPECT_THAT(put.error().message, HasSubstr("SignatureDoesNotMatch"));
  EXPECT_THAT(put.error().message, Not(HasSubstr(wrong.credentials.secret_key)));
  EXPECT_FALSE(store_->Stat(Key("x"))->has_value());
}

TEST_F(S3StoreTest, PresignedGetWorksWithPlainHttp) {
  ASSERT_TRUE(store_->Put(Key("g"), "frame bytes").ok());
  auto url = store_->PresignGet(Key("g"), kTtl, std::string("frame 0001.png"), "");
  ASSERT_TRUE(url.ok()) << url.error().message;
  auto r = http_.Request("GET", *url);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "frame bytes");
  EXPECT_EQ(r->headers["content-disposition"], "attachment; filename=\"frame 0001.png\"");
}

TEST_F(S3StoreTest, ATamperedPresignedUrlIsRefused) {
  ASSERT_TRUE(store_->Put(Key("t"), "x").ok());
  auto url = store_->PresignGet(Key("t"), kTtl, std::nullopt, "");
  ASSERT_TRUE(url.ok());
  std::string tampered = *url;
  char& last = tampered.back();
  last = last == '0' ? '1' : '0';
  auto r = http_.Request("GET", tampered);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 403);
}

TEST_F(S3StoreTest, AnExpiredPresignedGetIsRefused) {
  ASSERT_TRUE(store_->Put(Key("e"), "x").ok());
  // Signed two hours ago for one minute.
  S3Config past = config_;
  past.clock = std::make_shared<FakeClock>(SystemClock().NowMs() - int64_t{2} * 3600 * 1000);
  S3ObjectStore signer(std::make_shared<s3::Connection>(past));
  auto url = signer.PresignGet(Key("e"), std::chrono::seconds(60), std::nullopt, "");
  ASSERT_TRUE(url.ok());
  auto r = http_.Request("GET", *url);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 403) << r->body;
  // The same signer, with a lifetime that has not passed, is served: the refusal is the expiry.
  auto live = signer.PresignGet(Key("e"), std::chrono::seconds(3 * 3600), std::nullopt, "");
  ASSERT_TRUE(live.ok());
  r = http_.Request("GET", *live);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(S3StoreTest, APresignedPutStoresOnceOnly) {
  auto put = store_->PresignPutRequest(Key("p"), kTtl, {});
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(HeaderMap(put->headers)["if-none-match"], "*");
  auto r = http_.Request("PUT", put->url, "first", HeaderMap(put->headers));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  r = http_.Request("PUT", put->url, "second", HeaderMap(put->headers));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 412) << r->body;
  // Leaving the signed header out is a signature mismatch, not a way around write-once.
  r = http_.Request("PUT", put->url, "third");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403) << r->body;
  EXPECT_EQ(*store_->Get(Key("p")), "first");
}

TEST_F(S3StoreTest, APresignedPutWithASignedDigestRefusesAnotherBody) {
  domain::PutTerms terms;
  terms.sha256 = Sha256Hex("the right bytes");
  auto put = store_->PresignPutRequest(Key("d"), kTtl, terms);
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto r = http_.Request("PUT", put->url, "other bytes", HeaderMap(put->headers));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;  // XAmzContentSHA256Mismatch
  EXPECT_FALSE(store_->Stat(Key("d"))->has_value());
  r = http_.Request("PUT", put->url, "the right bytes", HeaderMap(put->headers));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  auto info = store_->Stat(Key("d"));
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->sha256, terms.sha256);
}

// The port's PutHeaders (what the manager hands a node with its URL) are the headers the URL signs.
TEST_F(S3StoreTest, PutHeadersAreTheHeadersThePresignedPutSigns) {
  for (const std::string& sha : {std::string(), Sha256Hex("x")}) {
    domain::PutTerms terms;
    terms.sha256 = sha;
    auto put = store_->PresignPutRequest(Key("h"), kTtl, terms);
    ASSERT_TRUE(put.ok()) << put.error().message;
    EXPECT_EQ(HeaderMap(put->headers), store_->PutHeaders(terms)) << sha;
  }
}

TEST_F(S3StoreTest, AFileOverThePartSizeGoesUpInParts) {
  S3Config small = config_;
  small.part_size = int64_t{5} << 20;
  auto store = OpenS3ObjectStore(small);
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::string bytes;
  bytes.reserve((11 << 20) + 7);
  for (size_t i = 0; i < (11U << 20) + 7; ++i) bytes += static_cast<char>((i * 7919) >> 8);
  const fs::path source = dir_ / "big";
  std::ofstream(source, std::ios::binary) << bytes;
  ASSERT_TRUE((*store)->PutFile(Key("big"), source).ok());
  auto got = (*store)->Get(Key("big"));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(*got == bytes);
  auto info = (*store)->Stat(Key("big"));
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ((*info)->sha256, Sha256Hex(bytes));
  // A multipart object's ETag is not an MD5 of the whole: the stored digest is ours.
  auto list = (*store)->List(Key("big"), "", 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1U);
}

TEST_F(S3StoreTest, AClientUploadsInPartsThroughPresignedUrls) {
  const std::string part1(5 << 20, 'a');
  const std::string part2 = "the last part";
  auto id = store_->CreateMultipartUpload(Key("m"), Sha256Hex(part1 + part2));
  ASSERT_TRUE(id.ok()) << id.error().message;
  std::vector<S3ObjectStore::Part> parts;
  int number = 1;
  for (const std::string* part : {&part1, &part2}) {
    auto url = store_->PresignUploadPart(Key("m"), *id, number, kTtl);
    ASSERT_TRUE(url.ok()) << url.error().message;
    auto r = http_.Request("PUT", *url, *part);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
    parts.push_back({number++, r->headers["etag"]});
  }
  EXPECT_FALSE(store_->Stat(Key("m"))->has_value()) << "nothing is visible before completion";
  ASSERT_TRUE(store_->CompleteMultipartUpload(Key("m"), *id, parts).ok());
  EXPECT_TRUE(*store_->Get(Key("m")) == part1 + part2);
  EXPECT_EQ((*store_->Stat(Key("m")))->sha256, Sha256Hex(part1 + part2));
}

TEST_F(S3StoreTest, APartsUrlThatSignsItsDigestTakesOnlyThatBody) {
  const std::string part(5 << 20, 'p');
  auto id = store_->CreateMultipartUpload(Key("d"), "");
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto put = store_->PresignUploadPartRequest(Key("d"), *id, 1, kTtl, Sha256Hex(part));
  ASSERT_TRUE(put.ok()) << put.error().message;
  std::map<std::string, std::string> headers(put->headers.begin(), put->headers.end());
  EXPECT_EQ(headers.at("x-amz-content-sha256"), Sha256Hex(part));
  auto other = http_.Request("PUT", put->url, std::string(5 << 20, 'q'), headers);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status / 100, 4) << "the store checks the part's digest";
  auto unsigned_headers = http_.Request("PUT", put->url, part);
  ASSERT_TRUE(unsigned_headers.ok());
  EXPECT_EQ(unsigned_headers->status, 403) << "the signed header must be sent";
  auto right = http_.Request("PUT", put->url, part, headers);
  ASSERT_TRUE(right.ok());
  ASSERT_EQ(right->status, 200) << right->body;
  ASSERT_TRUE(store_->CompleteMultipartUpload(Key("d"), *id, {{1, right->headers["etag"]}}).ok());
  EXPECT_TRUE(*store_->Get(Key("d")) == part);
  EXPECT_FALSE(store_->PresignUploadPartRequest(Key("d"), *id, 1, kTtl, "abc").ok());
}

TEST_F(S3StoreTest, CopyObjectCopiesInsideTheStoreWithTheGivenDigest) {
  const std::string bytes = std::string(5 << 20, 'c') + "and a tail";
  ASSERT_TRUE(store_->Put(Key("from"), bytes).ok());
  ASSERT_TRUE(store_->CopyObject(Key("from"), Key("to"), Sha256Hex(bytes)).ok());
  EXPECT_TRUE(*store_->Get(Key("to")) == bytes);
  EXPECT_EQ((*store_->Stat(Key("to")))->sha256, Sha256Hex(bytes));
  EXPECT_TRUE(*store_->Get(Key("from")) == bytes) << "the source stays";
  ASSERT_TRUE(store_->Put(Key("empty"), "").ok());
  ASSERT_TRUE(store_->CopyObject(Key("empty"), Key("empty-copy"), Sha256Hex("")).ok());
  EXPECT_EQ((*store_->Stat(Key("empty-copy")))->size, 0);
  auto missing = store_->CopyObject(Key("missing"), Key("to2"), Sha256Hex(""));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST_F(S3StoreTest, AnAbortedUploadLeavesNothing) {
  auto id = store_->CreateMultipartUpload(Key("a"), "");
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(store_->UploadPart(Key("a"), *id, 1, "part").ok());
  ASSERT_TRUE(store_->AbortMultipartUpload(Key("a"), *id).ok());
  EXPECT_TRUE(store_->AbortMultipartUpload(Key("a"), *id).ok()) << "aborting again is Ok";
  auto complete = store_->CompleteMultipartUpload(Key("a"), *id, {{1, "\"etag\""}});
  // AWS answers 404 NoSuchUpload; RGW 16.2 answers 500 ("completion is already in progress"): either way
  // the upload cannot be completed.
  EXPECT_FALSE(complete.ok());
  EXPECT_FALSE(store_->Stat(Key("a"))->has_value());
}

TEST_F(S3StoreTest, AReaderRefusesAnObjectReplacedAfterOpening) {
  ASSERT_TRUE(store_->Put(Key("r"), "version one").ok());
  auto reader = store_->Open(Key("r"));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(store_->Put(Key("r"), "version two").ok());
  char buf[16];
  auto n = (*reader)->ReadAt(0, buf, sizeof buf);
  ASSERT_FALSE(n.ok()) << "read " << std::string(buf, n.ok() ? *n : 0);
  EXPECT_EQ(n.error().code, Errc::kConflict);
}

TEST_F(S3StoreTest, AStoppedEndpointIsUnavailable) {
  S3Config nowhere = config_;
  nowhere.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens
  auto opened = OpenS3ObjectStore(nowhere);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::kUnavailable);
}

}  // namespace
}  // namespace inferix::blob
