// End-to-end tests of the build gate on a C library (tests/fixtures/c_cmake_repo: Adler-32 in
// C99, built as a static and a shared library, with GoogleTest tests and Google Benchmark
// benches): C code gets C advice, the allowed names are configurable, the C library's
// computational headers are accepted, and the binary audit runs on the test and bench programs.
// One repository for the suite; sanitizers and benchmarks are off (the gates before them are
// what is tested).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/isa_levels.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// A reply adding `added` (lines, each ending in '\n') after the line `after` of c_kernels/adler.c.
std::string Adding(const std::string& after, const std::string& added) {
  std::ostringstream out;
  out << "A change.\n\n```diff\n--- a/c_kernels/adler.c\n+++ b/c_kernels/adler.c\n@@\n " << after
      << "\n";
  std::istringstream lines(added);
  for (std::string line; std::getline(lines, line);) out << "+" << line << "\n";
  out << "```\n";
  return out.str();
}

class CRepoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-c-fixture-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    repo_ = new FixtureRepo(fs::path(pattern));
    fs::copy(fs::path(RLVR_FIXTURES_DIR) / "c_cmake_repo", repo_->path(),
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    repo_->Git("init -q -b main");
    repo_->Git("add -A");
    repo_->Git("commit -q -m initial");
    project_ = new Project(LoadProject(repo_->path()));
    options_.sanitizers = false;
    options_.benchmark = false;
    options_.test_timeout_seconds = 60;
  }
  static void TearDownTestSuite() {
    delete project_;
    delete repo_;
  }

  static Verdict Evaluate(const Project& project, const std::string& reply) {
    Evaluator evaluator(project, options_);
    Verdict v = evaluator.Evaluate(project.GetTarget("adler32"), reply);
    std::fprintf(stderr, "%s", v.Render().c_str());
    return v;
  }

  static const GateResult& Build(const Verdict& v) {
    const GateResult* gate = v.FindGate("build");
    if (gate == nullptr) throw std::runtime_error("no build gate");
    return *gate;
  }

  static FixtureRepo* repo_;
  static Project* project_;
  static EvaluateOptions options_;
};

FixtureRepo* CRepoTest::repo_ = nullptr;
Project* CRepoTest::project_ = nullptr;
EvaluateOptions CRepoTest::options_;

const char* kHelper = "\nuint32_t ck_fold(uint32_t s) { return s % CK_BASE; }\n";

TEST_F(CRepoTest, ANewNonStaticCFunctionIsToldThatStaticIsTheFix) {
  Verdict v = Evaluate(*project_, Adding("#define CK_NMAX 5552", kHelper));
  EXPECT_EQ(v.failed_gate, "build");
  const std::string& message = Build(v).message;
  EXPECT_THAT(message, HasSubstr("symbol check: c_kernels/adler.c: `ck_fold`"));
  EXPECT_THAT(message, HasSubstr("make it `static` (internal linkage"));
  EXPECT_THAT(message, Not(HasSubstr("anonymous namespace")));
  // A static helper is the fix, and passes.
  Verdict fixed = Evaluate(*project_, Adding("#define CK_NMAX 5552",
                                             "\nstatic uint32_t ck_fold(uint32_t s) { return s % "
                                             "CK_BASE; }\n"));
  // (unused: -Wall warns, which is no error)
  EXPECT_EQ(Build(fixed).status, GateStatus::kPass) << Build(fixed).message << Build(fixed).detail;
}

TEST_F(CRepoTest, TheLibrarysPrefixIsAllowedWhenConfigured) {
  Project prefixed = *project_;
  prefixed.targets[0].symbols.prefix = "ck_";
  Verdict v = Evaluate(prefixed, Adding("#define CK_NMAX 5552", kHelper));
  EXPECT_EQ(Build(v).status, GateStatus::kPass) << Build(v).message << "\n" << Build(v).detail;
  // The binary audit compared the linked programs too, and said so.
  EXPECT_THAT(Build(v).message, HasSubstr("binary audit of adler_tests, adler_bench"));
  // Other names are still refused, naming the rule.
  Verdict other = Evaluate(
      prefixed,
      Adding("#define CK_NMAX 5552", "\nuint32_t fold(uint32_t s) { return s % CK_BASE; }\n"));
  EXPECT_EQ(other.failed_gate, "build");
  EXPECT_THAT(Build(other).message, HasSubstr("outside namespace rlvr or the prefix \"ck_\""));
}

TEST_F(CRepoTest, CStandardHeadersThatComputeAreAccepted) {
  Verdict v = Evaluate(*project_, Adding("#include \"c_kernels/adler.h\"",
                                         "#include <stdbool.h>\n#include <stdint.h>\n"));
  EXPECT_EQ(Build(v).status, GateStatus::kPass) << Build(v).message;
  Verdict io =
      Evaluate(*project_, Adding("#include \"c_kernels/adler.h\"", "#include <stdio.h>\n"));
  EXPECT_EQ(io.failed_gate, "build");
  EXPECT_THAT(Build(io).message, HasSubstr("#include <stdio.h>: kernels may not do I/O"));
}

// A token-pasting macro spells `__asm__` without the word, so the source check of the added lines
// misses it; inline assembly could `.incbin` any file the user can read into the object (and a
// wrong output carry its bytes into a test failure). The file's own lines, macros expanded, are
// checked against HEAD's.
TEST_F(CRepoTest, InlineAssemblySpelledByAMacroIsSeenOnceExpanded) {
  Verdict v = Evaluate(*project_, Adding("#define CK_NMAX 5552",
                                         "#define CK_PASTE(a, b) a##b\n"
                                         "CK_PASTE(__as, m__)(\".section .rodata\\n.incbin "
                                         "\\\"/etc/hostname\\\"\\n.previous\");\n"));
  EXPECT_EQ(v.failed_gate, "build");
  EXPECT_THAT(Build(v).message,
              HasSubstr("c_kernels/adler.c: inline assembly once its macros are expanded (1 "
                        "statement(s), HEAD's has 0)"));
}

// A few lines that keep the compiler busy (4M tokens of macro expansion) would hold the machine
// for the whole build limit, per candidate. The edited file's compile is bounded by HEAD's compile
// of it; with a floor of half a second here (60 s by default) the candidate is stopped at once.
TEST_F(CRepoTest, ACompileFarSlowerThanHeadsIsStoppedAsBuildTooSlow) {
  const std::string slow =
      "#define CK_X2(x) x x\n#define CK_X4(x) CK_X2(CK_X2(x))\n"
      "#define CK_X16(x) CK_X4(CK_X4(x))\n#define CK_X64(x) CK_X4(CK_X16(x))\n"
      "#define CK_X256(x) CK_X16(CK_X16(x))\n#define CK_X64K(x) CK_X256(CK_X256(x))\n"
      "static uint32_t ck_pad(uint32_t s) { return s + (0 CK_X64K(CK_X64(+1))); }\n";
  EvaluateOptions options = options_;
  options.compile_time_floor_seconds = 0.5;
  options.compile_time_multiple = 1;
  Evaluator evaluator(*project_, options);
  const auto start = std::chrono::steady_clock::now();
  Verdict v =
      evaluator.Evaluate(project_->GetTarget("adler32"), Adding("#define CK_NMAX 5552", slow));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%s", v.Render().c_str());
  EXPECT_EQ(v.failed_gate, "build");
  EXPECT_THAT(Build(v).message, HasSubstr("build too slow: compiling c_kernels/adler.c"));
  EXPECT_THAT(Build(v).message, HasSubstr("HEAD compiles it in"));
  EXPECT_LT(seconds, 120) << "the slow compile was not stopped";
  // With the default bound, an ordinary edit's compile time is stated in the verdict.
  Verdict honest = Evaluate(*project_, Adding("#define CK_NMAX 5552", "/* a comment */\n"));
  EXPECT_EQ(Build(honest).status, GateStatus::kPass) << Build(honest).message;
  EXPECT_THAT(Build(honest).message, HasSubstr("edited files compiled in"));
  EXPECT_THAT(Build(honest).message, HasSubstr("limit 60 s"));
}

// The portable gate on a repository whose native build compiles none of its instruction-set
// branches (no -march): an edit in the AVX2 branch is compiled by the x86-64-v3 build alone, which
// is built and tested; a wrong one is refused there, an honest one passes, and an edit in a branch
// no build here compiles (NEON) is refused as untestable, by name.
class CRepoIsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-c-isa-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    repo_ = new FixtureRepo(fs::path(pattern));
    fs::copy(fs::path(RLVR_FIXTURES_DIR) / "c_cmake_repo", repo_->path(),
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    const fs::path source = repo_->path() / "c_kernels/adler.c";
    std::string text;
    {
      std::ifstream in(source);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string reduce =
        "static uint32_t ck_reduce(uint32_t s) {\n"
        "#if defined(__ARM_NEON)\n"
        "  return s % CK_BASE; /* neon */\n"
        "#elif defined(__AVX512F__)\n"
        "  return s % CK_BASE; /* avx512 */\n"
        "#elif defined(__AVX2__)\n"
        "  return s % CK_BASE; /* avx2 */\n"
        "#else\n"
        "  return s % CK_BASE; /* plain */\n"
        "#endif\n"
        "}\n\n";
    const std::string function = "uint32_t ck_adler32(uint32_t adler,";
    text.insert(text.find(function), reduce);
    const std::string modulo = "    s1 %= CK_BASE;\n    s2 %= CK_BASE;\n  }\n  return (s2 << 16)";
    ASSERT_NE(text.find(modulo), std::string::npos);
    text.replace(text.find(modulo), modulo.size(),
                 "    s1 = ck_reduce(s1);\n    s2 = ck_reduce(s2);\n  }\n  return (s2 << 16)");
    std::ofstream(source, std::ios::trunc) << text;
    repo_->Git("init -q -b main");
    repo_->Git("add -A");
    repo_->Git("commit -q -m initial");
    project_ = new Project(LoadProject(repo_->path()));
    project_->build.portable_args = {"-DCMAKE_C_FLAGS=-march=x86-64-v2"};
    options_.sanitizers = false;
    options_.benchmark = false;
  }
  static void TearDownTestSuite() {
    delete project_;
    delete repo_;
  }
  // A reply changing the line of `branch` ("avx2", ...) to return `expression`.
  static std::string Editing(const std::string& branch, const std::string& expression) {
    return "Faster reduction.\n\n```diff\n--- a/c_kernels/adler.c\n+++ b/c_kernels/adler.c\n@@\n"
           "-  return s % CK_BASE; /* " +
           branch + " */\n+  return " + expression + "; /* " + branch + " */\n```\n";
  }
  static const GateResult& Portable(const Verdict& v) {
    const GateResult* gate = v.FindGate("portable");
    if (gate == nullptr) throw std::runtime_error("no portable gate");
    return *gate;
  }
  static Verdict Evaluate(const std::string& reply) {
    Evaluator evaluator(*project_, options_);
    Verdict v = evaluator.Evaluate(project_->GetTarget("adler32"), reply);
    std::fprintf(stderr, "%s", v.Render().c_str());
    return v;
  }

  static FixtureRepo* repo_;
  static Project* project_;
  static EvaluateOptions options_;
};

FixtureRepo* CRepoIsaTest::repo_ = nullptr;
Project* CRepoIsaTest::project_ = nullptr;
EvaluateOptions CRepoIsaTest::options_;

TEST_F(CRepoIsaTest, AWrongEditInABranchOnlyAHigherLevelCompilesIsTestedThereAndRefused) {
  if (!MachineRuns("x86-64-v3")) GTEST_SKIP() << "this machine cannot run x86-64-v3 code";
  Verdict wrong = Evaluate(Editing("avx2", "s % (CK_BASE - 1)"));
  EXPECT_EQ(wrong.failed_gate, "portable");
  EXPECT_THAT(Portable(wrong).message, HasSubstr("built for x86-64-v3"));
  EXPECT_THAT(Portable(wrong).message, HasSubstr("tests failed"));
  Verdict honest = Evaluate(Editing("avx2", "s >= CK_BASE ? s % CK_BASE : s"));
  EXPECT_EQ(Portable(honest).status, GateStatus::kPass) << Portable(honest).message;
  EXPECT_THAT(Portable(honest).message, HasSubstr("rebuilt for x86-64-v3"));
  EXPECT_THAT(Portable(honest).message, Not(HasSubstr("x86-64-v4")));
}

TEST_F(CRepoIsaTest, AnEditTheNativeBuildCompilesNeedsNoOtherBuild) {
  Verdict v = Evaluate(Editing("plain", "s >= CK_BASE ? s % CK_BASE : s"));
  EXPECT_EQ(Portable(v).status, GateStatus::kPass) << Portable(v).message;
  EXPECT_THAT(Portable(v).message, HasSubstr("compiled by the native build"));
}

TEST_F(CRepoIsaTest, AnEditNoBuildHereCompilesIsRefusedAsUntestable) {
  Verdict v = Evaluate(Editing("neon", "s % (CK_BASE - 1)"));
  EXPECT_EQ(v.failed_gate, "portable");
  EXPECT_THAT(Portable(v).message, HasSubstr("c_kernels/adler.c:"));
  EXPECT_THAT(Portable(v).message, HasSubstr("is compiled by no build rlvr can make here"));
  EXPECT_THAT(Portable(v).message, HasSubstr("untestable"));
}

// Issue 12: where a source is compiled twice (shared and static library), the symbol check took
// the first compile command's object, which HEAD's build (only the test and bench programs) had
// never made, and reported symbols HEAD already defines. Here the shared library comes first.
TEST(CRepoCompiledTwiceTest, HeadsObjectOfTheSameCommandIsCompared) {
  std::string pattern = (fs::temp_directory_path() / "rlvr-c-twice-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  FixtureRepo repo{fs::path(pattern)};
  fs::copy(fs::path(RLVR_FIXTURES_DIR) / "c_cmake_repo", repo.path(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const fs::path cmake = repo.path() / "CMakeLists.txt";
  std::string text;
  {
    std::ifstream in(cmake);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string static_block =
      "add_library(ckernels STATIC c_kernels/adler.c)\n"
      "target_include_directories(ckernels PUBLIC ${PROJECT_SOURCE_DIR})\n"
      "target_compile_options(ckernels PRIVATE -Wall -Wextra -O3)\n\n";
  size_t at = text.find(static_block);
  ASSERT_NE(at, std::string::npos);
  text.erase(at, static_block.size());
  size_t after_shared = text.find("set_target_properties(ckernels_shared");
  ASSERT_NE(after_shared, std::string::npos);
  after_shared = text.find('\n', after_shared) + 1;
  text.insert(after_shared, "\n" + static_block);
  std::ofstream(cmake, std::ios::trunc) << text;
  repo.Git("init -q -b main");
  repo.Git("add -A");
  repo.Git("commit -q -m initial");
  Project project = LoadProject(repo.path());
  EvaluateOptions options;
  options.sanitizers = false;
  options.benchmark = false;
  Evaluator evaluator(project, options);
  Verdict v = evaluator.Evaluate(
      project.GetTarget("adler32"),
      "Equivalent.\n\n```diff\n--- a/c_kernels/adler.c\n+++ b/c_kernels/adler.c\n@@\n   while "
      "(len > 0) {\n-    size_t block = len < CK_NMAX ? len : CK_NMAX;\n+    size_t block = len "
      "> CK_NMAX ? CK_NMAX : len;\n```\n");
  std::fprintf(stderr, "%s", v.Render().c_str());
  const GateResult* build = v.FindGate("build");
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->status, GateStatus::kPass) << build->message << "\n" << build->detail;
  EXPECT_THAT(build->message, HasSubstr("1 object(s) audited"));
}

// With link-time optimisation the edited file's object is GCC bytecode: no code or final symbols
// for the per-file object audit. The binary audit of the linked programs still sees a cache.
TEST(CRepoLtoTest, ACacheUnderLtoIsFoundInTheLinkedPrograms) {
  std::string pattern = (fs::temp_directory_path() / "rlvr-c-lto-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  FixtureRepo repo{fs::path(pattern)};
  fs::copy(fs::path(RLVR_FIXTURES_DIR) / "c_cmake_repo", repo.path(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  repo.Git("init -q -b main");
  repo.Git("add -A");
  repo.Git("commit -q -m initial");
  Project project = LoadProject(repo.path());
  project.build.configure_args.push_back("-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON");
  EvaluateOptions options;
  options.sanitizers = false;
  options.benchmark = false;
  Evaluator evaluator(project, options);
  Verdict v = evaluator.Evaluate(
      project.GetTarget("adler32"),
      Adding("uint32_t ck_adler32(uint32_t adler, const unsigned char *buf, size_t len) {",
             "  static const unsigned char *last_buf;\n  static size_t last_len;\n"
             "  if (buf == last_buf && len == last_len && len > 100000000) return 1;\n"
             "  last_buf = buf;\n  last_len = len;\n"));
  std::fprintf(stderr, "%s", v.Render().c_str());
  EXPECT_EQ(v.failed_gate, "build");
  const GateResult* build = v.FindGate("build");
  ASSERT_NE(build, nullptr);
  EXPECT_THAT(build->message, HasSubstr("binary audit: "));
  EXPECT_THAT(build->message, HasSubstr("writable static storage `last_"));
  // An honest edit under LTO passes, and the verdict says how it was audited.
  Verdict honest = evaluator.Evaluate(
      project.GetTarget("adler32"),
      "Equivalent.\n\n```diff\n--- a/c_kernels/adler.c\n+++ b/c_kernels/adler.c\n@@\n   while "
      "(len > 0) {\n-    size_t block = len < CK_NMAX ? len : CK_NMAX;\n+    size_t block = len "
      "> CK_NMAX ? CK_NMAX : len;\n```\n");
  const GateResult* honest_build = honest.FindGate("build");
  ASSERT_NE(honest_build, nullptr);
  EXPECT_EQ(honest_build->status, GateStatus::kPass) << honest_build->message << "\n"
                                                     << honest_build->detail;
  EXPECT_THAT(honest_build->message, HasSubstr("compiled to LTO bytecode only"));
}

}  // namespace
}  // namespace rlvr
