#include "core/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "core/crypto.hpp"
#include "core/result.hpp"

namespace inferix {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_files_test_" + RandomHex(8));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Number of entries in the test folder: temporary files must not be left behind.
  size_t Entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(FilesTest, WriteThenReadRoundTrip) {
  const auto path = dir_ / "a.txt";
  ASSERT_TRUE(WriteFileAtomic(path, "hello world").ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, "hello world");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(FilesTest, BinaryAndEmptyContent) {
  const std::string binary("\0\x01\xff\n\r\0end", 9);
  ASSERT_TRUE(WriteFileAtomic(dir_ / "bin", binary).ok());
  auto got = ReadFile(dir_ / "bin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, binary);

  ASSERT_TRUE(WriteFileAtomic(dir_ / "empty", "").ok());
  auto empty = ReadFile(dir_ / "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(fs::file_size(dir_ / "empty"), 0u);
}

TEST_F(FilesTest, LargeContent) {
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(WriteFileAtomic(dir_ / "big", big).ok());
  auto got = ReadFile(dir_ / "big");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), big.size());
  EXPECT_EQ(Sha256Hex(*got), Sha256Hex(big));
}

TEST_F(FilesTest, OverwriteReplacesWholeContent) {
  const auto path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomic(path, "a much longer first version").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "short").ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "short");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(FilesTest, DefaultPermissionsAreOwnerOnly) {
  const auto path = dir_ / "secret";
  ASSERT_TRUE(WriteFileAtomic(path, "key").ok());
  const auto perms = fs::status(path).permissions();
  EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(FilesTest, ExplicitPermissions) {
  const auto path = dir_ / "public";
  const auto wanted =
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;
  ASSERT_TRUE(WriteFileAtomic(path, "data", wanted).ok());
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, wanted);
}

TEST_F(FilesTest, WriteIntoMissingFolderFailsCleanly) {
  auto r = WriteFileAtomic(dir_ / "no" / "such" / "dir" / "f", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInternal);
  EXPECT_NE(r.error().message.find("cannot create"), std::string::npos) << r.error().message;
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(FilesTest, RenameOntoFolderFailsAndLeavesNoTemporary) {
  fs::create_directories(dir_ / "occupied" / "child");
  auto r = WriteFileAtomic(dir_ / "occupied", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("occupied"), std::string::npos) << r.error().message;
  EXPECT_EQ(Entries(), 1u);  // only the folder: the temporary file was removed
  EXPECT_TRUE(fs::is_directory(dir_ / "occupied"));
}

TEST_F(FilesTest, ReadMissingFileIsNotFound) {
  auto r = ReadFile(dir_ / "missing.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_NE(r.error().message.find("missing.txt"), std::string::npos) << r.error().message;
}

TEST(IsSafeRelativePath, Accepts) {
  EXPECT_TRUE(IsSafeRelativePath("scene.blend"));
  EXPECT_TRUE(IsSafeRelativePath("tex/wood.png"));
  EXPECT_TRUE(IsSafeRelativePath("a/b/c/d.exr"));
  EXPECT_TRUE(IsSafeRelativePath("name with spaces.png"));
  EXPECT_TRUE(IsSafeRelativePath("..hidden"));  // a name that starts with dots is not ".."
  EXPECT_TRUE(IsSafeRelativePath("a..b/c"));
  EXPECT_TRUE(IsSafeRelativePath(".blend_cache/x"));
  EXPECT_TRUE(IsSafeRelativePath("t\xc3\xa9xture.png"));  // UTF-8
  EXPECT_TRUE(IsSafeRelativePath(std::string(1024, 'a')));
}

TEST(IsSafeRelativePath, Rejects) {
  EXPECT_FALSE(IsSafeRelativePath(""));
  EXPECT_FALSE(IsSafeRelativePath("/etc/passwd"));
  EXPECT_FALSE(IsSafeRelativePath("/"));
  EXPECT_FALSE(IsSafeRelativePath(".."));
  EXPECT_FALSE(IsSafeRelativePath("../x"));
  EXPECT_FALSE(IsSafeRelativePath("a/../../x"));
  EXPECT_FALSE(IsSafeRelativePath("a/.."));
  EXPECT_FALSE(IsSafeRelativePath("."));
  EXPECT_FALSE(IsSafeRelativePath("./a"));
  EXPECT_FALSE(IsSafeRelativePath("a/./b"));
  EXPECT_FALSE(IsSafeRelativePath("a/"));    // trailing slash: empty last part
  EXPECT_FALSE(IsSafeRelativePath("a//b"));  // the same file as "a/b"
  EXPECT_FALSE(IsSafeRelativePath("a\\b"));
  EXPECT_FALSE(IsSafeRelativePath("..\\x"));
  EXPECT_FALSE(IsSafeRelativePath("a\nb"));
  EXPECT_FALSE(IsSafeRelativePath("a\tb"));
  EXPECT_FALSE(IsSafeRelativePath(std::string("a\0b", 3)));
  EXPECT_FALSE(IsSafeRelativePath(std::string(1025, 'a')));
}

TEST(ErrcName, AllCodes) {
  EXPECT_STREQ(ErrcName(Errc::kInvalidArgument), "invalid_argument");
  EXPECT_STREQ(ErrcName(Errc::kUnauthenticated), "unauthenticated");
  EXPECT_STREQ(ErrcName(Errc::kPermissionDenied), "permission_denied");
  EXPECT_STREQ(ErrcName(Errc::kNotFound), "not_found");
  EXPECT_STREQ(ErrcName(Errc::kConflict), "conflict");
  EXPECT_STREQ(ErrcName(Errc::kTooLarge), "too_large");
  EXPECT_STREQ(ErrcName(Errc::kUnavailable), "unavailable");
  EXPECT_STREQ(ErrcName(Errc::kInternal), "internal");
}

Result<int> Half(int x) {
  if (x % 2 != 0) return MakeError(Errc::kInvalidArgument, std::to_string(x) + " is odd");
  return x / 2;
}
Result<void> HalfTwice(int x, int& out) {
  auto a = Half(x);
  INFERIX_TRY(a);
  auto b = Half(*a);
  INFERIX_TRY(b);
  out = *b;
  return Ok();
}

TEST(Result, ValueAndErrorPropagation) {
  int out = 0;
  ASSERT_TRUE(HalfTwice(12, out).ok());
  EXPECT_EQ(out, 3);
  auto r = HalfTwice(6, out);  // 6 -> 3 -> odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message, "3 is odd");
  EXPECT_EQ(out, 3);  // untouched by the failed call
}

}  // namespace
}  // namespace inferix
