#include "domain/tokens.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/crypto.hpp"

namespace inferix::domain {
namespace {

TEST(NewToken, PrefixLengthAndKind) {
  const std::pair<TokenKind, std::string> kinds[] = {
      {TokenKind::kUser, "ixu_"}, {TokenKind::kEnrollment, "ixe_"}, {TokenKind::kNode, "ixn_"}};
  for (const auto& [kind, prefix] : kinds) {
    auto t = NewToken(kind);
    EXPECT_EQ(t.size(), 68u) << t;
    EXPECT_EQ(t.substr(0, 4), prefix) << t;
    EXPECT_TRUE(IsSha256Hex(t.substr(4))) << t;
    auto back = TokenKindOf(t);
    ASSERT_TRUE(back.has_value()) << t;
    EXPECT_EQ(*back, kind);
  }
}

TEST(NewToken, Random) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(NewToken(TokenKind::kUser));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(TokenKindOf, RejectsMalformed) {
  const std::string good = NewToken(TokenKind::kNode);
  const std::string hex = good.substr(4);
  EXPECT_FALSE(TokenKindOf("").has_value());
  EXPECT_FALSE(TokenKindOf("ixu_").has_value());
  EXPECT_FALSE(TokenKindOf(hex).has_value());           // no prefix
  EXPECT_FALSE(TokenKindOf("ixx_" + hex).has_value());  // unknown prefix
  EXPECT_FALSE(TokenKindOf("IXU_" + hex).has_value());  // prefix is lower case
  EXPECT_FALSE(TokenKindOf("ixu-" + hex).has_value());
  EXPECT_FALSE(TokenKindOf("ixu_" + hex.substr(1)).has_value());  // short
  EXPECT_FALSE(TokenKindOf("ixu_" + hex + "0").has_value());      // long
  EXPECT_FALSE(TokenKindOf(" ixu_" + hex.substr(1)).has_value());
  std::string upper = "ixu_" + std::string(64, 'A');
  EXPECT_FALSE(TokenKindOf(upper).has_value());
  std::string not_hex = "ixu_" + std::string(63, 'a') + "g";
  EXPECT_FALSE(TokenKindOf(not_hex).has_value());
  EXPECT_EQ(TokenKindOf("ixu_" + hex), TokenKind::kUser);
  EXPECT_EQ(TokenKindOf("ixe_" + hex), TokenKind::kEnrollment);
}

TEST(TokenHash, IsSha256OfTheToken) {
  auto t = NewToken(TokenKind::kUser);
  EXPECT_EQ(TokenHash(t), Sha256Hex(t));
  EXPECT_NE(TokenHash(t), t.substr(4));
  EXPECT_NE(TokenHash(t), TokenHash(NewToken(TokenKind::kUser)));
}

TEST(BearerToken, Parses) {
  EXPECT_EQ(BearerToken("Bearer ixu_abc"), "ixu_abc");
  EXPECT_EQ(BearerToken("Bearer    ixu_abc   "), "ixu_abc");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
  EXPECT_EQ(BearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerToken("ixu_abc"), "");
  EXPECT_EQ(BearerToken(" Bearer ixu_abc"), "");
  EXPECT_EQ(BearerToken("Bearerixu_abc"), "");
}

TEST(BearerToken, SchemeIsCaseInsensitive) {
  // RFC 7235 section 2.1: the authentication scheme is case-insensitive.
  EXPECT_EQ(BearerToken("bearer ixu_abc"), "ixu_abc");
  EXPECT_EQ(BearerToken("BEARER ixu_abc"), "ixu_abc");
  EXPECT_EQ(BearerToken("bEaReR ixu_abc"), "ixu_abc");
  // The token itself is kept as it was written.
  EXPECT_EQ(BearerToken("bearer IXU_Abc"), "IXU_Abc");
}

TEST(FrameReportMessage, NamesEveryField) {
  const std::string sha = Sha256Hex("img");
  EXPECT_EQ(FrameReportMessage(7, 12, sha, "outputs/1/7_12"),
            "inferix-frame-v1|7|12|" + sha + "|outputs/1/7_12");
  EXPECT_EQ(FrameReportMessage(7, -3, sha, "k"), "inferix-frame-v1|7|-3|" + sha + "|k");
}

TEST(FrameReportMessage, DiffersPerField) {
  const std::string sha = Sha256Hex("img");
  const std::string other_sha = Sha256Hex("img2");
  const auto base = FrameReportMessage(7, 12, sha, "outputs/1/7_12");
  std::set<std::string> all = {base, FrameReportMessage(8, 12, sha, "outputs/1/7_12"),
                               FrameReportMessage(7, 13, sha, "outputs/1/7_12"),
                               FrameReportMessage(7, -12, sha, "outputs/1/7_12"),
                               FrameReportMessage(7, 12, other_sha, "outputs/1/7_12"),
                               FrameReportMessage(7, 12, sha, "outputs/1/7_13"),
                               // Digits moved between task and frame must not give the same text.
                               FrameReportMessage(71, 2, sha, "outputs/1/7_12")};
  EXPECT_EQ(all.size(), 7u);
}

TEST(VerdictMessage, DiffersPerField) {
  EXPECT_EQ(VerdictMessage(9, "accepted"), "inferix-verdict-v1|9|accepted");
  EXPECT_NE(VerdictMessage(9, "accepted"), VerdictMessage(9, "rejected"));
  EXPECT_NE(VerdictMessage(9, "accepted"), VerdictMessage(10, "accepted"));
  // A frame report can never be replayed as a verdict, and the other way round.
  const std::string sha = Sha256Hex("x");
  EXPECT_NE(FrameReportMessage(9, 1, sha, "k").substr(0, 17), VerdictMessage(9, "accepted").substr(0, 17));
}

}  // namespace
}  // namespace inferix::domain
