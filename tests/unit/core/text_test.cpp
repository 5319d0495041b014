#include "core/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace inferix {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SafeText, PlainTextAndUnicodeStayAsTheyAre) {
  EXPECT_EQ(SafeText("worker-1"), "worker-1");
  EXPECT_EQ(SafeText("Ärger über 東京 🎬"), "Ärger über 東京 🎬");
  EXPECT_EQ(SafeText(R"(C:\scenes\a.blend)"), R"(C:\scenes\a.blend)");
  EXPECT_EQ(SafeText(""), "");
}

TEST(SafeText, TerminalControlsAreShownEscaped) {
  EXPECT_EQ(SafeText("a\x1b[2Jb"), "a\\x1b[2Jb");                    // clear screen
  EXPECT_EQ(SafeText("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");     // window title (OSC)
  EXPECT_EQ(SafeText("one\ntwo\r\tthree"), "one\\ntwo\\r\\tthree");  // forged log lines
  EXPECT_EQ(SafeText(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(SafeText("del\x7f"), "del\\x7f");
  EXPECT_EQ(SafeText("c1 \xc2\x9b"
                     "2J"),
            "c1 \\u009b2J");                                             // 8-bit CSI
  EXPECT_EQ(SafeText("evil\xe2\x80\xaegpj.exe"), "evil\\u202egpj.exe");  // right-to-left override
  EXPECT_EQ(SafeText("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");   // bidi isolates
  EXPECT_EQ(SafeText("\xe2\x80\xa8"), "\\u2028");                        // line separator
}

TEST(SafeText, InvalidUtf8IsShownByteByByte) {
  EXPECT_EQ(SafeText("a\xff"
                     "b"),
            "a\\xffb");
  EXPECT_EQ(SafeText("\xc3"), "\\xc3");                    // cut sequence
  EXPECT_EQ(SafeText("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(SafeText("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(SafeText, LongTextIsCappedWithAMarkerSayingWhatWasLeftOut) {
  const std::string huge(20 << 20, 'x');
  const std::string shown = SafeText(huge, 300);
  EXPECT_LE(shown.size(), 300u + 32u);
  EXPECT_THAT(shown, EndsWith("...[+" + std::to_string(huge.size() - 300) + " bytes]"));
  // Escapes count toward the cap, and a character is never cut in half.
  const std::string escapes = SafeText(std::string(1000, '\x1b'), 10);
  EXPECT_EQ(escapes, "\\x1b\\x1b...[+998 bytes]");
  const std::string wide = SafeText("ééé", 5);
  EXPECT_EQ(wide, "éé...[+2 bytes]");
  EXPECT_EQ(SafeText("exactly", 7), "exactly");
}

TEST(SafeLines, KeepsLineBreaksButEscapesTheRest) {
  EXPECT_EQ(SafeLines("preflight failed:\n  [missing] a\x1b[31m.png"),
            "preflight failed:\n  [missing] a\\x1b[31m.png");
  EXPECT_THAT(SafeLines("x\ry"), Not(HasSubstr("\r")));
}

TEST(CapText, CutsAtACharacterWithAMarkerWithinTheLimit) {
  EXPECT_EQ(CapText("short", 100), "short");
  const std::string huge(1 << 20, 'y');
  const std::string cut = CapText(huge, 4096);
  EXPECT_LE(cut.size(), 4096u);
  EXPECT_THAT(cut, EndsWith(" bytes]"));
  const std::string accents = CapText(std::string(100, 'a') + std::string(50, '\xc3') + "\xa9", 64);
  EXPECT_LE(accents.size(), 64u);
  EXPECT_THAT(CapText(std::string(40, 'a') + "ééééééééééééééééééééééééé", 64), HasSubstr("...[+"));
  // Never ends inside a two-byte character.
  const std::string e = CapText(std::string(31, 'a') + std::string(40, 'a') + "éééééééééé", 72);
  EXPECT_NE(static_cast<unsigned char>(e[e.find("...[") - 1]) & 0xC0, 0xC0);
}

}  // namespace
}  // namespace inferix
