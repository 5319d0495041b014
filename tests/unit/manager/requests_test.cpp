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
  bool a = false;
  int b = 0;
  std::string c = "default";
  BodyReader in(body);
  in.Required("a", a).Integer("b", b, 0, 1, true).Optional("c", c).Required("d", c);
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

TEST(CreateJobRequest, DecodesWhatTheJobRequiresOfItsSlots) {
  json b = AJob();
  b["requirements"] = {{"device", "gpu"},
                       {"min_gpu_memory_bytes", int64_t{16} << 30},
                       {"blender_min", "3.6"},
                       {"blender_max", "4.2 LTS"}};
  auto r = DecodeCreateJob(Post(b));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->job.requirements, (domain::JobRequirements{"gpu", int64_t{16} << 30, 306, 402}));
  auto with = [](const json& requirements) {
    json body = AJob();
    body["requirements"] = requirements;
    auto d = DecodeCreateJob(Post(body));
    return d.ok() ? std::string("ok") : d.error().message;
  };
  EXPECT_EQ(with(json::object()), "ok");
  EXPECT_EQ(with("gpu"), "requirements must be an object");
  EXPECT_EQ(with({{"colour", "red"}}), "requirements: unknown field \"colour\"");
  EXPECT_EQ(with({{"device", 3}}), "requirements.device must be a string");
  EXPECT_EQ(with({{"min_gpu_memory_bytes", "16G"}}), "requirements.min_gpu_memory_bytes must be an integer");
  EXPECT_EQ(with({{"blender_min", "latest"}}), "requirements.blender_min must be a version such as 3.6");
  EXPECT_THAT(with({{"device", "tpu"}}), HasSubstr("cpu, gpu, cuda, optix, hip or oneapi"));
  EXPECT_THAT(with({{"blender_min", "4.2"}, {"blender_max", "3.6"}}), HasSubstr("range is empty"));
}

TEST(CreateJobRequest, DecodesTheScenesEngine) {
  EXPECT_EQ(DecodeCreateJob(Post(AJob()))->job.engine, "");  // an older client's job: unknown
  auto with = [](const json& engine) {
    json body = AJob();
    body["engine"] = engine;
    auto d = DecodeCreateJob(Post(body));
    return d.ok() ? d->job.engine : "error: " + d.error().message;
  };
  EXPECT_EQ(with("BLENDER_EEVEE"), "BLENDER_EEVEE");
  EXPECT_EQ(with("octane.render-2"), "octane.render-2");  // an add-on's, as Blender calls it
  EXPECT_THAT(with("EEVEE; rm"), HasSubstr("error: engine must be a render engine's name"));
  EXPECT_THAT(with(std::string(65, 'E')), HasSubstr("at most 64"));
  EXPECT_THAT(with(3), HasSubstr("\"engine\" has the wrong type"));
}

TEST(CreateJobRequest, RefusesWhatIsWrongWithAClearError) {
  auto with = [](const char* field, const json& value) {
    json b = AJob();
    b[field] = value;
    auto r = DecodeCreateJob(Post(b));
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(with("format", "TIFF"), "format must be PNG, EXR or JPEG");
  EXPECT_EQ(with("fps", 0), "field \"fps\" must be a number from 0.001 to 1000, not 0");
  EXPECT_EQ(with("chunk_size", "four"),
            "field \"chunk_size\" must be a whole number from 1 to 1000, not a string");
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

// One row per number a request carries: a value, and the error it gets (empty when it is taken).
struct NumberCase {
  const char* decoder;
  const char* field;
  json value;
  std::string error;
};

std::string Decoded(const NumberCase& c) {
  auto message = [](const auto& r) { return r.ok() ? std::string() : r.error().message; };
  const std::string d = c.decoder;
  if (d == "job") {
    json b = AJob();
    b[c.field] = c.value;
    return message(DecodeCreateJob(Post(b)));
  }
  if (d == "file") {
    json b = AJob();
    b["files"][0][c.field] = c.value;
    return message(DecodeCreateJob(Post(b)));
  }
  if (d == "report") {
    json b = {{"sha256", Sha256Hex("img")}, {"key", "k"}, {"signature", "s"}};
    b[c.field] = c.value;
    return message(DecodeFrameReport(Post(b)));
  }
  json b = {{"verdict", "accepted"}, {"signature", "s"}};
  b[c.field] = c.value;
  return message(DecodeVerdict(Post(b)));
}

TEST(RequestNumbers, EveryNumberIsRangeCheckedWithAnErrorNamingTheFieldAndRange) {
  const std::string prio = "field \"priority\" must be a whole number from -1000 to 1000, not ";
  const std::string chunk = "field \"chunk_size\" must be a whole number from 1 to 1000, not ";
  const std::string res = "field \"resolution_percentage\" must be a whole number from 0 to 100, not ";
  const std::string size = "field \"size\" must be a whole number from 0 to 1099511627776, not ";
  const std::string fps = "field \"fps\" must be a number from 0.001 to 1000, not ";
  auto seconds = [](const char* f) {
    return std::string("field \"") + f + "\" must be a number from 0 to 2592000, not ";
  };
  const std::vector<NumberCase> cases = {
      {"job", "priority", 5, {}},
      {"job", "priority", -1000, {}},
      {"job", "priority", 99999999999, prio + "99999999999"},
      {"job", "priority", 1001, prio + "1001"},
      {"job", "priority", 3.99, prio + "3.99"},
      {"job", "priority", 3.0, {}},
      {"job", "priority", true, prio + "true"},
      {"job", "priority", "7", prio + "a string"},
      {"job", "priority", 18446744073709551615ULL, prio + "18446744073709551615"},
      {"job", "priority", 1e300, prio + "1e+300"},
      {"job", "chunk_size", 4294967297LL, chunk + "4294967297"},
      {"job", "chunk_size", 0, chunk + "0"},
      {"job", "chunk_size", -1, chunk + "-1"},
      {"job", "chunk_size", 1000, {}},
      {"job", "resolution_percentage", 4294967346LL, res + "4294967346"},
      {"job", "resolution_percentage", 101, res + "101"},
      {"job", "resolution_percentage", 50, {}},
      {"job", "fps", -24, fps + "-24"},
      {"job", "fps", false, fps + "false"},
      {"job", "fps", 23.976, {}},
      {"file", "size", -1, size + "-1"},
      {"file", "size", 1.5, size + "1.5"},
      {"file", "size", int64_t{1} << 41, size + "2199023255552"},
      {"report", "render_seconds", -0.5, seconds("render_seconds") + "-0.5"},
      {"report", "render_seconds", 1e308, seconds("render_seconds") + "1e+308"},
      {"report", "render_cpu_seconds", true, seconds("render_cpu_seconds") + "true"},
      {"report", "render_seconds", 12.25, {}},
      {"verdict", "verify_seconds", -1, seconds("verify_seconds") + "-1"},
      {"verdict", "verify_cpu_seconds", 1e12, seconds("verify_cpu_seconds") + "1000000000000.0"},
      {"verdict", "verify_seconds", 0.5, {}},
  };
  for (const auto& c : cases)
    EXPECT_EQ(Decoded(c), c.error) << c.decoder << " " << c.field << " = " << c.value;
}

TEST(RequestNumbers, AnOverflowingNumberIsRefusedNotTakenAsInfinity) {
  net::HttpRequest req = Post(AJob());
  req.body.insert(req.body.size() - 1, R"(,"fps":1e999)");
  auto r = DecodeCreateJob(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

TEST(RequestNumbers, TakenNumbersKeepTheirValue) {
  json b = AJob();
  b["priority"] = -3;
  b["chunk_size"] = 3.0;
  b["resolution_percentage"] = 50;
  b["fps"] = 23.976;
  auto r = DecodeCreateJob(Post(b));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->job.priority, -3);
  EXPECT_EQ(r->job.chunk_size, 3);
  EXPECT_EQ(r->job.resolution_percentage, 50);
  EXPECT_DOUBLE_EQ(r->job.fps, 23.976);
}

TEST(NodeMessages, FailureMessagesAndVerdictDetailsAreCutBeforeTheyAreStored) {
  const std::string huge(3 << 20, 'x');
  auto fail = DecodeFail(Post({{"error", huge}}));
  ASSERT_TRUE(fail.ok());
  EXPECT_LE(fail->error.size(), kMaxNodeMessageBytes);
  EXPECT_THAT(fail->error, HasSubstr("bytes]"));
  auto verdict = DecodeVerdict(Post({{"verdict", "rejected"}, {"signature", "s"}, {"detail", huge}}));
  ASSERT_TRUE(verdict.ok());
  EXPECT_LE(verdict->detail.size(), kMaxNodeMessageBytes);
  EXPECT_EQ(DecodeFail(Post({{"error", "blender crashed"}}))->error, "blender crashed");
  json big_method = {{"regions", std::vector<int>(10000, 12345)}};
  auto method = DecodeVerdict(Post({{"verdict", "accepted"}, {"signature", "s"}, {"method", big_method}}));
  ASSERT_FALSE(method.ok());
  EXPECT_EQ(method.error().message, "method must be at most 16384 bytes of JSON");
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
