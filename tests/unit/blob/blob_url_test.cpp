#include "blob/blob_url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferix::blob {
namespace {

using ::testing::HasSubstr;

TEST(BlobUrlTest, FileNamesAFolder) {
  auto u = ParseBlobUrl("file:/srv/inferix/blobs");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->kind, BlobUrl::Kind::kFile);
  EXPECT_EQ(u->dir, "/srv/inferix/blobs");
}

TEST(BlobUrlTest, S3WithEndpointAndRegion) {
  auto u = ParseBlobUrl("s3://inferix-test?endpoint=http%3A%2F%2F127.0.0.1%3A57480&region=eu-west-1");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->kind, BlobUrl::Kind::kS3);
  EXPECT_EQ(u->s3.bucket, "inferix-test");
  EXPECT_EQ(u->s3.endpoint, "http://127.0.0.1:57480");
  EXPECT_EQ(u->s3.region, "eu-west-1");
  EXPECT_TRUE(u->s3.credentials.access_key.empty()) << "credentials come from the environment";
  u = ParseBlobUrl("s3://renders?endpoint=http://rgw.lan:7480/");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->s3.endpoint, "http://rgw.lan:7480");
  EXPECT_EQ(u->s3.region, "us-east-1");
}

TEST(BlobUrlTest, NoEndpointIsAwsRegionalEndpoint) {
  auto u = ParseBlobUrl("s3://renders?region=eu-central-1");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->s3.endpoint, "https://s3.eu-central-1.amazonaws.com");
  u = ParseBlobUrl("s3://renders");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->s3.endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(u->s3.region, "us-east-1");
}

TEST(BlobUrlTest, AnythingElseIsRefusedWithWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "unknown scheme"},
      {"/srv/blobs", "unknown scheme"},
      {"http://x", "unknown scheme"},
      {"file:", "needs a folder"},
      {"s3://", "3 to 63"},
      {"s3://ab", "3 to 63"},
      {"s3://Renders", "lower-case"},
      {"s3://-renders", "start and end"},
      {"s3://a..b", "\"..\""},
      {"s3://192.168.1.10", "IP address"},
      {"s3://renders/sub", "'/'"},
      {"s3://renders?bucket=x", "unknown parameter"},
      {"s3://renders?endpoint", "has no value"},
      {"s3://renders?endpoint=ftp://h", "http:// or https://"},
      {"s3://renders?endpoint=http://h/path", "without a path"},
      {"s3://renders?region=EU%20WEST", "region"},
      {"s3://renders?endpoint=%zz", "%-escape"},
  };
  for (const auto& [url, why] : cases) {
    auto u = ParseBlobUrl(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_EQ(u.error().code, Errc::kInvalidArgument) << url;
    EXPECT_THAT(u.error().message, HasSubstr(why)) << url;
    EXPECT_THAT(u.error().message, HasSubstr("file:DIR or s3://BUCKET")) << url;
  }
}

TEST(BlobUrlTest, OpeningWithoutCredentialsSaysWhichVariablesToSet) {
  S3Config config;
  config.endpoint = "http://127.0.0.1:9";
  config.bucket = "renders";
  unsetenv("AWS_ACCESS_KEY_ID");
  auto store = OpenS3ObjectStore(config);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(store.error().message, HasSubstr("AWS_ACCESS_KEY_ID"));
}

}  // namespace
}  // namespace inferix::blob
