#include "blob/sigv4.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/crypto.hpp"

namespace inferix::blob::sigv4 {
namespace {

// Every expected value below is published by AWS, never computed here:
// - The Signature Version 4 test suite (AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service"), as kept
//   in awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/<case>/{header,query}-{canonical-request,
//   string-to-sign,signature}.txt (commit 495329c2433034bd8fd53fc6ba9e0202d3fac876); the same values the AWS
//   General Reference's "Signature Version 4 test suite" page published. Presigned cases there expire in
//   3600 s and sign the empty body's hash.
// - The Amazon S3 API Reference's examples (AKIAIOSFODNN7EXAMPLE, examplebucket, 20130524T000000Z):
//   "Examples: Signature Calculations in AWS Signature Version 4" (sig-v4-header-based-auth.html: GET object
//   with Range, PUT object, GET bucket lifecycle, GET bucket list objects) and "Authenticating Requests:
//   Using Query Parameters" (sigv4-query-string-auth.html: the presigned GET of test.txt for 86400 s).

constexpr int64_t k20150830T123600Z = 1440938160;
constexpr int64_t k20130524T000000Z = 1369353600;

Credentials SuiteCredentials() { return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}; }
Scope SuiteScope() { return {"us-east-1", "service"}; }
Credentials S3Credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
}
Scope S3Scope() { return {"us-east-1", "s3"}; }

Request SuiteRequest(std::string method, std::string path, Pairs query = {}) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}};
  return r;
}

TEST(SigV4Test, AmzDateIsIso8601Basic) {
  EXPECT_EQ(AmzDate(k20150830T123600Z), "20150830T123600Z");
  EXPECT_EQ(AmzDate(k20130524T000000Z), "20130524T000000Z");
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("-._~AZaz09", true), "-._~AZaz09");
  EXPECT_EQ(UriEncode("a b+c/d=e&f$", true), "a%20b%2Bc%2Fd%3De%26f%24");
  EXPECT_EQ(UriEncode("a/b c", false), "a/b%20c");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", true), "%E1%88%B4");
}

// get-vanilla.
TEST(SigV4Test, SuiteGetVanilla) {
  const Signed s = SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, SuiteRequest("GET", "/"));
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// get-vanilla, presigned (query-*.txt).
TEST(SigV4Test, SuiteGetVanillaPresigned) {
  const Signed s =
      Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, SuiteRequest("GET", "/"));
  EXPECT_EQ(s.canonical_request,
            "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
            "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\n"
            "host:example.amazonaws.com\n\nhost\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
  EXPECT_TRUE(
      s.query.ends_with("&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"));
  EXPECT_TRUE(s.headers.empty());
}

// get-vanilla-query-order-key-case: the query is sorted before signing.
TEST(SigV4Test, SuiteGetVanillaQueryOrderKeyCase) {
  const Pairs query = {{"Param2", "value2"}, {"Param1", "value1"}};
  const Signed s =
      SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, SuiteRequest("GET", "/", query));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  const Signed p =
      Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, SuiteRequest("GET", "/", query));
  EXPECT_EQ(p.signature, "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5");
}

// get-unreserved: unreserved characters are not encoded.
TEST(SigV4Test, SuiteGetUnreserved) {
  const std::string path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const Signed s =
      SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, SuiteRequest("GET", path));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9");
  EXPECT_EQ(s.signature, "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
  const Signed p =
      Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, SuiteRequest("GET", path));
  EXPECT_EQ(p.signature, "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005");
}

// get-utf8: the path's UTF-8 bytes are %-encoded.
TEST(SigV4Test, SuiteGetUtf8) {
  const Signed s =
      SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, SuiteRequest("GET", "/\xe1\x88\xb4"));
  EXPECT_EQ(s.canonical_request,
            "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
  const Signed p = Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600,
                           SuiteRequest("GET", "/\xe1\x88\xb4"));
  EXPECT_EQ(p.signature, "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44");
}

// get-space-normalized: a space in the path is %20.
TEST(SigV4Test, SuiteGetSpace) {
  const Signed s = SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z,
                               SuiteRequest("GET", "/example space/"));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86");
  EXPECT_EQ(s.signature, "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

// get-vanilla-query-unreserved.
TEST(SigV4Test, SuiteGetVanillaQueryUnreserved) {
  const std::string all = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const Signed s = SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z,
                               SuiteRequest("GET", "/", {{all, all}}));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177");
  EXPECT_EQ(s.signature, "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

// get-header-value-trim: header values are trimmed and inner runs of spaces made one.
TEST(SigV4Test, SuiteGetHeaderValueTrim) {
  Request r = SuiteRequest("GET", "/");
  r.headers.emplace_back("My-Header1", " value1");
  r.headers.emplace_back("My-Header2", " \"a   b   c\"");
  const Signed s = SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, r);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
  const Signed p = Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, r);
  EXPECT_EQ(p.signature, "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4");
  EXPECT_EQ(p.signed_headers, "host;my-header1;my-header2");
}

// post-vanilla.
TEST(SigV4Test, SuitePostVanilla) {
  const Signed s =
      SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, SuiteRequest("POST", "/"));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87");
  EXPECT_EQ(s.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  const Signed p =
      Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, SuiteRequest("POST", "/"));
  EXPECT_EQ(p.signature, "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b");
}

// post-x-www-form-urlencoded: the body's hash is signed (and sent as x-amz-content-sha256).
TEST(SigV4Test, SuitePostFormUrlencoded) {
  Request r = SuiteRequest("POST", "/");
  r.payload_hash = Sha256Hex("Param1=value1");
  ASSERT_EQ(r.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.headers.emplace_back("Content-Length", "13");
  Request header_form = r;
  header_form.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  const Signed s = SignHeaders(SuiteCredentials(), SuiteScope(), k20150830T123600Z, header_form);
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb");
  EXPECT_EQ(s.signature, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
  const Signed p = Presign(SuiteCredentials(), SuiteScope(), k20150830T123600Z, 3600, r);
  EXPECT_EQ(p.signed_headers, "content-length;content-type;host");
  EXPECT_EQ(p.signature, "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9");
}

Request S3Request(std::string method, std::string path, Pairs query, std::string payload_hash) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", payload_hash}};
  r.payload_hash = std::move(payload_hash);
  return r;
}

// S3 API Reference, "Example: GET Object" (the first 10 bytes of test.txt).
TEST(SigV4Test, S3GetObjectWithRange) {
  Request r = S3Request("GET", "/test.txt", {}, std::string(kEmptySha256));
  r.headers.emplace_back("Range", "bytes=0-9");
  const Signed s = SignHeaders(S3Credentials(), S3Scope(), k20130524T000000Z, r);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// S3 API Reference, "Example: PUT Object": the '$' of the key is encoded once.
TEST(SigV4Test, S3PutObject) {
  const std::string body_hash = Sha256Hex("Welcome to Amazon S3.");
  ASSERT_EQ(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r = S3Request("PUT", "/test$file.text", {}, body_hash);
  r.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  const Signed s = SignHeaders(S3Credentials(), S3Scope(), k20130524T000000Z, r);
  EXPECT_EQ(
      s.canonical_request,
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

// S3 API Reference, "Example: GET Bucket Lifecycle": a query parameter without a value.
TEST(SigV4Test, S3GetBucketLifecycle) {
  const Signed s = SignHeaders(S3Credentials(), S3Scope(), k20130524T000000Z,
                               S3Request("GET", "/", {{"lifecycle", ""}}, std::string(kEmptySha256)));
  EXPECT_EQ(s.canonical_request,
            "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

// S3 API Reference, "Example: Get Bucket (List Objects)": max-keys=2&prefix=J.
TEST(SigV4Test, S3ListObjects) {
  const Signed s =
      SignHeaders(S3Credentials(), S3Scope(), k20130524T000000Z,
                  S3Request("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, std::string(kEmptySha256)));
  EXPECT_EQ(s.query, "max-keys=2&prefix=J");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// S3 API Reference, "Authenticating Requests: Using Query Parameters": the presigned GET of test.txt.
TEST(SigV4Test, S3PresignedGet) {
  Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  r.payload_hash = std::string(kUnsignedPayload);
  const Signed s = Presign(S3Credentials(), S3Scope(), k20130524T000000Z, 86400, r);
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
      "host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  EXPECT_EQ(s.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(
      s.query,
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
      "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// Our own property, not a published vector: a session token is signed along (header and query forms).
TEST(SigV4Test, SessionTokenIsSigned) {
  Credentials c = S3Credentials();
  c.session_token = "token/with+chars";
  const Signed h =
      SignHeaders(c, S3Scope(), k20130524T000000Z, S3Request("GET", "/k", {}, std::string(kEmptySha256)));
  EXPECT_NE(h.signed_headers.find("x-amz-security-token"), std::string::npos);
  const Signed p =
      Presign(c, S3Scope(), k20130524T000000Z, 60, S3Request("GET", "/k", {}, "UNSIGNED-PAYLOAD"));
  EXPECT_NE(p.query.find("X-Amz-Security-Token=token%2Fwith%2Bchars"), std::string::npos);
}

}  // namespace
}  // namespace inferix::blob::sigv4
