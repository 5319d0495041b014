#include "domain/object_keys.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/crypto.hpp"

namespace inferix::domain {
namespace {

const std::string kSha = Sha256Hex("scene");

TEST(ObjectKeys, Formats) {
  // The formats are recorded in databases: they never change.
  EXPECT_EQ(FileKey(kSha), "files/" + kSha);
  EXPECT_EQ(OutputKey(1, 2, 3, "ab12"), "outputs/1/2_3_ab12");
  EXPECT_EQ(OutputKey(12, 345, -5, "0123abcd"), "outputs/12/345_-5_0123abcd");
  EXPECT_EQ(PreviewKey(4, 7, 19), "previews/4/7_19.png");
  EXPECT_EQ(PreviewKey(4, -2, 19), "previews/4/-2_19.png");
  EXPECT_EQ(VideoKey(4), "videos/4.mp4");
}

TEST(ObjectKeys, EveryMadeKeyIsValid) {
  for (const auto& key : {FileKey(kSha), OutputKey(1, 2, 3, RandomHex(8)), OutputKey(9, 8, -7, "00"),
                          PreviewKey(1, 2, 3), PreviewKey(1, -2, 3), VideoKey(123456789)}) {
    EXPECT_TRUE(IsValidObjectKey(key)) << key;
  }
}

TEST(ObjectKeys, KindsNeverCollide) {
  const std::set<std::string> keys = {FileKey(kSha), OutputKey(1, 1, 1, "a"), PreviewKey(1, 1, 1),
                                      VideoKey(1)};
  EXPECT_EQ(keys.size(), 4u);
}

TEST(IsOutputKeyFor, OnlyTheTaskAndFrameItWasMadeFor) {
  const auto key = OutputKey(1, 2, 3, "ab");
  EXPECT_TRUE(IsOutputKeyFor(key, 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor(key, 9, 2, 3));  // another job
  EXPECT_FALSE(IsOutputKeyFor(key, 1, 9, 3));  // another task
  EXPECT_FALSE(IsOutputKeyFor(key, 1, 2, 4));  // another frame
  EXPECT_FALSE(IsOutputKeyFor(OutputKey(1, 2, 33, "ab"), 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor(OutputKey(1, 22, 3, "ab"), 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor(OutputKey(1, 2, -3, "ab"), 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor(FileKey(kSha), 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor(PreviewKey(1, 3, 2), 1, 2, 3));
  // The prefix alone, or a prefix followed by anything but a nonce, is refused.
  EXPECT_FALSE(IsOutputKeyFor("outputs/1/2_3_", 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor("outputs/1/2_3_/x", 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor("outputs/1/2_3_../../files/x", 1, 2, 3));
  EXPECT_FALSE(IsOutputKeyFor("outputs/1/2_3_AB", 1, 2, 3));
}

TEST(IsUploadKeyFor, OnlyTheFileAndUserItWasMadeFor) {
  const auto key = UploadKey(kSha, 7, "ab12");
  EXPECT_EQ(key, "uploads/" + kSha + "/7_ab12");
  EXPECT_TRUE(IsUploadKeyFor(key, kSha, 7));
  EXPECT_FALSE(IsUploadKeyFor(key, kSha, 8));  // another user
  EXPECT_FALSE(IsUploadKeyFor(UploadKey(kSha, 77, "ab"), kSha, 7));
  EXPECT_FALSE(IsUploadKeyFor(key, Sha256Hex("other"), 7));  // another file
  EXPECT_FALSE(IsUploadKeyFor(FileKey(kSha), kSha, 7));      // never the file's own key
  EXPECT_FALSE(IsUploadKeyFor("uploads/" + kSha + "/7_", kSha, 7));
  EXPECT_FALSE(IsUploadKeyFor("uploads/" + kSha + "/7_ab/x", kSha, 7));
  EXPECT_FALSE(IsUploadKeyFor("uploads/" + kSha + "/7_AB", kSha, 7));
  EXPECT_FALSE(IsUploadKeyFor("uploads//7_ab", "", 7));
}

TEST(IsManagerMade, PreviewsAndVideosOnly) {
  EXPECT_TRUE(IsManagerMade(PreviewKey(1, 2, 3)));
  EXPECT_TRUE(IsManagerMade(VideoKey(1)));
  EXPECT_FALSE(IsManagerMade(FileKey(kSha)));
  EXPECT_FALSE(IsManagerMade(OutputKey(1, 2, 3, "ab")));
  EXPECT_FALSE(IsManagerMade("previewsx/1"));
  EXPECT_FALSE(IsManagerMade("videos"));
}

TEST(IsValidObjectKey, Accepts) {
  EXPECT_TRUE(IsValidObjectKey("files/" + Sha256Hex("x")));
  EXPECT_TRUE(IsValidObjectKey("outputs/1/2_3_ab"));
  EXPECT_TRUE(IsValidObjectKey("outputs/12/345_-5_0123abcd.png"));
  EXPECT_TRUE(IsValidObjectKey("a"));
  EXPECT_TRUE(IsValidObjectKey("a.b-c_d"));
  EXPECT_TRUE(IsValidObjectKey("..a/b"));  // a segment that starts with dots is fine
  EXPECT_TRUE(IsValidObjectKey(std::string(512, 'a')));
}

TEST(IsValidObjectKey, Rejects) {
  EXPECT_FALSE(IsValidObjectKey(""));
  EXPECT_FALSE(IsValidObjectKey(".."));
  EXPECT_FALSE(IsValidObjectKey("."));
  EXPECT_FALSE(IsValidObjectKey("../x"));
  EXPECT_FALSE(IsValidObjectKey("files/../secret"));
  EXPECT_FALSE(IsValidObjectKey("files/.."));
  EXPECT_FALSE(IsValidObjectKey("files/./x"));
  EXPECT_FALSE(IsValidObjectKey("/x"));
  EXPECT_FALSE(IsValidObjectKey("x/"));
  EXPECT_FALSE(IsValidObjectKey("/"));
  EXPECT_FALSE(IsValidObjectKey("A"));
  EXPECT_FALSE(IsValidObjectKey("files/ABC"));
  EXPECT_FALSE(IsValidObjectKey("a//b"));
  EXPECT_FALSE(IsValidObjectKey("a b"));
  EXPECT_FALSE(IsValidObjectKey("a\\b"));
  EXPECT_FALSE(IsValidObjectKey("a?b"));
  EXPECT_FALSE(IsValidObjectKey("a%2fb"));
  EXPECT_FALSE(IsValidObjectKey("a\nb"));
  EXPECT_FALSE(IsValidObjectKey(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidObjectKey(std::string(513, 'a')));
  EXPECT_FALSE(IsValidObjectKey("files/" + std::string(600, 'a')));
}

// The one rule both adapters' List apply to a prefix.
TEST(ObjectKeys, ListablePrefixes) {
  for (const char* ok : {"", "outputs/", "outputs/12/", "outputs/12/3_", "files"}) {
    EXPECT_TRUE(IsListablePrefix(ok)) << ok;
  }
  for (const char* bad : {"/outputs", "../x", "outputs/../x", "./", "outputs//x", "outputs/./"}) {
    EXPECT_FALSE(IsListablePrefix(bad)) << bad;
  }
}

}  // namespace
}  // namespace inferix::domain
