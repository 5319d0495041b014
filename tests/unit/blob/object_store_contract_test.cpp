#include "object_store_contract.hpp"

#include <gmock/gmock.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "blob/fs_blob_store.hpp"
#include "core/crypto.hpp"

namespace inferix::blob::testing {

namespace fs = std::filesystem;

std::optional<S3Config> TestS3Config(std::string* skip) {
  const char* path = std::getenv("INFERIX_TEST_S3");
  if (path == nullptr || *path == '\0') {
    *skip =
        "set INFERIX_TEST_S3 to the S3 engine's settings (<build>/engines/s3.json, written by ctest's s3 "
        "fixture) to run the S3 tests";
    return std::nullopt;
  }
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "INFERIX_TEST_S3=" << path << " cannot be read";
    return std::nullopt;
  }
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "INFERIX_TEST_S3=" << path << " is not a JSON object";
    return std::nullopt;
  }
  S3Config config;
  config.endpoint = j.value("endpoint", "");
  config.region = j.value("region", "us-east-1");
  config.bucket = j.value("bucket", "");
  config.credentials.access_key = j.value("access_key", "");
  config.credentials.secret_key = j.value("secret_key", "");
  return config;
}

ContractStore MakeS3ContractStore() {
  ContractStore out;
  auto config = TestS3Config(&out.skip);
  if (!config.has_value()) return out;
  auto store = OpenS3ObjectStore(*config);
  if (!store.ok()) {
    ADD_FAILURE() << "the S3 engine does not answer: " << store.error().message;
    return out;
  }
  out.store = std::move(*store);
  return out;
}

namespace {

ContractStore MakeFsContractStore() {
  ContractStore out;
  const fs::path dir = fs::temp_directory_path() / ("inferix_contract_" + RandomHex(8));
  auto store = OpenFsObjectStore(dir, "contract-secret", std::make_shared<SystemClock>());
  if (!store.ok()) {
    ADD_FAILURE() << store.error().message;
    return out;
  }
  out.store = std::move(*store);
  out.cleanup = [dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  return out;
}

class ObjectStoreContract : public ::testing::TestWithParam<ContractParam> {
 protected:
  void SetUp() override {
    made_ = GetParam().make();
    if (HasFailure()) return;
    if (made_.store == nullptr) GTEST_SKIP() << made_.skip;
    store_ = made_.store.get();
    // Each test writes under its own prefix, so tests sharing one bucket never see each other's objects.
    prefix_ = "contract/" + RandomHex(8) + "/";
    dir_ = fs::temp_directory_path() / ("inferix_contract_src_" + RandomHex(8));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    made_.store.reset();
    if (made_.cleanup) made_.cleanup();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  std::string Key(const std::string& name) const { return prefix_ + name; }
  fs::path WriteFile(const std::string& name, const std::string& bytes) const {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  ContractStore made_;
  domain::ObjectStore* store_ = nullptr;
  std::string prefix_;
  fs::path dir_;
};

#define STORE_OR_SKIP() \
  if (store_ == nullptr) GTEST_SKIP()

TEST_P(ObjectStoreContract, PutThenGetAndStat) {
  STORE_OR_SKIP();
  ASSERT_TRUE(store_->Put(Key("a"), "hello").ok());
  auto got = store_->Get(Key("a"));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, "hello");
  auto info = store_->Stat(Key("a"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size, 5);
  EXPECT_EQ((*info)->sha256, Sha256Hex("hello"));
}

TEST_P(ObjectStoreContract, PutReplaces) {
  STORE_OR_SKIP();
  ASSERT_TRUE(store_->Put(Key("a"), "first").ok());
  ASSERT_TRUE(store_->Put(Key("a"), "second one").ok());
  EXPECT_EQ(*store_->Get(Key("a")), "second one");
  EXPECT_EQ((*store_->Stat(Key("a")))->size, 10);
}

TEST_P(ObjectStoreContract, MissingObjects) {
  STORE_OR_SKIP();
  auto got = store_->Get(Key("missing"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::kNotFound);
  auto opened = store_->Open(Key("missing"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::kNotFound);
  auto info = store_->Stat(Key("missing"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_FALSE(info->has_value());
}

TEST_P(ObjectStoreContract, DeleteIsIdempotent) {
  STORE_OR_SKIP();
  ASSERT_TRUE(store_->Put(Key("d"), "x").ok());
  ASSERT_TRUE(store_->Delete(Key("d")).ok());
  EXPECT_FALSE(store_->Stat(Key("d"))->has_value());
  EXPECT_TRUE(store_->Delete(Key("d")).ok());
}

TEST_P(ObjectStoreContract, PutFileCopiesAndLeavesTheSource) {
  STORE_OR_SKIP();
  const std::string bytes(100000, 'z');
  const fs::path source = WriteFile("src", bytes);
  ASSERT_TRUE(store_->PutFile(Key("f"), source).ok());
  EXPECT_EQ(*store_->Get(Key("f")), bytes);
  EXPECT_TRUE(fs::exists(source));
  EXPECT_EQ((*store_->Stat(Key("f")))->sha256, Sha256Hex(bytes));
  auto missing = store_->PutFile(Key("g"), dir_ / "no-such-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_FALSE(store_->Stat(Key("g"))->has_value());
}

TEST_P(ObjectStoreContract, CreateFromFileIsWriteOnce) {
  STORE_OR_SKIP();
  const fs::path first = WriteFile("first", "original");
  ASSERT_TRUE(store_->CreateFromFile(Key("once"), first, Sha256Hex("original")).ok());
  EXPECT_FALSE(fs::exists(first)) << "the source is consumed";
  const fs::path second = WriteFile("second", "replacement");
  auto again = store_->CreateFromFile(Key("once"), second, Sha256Hex("replacement"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);
  EXPECT_EQ(*store_->Get(Key("once")), "original");
  EXPECT_EQ((*store_->Stat(Key("once")))->sha256, Sha256Hex("original"));
}

TEST_P(ObjectStoreContract, OpenReadsRanges) {
  STORE_OR_SKIP();
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->Put(Key("r"), bytes).ok());
  auto reader = store_->Open(Key("r"));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->Size(), 1000);
  char buf[64];
  auto n = (*reader)->ReadAt(100, buf, 10);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(std::string(buf, *n), bytes.substr(100, 10));
  n = (*reader)->ReadAt(995, buf, 64);  // fewer only at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), bytes.substr(995));
  n = (*reader)->ReadAt(1000, buf, 10);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0U);
}

TEST_P(ObjectStoreContract, ListPagesInKeyOrder) {
  STORE_OR_SKIP();
  for (const char* name : {"c", "a", "e", "b", "d"})
    ASSERT_TRUE(store_->Put(Key(std::string("l/") + name), name).ok());
  ASSERT_TRUE(store_->Put(Key("other"), "x").ok());
  auto page = store_->List(Key("l/"), "", 2);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->size(), 2U);
  EXPECT_EQ((*page)[0].key, Key("l/a"));
  EXPECT_EQ((*page)[1].key, Key("l/b"));
  EXPECT_EQ((*page)[0].size, 1);
  EXPECT_GT((*page)[0].modified_ms, 0);
  page = store_->List(Key("l/"), (*page)[1].key, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3U);
  EXPECT_EQ((*page)[0].key, Key("l/c"));
  EXPECT_EQ((*page)[2].key, Key("l/e"));
  page = store_->List(Key("l/"), Key("l/e"), 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->empty());
}

TEST_P(ObjectStoreContract, InvalidKeysAreRefused) {
  STORE_OR_SKIP();
  const fs::path source = WriteFile("s", "x");
  for (const std::string key : {"", "/a", "a//b", "a/../b", "A", "a b", "a/"}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(store_->Put(key, "x").error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->PutFile(key, source).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->CreateFromFile(key, source, Sha256Hex("x")).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->Get(key).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->Open(key).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->Stat(key).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->Delete(key).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->PresignGet(key, std::chrono::seconds(60), std::nullopt, "").error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(store_->PresignPut(key, std::chrono::seconds(60), {}).error().code, Errc::kInvalidArgument);
  }
  EXPECT_TRUE(fs::exists(source));
  for (const std::string prefix : {"/a", "a/../", "./x"}) {
    auto listed = store_->List(prefix, "", 10);
    ASSERT_FALSE(listed.ok()) << prefix;
    EXPECT_EQ(listed.error().code, Errc::kInvalidArgument);
  }
}

INSTANTIATE_TEST_SUITE_P(Adapters, ObjectStoreContract,
                         ::testing::Values(ContractParam{"fs", MakeFsContractStore},
                                           ContractParam{"s3", MakeS3ContractStore}),
                         [](const ::testing::TestParamInfo<ContractParam>& info) { return info.param.name; });

}  // namespace
}  // namespace inferix::blob::testing
