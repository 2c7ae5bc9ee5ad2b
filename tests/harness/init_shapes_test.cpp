// `rlvr init` on fixtures in the shapes of real repositories that it used to get wrong (issue 25):
// xxHash (root Makefile + a side CMake project without tests; the implementation in a header),
// libdeflate (an off-by-default BUILD_TESTS option, test programs made by foreach(), its own
// `benchmark` program, CPU-feature and utility sources), zlib-ng (WITH_BENCHMARKS off, Google
// Benchmark + GoogleTest through $<TARGET_FILE:...>). Each test checks the chosen build, options,
// programs and targets, and that every guess is printed with its reason; two run `rlvr init` and
// then `rlvr check` on a committed copy and require check to pass with no edit of rlvr.json.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/build.h"
#include "harness/repo/inspect.h"
#include "harness/repo/kernel_ranking.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::Contains;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;

fs::path Fixture(const char* name) {
  return fs::path(RLVR_FIXTURES_DIR) / name;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// A committed copy of a fixture in a fresh temporary directory.
FixtureRepo CommittedCopy(const char* name) {
  std::string pattern = (fs::temp_directory_path() / "rlvr-init-shape-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  FixtureRepo repo{fs::path(pattern)};
  fs::copy(Fixture(name), repo.path(), fs::copy_options::recursive);
  repo.Git("init -q -b main");
  repo.Git("add -A");
  repo.Git("commit -q -m initial");
  return repo;
}

ProcessResult Rlvr(std::vector<std::string> args) {
  args.insert(args.begin(), RLVR_BINARY);
  RunOptions options;
  options.limits.wall_seconds = 600;
  return RunProcess(args, options);
}

TEST(InitShapes, RootMakefileBeatsASideCMakeProjectWithoutTests) {
  RepoInspection in = InspectRepository(Fixture("init_make_side_cmake"));
  EXPECT_EQ(in.build_system, "make");
  EXPECT_THAT(Joined(in.guesses),
              HasSubstr("build: the root Makefile, because it (with the Makefiles of its test and "
                        "benchmark directories) makes"));
  // The implementation is in the header; the .c wrapper (no loop) and the dispatcher are not
  // kernels.
  ASSERT_FALSE(in.kernels.empty());
  EXPECT_EQ(in.kernels[0].path, "fasthash.h");
  for (const auto& kernel : in.kernels) {
    EXPECT_NE(kernel.path, "fasthash.c");
    EXPECT_NE(kernel.path, "fh_dispatch.c");
  }
  EXPECT_THAT(in.kernels[0].reason, HasSubstr("called by"));
  StarterConfig starter = MakeStarterConfig(in);
  Project project = ParseProject(starter.config.dump(), "/repo", "starter");
  // Only the chosen programs are built: benchFH, not its -m32 variant; sanity_test, not the
  // vector generator.
  EXPECT_THAT(project.build.artifacts, ElementsAre("sanity_test", "benchFH"));
  ASSERT_EQ(project.build.command.size(), 3u);
  EXPECT_THAT(project.build.command[2], HasSubstr("make -B -C tests sanity_test"));
  EXPECT_THAT(project.build.command[2], HasSubstr("make -B -C tests/bench benchFH"));
  EXPECT_THAT(project.build.command[2], Not(HasSubstr("benchFH32")));
  // The sanitizer build adds through CC, so tests/Makefile's CFLAGS (-DFH_TEST_VECTORS) stay.
  ASSERT_EQ(project.build.sanitize_command.size(), 3u);
  EXPECT_THAT(project.build.sanitize_command[2],
              AllOf(HasSubstr("'CC=cc -fsanitize=address,undefined"), Not(HasSubstr("CFLAGS="))));
  ASSERT_EQ(project.targets.size(), 1u);
  EXPECT_THAT(project.targets[0].editable, ElementsAre("fasthash.h"));
  EXPECT_THAT(project.targets[0].test_commands[0].command, ElementsAre("{build_dir}/sanity_test"));
  EXPECT_EQ(project.targets[0].bench_command.command.back(), "{build_dir}/benchFH");
  std::string guesses = Joined(starter.guesses);
  EXPECT_THAT(guesses, HasSubstr("test program: sanity_test"));
  EXPECT_THAT(guesses, HasSubstr("benchmark program: benchFH (benchFH), because its name says "
                                 "benchmark; it links no Google Benchmark library"));
  EXPECT_THAT(guesses, HasSubstr("target fasthash: a kernel: "));
}

TEST(InitShapes, OwnBenchmarkOffByDefaultTestsAndForeachPrograms) {
  RepoInspection in = InspectRepository(Fixture("init_own_bench"));
  EXPECT_EQ(in.build_system, "cmake");
  std::vector<std::string> tests;
  for (const auto& p : in.test_programs) {
    tests.push_back(p.name);
    EXPECT_TRUE(p.ctest) << p.name;
    EXPECT_THAT(p.enabled_by, ElementsAre("KS_BUILD_TESTS")) << p.name;
  }
  EXPECT_THAT(tests, ElementsAre("test_checksum", "test_empty"));  // foreach(), resolved
  EXPECT_THAT(Joined(in.findings), Not(HasSubstr("@UNKNOWN@")));
  ASSERT_EQ(in.bench_programs.size(), 1u);
  EXPECT_EQ(in.bench_programs[0].name, "benchmark");
  EXPECT_FALSE(in.bench_programs[0].benchmark) << "its own program, not Google Benchmark";
  EXPECT_EQ(in.bench_programs[0].output_path, "programs/benchmark");
  // list(APPEND) is read; CPU features, utilities and program helpers are no kernels.
  EXPECT_THAT(in.library_sources, Contains("lib/checksum.c"));
  ASSERT_EQ(in.kernels.size(), 1u);
  EXPECT_EQ(in.kernels[0].path, "lib/checksum.c");
  StarterConfig starter = MakeStarterConfig(in);
  Project project = ParseProject(starter.config.dump(), "/repo", "starter");
  EXPECT_THAT(project.build.configure_args, Contains("-DKS_BUILD_TESTS=ON"));
  EXPECT_THAT(project.build.configure_args, Not(Contains("-DKS_BUILD_STATIC_LIB=ON")));
  ASSERT_EQ(project.targets.size(), 1u);
  const Target& target = project.targets[0];
  EXPECT_EQ(target.test_commands[0].kind, "ctest");
  EXPECT_EQ(target.bench_command.command.front(), "sh");
  EXPECT_THAT(target.bench_command.command,
              testing::ElementsAre("sh", "-c", HasSubstr("date +%s%N"), "benchmark",
                                   "{build_dir}/programs/benchmark", "corpus.txt"));
  EXPECT_THAT(target.primary, ElementsAre("benchmark"));
  std::string guesses = Joined(starter.guesses);
  EXPECT_THAT(guesses, HasSubstr("configure_args: -DKS_BUILD_TESTS=ON, because test_checksum is "
                                 "built only with it"));
  EXPECT_THAT(guesses, HasSubstr("bench_command: benchmark is given corpus.txt as input"));
}

TEST(InitShapes, GoogleBenchmarkBehindWithBenchmarks) {
  RepoInspection in = InspectRepository(Fixture("init_gbench"));
  StarterConfig starter = MakeStarterConfig(in);
  Project project = ParseProject(starter.config.dump(), "/repo", "starter");
  // A macro of test/CMakeLists.txt sets RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}.
  EXPECT_EQ(project.build.test_binary, "gtest_k");
  EXPECT_EQ(project.build.bench_binary, "test/benchmarks/benchmark_k");
  EXPECT_THAT(project.build.configure_args, Contains("-DWITH_BENCHMARKS=ON"));
  for (const char* off : {"-DWITH_BENCHMARK_APPS=ON", "-DWITH_FUZZERS=ON"})
    EXPECT_THAT(project.build.configure_args, Not(Contains(off)));
  // The sanitizer arguments name flags variables, which the build adds to configure_args' own.
  EXPECT_THAT(project.build.sanitize_args, Contains(HasSubstr("-DCMAKE_C_FLAGS=-fsanitize=")));
  ASSERT_EQ(project.targets.size(), 1u);
  EXPECT_THAT(project.targets[0].editable, ElementsAre("arch/adler32_c.c"));
  // Registered through BENCHMARK_ADLER32(c, ...): BENCHMARK_REGISTER_F(adler32, c), sizes up to
  // MAX_SIZE (64 * 1024).
  EXPECT_THAT(project.targets[0].primary, ElementsAre("adler32/c/65536"));
  // adler32_copy/c/... (of another file, whose name contains "adler32" and "c") is not one of
  // adler32_c.c's benchmarks.
  EXPECT_EQ(project.targets[0].benchmarks, "^(adler32/c)(/|$)");
  EXPECT_THAT(Joined(starter.guesses),
              AllOf(HasSubstr("test program: gtest_k (gtest_k), because it is a GoogleTest "
                              "program"),
                    HasSubstr("benchmark program: benchmark_k (test/benchmarks/benchmark_k), "
                              "because it links Google Benchmark"),
                    HasSubstr("configure_args: -DWITH_BENCHMARKS=ON, because benchmark_k is "
                              "built only with it")));
}

TEST(InitShapes, PlumbingNames) {
  for (const char* path : {"lib/x86/cpu_features.c", "lib/utils.c", "programs/prog_util.c",
                           "xxh_x86dispatch.c", "src/config.c", "kernel_p.h"})
    EXPECT_TRUE(IsPlumbingName(path)) << path;
  for (const char* path : {"lib/adler32.c", "xxhash.h", "lib/deflate_compress.c", "crc32.c"})
    EXPECT_FALSE(IsPlumbingName(path)) << path;
}

// init prints each guess with its reason, then check passes on what init wrote, unedited.
void InitThenCheckPasses(const char* fixture) {
  FixtureRepo repo = CommittedCopy(fixture);
  ProcessResult init = Rlvr({"init", "-C", repo.path().string()});
  ASSERT_TRUE(init.ok()) << init.out << init.err;
  EXPECT_THAT(init.out, HasSubstr("  guessed: build: "));
  EXPECT_THAT(init.out, HasSubstr("  guessed: target "));
  repo.Git("add rlvr.json");
  repo.Git("commit -q -m rlvr.json");
  ProcessResult check = Rlvr({"check", "-C", repo.path().string()});
  EXPECT_TRUE(check.ok()) << check.out << check.err << "\nrlvr.json:\n"
                          << ReadFileText(repo.path() / "rlvr.json");
  EXPECT_THAT(check.out, Not(HasSubstr("\nFAIL")));
  EXPECT_THAT(check.out, HasSubstr(", 0 FAIL"));
}

TEST(InitShapes, InitThenCheckPassOnTheOwnBenchmarkShape) {
  InitThenCheckPasses("init_own_bench");
}

// zlib-ng's shape: the test program's output directory and the benchmarks' names come through
// macros; check builds both programs and finds the test binary and the primary init wrote.
TEST(InitShapes, InitThenCheckPassOnTheGoogleBenchmarkShape) {
  InitThenCheckPasses("init_gbench");
}

TEST(InitShapes, InitThenCheckPassOnTheMakefileShape) {
  InitThenCheckPasses("init_make_side_cmake");
}

// Issue 25, point 2: ctest finds no tests because the option that builds them is off; check names
// it and the argument to add.
TEST(InitShapes, CheckNamesTheOptionThatBuildsTheTests) {
  FixtureRepo repo = CommittedCopy("init_own_bench");
  ASSERT_TRUE(Rlvr({"init", "-C", repo.path().string()}).ok());
  nlohmann::json config = nlohmann::json::parse(ReadFileText(repo.path() / "rlvr.json"));
  auto& args = config["build"]["configure_args"];
  args.erase(std::remove(args.begin(), args.end(), "-DKS_BUILD_TESTS=ON"), args.end());
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  repo.Git("add rlvr.json");
  repo.Git("commit -q -m rlvr.json");
  ProcessResult check = Rlvr({"check", "-C", repo.path().string()});
  EXPECT_FALSE(check.ok());
  EXPECT_THAT(check.out, HasSubstr("FAIL    checksum.test_commands[ctest]"));
  EXPECT_THAT(check.out, HasSubstr("the build has KS_BUILD_TESTS off: add "
                                   "\"-DKS_BUILD_TESTS=ON\" to build.configure_args"));
  EXPECT_THAT(check.out, HasSubstr("FAIL    checksum.bench_command"));
}

// Issue 25, point 8: the sanitizer build init writes keeps the flags the build gives (here
// tests/Makefile's -DFH_TEST_VECTORS, without which sanity_test.c does not compile) and adds the
// sanitizers: the program it makes is instrumented.
TEST(InitShapes, MakeSanitizerBuildKeepsTheMakefilesFlags) {
  FixtureRepo repo = CommittedCopy("init_make_side_cmake");
  Project project = ParseProject(MakeStarterConfig(InspectRepository(repo.path())).config.dump(),
                                 repo.path(), "starter");
  fs::path build_dir = repo.path() / "sanitize-build";
  BuildRequest request;
  request.source_dir = repo.path();
  request.build_dir = build_dir;
  request.timeout_seconds = 300;
  request.sanitizer = true;
  BuildOutcome built =
      RunBuildCommand(request, project.build.sanitize_command, project.build.artifacts);
  ASSERT_TRUE(built.ok) << built.message << "\n" << built.detail;
  ProcessResult symbols = RunProcess({"nm", (build_dir / "sanity_test").string()});
  EXPECT_THAT(symbols.out, HasSubstr("__asan")) << "sanity_test is not built with ASan";
  RunOptions unlimited;  // ASan reserves terabytes of address space
  unlimited.limits.memory_bytes = 0;
  ProcessResult run = RunProcess({(build_dir / "sanity_test").string()}, unlimited);
  EXPECT_TRUE(run.ok()) << run.out << run.err;
}

}  // namespace
}  // namespace rlvr
