#include "blob/fs_blob_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/crypto.hpp"
#include "core/files.hpp"
#include "net/http.hpp"

namespace inferix::blob {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::chrono::seconds kTtl{300};

// The query fields of a URL ("...?a=1&b=2").
std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  const size_t q = url.find('?');
  if (q == std::string::npos) return out;
  const std::string query = url.substr(q + 1);
  size_t start = 0;
  while (start <= query.size()) {
    const size_t amp = query.find('&', start);
    const std::string part = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    const size_t eq = part.find('=');
    if (eq != std::string::npos) out[part.substr(0, eq)] = part.substr(eq + 1);
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

class FsObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferix_blob_test_" + RandomHex(8));
    root_ = dir_ / "blobs";
    auto s = OpenFsObjectStore(root_, "store-secret", clock_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Every regular file under the root but the digests kept beside objects, to check that nothing but the
  // objects is left there.
  size_t FileCount() const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      n += e.is_regular_file() && !e.path().string().ends_with("#sha256") ? 1 : 0;
    return n;
  }
  // A local file outside the store, with `data` in it.
  fs::path LocalFile(const std::string& name, std::string_view data) const {
    const auto path = dir_ / "local" / name;
    fs::create_directories(path.parent_path());
    EXPECT_TRUE(WriteFileAtomic(path, data).ok());
    return path;
  }
  std::optional<domain::ObjectInfo> StatOf(const std::string& key) {
    auto s = store_->Stat(key);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s ? *s : std::nullopt;
  }
  std::string GetOf(const std::string& key) {
    auto g = store_->Get(key);
    EXPECT_TRUE(g.ok()) << g.error().message;
    return g ? *g : std::string();
  }

  fs::path dir_;
  fs::path root_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::unique_ptr<FsObjectStore> store_;
};

TEST_F(FsObjectStoreTest, OpenCreatesTheRoot) { EXPECT_TRUE(fs::is_directory(root_)); }

TEST_F(FsObjectStoreTest, PutThenReadBack) {
  const std::string data("scene bytes\0with nul", 20);
  const std::string key = "files/" + Sha256Hex(data);
  EXPECT_FALSE(StatOf(key).has_value());

  ASSERT_TRUE(store_->Put(key, data).ok());
  auto stat = StatOf(key);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(GetOf(key), data);
  EXPECT_EQ(*ReadFile(root_ / "files" / Sha256Hex(data)), data);  // the adapter's own layout
  EXPECT_EQ(FileCount(), 1u);                                     // no temporary file left behind
}

TEST_F(FsObjectStoreTest, NestedKeysCreateFolders) {
  ASSERT_TRUE(store_->Put("outputs/1/2_3_ab", "png").ok());
  ASSERT_TRUE(store_->Put("outputs/1/2_4_cd", "png2").ok());
  ASSERT_TRUE(store_->Put("outputs/2/9_-5_ef", "").ok());
  EXPECT_TRUE(fs::is_regular_file(root_ / "outputs" / "1" / "2_3_ab"));
  EXPECT_EQ(StatOf("outputs/1/2_4_cd")->size, 4);
  EXPECT_EQ(StatOf("outputs/2/9_-5_ef")->size, 0);
  EXPECT_EQ(GetOf("outputs/2/9_-5_ef"), "");
  EXPECT_EQ(FileCount(), 3u);
}

TEST_F(FsObjectStoreTest, PutReplaces) {
  ASSERT_TRUE(store_->Put("outputs/1/x", "first version").ok());
  ASSERT_TRUE(store_->Put("outputs/1/x", "v2").ok());
  EXPECT_EQ(StatOf("outputs/1/x")->size, 2);
  EXPECT_EQ(GetOf("outputs/1/x"), "v2");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsObjectStoreTest, MissingObject) {
  EXPECT_FALSE(StatOf("files/nothing").has_value());
  auto get = store_->Get("files/nothing");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, Errc::kNotFound);
  auto open = store_->Open("files/nothing");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, Errc::kNotFound);
  EXPECT_THAT(open.error().message, HasSubstr("files/nothing"));
  EXPECT_THAT(open.error().message, ::testing::Not(HasSubstr(root_.string())));  // no path in messages
  // A folder is not an object.
  ASSERT_TRUE(store_->Put("outputs/1/x", "data").ok());
  EXPECT_FALSE(StatOf("outputs/1").has_value());
  EXPECT_EQ(store_->Open("outputs/1").error().code, Errc::kNotFound);
  EXPECT_EQ(store_->Get("outputs/1").error().code, Errc::kNotFound);
}

TEST_F(FsObjectStoreTest, PutFileStoresACopy) {
  std::string data(3 * 1024 * 1024 + 17, '\0');  // more than one copy chunk
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + i / 4096);
  const auto source = LocalFile("video.mp4", data);
  ASSERT_TRUE(store_->PutFile("videos/1.mp4", source).ok());
  EXPECT_EQ(StatOf("videos/1.mp4")->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(GetOf("videos/1.mp4"), data);
  EXPECT_EQ(*ReadFile(source), data);  // the source is left as it was
  EXPECT_EQ(FileCount(), 1u);

  const auto second = LocalFile("other.mp4", "shorter");
  ASSERT_TRUE(store_->PutFile("videos/1.mp4", second).ok());
  EXPECT_EQ(GetOf("videos/1.mp4"), "shorter");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsObjectStoreTest, FailedPutFileLeavesNoPartialObject) {
  // A missing source: kNotFound, and nothing stored.
  auto missing = store_->PutFile("previews/1/2_3.png", dir_ / "local" / "nothing.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_FALSE(StatOf("previews/1/2_3.png").has_value());
  // A source that opens but cannot be read (a folder): an error, no object, no temporary file.
  fs::create_directories(dir_ / "local" / "folder");
  auto unreadable = store_->PutFile("previews/1/2_3.png", dir_ / "local" / "folder");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_FALSE(StatOf("previews/1/2_3.png").has_value());
  EXPECT_EQ(FileCount(), 0u);
  // Over an existing object: the old object stays whole.
  ASSERT_TRUE(store_->Put("previews/1/2_3.png", "old preview").ok());
  ASSERT_FALSE(store_->PutFile("previews/1/2_3.png", dir_ / "local" / "folder").ok());
  ASSERT_FALSE(store_->PutFile("previews/1/2_3.png", dir_ / "local" / "nothing.png").ok());
  EXPECT_EQ(GetOf("previews/1/2_3.png"), "old preview");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsObjectStoreTest, OpenReadsAnyRange) {
  ASSERT_TRUE(store_->Put("outputs/1/2_3_ab", "0123456789").ok());
  auto reader = store_->Open("outputs/1/2_3_ab");
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->Size(), 10);
  std::string buf(4, '\0');
  auto n = (*reader)->ReadAt(3, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(buf, "3456");
  n = (*reader)->ReadAt(8, buf.data(), buf.size());  // short at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf.substr(0, *n), "89");
  n = (*reader)->ReadAt(10, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = (*reader)->ReadAt(-1, buf.data(), buf.size());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, Errc::kInvalidArgument);
}

TEST_F(FsObjectStoreTest, AReaderKeepsItsObject) {
  ASSERT_TRUE(store_->Put("videos/2.mp4", "old").ok());
  auto reader = store_->Open("videos/2.mp4");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(store_->Put("videos/2.mp4", "newer").ok());
  std::string buf(8, '\0');
  auto n = (*reader)->ReadAt(0, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf.substr(0, *n), "old");
  ASSERT_TRUE(store_->Delete("videos/2.mp4").ok());
  EXPECT_FALSE(StatOf("videos/2.mp4").has_value());
  n = (*reader)->ReadAt(0, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf.substr(0, *n), "old");
}

TEST_F(FsObjectStoreTest, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put("outputs/1/2_3_ab", "a").ok());
  ASSERT_TRUE(store_->Put("outputs/1/2_4_ab", "b").ok());
  ASSERT_TRUE(store_->Delete("outputs/1/2_3_ab").ok());
  EXPECT_FALSE(StatOf("outputs/1/2_3_ab").has_value());
  EXPECT_EQ(store_->Get("outputs/1/2_3_ab").error().code, Errc::kNotFound);
  EXPECT_TRUE(store_->Delete("outputs/1/2_3_ab").ok());  // again
  EXPECT_TRUE(store_->Delete("files/never").ok());       // never there
  EXPECT_TRUE(store_->Delete("outputs/1").ok());         // a folder is not an object: left alone
  EXPECT_EQ(GetOf("outputs/1/2_4_ab"), "b");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsObjectStoreTest, InvalidKeysRefused) {
  const auto source = LocalFile("x", "x");
  for (std::string key :
       {std::string("../escape"), std::string("/etc/passwd"), std::string("files/"), std::string("Files/A"),
        std::string("a//b"), std::string(""), std::string("files/../../escape"), std::string(600, 'a')}) {
    auto expect_invalid = [&](const Error& e) { EXPECT_EQ(e.code, Errc::kInvalidArgument) << key; };
    auto put = store_->Put(key, "x");
    ASSERT_FALSE(put.ok()) << key;
    expect_invalid(put.error());
    auto put_file = store_->PutFile(key, source);
    ASSERT_FALSE(put_file.ok()) << key;
    expect_invalid(put_file.error());
    auto open = store_->Open(key);
    ASSERT_FALSE(open.ok()) << key;
    expect_invalid(open.error());
    auto get = store_->Get(key);
    ASSERT_FALSE(get.ok()) << key;
    expect_invalid(get.error());
    auto stat = store_->Stat(key);
    ASSERT_FALSE(stat.ok()) << key;
    expect_invalid(stat.error());
    auto del = store_->Delete(key);
    ASSERT_FALSE(del.ok()) << key;
    expect_invalid(del.error());
    auto get_url = store_->PresignGet(key, kTtl, std::nullopt, "");
    ASSERT_FALSE(get_url.ok()) << key;
    expect_invalid(get_url.error());
    auto put_url = store_->PresignPut(key, kTtl, {});
    ASSERT_FALSE(put_url.ok()) << key;
    expect_invalid(put_url.error());
    auto verify = store_->VerifyPresigned("GET", key, {});
    ASSERT_FALSE(verify.ok()) << key;
    expect_invalid(verify.error());
  }
  EXPECT_EQ(FileCount(), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
}

TEST_F(FsObjectStoreTest, ReopenSeesExistingObjects) {
  ASSERT_TRUE(store_->Put("files/abc", "kept").ok());
  auto again = OpenFsObjectStore(root_, "store-secret", clock_);
  ASSERT_TRUE(again.ok());
  auto stat = (*again)->Stat("files/abc");
  ASSERT_TRUE(stat.ok() && stat->has_value());
  EXPECT_EQ((*stat)->size, 4);
}

TEST_F(FsObjectStoreTest, PresignedUrlsVerify) {
  const std::string key = "outputs/1/2_3_ab";
  auto get = store_->PresignGet(key, kTtl, std::nullopt, "");
  ASSERT_TRUE(get.ok()) << get.error().message;
  EXPECT_THAT(*get, StartsWith("/api/v1/blobs/" + key + "?"));
  const auto get_query = QueryOf(*get);
  EXPECT_EQ(get_query.at("expires"), std::to_string(clock_->NowMs() / 1000 + kTtl.count()));
  EXPECT_EQ(get_query.count("name"), 0u);
  EXPECT_TRUE(store_->VerifyPresigned("GET", key, get_query).ok());

  auto put = store_->PresignPut(key, kTtl, {});
  ASSERT_TRUE(put.ok());
  const auto put_query = QueryOf(*put);
  EXPECT_TRUE(store_->VerifyPresigned("PUT", key, put_query).ok());

  // Each URL is for its method and its key only.
  EXPECT_EQ(store_->VerifyPresigned("PUT", key, get_query).error().code, Errc::kPermissionDenied);
  EXPECT_EQ(store_->VerifyPresigned("GET", key, put_query).error().code, Errc::kPermissionDenied);
  EXPECT_EQ(store_->VerifyPresigned("GET", "outputs/1/2_3_ac", get_query).error().code,
            Errc::kPermissionDenied);
  auto forged = get_query;
  forged["method"] = "PUT";
  EXPECT_EQ(store_->VerifyPresigned("PUT", key, forged).error().code, Errc::kPermissionDenied);
  EXPECT_EQ(store_->VerifyPresigned("GET", key, {}).error().code, Errc::kPermissionDenied);

  // Another store's secret does not verify.
  auto other = OpenFsObjectStore(dir_ / "other", "another-secret", clock_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->VerifyPresigned("GET", key, get_query).error().code, Errc::kPermissionDenied);

  // Valid until the TTL has passed, not after.
  clock_->Advance(kTtl.count() * 1000);
  EXPECT_TRUE(store_->VerifyPresigned("GET", key, get_query).ok());
  clock_->Advance(1000);
  auto expired = store_->VerifyPresigned("GET", key, get_query);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, Errc::kPermissionDenied);
  EXPECT_THAT(expired.error().message, HasSubstr("expired"));
}

TEST_F(FsObjectStoreTest, PresignGetWithADownloadName) {
  const std::string key = "outputs/1/2_3_ab";
  auto url = store_->PresignGet(key, kTtl, std::string("frame_0003.png"), "");
  ASSERT_TRUE(url.ok());
  EXPECT_THAT(*url, HasSubstr("&name=frame_0003.png"));
  EXPECT_TRUE(store_->VerifyPresigned("GET", key, QueryOf(*url)).ok());  // the name is not signed
  auto odd = store_->PresignGet(key, kTtl, std::string("a b&c.png"), "");
  ASSERT_TRUE(odd.ok());
  EXPECT_THAT(*odd, HasSubstr("&name=a%20b%26c.png"));
}

TEST_F(FsObjectStoreTest, ServeStreamsTheObject) {
  ASSERT_TRUE(store_->Put("videos/3.mp4", "movie").ok());
  net::HttpResponse response;
  ASSERT_TRUE(store_->Serve("videos/3.mp4", response, "").ok());
  ASSERT_FALSE(response.file.empty());
  EXPECT_EQ(*ReadFile(response.file), "movie");
  EXPECT_TRUE(response.body.empty());

  net::HttpResponse missing;
  auto r = store_->Serve("videos/4.mp4", missing, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_TRUE(missing.file.empty());
  EXPECT_EQ(store_->Serve("../x", missing, "").error().code, Errc::kInvalidArgument);
}

TEST_F(FsObjectStoreTest, CreateFromFileIsWriteOnce) {
  const std::string key = "outputs/1/2_3_ab";
  const auto first = LocalFile("first", "verified frame");
  ASSERT_TRUE(store_->CreateFromFile(key, first, Sha256Hex("verified frame")).ok());
  EXPECT_FALSE(fs::exists(first));  // consumed
  EXPECT_EQ(GetOf(key), "verified frame");
  EXPECT_EQ(StatOf(key)->sha256, Sha256Hex("verified frame"));  // the digest is kept with the object
  // A second object under the key is refused, and nothing changes.
  const auto second = LocalFile("second", "replacement");
  auto again = store_->CreateFromFile(key, second, Sha256Hex("replacement"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);
  EXPECT_THAT(again.error().message, HasSubstr("never replaced"));
  EXPECT_EQ(GetOf(key), "verified frame");
  EXPECT_EQ(StatOf(key)->sha256, Sha256Hex("verified frame"));
  auto bytes = store_->CreateFromBytes(key, "replacement");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, Errc::kConflict);
  EXPECT_EQ(GetOf(key), "verified frame");
  EXPECT_EQ(FileCount(), 1u);
}

TEST_F(FsObjectStoreTest, CreateFromFileChecksItsArguments) {
  const auto file = LocalFile("f", "x");
  EXPECT_EQ(store_->CreateFromFile("outputs/1/2_3_ab", file, "not-a-digest").error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(store_->CreateFromFile("../x", file, Sha256Hex("x")).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(store_->CreateFromFile("outputs/1/2_3_ab", dir_ / "missing", Sha256Hex("x")).error().code,
            Errc::kNotFound);
  EXPECT_TRUE(fs::exists(file));
  EXPECT_EQ(FileCount(), 0u);
}

TEST_F(FsObjectStoreTest, EveryWriteKeepsTheDigest) {
  ASSERT_TRUE(store_->Put("videos/1.mp4", "movie").ok());
  EXPECT_EQ(StatOf("videos/1.mp4")->sha256, Sha256Hex("movie"));
  ASSERT_TRUE(store_->Put("videos/1.mp4", "movie 2").ok());  // the manager's own files may be made again
  EXPECT_EQ(StatOf("videos/1.mp4")->sha256, Sha256Hex("movie 2"));
  ASSERT_TRUE(store_->PutFile("previews/1/1_1.png", LocalFile("p", "png")).ok());
  EXPECT_EQ(StatOf("previews/1/1_1.png")->sha256, Sha256Hex("png"));
  ASSERT_TRUE(store_->Delete("videos/1.mp4").ok());
  EXPECT_FALSE(fs::exists(root_ / "videos/1.mp4#sha256"));
}

TEST_F(FsObjectStoreTest, OpeningRemovesWhatACrashLeft) {
  ASSERT_TRUE(store_->CreateFromBytes("outputs/1/2_3_ab", "kept").ok());
  // A write cut short by a crash: temporary files, and a digest whose object never appeared.
  ASSERT_TRUE(WriteFileAtomic(root_ / "outputs/1/2_3_cd~tmp-0123456789ab", "half").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ / "outputs/1/2_3_ef.tmp-0123456789ab", "old half").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ / "outputs/1/2_3_gh#sha256", Sha256Hex("never") + "\n").ok());
  auto again = OpenFsObjectStore(root_, "store-secret", clock_);
  ASSERT_TRUE(again.ok());
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (e.is_regular_file()) left.push_back(fs::relative(e.path(), root_).string());
  }
  EXPECT_THAT(left, ::testing::UnorderedElementsAre("outputs/1/2_3_ab", "outputs/1/2_3_ab#sha256"));
  EXPECT_EQ(*(*again)->Get("outputs/1/2_3_ab"), "kept");
  EXPECT_EQ((*(*again)->Stat("outputs/1/2_3_ab"))->sha256, Sha256Hex("kept"));
}

TEST_F(FsObjectStoreTest, ADamagedObjectIsNeverServed) {
  const std::string key = "outputs/1/2_3_ab";
  ASSERT_TRUE(store_->CreateFromBytes(key, "good bytes").ok());
  net::HttpResponse ok;
  ASSERT_TRUE(store_->Serve(key, ok, Sha256Hex("good bytes")).ok());
  EXPECT_FALSE(ok.file.empty());
  // Someone rewrites the stored file (after it was checked once): the check is made again.
  ASSERT_TRUE(WriteFileAtomic(root_ / key, "evil").ok());
  for (const std::string& want : {Sha256Hex("good bytes"), std::string()}) {
    net::HttpResponse r;
    auto served = store_->Serve(key, r, want);
    ASSERT_FALSE(served.ok());
    EXPECT_EQ(served.error().code, Errc::kInternal);
    EXPECT_THAT(served.error().message, HasSubstr("is damaged"));
    EXPECT_TRUE(r.file.empty());
  }
  // A URL expecting other bytes than were stored is refused too.
  ASSERT_TRUE(store_->CreateFromBytes("outputs/1/2_4_ab", "frame").ok());
  net::HttpResponse other;
  EXPECT_EQ(store_->Serve("outputs/1/2_4_ab", other, Sha256Hex("other")).error().code, Errc::kInternal);
}

TEST_F(FsObjectStoreTest, WritesStopBelowTheWatermark) {
  store_->SetMinFreeBytes(int64_t{1} << 62);  // more than any disk has free
  auto put = store_->Put("videos/1.mp4", "movie");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, Errc::kUnavailable);
  EXPECT_THAT(put.error().message, HasSubstr("disk is almost full"));
  EXPECT_EQ(store_->CreateFromFile("outputs/1/2_3_ab", LocalFile("f", "x"), Sha256Hex("x")).error().code,
            Errc::kUnavailable);
  EXPECT_EQ(FileCount(), 0u);
  store_->SetMinFreeBytes(0);
  EXPECT_TRUE(store_->Put("videos/1.mp4", "movie").ok());
}

TEST(OpenFsObjectStore, UncreatableRootFails) {
  const auto dir = fs::temp_directory_path() / ("inferix_blob_test_" + RandomHex(8));
  fs::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomic(dir / "file", "not a folder").ok());
  auto s = OpenFsObjectStore(dir / "file" / "blobs", "secret", std::make_shared<SystemClock>());
  std::error_code ec;
  fs::remove_all(dir, ec);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kInternal);
  EXPECT_NE(s.error().message.find("blob folder"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace inferix::blob
