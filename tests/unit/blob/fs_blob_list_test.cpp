// FsObjectStore::List (issue #14): the objects under a prefix, in key order, a page at a time, without the
// adapter's temporary files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class FsBlobListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("inferix_blob_list_test_" + RandomHex(8));
    auto s = OpenFsObjectStore(root_, "store-secret", std::make_shared<SystemClock>());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::vector<std::string> Keys(const std::string& prefix, const std::string& after, size_t limit) {
    auto listed = store_->List(prefix, after, limit);
    EXPECT_TRUE(listed.ok()) << listed.error().message;
    std::vector<std::string> keys;
    if (listed.ok()) {
      for (const auto& o : *listed) keys.push_back(o.key);
    }
    return keys;
  }
  fs::path root_;
  std::unique_ptr<FsObjectStore> store_;
};

TEST_F(FsBlobListTest, ListsKeysUnderThePrefixInOrderAPageAtATime) {
  for (const char* key :
       {"outputs/2/5_1_aa", "outputs/1/3_1_bb", "outputs/12/1_1_cc", "previews/1/1_1.png"}) {
    ASSERT_TRUE(store_->Put(key, "data").ok());
  }
  // A write a crash interrupted is not an object.
  { std::ofstream(root_ / "outputs" / "1" / "3_2_dd.tmp-abc123") << "half"; }
  EXPECT_THAT(Keys("outputs/", "", 10),
              ElementsAre("outputs/1/3_1_bb", "outputs/12/1_1_cc", "outputs/2/5_1_aa"));
  EXPECT_THAT(Keys("outputs/", "", 2), ElementsAre("outputs/1/3_1_bb", "outputs/12/1_1_cc"));
  EXPECT_THAT(Keys("outputs/", "outputs/12/1_1_cc", 2), ElementsAre("outputs/2/5_1_aa"));
  EXPECT_THAT(Keys("outputs/1", "", 10), ElementsAre("outputs/1/3_1_bb", "outputs/12/1_1_cc"));
  EXPECT_THAT(Keys("videos/", "", 10), IsEmpty());
  auto listed = store_->List("outputs/2/", "", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().size, 4);
  EXPECT_GT(listed->front().modified_ms, 0);
}

TEST_F(FsBlobListTest, APrefixThatClimbsOutIsRefused) {
  for (const char* prefix : {"../", "outputs/../../", "/etc/", "outputs//x"}) {
    auto listed = store_->List(prefix, "", 10);
    ASSERT_FALSE(listed.ok()) << prefix;
    EXPECT_EQ(listed.error().code, Errc::kInvalidArgument) << prefix;
  }
}

}  // namespace
}  // namespace inferix::blob
