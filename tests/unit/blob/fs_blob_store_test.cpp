#include "blob/fs_blob_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/crypto.hpp"
#include "core/files.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_blob_test_" + RandomHex(8));
    root_ = dir_ / "blobs";
    auto s = OpenFsBlobStore(root_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Every regular file under the root, to check that nothing but the objects is left there.
  size_t FileCount() const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root_)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }
  fs::path dir_;
  fs::path root_;
  std::unique_ptr<domain::BlobStore> store_;
};

TEST_F(FsBlobStoreTest, OpenCreatesTheRoot) { EXPECT_TRUE(fs::is_directory(root_)); }

TEST_F(FsBlobStoreTest, PutThenReadBack) {
  const std::string data("scene bytes\0with nul", 20);
  const std::string key = "files/" + Sha256Hex(data);
  auto before = store_->Exists(key);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(*before);

  ASSERT_TRUE(store_->Put(key, data).ok());
  auto exists = store_->Exists(key);
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);

  auto size = store_->Size(key);
  ASSERT_TRUE(size.ok()) << size.error().message;
  EXPECT_EQ(*size, static_cast<int64_t>(data.size()));

  auto path = store_->LocalPath(key);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, root_ / "files" / Sha256Hex(data));
  auto content = ReadFile(*path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, data);
  EXPECT_EQ(FileCount(), 1u);  // no temporary file left behind
}

TEST_F(FsBlobStoreTest, NestedKeysCreateFolders) {
  ASSERT_TRUE(store_->Put("outputs/1/2_3_ab", "png").ok());
  ASSERT_TRUE(store_->Put("outputs/1/2_4_cd", "png2").ok());
  ASSERT_TRUE(store_->Put("outputs/2/9_-5_ef", "").ok());
  EXPECT_TRUE(fs::is_regular_file(root_ / "outputs" / "1" / "2_3_ab"));
  EXPECT_EQ(*store_->Size("outputs/1/2_4_cd"), 4);
  EXPECT_EQ(*store_->Size("outputs/2/9_-5_ef"), 0);
  EXPECT_EQ(FileCount(), 3u);
}

TEST_F(FsBlobStoreTest, PutReplaces) {
  ASSERT_TRUE(store_->Put("outputs/1/x", "first version").ok());
  ASSERT_TRUE(store_->Put("outputs/1/x", "v2").ok());
  EXPECT_EQ(*store_->Size("outputs/1/x"), 2);
  EXPECT_EQ(*ReadFile(*store_->LocalPath("outputs/1/x")), "v2");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsBlobStoreTest, MissingObject) {
  auto exists = store_->Exists("files/nothing");
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
  auto size = store_->Size("files/nothing");
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().code, Errc::kNotFound);
  // A folder is not an object.
  ASSERT_TRUE(store_->Put("outputs/1/x", "data").ok());
  EXPECT_FALSE(*store_->Exists("outputs/1"));
}

TEST_F(FsBlobStoreTest, InvalidKeysRefused) {
  for (std::string key :
       {std::string("../escape"), std::string("/etc/passwd"), std::string("files/"), std::string("Files/A"),
        std::string("a//b"), std::string(""), std::string("files/../../escape"), std::string(600, 'a')}) {
    auto put = store_->Put(key, "x");
    ASSERT_FALSE(put.ok()) << key;
    EXPECT_EQ(put.error().code, Errc::kInvalidArgument) << key;
    auto exists = store_->Exists(key);
    ASSERT_FALSE(exists.ok()) << key;
    EXPECT_EQ(exists.error().code, Errc::kInvalidArgument);
    auto path = store_->LocalPath(key);
    ASSERT_FALSE(path.ok()) << key;
    EXPECT_EQ(path.error().code, Errc::kInvalidArgument);
    auto size = store_->Size(key);
    ASSERT_FALSE(size.ok()) << key;
    EXPECT_EQ(size.error().code, Errc::kInvalidArgument);
  }
  EXPECT_EQ(FileCount(), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
}

TEST_F(FsBlobStoreTest, ReopenSeesExistingObjects) {
  ASSERT_TRUE(store_->Put("files/abc", "kept").ok());
  auto again = OpenFsBlobStore(root_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*(*again)->Exists("files/abc"));
  EXPECT_EQ(*(*again)->Size("files/abc"), 4);
}

TEST(OpenFsBlobStore, UncreatableRootFails) {
  const auto dir = fs::temp_directory_path() / ("inferix_blob_test_" + RandomHex(8));
  fs::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomic(dir / "file", "not a folder").ok());
  auto s = OpenFsBlobStore(dir / "file" / "blobs");
  std::error_code ec;
  fs::remove_all(dir, ec);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kInternal);
  EXPECT_NE(s.error().message.find("blob folder"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace inferix::blob
