// The build gate's include check (harness/verify/include_check.h) and the build output filter
// (harness/candidate/diagnostics.h): a candidate may not make the compiler read a file outside the
// repository, and if it does, nothing of that file reaches a verdict.
#include "harness/verify/include_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "harness/candidate/diagnostics.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class IncludeCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("rlvr-include-check-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "kernels");
    std::ofstream(root_ / "kernels/softmax.h") << "#pragma once\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<std::string> Check(const std::string& text) {
    return CheckIncludeOperands(text, "kernels/softmax.cpp", root_);
  }
  fs::path root_;
};

TEST_F(IncludeCheckTest, LiteralIncludesOfTheRepositoryAndStandardHeadersPass) {
  EXPECT_THAT(Check("#include \"kernels/softmax.h\"\n#include \"softmax.h\"\n#include <cmath>\n"
                    "#include <immintrin.h>\n#if __has_include(<arm_neon.h>)\n#endif\n"
                    "#include \"generated/config.h\"  // from the build's include directories\n"
                    "#define STR(x) #x\nconst char* s = \"#include PATH\";\n"),
              IsEmpty());
}

TEST_F(IncludeCheckTest, ComputedOperandsAreRefused) {
  EXPECT_THAT(Check("#define P(x) #x\n#include P(/etc/passwd)\n"),
              ElementsAre(AllOf(HasSubstr("kernels/softmax.cpp:2"), HasSubstr("literal"))));
  EXPECT_THAT(Check("#define FILE </etc/hostname>\n#include FILE\n"), SizeIs(1));
  EXPECT_THAT(Check("#define H \"x.h\"\n#if __has_include(H)\n#endif\n"),
              ElementsAre(HasSubstr("__has_include of a computed operand")));
  EXPECT_THAT(Check("#if __has_include_next(MACRO)\n#endif\n"), SizeIs(1));
}

// xxHash's own way (its HEAD refused every edit of xxhash.h): asking whether __has_include exists
// and naming it XXH_HAS_INCLUDE is no invocation, and a literal operand through the alias passes;
// a computed one through the alias is refused like a direct one.
TEST_F(IncludeCheckTest, TestingForHasIncludeAndALiteralThroughAnAliasPass) {
  const std::string xxhash =
      "#ifndef XXH_HAS_INCLUDE\n#  ifdef __has_include\n#    define XXH_HAS_INCLUDE __has_include\n"
      "#  else\n#    define XXH_HAS_INCLUDE(x) 0\n#  endif\n#endif\n"
      "#if defined(__wasm_simd128__) && XXH_HAS_INCLUDE(<arm_neon.h>)\n#endif\n"
      "#if defined(__has_include) && defined __has_include_next\n#endif\n";
  EXPECT_THAT(Check(xxhash), IsEmpty());
  EXPECT_THAT(Check(xxhash + "#if XXH_HAS_INCLUDE(SECRET_PATH)\n#endif\n"),
              ElementsAre(AllOf(HasSubstr("softmax.cpp:12"),
                                HasSubstr("XXH_HAS_INCLUDE (= __has_include) of a computed"))));
  EXPECT_THAT(Check(xxhash + "#define CHECK XXH_HAS_INCLUDE(SECRET_PATH)\n"),
              ElementsAre(HasSubstr("softmax.cpp:12")));
  EXPECT_THAT(Check("#ifdef __has_include\n#if __has_include(MACRO)\n#endif\n#endif\n"),
              ElementsAre(HasSubstr("softmax.cpp:2")));
}

// The preprocessor splices lines and drops comments before it reads a directive: so does the
// check, so a directive split by a comment or a backslash-newline is seen whole.
TEST_F(IncludeCheckTest, DirectivesDisguisedByCommentsSplicesDigraphsAndTrigraphsAreSeen) {
  EXPECT_THAT(Check("#/* a comment */include P(x)\n"), SizeIs(1));
  EXPECT_THAT(Check("#/* a comment\n spanning lines */ include P(x)\n"), SizeIs(1));
  EXPECT_THAT(Check("#\\\ninclude \\\n MACRO\n"), ElementsAre(HasSubstr("softmax.cpp:1")));
  EXPECT_THAT(Check("%:include MACRO\n"), SizeIs(1));
  EXPECT_THAT(Check("?\?=include MACRO\n"), SizeIs(1));
  EXPECT_THAT(Check("int x;\n  #  include_next <cmath>\n"),
              ElementsAre(AllOf(HasSubstr(":2"), HasSubstr("include_next"))));
  EXPECT_THAT(Check("#embed \"softmax.h\"\n"), SizeIs(1));
}

TEST_F(IncludeCheckTest, QuotedOperandsLeadingOutOfTheRepositoryAreRefused) {
  EXPECT_THAT(Check("#include \"/etc/passwd\"\n"), ElementsAre(HasSubstr("absolute path")));
  EXPECT_THAT(Check("#include \"../../../../../../../etc/passwd\"\n"),
              ElementsAre(HasSubstr("leads out of the repository")));
  EXPECT_THAT(Check("#include \"../kernels/softmax.h\"\n"), IsEmpty());
  fs::create_symlink("/etc/hostname", root_ / "kernels/host.h");
  EXPECT_THAT(Check("#include \"host.h\"\n"), ElementsAre(HasSubstr("a link to a file outside")));
}

TEST(RepositoryDiagnosticsTest, DiagnosticsOutsideTheRepositoryAreOmittedWithTheirQuotedLines) {
  const std::string output =
      "FAILED: kernels/CMakeFiles/k.dir/softmax.cpp.o\n"
      "In file included from /repo/kernels/softmax.cpp:3:\n"
      "/home/user/.ssh/id_rsa:1:1: error: 'BEGIN' does not name a type\n"
      "    1 | -----BEGIN OPENSSH PRIVATE KEY-----\n"
      "      | ^~~~~\n"
      "../../home/user/secret.txt:2:7: error: 'hunter2' was not declared in this scope\n"
      "    2 | pass: hunter2\n"
      "/repo/kernels/softmax.cpp:9:5: error: expected ';' before '}' token\n"
      "    9 |   x = 1\n"
      "      |        ^\n"
      "/usr/include/c++/12/bits/stl_vector.h:5:1: note: candidate\n"
      "compilation terminated.\n";
  std::string kept = KeepRepositoryDiagnostics(output, {"/repo", "/repo-build"});
  EXPECT_THAT(kept, Not(HasSubstr("OPENSSH")));
  EXPECT_THAT(kept, Not(HasSubstr("BEGIN")));
  EXPECT_THAT(kept, Not(HasSubstr("hunter2")));
  EXPECT_THAT(kept, Not(HasSubstr("id_rsa")));
  EXPECT_THAT(kept, HasSubstr("In file included from /repo/kernels/softmax.cpp:3:"));
  EXPECT_THAT(kept, HasSubstr("/repo/kernels/softmax.cpp:9:5: error: expected ';'"));
  EXPECT_THAT(kept, HasSubstr("    9 |   x = 1"));
  EXPECT_THAT(kept, HasSubstr("stl_vector.h:5:1: note"));
  EXPECT_THAT(kept, HasSubstr("compilation terminated."));
  EXPECT_THAT(kept, HasSubstr("outside the repository was omitted"));
  // Relative paths are taken from the directories the build runs in.
  EXPECT_THAT(KeepRepositoryDiagnostics("../kernels/a.cpp:1:1: error: x\n", {"/repo/build"}),
              HasSubstr("omitted"));
  EXPECT_THAT(KeepRepositoryDiagnostics("../../tree/kernels/a.cpp:1:1: error: x\n",
                                        {"/state/tree", "/state/build/candidate"}),
              HasSubstr("../../tree/kernels/a.cpp:1:1: error: x"));
  EXPECT_THAT(KeepRepositoryDiagnostics("kernels/a.cpp:1:1: error: x\n", {"/repo"}),
              HasSubstr("kernels/a.cpp:1:1: error: x"));
}

}  // namespace
}  // namespace rlvr
