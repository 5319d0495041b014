#include "core/crypto.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace inferix {
namespace {

// FIPS 180-2 / NIST examples.
TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Hex, MillionAs) {
  EXPECT_EQ(Sha256Hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Hex, BinaryDataWithNulBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(Sha256Hex(with_nul), Sha256Hex("a"));
  EXPECT_NE(Sha256Hex(with_nul), Sha256Hex("ab"));
  EXPECT_TRUE(IsSha256Hex(Sha256Hex(with_nul)));
}

TEST(Sha256Stream, IncrementalEqualsOneShot) {
  const std::string data = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256Stream s;
  for (size_t i = 0; i < data.size(); i += 7) s.Update(std::string_view(data).substr(i, 7));
  EXPECT_EQ(s.FinishHex(), Sha256Hex(data));
}

TEST(Sha256Stream, NoUpdateIsEmptyHash) {
  Sha256Stream s;
  s.Update("");
  EXPECT_EQ(s.FinishHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

class Sha256FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("inferix_crypto_test_" + RandomHex(8));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(Sha256FileTest, HashesLargerThanOneChunk) {
  // 200 kB spans several 64 kB read chunks.
  std::string data;
  for (int i = 0; i < 200'000; ++i) data.push_back(static_cast<char>(i * 31 % 251));
  const auto path = dir_ / "big.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  auto h = Sha256File(path);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(*h, Sha256Hex(data));
}

TEST_F(Sha256FileTest, EmptyFile) {
  const auto path = dir_ / "empty";
  { std::ofstream out(path, std::ios::binary); }
  auto h = Sha256File(path);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(*h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(Sha256FileTest, MissingFileIsNotFound) {
  auto h = Sha256File(dir_ / "nope");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::kNotFound);
  EXPECT_NE(h.error().message.find("nope"), std::string::npos) << h.error().message;
}

// RFC 4231 test cases 1 and 2.
TEST(HmacSha256Hex, Rfc4231) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Hex, Rfc4231KeyLongerThanBlock) {
  // Test case 6: a 131-byte key is hashed first.
  EXPECT_EQ(HmacSha256Hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Hex, KeyAndDataMatter) {
  const auto base = HmacSha256Hex("key", "data");
  EXPECT_EQ(base, HmacSha256Hex("key", "data"));
  EXPECT_NE(base, HmacSha256Hex("key2", "data"));
  EXPECT_NE(base, HmacSha256Hex("key", "data2"));
  EXPECT_NE(base, Sha256Hex("data"));
}

TEST(RandomHex, LengthAndAlphabet) {
  for (size_t n : {0u, 1u, 6u, 32u}) {
    auto s = RandomHex(n);
    EXPECT_EQ(s.size(), 2 * n);
    for (char c : s) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
  }
}

TEST(RandomHex, Distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(RandomHex(16));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "xbc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", ""));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ABC"));
}

TEST(IsSha256Hex, AcceptsOnlyLowerCaseHex64) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_TRUE(IsSha256Hex(std::string(64, '0')));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(65, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));  // upper case
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
  std::string with_space = std::string(63, 'a') + " ";
  EXPECT_FALSE(IsSha256Hex(with_space));
}

// RFC 8032 section 7.1, tests 1 and 2.
constexpr const char* kRfcSecret1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kRfcPublic1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kRfcSig1 =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0"
    "595bbe24"
    "655141438e7a100b";
constexpr const char* kRfcSecret2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr const char* kRfcPublic2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
constexpr const char* kRfcSig2 =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eae"
    "b4302aee"
    "b00d291612bb0c00";

TEST(Ed25519, Rfc8032Vector1EmptyMessage) {
  auto sig = Ed25519Sign(kRfcSecret1, "");
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(*sig, kRfcSig1);
  EXPECT_TRUE(Ed25519Verify(kRfcPublic1, "", kRfcSig1));
}

TEST(Ed25519, Rfc8032Vector2OneByte) {
  auto sig = Ed25519Sign(kRfcSecret2, "\x72");
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(*sig, kRfcSig2);
  EXPECT_TRUE(Ed25519Verify(kRfcPublic2, "\x72", kRfcSig2));
  // Upper-case hex is the same key and signature.
  std::string upper_pub = kRfcPublic2;
  for (char& c : upper_pub) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(Ed25519Verify(upper_pub, "\x72", kRfcSig2));
}

TEST(Ed25519, VectorsRejectSwappedKeysAndMessages) {
  EXPECT_FALSE(Ed25519Verify(kRfcPublic2, "", kRfcSig1));
  EXPECT_FALSE(Ed25519Verify(kRfcPublic1, "\x72", kRfcSig2));
  EXPECT_FALSE(Ed25519Verify(kRfcPublic1, "\x72", kRfcSig1));
}

TEST(Ed25519, GenerateSignVerifyRoundTrip) {
  auto kp = Ed25519Generate();
  EXPECT_EQ(kp.private_hex.size(), 64u);
  EXPECT_EQ(kp.public_hex.size(), 64u);
  EXPECT_TRUE(IsSha256Hex(kp.private_hex));  // lower-case hex of 32 bytes
  EXPECT_TRUE(IsSha256Hex(kp.public_hex));
  EXPECT_NE(kp.private_hex, kp.public_hex);

  const std::string msg = "inferix-frame-v1|7|12|abc|outputs/1/7_12";
  auto sig = Ed25519Sign(kp.private_hex, msg);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 128u);
  EXPECT_TRUE(Ed25519Verify(kp.public_hex, msg, *sig));
  // Ed25519 is deterministic.
  auto again = Ed25519Sign(kp.private_hex, msg);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sig);
}

TEST(Ed25519, GeneratedKeysDiffer) {
  auto a = Ed25519Generate();
  auto b = Ed25519Generate();
  EXPECT_NE(a.private_hex, b.private_hex);
  EXPECT_NE(a.public_hex, b.public_hex);
}

TEST(Ed25519, TamperedMessageRejected) {
  auto kp = Ed25519Generate();
  const std::string msg = "frame 12 sha abc";
  auto sig = Ed25519Sign(kp.private_hex, msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, "frame 13 sha abc", *sig));
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg + " ", *sig));
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, "", *sig));
}

TEST(Ed25519, TamperedSignatureRejected) {
  auto kp = Ed25519Generate();
  const std::string msg = "hello";
  auto sig = Ed25519Sign(kp.private_hex, msg);
  ASSERT_TRUE(sig.ok());
  for (size_t pos : {0u, 31u, 64u, 127u}) {
    std::string bad = *sig;
    bad[pos] = bad[pos] == '0' ? '1' : '0';
    EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg, bad)) << "flipped hex digit " << pos;
  }
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg, sig->substr(0, 126)));  // short
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg, *sig + "00"));          // long
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg, ""));
  std::string not_hex = *sig;
  not_hex[10] = 'z';
  EXPECT_FALSE(Ed25519Verify(kp.public_hex, msg, not_hex));
}

TEST(Ed25519, OtherKeyRejected) {
  auto kp = Ed25519Generate();
  auto other = Ed25519Generate();
  auto sig = Ed25519Sign(kp.private_hex, "msg");
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(Ed25519Verify(other.public_hex, "msg", *sig));
  std::string tampered_key = kp.public_hex;
  tampered_key[0] = tampered_key[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(Ed25519Verify(tampered_key, "msg", *sig));
  EXPECT_FALSE(Ed25519Verify(kp.public_hex.substr(0, 62), "msg", *sig));
  EXPECT_FALSE(Ed25519Verify("", "msg", *sig));
}

TEST(Ed25519, SignRejectsMalformedPrivateKey) {
  for (std::string bad : {std::string(""), std::string(62, 'a'), std::string(66, 'a'), std::string(63, 'a'),
                          std::string(64, 'x')}) {
    auto sig = Ed25519Sign(bad, "msg");
    ASSERT_FALSE(sig.ok()) << bad;
    EXPECT_EQ(sig.error().code, Errc::kInvalidArgument);
  }
}

}  // namespace
}  // namespace inferix
