#include "blob/signed_url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/crypto.hpp"

namespace inferix::blob {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kSecret = "manager-secret";
constexpr int64_t kNow = 1'700'000'000;

// Splits "a=1&b=2" into its fields.
std::map<std::string, std::string> QueryFields(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string part = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = part.find('=');
    if (eq != std::string::npos) out[part.substr(0, eq)] = part.substr(eq + 1);
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

struct Signed {
  std::string method, expires, sig;
};
Signed Sign(std::string_view method, std::string_view key, int64_t expires_s,
            std::string_view secret = kSecret) {
  auto q = QueryFields(SignQuery(secret, method, key, expires_s));
  return {q["method"], q["expires"], q["sig"]};
}

void ExpectDenied(const Result<void>& r, std::string_view why) {
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied) << why;
  EXPECT_FALSE(r.error().message.empty());
}

TEST(SignQuery, Shape) {
  const std::string key = "files/" + Sha256Hex("x");
  auto q = SignQuery(kSecret, "GET", key, kNow + 60);
  auto fields = QueryFields(q);
  EXPECT_EQ(fields.size(), 3u) << q;
  EXPECT_EQ(fields["method"], "GET");
  EXPECT_EQ(fields["expires"], std::to_string(kNow + 60));
  EXPECT_TRUE(IsSha256Hex(fields["sig"])) << q;
  EXPECT_THAT(q, StartsWith("method=GET&expires="));
}

TEST(SignedPath, PathAndQuery) {
  const std::string key = "outputs/1/2_3_ab";
  auto path = SignedPath(kSecret, "PUT", key, kNow);
  EXPECT_EQ(path, "/api/v1/blobs/outputs/1/2_3_ab?" + SignQuery(kSecret, "PUT", key, kNow));
}

TEST(VerifySignature, ValidSignatureAccepted) {
  const std::string key = "files/" + Sha256Hex("scene");
  auto s = Sign("GET", key, kNow + 300);
  auto r = VerifySignature(kSecret, "GET", key, s.expires, s.sig, kNow);
  EXPECT_TRUE(r.ok()) << r.error().message;
  // Still valid in the last second.
  EXPECT_TRUE(VerifySignature(kSecret, "GET", key, s.expires, s.sig, kNow + 300).ok());
}

TEST(VerifySignature, OtherKeyRejected) {
  auto s = Sign("GET", "outputs/1/2_3_ab", kNow + 300);
  ExpectDenied(VerifySignature(kSecret, "GET", "outputs/1/2_3_ac", s.expires, s.sig, kNow), "other key");
  ExpectDenied(VerifySignature(kSecret, "GET", "outputs/1/2_3_ab/x", s.expires, s.sig, kNow), "longer key");
  ExpectDenied(VerifySignature(kSecret, "GET", "outputs/1/2_3_a", s.expires, s.sig, kNow), "shorter key");
}

TEST(VerifySignature, OtherMethodRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  auto r = VerifySignature(kSecret, "PUT", key, s.expires, s.sig, kNow);
  ExpectDenied(r, "PUT with a GET signature");
  EXPECT_THAT(r.error().message, HasSubstr("method"));
  ExpectDenied(VerifySignature(kSecret, "get", key, s.expires, s.sig, kNow), "lower-case method");
}

TEST(VerifySignature, OtherSecretRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300, "another-manager");
  ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, s.sig, kNow), "other secret");
}

TEST(VerifySignature, ExpiredRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow - 1);
  auto r = VerifySignature(kSecret, "GET", key, s.expires, s.sig, kNow);
  ExpectDenied(r, "expired");
  EXPECT_THAT(r.error().message, HasSubstr("expired"));
}

TEST(VerifySignature, ExtendedExpiryRejected) {
  // Moving the expiry forward breaks the signature.
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow - 1);
  ExpectDenied(VerifySignature(kSecret, "GET", key, std::to_string(kNow + 3600), s.sig, kNow), "extended");
}

TEST(VerifySignature, TamperedSignatureRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  std::string bad = s.sig;
  bad[5] = bad[5] == 'a' ? 'b' : 'a';
  ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, bad, kNow), "flipped digit");
  ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, s.sig.substr(0, 63), kNow), "short");
  ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, s.sig + "0", kNow), "long");
  ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, "", kNow), "empty");
  std::string upper = s.sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != s.sig)
    ExpectDenied(VerifySignature(kSecret, "GET", key, s.expires, upper, kNow), "upper case");
}

TEST(VerifySignature, NonNumericExpiryRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  for (std::string expires : {std::string(""), std::string("abc"), s.expires + "x", " " + s.expires,
                              s.expires + " ", std::string("1e9"), std::string("99999999999999999999999")}) {
    auto r = VerifySignature(kSecret, "GET", key, expires, s.sig, kNow);
    ExpectDenied(r, "expires=\"" + expires + "\"");
    if (!r.ok()) {
      EXPECT_THAT(r.error().message, HasSubstr("expiry")) << expires;
    }
  }
}

}  // namespace
}  // namespace inferix::blob
