#include "domain/scene_layout.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace inferix::domain {
namespace {

using ::testing::HasSubstr;

TEST(PathIsUnder, ComparesWholeSegments) {
  EXPECT_TRUE(PathIsUnder("/usr/x", "/usr"));
  EXPECT_TRUE(PathIsUnder("/usr/share/blender/x.png", "/usr"));
  EXPECT_TRUE(PathIsUnder("/usr", "/usr"));
  EXPECT_FALSE(PathIsUnder("/usrx", "/usr"));
  EXPECT_FALSE(PathIsUnder("/usrx/y", "/usr"));
  EXPECT_FALSE(PathIsUnder("/us", "/usr"));
  EXPECT_FALSE(PathIsUnder("/home/usr", "/usr"));
  EXPECT_TRUE(PathIsUnder("/home/a/proj/tex/a.png", "/home/a/proj"));
  EXPECT_FALSE(PathIsUnder("/home/a/project/a.png", "/home/a/proj"));
}

TEST(PathIsUnder, TheRootHoldsEveryAbsolutePath) {
  EXPECT_TRUE(PathIsUnder("/", "/"));
  EXPECT_TRUE(PathIsUnder("/home/a/x.blend", "/"));
  EXPECT_TRUE(PathIsUnder("/usr", "/"));
  EXPECT_FALSE(PathIsUnder("relative/x", "/"));
  EXPECT_FALSE(PathIsUnder("", "/"));
}

// The message of a refused root, or "" (and a failure) when it was accepted.
std::string Refused(const std::string& root) {
  auto r = CheckSceneRoot(root);
  EXPECT_FALSE(r.ok()) << '"' << root.substr(0, 60) << "\" was accepted";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  return r.error().message;
}

TEST(CheckSceneRoot, AcceptsAbsoluteNormalFoldersOutsideTheSystem) {
  for (const char* root : {"/", "/home/a/proj", "/tmp/x", "/mnt/c/Users", "/home/a/My Project (v2)",
                           "/srv/usr", "/home/a/.../x", "/home/a/..x", "/usrlocal", "/library"}) {
    auto r = CheckSceneRoot(root);
    EXPECT_TRUE(r.ok()) << root << ": " << r.error().message;
  }
  EXPECT_TRUE(CheckSceneRoot("/" + std::string(4095, 'a')).ok());  // 4096 bytes
}

TEST(CheckSceneRoot, RefusesARelativeOrEmptyRoot) {
  EXPECT_THAT(Refused(""), HasSubstr("is not an absolute path"));
  EXPECT_THAT(Refused("relative"), HasSubstr("root \"relative\" is not an absolute path"));
  EXPECT_THAT(Refused("home/a"), HasSubstr("is not an absolute path"));
}

TEST(CheckSceneRoot, RefusesAPathThatIsNotNormal) {
  for (const char* root : {"/a/../b", "/a/./b", "/a//b", "//a", "/..", "/.", "/a/.."}) {
    EXPECT_THAT(Refused(root), HasSubstr("is not a normal path (an empty, \".\" or \"..\" segment)")) << root;
  }
  EXPECT_THAT(Refused("/a/"), HasSubstr("root \"/a/\" ends with a slash"));
}

TEST(CheckSceneRoot, RefusesTheSystemFolders) {
  for (const char* root : {"/usr", "/etc", "/boot", "/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib",
                           "/lib32", "/lib64", "/libx32"}) {
    const std::string msg = Refused(root);
    EXPECT_THAT(msg, HasSubstr(std::string("lies in the system folder ") + root)) << root;
    EXPECT_THAT(msg, HasSubstr("worker's sandbox shows from the worker's own system")) << root;
  }
  EXPECT_THAT(Refused("/usr/share/x"), HasSubstr("lies in the system folder /usr,"));
  EXPECT_THAT(Refused("/proc/1"), HasSubstr("lies in the system folder /proc,"));
  EXPECT_THAT(Refused("/dev/x"), HasSubstr("lies in the system folder /dev,"));
  EXPECT_THAT(Refused("/lib64/x"), HasSubstr("lies in the system folder /lib64,"));
}

TEST(CheckSceneRoot, RefusesBackslashesAndControlCharacters) {
  const std::string why = "holds a backslash or a control character";
  EXPECT_THAT(Refused("/home/a\\b"), HasSubstr(why));
  EXPECT_THAT(Refused("/home/a\nb"), HasSubstr(why));
  EXPECT_THAT(Refused("/home/a\tb"), HasSubstr(why));
  EXPECT_THAT(Refused(std::string("/home/a\0b", 9)), HasSubstr(why));
  EXPECT_THAT(Refused("/home/a\x7f"), HasSubstr(why));
  EXPECT_THAT(Refused("/home/a\x1f"), HasSubstr(why));
}

TEST(CheckSceneRoot, RefusesARootOver4096BytesAndQuotesOnlyItsStart) {
  const std::string root = "/" + std::string(4096, 'a');
  const std::string msg = Refused(root);
  EXPECT_THAT(msg, HasSubstr("is over 4096 bytes"));
  EXPECT_LT(msg.size(), 300u);
}

TEST(IsValidUtf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("/home/artist/proj"));
  EXPECT_TRUE(IsValidUtf8("/home/andr\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x8e\xac"));  // é, 日本, 🎬
  EXPECT_FALSE(IsValidUtf8("/a\xd4"));              // cut inside a character (as an excerpt may be)
  EXPECT_FALSE(IsValidUtf8("/a\xd4x"));             // a continuation byte missing
  EXPECT_FALSE(IsValidUtf8("/a\x99"));              // a continuation byte alone
  EXPECT_FALSE(IsValidUtf8("/a\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("/a\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("/a\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("/a\xff"));
}

TEST(CheckSceneRoot, RefusesARootThatIsNotUtf8) {
  EXPECT_THAT(Refused("/home/a\xd4"), HasSubstr("is not UTF-8"));
  EXPECT_TRUE(CheckSceneRoot("/home/andr\xc3\xa9").ok());
}

}  // namespace
}  // namespace inferix::domain
