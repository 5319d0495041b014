#include "manager/requests.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/crypto.hpp"

namespace inferix::manager {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

net::HttpRequest Post(const json& body) {
  net::HttpRequest r;
  r.method = "POST";
  r.body = body.dump();
  return r;
}

json AJob() {
  return {{"name", "shot"},
          {"main", "a.blend"},
          {"frames", "1-3"},
          {"files", json::array({{{"path", "a.blend"}, {"sha256", Sha256Hex("a")}, {"size", 3}}})}};
}

TEST(BodyReader, KeepsTheFirstErrorInDeclarationOrder) {
  const json body = {{"a", "text"}, {"b", 5}};
  int a = 0;
  int b = 0;
  std::string c = "default";
  BodyReader in(body);
  in.Required("a", a).Required("b", b).Optional("c", c).Required("d", c);
  auto done = in.Done();
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(done.error().message, "field \"a\" has the wrong type");
  EXPECT_EQ(c, "default");  // optional and absent: the default stays
}

TEST(BodyReader, MissingAndNullRequiredFieldsAreNamed) {
  std::string s;
  auto missing = BodyReader(json::object()).Required("name", s).Done();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "missing field \"name\"");
  auto null = BodyReader(json{{"name", nullptr}}).Required("name", s).Done();
  ASSERT_FALSE(null.ok());
  EXPECT_EQ(null.error().message, "missing field \"name\"");
  EXPECT_TRUE(BodyReader(json{{"name", "x"}}).Required("name", s).Check(s == "x", "never").Done().ok());
}

TEST(CreateJobRequest, DecodesWithDefaults) {
  auto r = DecodeCreateJob(Post(AJob()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const domain::Job& j = r->job;
  EXPECT_EQ(j.name, "shot");
  EXPECT_EQ(j.main_file, "a.blend");
  EXPECT_EQ(j.frames_spec, "1-3");
  EXPECT_EQ(j.format, domain::OutputFormat::kPng);
  EXPECT_EQ(j.chunk_size, 4);
  EXPECT_DOUBLE_EQ(j.fps, 24.0);
  ASSERT_EQ(j.files.size(), 1u);
  EXPECT_EQ(j.files[0].size, 3);
}

TEST(CreateJobRequest, RefusesWhatIsWrongWithAClearError) {
  auto with = [](const char* field, const json& value) {
    json b = AJob();
    b[field] = value;
    auto r = DecodeCreateJob(Post(b));
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(with("format", "TIFF"), "format must be PNG, EXR or JPEG");
  EXPECT_EQ(with("fps", 0), "fps must be between 0 and 1000");
  EXPECT_EQ(with("chunk_size", "four"), "field \"chunk_size\" has the wrong type");
  EXPECT_EQ(with("files", json::array({"a.blend"})), "each file must be an object");
  EXPECT_EQ(with("files", json::array({{{"path", "a"}, {"sha256", "b"}, {"mode", 1}}})),
            "unknown file field \"mode\"");
  EXPECT_EQ(with("files", nullptr), "missing field \"files\"");
  EXPECT_THAT(with("colour", "red"), HasSubstr("colour"));  // unknown fields are refused by name
}

TEST(RegisterRequest, ChecksNameKeyRoleAndCapabilities) {
  json b = {{"enrollment_token", "t"},
            {"name", "w1"},
            {"role", "verifier"},
            {"public_key", std::string(64, 'a')},
            {"capabilities", nullptr}};
  auto ok = DecodeRegister(Post(b));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->role, domain::NodeRole::kVerifier);
  EXPECT_TRUE(ok->capabilities.is_object());
  auto message = [&](const char* field, const json& value) {
    json c = b;
    c[field] = value;
    auto r = DecodeRegister(Post(c));
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(message("name", ""), "name must be 1 to 100 characters");
  EXPECT_EQ(message("public_key", "abc"), "public_key must be 32 bytes of hex");
  EXPECT_EQ(message("role", "boss"), "role must be worker or verifier");
  EXPECT_NE(message("capabilities", json::array()), "ok");
}

TEST(NodeProtocolRequests, ReportVerdictClaimAndFail) {
  auto report = DecodeFrameReport(Post({{"sha256", Sha256Hex("img")},
                                        {"key", "outputs/1/2_3_ab"},
                                        {"render_seconds", 1.5},
                                        {"signature", "s"}}));
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_DOUBLE_EQ(report->render_seconds, 1.5);
  EXPECT_DOUBLE_EQ(report->render_cpu_seconds, 0.0);
  auto bad_sha = DecodeFrameReport(Post({{"sha256", "ABC"}, {"key", "k"}, {"signature", "s"}}));
  ASSERT_FALSE(bad_sha.ok());
  EXPECT_EQ(bad_sha.error().message, "sha256 must be 64 lower-case hex digits");

  auto verdict =
      DecodeVerdict(Post({{"verdict", "accepted"}, {"signature", "s"}, {"matches_original", false}}));
  ASSERT_TRUE(verdict.ok()) << verdict.error().message;
  EXPECT_EQ(verdict->matches_original, std::optional<bool>(false));
  EXPECT_TRUE(verdict->method.is_object());
  auto bad_method = DecodeVerdict(Post({{"verdict", "accepted"}, {"signature", "s"}, {"method", "fast"}}));
  ASSERT_FALSE(bad_method.ok());
  EXPECT_EQ(bad_method.error().message, "method must be an object");
  auto bad_match =
      DecodeVerdict(Post({{"verdict", "accepted"}, {"signature", "s"}, {"matches_original", 1}}));
  ASSERT_FALSE(bad_match.ok());
  EXPECT_EQ(bad_match.error().message, "matches_original must be true or false");

  auto claim = DecodeClaim(Post({{"cached", {Sha256Hex("a")}}}));
  ASSERT_TRUE(claim.ok());
  EXPECT_THAT(claim->cached, ElementsAre(Sha256Hex("a")));
  EXPECT_TRUE(DecodeClaim(Post(json::object())).ok());
  EXPECT_FALSE(DecodeFail(Post(json::object())).ok());
}

TEST(CheckFilesRequest, HashesAreCheckedAndCounted) {
  EXPECT_TRUE(DecodeCheckFiles(Post({{"sha256", {Sha256Hex("a")}}})).ok());
  auto bad = DecodeCheckFiles(Post({{"sha256", {"nope"}}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "\"nope\" is not a SHA-256");
  auto many = DecodeCheckFiles(Post({{"sha256", json(std::vector<std::string>(10001, Sha256Hex("a")))}}));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message, "at most 10000 hashes per request");
}

}  // namespace
}  // namespace inferix::manager
