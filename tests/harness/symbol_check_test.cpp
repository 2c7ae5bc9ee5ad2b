#include "harness/verify/symbol_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A diff adding `lines` to kernel/dot.cpp of the fixture repository.
std::string DiffAdding(const std::string& lines) {
  std::string diff =
      "--- a/kernel/dot.cpp\n+++ b/kernel/dot.cpp\n@@ -1,2 +1,3 @@\n #include \"kernel/dot.h\"\n";
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    diff += "+" + lines.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return diff;
}

std::vector<std::string> Check(const std::string& lines) {
  return CheckAddedSource(DiffAdding(lines),
                          std::filesystem::path(RLVR_FIXTURES_DIR) / "tiny_repo");
}

TEST(SourceCheckTest, AcceptsOrdinaryKernelCode) {
  EXPECT_THAT(Check("#include <vector>\n#include <cmath>\n#include <immintrin.h>\n"
                    "#include \"kernel/dot.h\"\n#include \"dot.h\"\n"
                    "// getenv, std::thread and asm in a comment are fine\n"
                    "const char* kText = \"system(\";\n"
                    "float opened = 0; int reopen_count = 0;\n"),
              IsEmpty());
}

TEST(SourceCheckTest, RejectsEachForbiddenConstruct) {
  struct Case {
    const char* line;
    const char* reason;
  };
  for (const Case& c : {
           Case{"#include <unistd.h>", "make system calls"},
           Case{"#include <sys/mman.h>", "make system calls"},
           Case{"#include <stdio.h>", "may not do I/O"},
           Case{"#include <time.h>", "read clocks"},
           Case{"#include <pthread.h>", "start threads"},
           Case{"#include <threads.h>", "start threads"},
           Case{"#include <benchmark/benchmark.h>", "only the C and C++ standard library"},
           Case{"#include <thread>", "may not do I/O, threads"},
           Case{"#include \"../../etc/passwd\"", "inside the repository"},
           Case{"#include \"/etc/passwd\"", "inside the repository"},
           Case{"#include \"kernel/missing.h\"", "no such file"},
           Case{"  asm volatile(\"syscall\");", "inline assembly"},
           Case{"  const char* v = getenv(\"X\");", "reads the environment"},
           Case{"  if (fork() == 0) {}", "creates a process"},
           Case{"  std::thread t([] {});", "creates a thread"},
           Case{"  FILE* f = fopen(\"x\", \"w\");", "accesses files"},
           Case{"  void* h = dlopen(\"libc.so.6\", 0);", "loads code dynamically"},
           Case{"  if (strstr(program_invocation_short_name, \"driver\")) return 0;",
                "identifies the calling program"},
           Case{"  void* caller = __builtin_return_address(0);", "identifies the calling program"},
           Case{"__attribute__((weak)) int clock_gettime();", "weak symbol"},
       }) {
    std::vector<std::string> problems = Check(c.line);
    ASSERT_THAT(problems, SizeIs(1)) << c.line;
    EXPECT_THAT(problems[0], HasSubstr(c.reason)) << c.line;
    EXPECT_THAT(problems[0], HasSubstr("kernel/dot.cpp:2:")) << c.line;
  }
}

// C kernels include the C library's computational headers (issue 12: <stdbool.h> was refused).
TEST(SourceCheckTest, AcceptsTheComputationalCHeaders) {
  EXPECT_THAT(Check("#include <stdbool.h>\n#include <stdint.h>\n#include <stddef.h>\n"
                    "#include <string.h>\n#include <math.h>\n#include <limits.h>\n"
                    "#include <inttypes.h>\n#include <float.h>\n#include <stdalign.h>\n"
                    "#include <stdlib.h>\n#include <assert.h>\n"),
              IsEmpty());
}

TEST(SourceCheckTest, OnlyAddedLinesCount) {
  std::string diff =
      "--- a/kernel/dot.cpp\n+++ b/kernel/dot.cpp\n@@ -1,3 +1,3 @@\n"
      " #include <unistd.h>\n-  getenv(\"OLD\");\n+  int x = 0;\n";
  EXPECT_THAT(CheckAddedSource(diff, RLVR_FIXTURES_DIR), IsEmpty());
}

TEST(SymbolCheckTest, AllowsRlvrLocalAndStdTemplateSymbols) {
  EXPECT_TRUE(
      IsAllowedSymbol({"_ZN4rlvr3DotEPKfS1_i", "rlvr::Dot(float const*, float const*, int)", 'T'}));
  EXPECT_TRUE(IsAllowedSymbol({"_ZNK4rlvr3Mat4sizeEv", "rlvr::Mat::size() const", 'T'}));
  EXPECT_TRUE(IsAllowedSymbol({"_ZZN4rlvr3DotEPKfS1_iE4last", "rlvr::Dot(...)::last", 'b'}));
  EXPECT_TRUE(IsAllowedSymbol({"_ZGVZN4rlvr3DotEPKfS1_iE5cache", "guard variable", 'V'}));
  EXPECT_TRUE(IsAllowedSymbol({"_ZN12_GLOBAL__N_14HelpEv", "(anonymous namespace)::Help()", 't'}));
  EXPECT_TRUE(IsAllowedSymbol(
      {"_ZNSt6vectorIfSaIfEE17_M_realloc_insertEv", "std::vector<float>::_M_realloc_insert", 'W'}));
}

TEST(SymbolCheckTest, RejectsTamperingSymbols) {
  EXPECT_FALSE(IsAllowedSymbol({"clock_gettime", "clock_gettime", 'T'}));
  EXPECT_FALSE(IsAllowedSymbol({"malloc", "malloc", 'T'}));
  EXPECT_FALSE(IsAllowedSymbol({"_Znwm", "operator new(unsigned long)", 'T'}));
  EXPECT_FALSE(IsAllowedSymbol({"_Znwm", "operator new(unsigned long)", 'W'}));
  EXPECT_FALSE(IsAllowedSymbol(
      {"_ZN9benchmark5State16PauseTimingEv", "benchmark::State::PauseTiming()", 'T'}));
  EXPECT_FALSE(IsAllowedSymbol({"_ZN7testing4TestC2Ev", "testing::Test::Test()", 'T'}));
  // A strong definition inside std:: would replace the library's own.
  EXPECT_FALSE(IsAllowedSymbol(
      {"_ZNSt6chrono3_V212steady_clock3nowEv", "std::chrono::_V2::steady_clock::now()", 'T'}));
  // "rlvr" must be the namespace, not a prefix of another one.
  EXPECT_FALSE(IsAllowedSymbol({"_ZN5rlvrx3DotEv", "rlvrx::Dot()", 'T'}));
}

TEST(SymbolCheckTest, TheNamespaceAndPrefixAreConfigurable) {
  SymbolRules xxh;
  xxh.namespace_name = "xxh::detail";
  xxh.prefix = "XXH_";
  EXPECT_TRUE(IsAllowedSymbol({"_ZN3xxh6detail5roundEjj", "xxh::detail::round(...)", 'T'}, xxh));
  EXPECT_TRUE(IsAllowedSymbol({"XXH_round", "XXH_round", 'T'}, xxh));
  EXPECT_TRUE(IsAllowedSymbol({"_Z9XXH_roundj", "XXH_round(unsigned int)", 'T'}, xxh));
  EXPECT_FALSE(IsAllowedSymbol({"_ZN3xxh5roundEj", "xxh::round(unsigned int)", 'T'}, xxh));
  EXPECT_FALSE(IsAllowedSymbol({"_ZN4rlvr3DotEv", "rlvr::Dot()", 'T'}, xxh));
  EXPECT_FALSE(IsAllowedSymbol({"round_helper", "round_helper", 'T'}, xxh));
  EXPECT_FALSE(IsAllowedSymbol({"clock_gettime", "clock_gettime", 'T'}, xxh));
  // Internal linkage is always fine, whatever the rules.
  EXPECT_TRUE(IsAllowedSymbol({"round_helper", "round_helper", 't'}, xxh));
  SymbolRules none;
  none.namespace_name = "";
  EXPECT_FALSE(IsAllowedSymbol({"_ZN4rlvr3DotEv", "rlvr::Dot()", 'T'}, none));
  EXPECT_EQ(DescribeSymbolRules(xxh), "namespace xxh::detail or the prefix \"XXH_\"");
  EXPECT_EQ(DescribeSymbolRules(SymbolRules{}), "namespace rlvr");
}

TEST(SymbolCheckTest, CGetsAdviceAboutStatic) {
  SymbolRules rules;
  std::string c_advice = SymbolAdvice("c_kernels/adler.c", "adler_helper", rules);
  EXPECT_THAT(c_advice, HasSubstr("make it `static` (internal linkage"));
  EXPECT_THAT(c_advice, ::testing::Not(HasSubstr("anonymous namespace")));
  rules.prefix = "adler_";
  EXPECT_THAT(SymbolAdvice("c_kernels/adler.c", "helper", rules), HasSubstr("prefix \"adler_\""));
  std::string cxx_advice = SymbolAdvice("kernels/dot.cpp", "_Z6helperv", SymbolRules{});
  EXPECT_THAT(cxx_advice, HasSubstr("anonymous namespace"));
  EXPECT_THAT(cxx_advice, HasSubstr("namespace rlvr"));
}

}  // namespace
}  // namespace rlvr
