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
  auto q = QueryFields(SignQuery(secret, method, key, expires_s, {}));
  return {q["method"], q["expires"], q["sig"]};
}

// VerifySignature of a URL's method, expiry and signature, without terms.
Result<void> VerifySig(std::string_view secret, std::string_view method, std::string_view key,
                       const std::string& expires, const std::string& sig, int64_t now_s) {
  auto r = VerifySignature(secret, method, key,
                           {{"method", std::string(method)}, {"expires", expires}, {"sig", sig}}, now_s);
  if (!r) return r.error();
  return Ok();
}

void ExpectDenied(const Result<void>& r, std::string_view why) {
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied) << why;
  EXPECT_FALSE(r.error().message.empty());
}

TEST(SignQuery, Shape) {
  const std::string key = "files/" + Sha256Hex("x");
  auto q = SignQuery(kSecret, "GET", key, kNow + 60, {});
  auto fields = QueryFields(q);
  EXPECT_EQ(fields.size(), 3u) << q;
  EXPECT_EQ(fields["method"], "GET");
  EXPECT_EQ(fields["expires"], std::to_string(kNow + 60));
  EXPECT_TRUE(IsSha256Hex(fields["sig"])) << q;
  EXPECT_THAT(q, StartsWith("method=GET&expires="));
}

TEST(SignedPath, PathAndQuery) {
  const std::string key = "outputs/1/2_3_ab";
  auto path = SignedPath(kSecret, "PUT", key, kNow, {});
  EXPECT_EQ(path, "/api/v1/blobs/outputs/1/2_3_ab?" + SignQuery(kSecret, "PUT", key, kNow, {}));
}

TEST(VerifySignature, ValidSignatureAccepted) {
  const std::string key = "files/" + Sha256Hex("scene");
  auto s = Sign("GET", key, kNow + 300);
  auto r = VerifySig(kSecret, "GET", key, s.expires, s.sig, kNow);
  EXPECT_TRUE(r.ok()) << r.error().message;
  // Still valid in the last second.
  EXPECT_TRUE(VerifySig(kSecret, "GET", key, s.expires, s.sig, kNow + 300).ok());
}

TEST(VerifySignature, OtherKeyRejected) {
  auto s = Sign("GET", "outputs/1/2_3_ab", kNow + 300);
  ExpectDenied(VerifySig(kSecret, "GET", "outputs/1/2_3_ac", s.expires, s.sig, kNow), "other key");
  ExpectDenied(VerifySig(kSecret, "GET", "outputs/1/2_3_ab/x", s.expires, s.sig, kNow), "longer key");
  ExpectDenied(VerifySig(kSecret, "GET", "outputs/1/2_3_a", s.expires, s.sig, kNow), "shorter key");
}

TEST(VerifySignature, OtherMethodRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  auto r = VerifySig(kSecret, "PUT", key, s.expires, s.sig, kNow);
  ExpectDenied(r, "PUT with a GET signature");
  EXPECT_THAT(r.error().message, HasSubstr("method"));
  ExpectDenied(VerifySig(kSecret, "get", key, s.expires, s.sig, kNow), "lower-case method");
}

TEST(VerifySignature, OtherSecretRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300, "another-manager");
  ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, s.sig, kNow), "other secret");
}

TEST(VerifySignature, ExpiredRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow - 1);
  auto r = VerifySig(kSecret, "GET", key, s.expires, s.sig, kNow);
  ExpectDenied(r, "expired");
  EXPECT_THAT(r.error().message, HasSubstr("expired"));
}

TEST(VerifySignature, ExtendedExpiryRejected) {
  // Moving the expiry forward breaks the signature.
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow - 1);
  ExpectDenied(VerifySig(kSecret, "GET", key, std::to_string(kNow + 3600), s.sig, kNow), "extended");
}

TEST(VerifySignature, TamperedSignatureRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  std::string bad = s.sig;
  bad[5] = bad[5] == 'a' ? 'b' : 'a';
  ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, bad, kNow), "flipped digit");
  ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, s.sig.substr(0, 63), kNow), "short");
  ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, s.sig + "0", kNow), "long");
  ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, "", kNow), "empty");
  std::string upper = s.sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != s.sig) ExpectDenied(VerifySig(kSecret, "GET", key, s.expires, upper, kNow), "upper case");
}

TEST(VerifySignature, NonNumericExpiryRejected) {
  const std::string key = "outputs/1/2_3_ab";
  auto s = Sign("GET", key, kNow + 300);
  for (std::string expires : {std::string(""), std::string("abc"), s.expires + "x", " " + s.expires,
                              s.expires + " ", std::string("1e9"), std::string("99999999999999999999999")}) {
    auto r = VerifySig(kSecret, "GET", key, expires, s.sig, kNow);
    ExpectDenied(r, "expires=\"" + expires + "\"");
    if (!r.ok()) {
      EXPECT_THAT(r.error().message, HasSubstr("expiry")) << expires;
    }
  }
}

TEST(VerifySignature, TermsAreSignedAndReturned) {
  const std::string key = "outputs/1/2_3_ab";
  UrlTerms terms;
  terms.max_bytes = 1000;
  terms.issued_to = "node-7";
  const auto query = QueryFields(SignQuery(kSecret, "PUT", key, kNow + 300, terms));
  EXPECT_EQ(query.at("max"), "1000");
  EXPECT_EQ(query.at("to"), "node-7");
  auto r = VerifySignature(kSecret, "PUT", key, query, kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->max_bytes, 1000);
  EXPECT_EQ(r->issued_to, "node-7");
  // A term raised, dropped, moved to another holder, or added breaks the signature.
  auto raised = query;
  raised["max"] = "1000000";
  EXPECT_FALSE(VerifySignature(kSecret, "PUT", key, raised, kNow).ok());
  auto dropped = query;
  dropped.erase("max");
  EXPECT_FALSE(VerifySignature(kSecret, "PUT", key, dropped, kNow).ok());
  auto moved = query;
  moved["to"] = "node-8";
  EXPECT_FALSE(VerifySignature(kSecret, "PUT", key, moved, kNow).ok());
  auto get = QueryFields(SignQuery(kSecret, "GET", key, kNow + 300, UrlTerms{0, "", Sha256Hex("a")}));
  EXPECT_EQ(VerifySignature(kSecret, "GET", key, get, kNow)->sha256, Sha256Hex("a"));
  auto swapped = get;
  swapped["sha256"] = Sha256Hex("b");
  EXPECT_FALSE(VerifySignature(kSecret, "GET", key, swapped, kNow).ok());
  auto unchecked = get;
  unchecked.erase("sha256");
  EXPECT_FALSE(VerifySignature(kSecret, "GET", key, unchecked, kNow).ok());
}

TEST(ValidTerms, OnlyWhatAUrlCanCarry) {
  EXPECT_TRUE(ValidTerms(UrlTerms{}));
  EXPECT_TRUE(ValidTerms(UrlTerms{5, "node-12", Sha256Hex("x")}));
  EXPECT_FALSE(ValidTerms(UrlTerms{-1, "", ""}));
  EXPECT_FALSE(ValidTerms(UrlTerms{0, "node&max=9", ""}));
  EXPECT_FALSE(ValidTerms(UrlTerms{0, "", "ABC"}));
}

}  // namespace
}  // namespace inferix::blob
