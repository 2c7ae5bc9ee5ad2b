// What `rlvr init` reads from a repository (harness/repo/inspect.h) on the fixture repositories
// of the shapes users have, and the starting rlvr.json it makes from that.
#include "harness/repo/inspect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/config.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;

fs::path Fixture(const char* name) {
  return fs::path(RLVR_FIXTURES_DIR) / name;
}

const BuildProgram* FindProgram(const std::vector<BuildProgram>& programs,
                                const std::string& name) {
  for (const auto& p : programs)
    if (p.name == name) return &p;
  return nullptr;
}

std::string FullNames(const RepoInspection& in) {
  std::string out;
  for (const auto& b : in.benchmarks) out += b.FullName() + " ";
  return out;
}

TEST(RepoInspect, TinyRepoCMakeGoogleTestGoogleBenchmark) {
  RepoInspection in = InspectRepository(Fixture("tiny_repo"));
  EXPECT_EQ(in.build_system, "cmake");
  EXPECT_EQ(in.cmake_dir, "");
  const BuildProgram* test = FindProgram(in.test_programs, "dot_tests");
  ASSERT_NE(test, nullptr);
  EXPECT_TRUE(test->googletest);
  EXPECT_EQ(test->output_path, "dot_tests");
  EXPECT_THAT(test->sources, ElementsAre("tests/dot_test.cpp", "tests/alloc_test.cpp"));
  const BuildProgram* bench = FindProgram(in.bench_programs, "dot_bench");
  ASSERT_NE(bench, nullptr);
  EXPECT_TRUE(bench->benchmark);
  EXPECT_EQ(FindProgram(in.test_programs, "dot_bench"), nullptr);
  // The reference implementation and the test support library are not kernel sources.
  EXPECT_THAT(in.library_sources, ElementsAre("kernel/dot.cpp"));
  EXPECT_EQ(FullNames(in), "BM_Dot/4096 ");
  EXPECT_EQ(in.sanitize_option, "RLVR_SANITIZE");
  EXPECT_TRUE(in.has_clang_format);
  EXPECT_TRUE(in.exports_compile_commands);
  EXPECT_FALSE(in.c_sources);
}

TEST(RepoInspect, CLibraryBuiltTwiceIsOneSource) {
  RepoInspection in = InspectRepository(Fixture("c_cmake_repo"));
  EXPECT_EQ(in.build_system, "cmake");
  EXPECT_THAT(in.library_sources, ElementsAre("c_kernels/adler.c"));
  EXPECT_TRUE(in.c_sources);
  EXPECT_FALSE(in.has_clang_format);
  ASSERT_NE(FindProgram(in.test_programs, "adler_tests"), nullptr);
  EXPECT_TRUE(FindProgram(in.test_programs, "adler_tests")->googletest);
  ASSERT_NE(FindProgram(in.bench_programs, "adler_bench"), nullptr);
  EXPECT_EQ(FullNames(in), "BM_Adler32/65536 ");
  EXPECT_EQ(in.sanitize_option, "CK_SANITIZE");
}

TEST(RepoInspect, CMakeProjectInASubdirectoryWithCtestPrograms) {
  RepoInspection in = InspectRepository(Fixture("ctest_repo"));
  EXPECT_EQ(in.build_system, "cmake");
  EXPECT_EQ(in.cmake_dir, "build/cmake");
  EXPECT_THAT(in.library_sources, ElementsAre("src/histogram.cpp", "src/scan.cpp"));
  const BuildProgram* scan = FindProgram(in.test_programs, "scan_test");
  ASSERT_NE(scan, nullptr);
  EXPECT_FALSE(scan->googletest);
  EXPECT_TRUE(scan->ctest);
  EXPECT_THAT(scan->sources, ElementsAre("tests/scan_test.cpp"));
  EXPECT_EQ(scan->output_path, "scan_test");
  // "1 << 16" is evaluated, as Google Benchmark names the benchmark.
  EXPECT_EQ(FullNames(in), "BM_InclusiveScan/65536 BM_ByteHistogram/65536 ");
}

TEST(RepoInspect, MakefileHeaderOnlyLibrary) {
  RepoInspection in = InspectRepository(Fixture("make_header_repo"));
  EXPECT_EQ(in.build_system, "make");
  EXPECT_TRUE(in.header_only);
  EXPECT_THAT(in.library_sources, ElementsAre("include/vsum.h"));
  ASSERT_NE(FindProgram(in.test_programs, "test_vsum"), nullptr);
  ASSERT_NE(FindProgram(in.bench_programs, "bench_vsum"), nullptr);
  EXPECT_EQ(FindProgram(in.bench_programs, "bench-json"), nullptr)
      << ".PHONY targets are no programs";
}

TEST(RepoInspect, SubdirectoriesGlobsAndOutputDirectory) {
  fs::path root = fs::temp_directory_path() / "rlvr-inspect-subdirs";
  fs::remove_all(root);
  fs::create_directories(root / "lib");
  fs::create_directories(root / "unit");
  auto write = [&](const char* path, const char* text) { std::ofstream(root / path) << text; };
  write("CMakeLists.txt",
        "project(p C)\n# add_executable(commented_out x.c)\n"
        "set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)\n"
        "add_subdirectory(lib)\nadd_subdirectory(unit)\n");
  write("lib/CMakeLists.txt",
        "file(GLOB KERNEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)\n"
        "add_library(kern STATIC ${KERNEL_SOURCES})\n");
  write("lib/blur.c", "int blur(void) { return 1; }\n");
  write("lib/sharpen.c", "int sharpen(void) { return 2; }\n");
  write("unit/CMakeLists.txt",
        "add_executable(kern_unit main.cpp)\n"
        "target_link_libraries(kern_unit PRIVATE kern GTest::gtest_main)\n"
        "add_executable(kern_perf perf.cpp)\ntarget_link_libraries(kern_perf kern "
        "benchmark::benchmark)\n");
  write("unit/main.cpp", "");
  write("unit/perf.cpp", "BENCHMARK(BM_Blur)->Range(8, 8 << 10);\nBENCHMARK(BM_Sharpen);\n");
  RepoInspection in = InspectRepository(root);
  EXPECT_THAT(in.library_sources, ElementsAre("lib/blur.c", "lib/sharpen.c"));
  ASSERT_EQ(in.test_programs.size(), 1u);
  EXPECT_EQ(in.test_programs[0].output_path, "bin/kern_unit");
  EXPECT_TRUE(in.test_programs[0].googletest);
  ASSERT_EQ(in.bench_programs.size(), 1u);
  EXPECT_EQ(in.bench_programs[0].output_path, "bin/kern_perf");
  EXPECT_EQ(FullNames(in), "BM_Blur/8192 BM_Sharpen ");
  StarterConfig starter = MakeStarterConfig(in);
  ASSERT_EQ(starter.config["targets"].size(), 2u);
  EXPECT_EQ(starter.config["targets"][0]["primary"][0], "BM_Blur/8192");
  EXPECT_EQ(starter.config["targets"][1]["benchmarks"], "^(BM_Sharpen)(/|$)");
  fs::remove_all(root);
}

// Programs made and moved by the CMake files' own functions and macros: a function's parameters
// and ARGN are bound where it is called (macro names in any case), set_property(TARGET) and
// set_target_properties move (RUNTIME_OUTPUT_DIRECTORY) and rename (OUTPUT_NAME) the program.
TEST(RepoInspect, ProgramsMadeByFunctionsAndMovedByTargetProperties) {
  fs::path root = fs::temp_directory_path() / "rlvr-inspect-functions";
  fs::remove_all(root);
  fs::create_directories(root / "lib");
  fs::create_directories(root / "unit");
  auto write = [&](const char* path, const char* text) { std::ofstream(root / path) << text; };
  write("CMakeLists.txt",
        "project(p C CXX)\n"
        "function(add_kernel_test name)\n"
        "  add_executable(${name}_test ${ARGN})\n"
        "  target_link_libraries(${name}_test kern GTest::gtest_main)\n"
        "  set_property(TARGET ${name}_test PROPERTY RUNTIME_OUTPUT_DIRECTORY "
        "${CMAKE_BINARY_DIR}/bin)\n"
        "endfunction()\n"
        "macro(Rename_Bench target new_name)\n"
        "  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${new_name} "
        "RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})\n"
        "endmacro()\n"
        "add_library(kern STATIC lib/blur.c)\n"
        "add_subdirectory(unit)\n");
  write("lib/blur.c",
        "int blur(int n) { int s = 0; for (int i = 0; i < n; ++i) s += i; return s; }\n");
  write("unit/CMakeLists.txt",
        "add_kernel_test(blur blur_test.cpp)\n"
        "add_executable(kern_perf perf.cpp)\n"
        "target_link_libraries(kern_perf kern benchmark::benchmark)\n"
        "rename_bench(kern_perf blur_bench)\n");
  write("unit/blur_test.cpp", "");
  write("unit/perf.cpp", "BENCHMARK(BM_Blur)->Arg(64);\n");
  RepoInspection in = InspectRepository(root);
  const BuildProgram* test = FindProgram(in.test_programs, "blur_test");
  ASSERT_NE(test, nullptr);
  EXPECT_EQ(test->output_path, "bin/blur_test");
  EXPECT_THAT(test->sources, ElementsAre("unit/blur_test.cpp"));
  EXPECT_TRUE(test->googletest);
  ASSERT_EQ(in.bench_programs.size(), 1u);
  EXPECT_EQ(in.bench_programs[0].output_path, "blur_bench");
  fs::remove_all(root);
}

TEST(RepoInspect, StarterConfigParsesAndSaysWhatToCheck) {
  RepoInspection in = InspectRepository(Fixture("tiny_repo"));
  StarterConfig starter = MakeStarterConfig(in);
  Project project = ParseProject(starter.config.dump(), "/repo", "starter");
  EXPECT_EQ(project.build.test_binary, "dot_tests");
  EXPECT_EQ(project.build.bench_binary, "dot_bench");
  EXPECT_THAT(project.build.configure_args,
              testing::Contains("-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"));
  EXPECT_THAT(project.build.sanitize_args, ElementsAre("-DRLVR_SANITIZE=ON"));
  ASSERT_EQ(project.targets.size(), 1u);
  const Target& dot = project.targets[0];
  EXPECT_EQ(dot.name, "dot");
  EXPECT_THAT(dot.editable, ElementsAre("kernel/dot.cpp"));
  EXPECT_THAT(dot.context, ElementsAre("kernel/dot.h", "tests/dot_test.cpp"));
  EXPECT_EQ(dot.tests, "*");
  EXPECT_THAT(dot.primary, ElementsAre("BM_Dot/4096"));
  EXPECT_THAT(dot.description, HasSubstr("TODO"));
  EXPECT_TRUE(starter.config.contains("_comment"));
  EXPECT_TRUE(starter.config["build"].contains("_comment"));
  EXPECT_TRUE(starter.config["targets"][0].contains("_comment"));
  EXPECT_FALSE(starter.todos.empty());
}

TEST(RepoInspect, StarterConfigForSubdirectoryAndPlainTests) {
  StarterConfig starter = MakeStarterConfig(InspectRepository(Fixture("ctest_repo")));
  EXPECT_EQ(starter.config["build"]["source_subdir"], "build/cmake");
  EXPECT_EQ(starter.config["targets"].size(), 2u);
  std::string todos;
  for (const auto& todo : starter.todos) todos += todo + "\n";
  // Plain tests registered with add_test run under ctest; the benchmark binary stays.
  Project ctest = ParseProject(starter.config.dump(), "/repo", "starter");
  EXPECT_EQ(ctest.build.test_binary, "");
  EXPECT_EQ(ctest.build.bench_binary, "kern_bench");
  ASSERT_EQ(ctest.targets[0].test_commands.size(), 1u);
  EXPECT_EQ(ctest.targets[0].test_commands[0].kind, "ctest");
  EXPECT_THAT(ctest.targets[0].test_commands[0].command, testing::Contains("--no-tests=error"));
  EXPECT_THAT(todos, HasSubstr("narrow each target's with"));
}

TEST(RepoInspect, StarterConfigForAMakefileUsesCommands) {
  RepoInspection in = InspectRepository(Fixture("make_header_repo"));
  EXPECT_EQ(in.make_build_variable, "BUILD");
  EXPECT_TRUE(in.make_has_all);
  EXPECT_EQ(in.make_cflags, "-O2 -std=c99 -Wall -Wextra");
  StarterConfig make = MakeStarterConfig(in);
  Project project = ParseProject(make.config.dump(), "/repo", "starter");
  EXPECT_THAT(project.build.command, ElementsAre("make", "BUILD={build_dir}", "all"));
  EXPECT_THAT(project.build.artifacts, ElementsAre("test_vsum", "bench_vsum"));
  // The sanitizers come in through CC and CXX, so the Makefile's own CFLAGS (and its += additions)
  // stay: a CFLAGS= on make's command line would replace them.
  EXPECT_THAT(
      project.build.sanitize_command,
      ElementsAre("make", HasSubstr("CC=cc -fsanitize=address,undefined"),
                  HasSubstr("CXX=c++ -fsanitize=address,undefined"), "BUILD={build_dir}", "all"));
  // The instruction-set levels the same way, so ISA-conditional code is editable.
  EXPECT_THAT(project.build.isa_command,
              ElementsAre("make", "CC=cc -march={march}", "CXX=c++ -march={march}",
                          "BUILD={build_dir}", "all"));
  ASSERT_EQ(project.targets.size(), 1u);
  const Target& vsum = project.targets[0];
  EXPECT_THAT(vsum.editable, ElementsAre("include/vsum.h"));
  ASSERT_EQ(vsum.test_commands.size(), 1u);
  EXPECT_THAT(vsum.test_commands[0].command, ElementsAre("{build_dir}/test_vsum"));
  EXPECT_EQ(vsum.test_commands[0].kind, "exit_status");
  // Its own output format: timed as a whole, printed as Google Benchmark JSON.
  ASSERT_GE(vsum.bench_command.command.size(), 2u);
  EXPECT_EQ(vsum.bench_command.command.front(), "sh");
  EXPECT_EQ(vsum.bench_command.command.back(), "{build_dir}/bench_vsum");
  EXPECT_THAT(vsum.primary, ElementsAre("bench_vsum"));
  std::string todos;
  for (const auto& todo : make.todos) todos += todo + "\n";
  EXPECT_THAT(todos, HasSubstr("times bench_vsum run without arguments"));
}

TEST(RepoInspect, TestAndToolPaths) {
  EXPECT_TRUE(IsTestOrToolPath("tests/dot_test.cpp"));
  EXPECT_TRUE(IsTestOrToolPath("src/dot_test.cpp"));
  EXPECT_TRUE(IsTestOrToolPath("bench/x.cpp"));
  EXPECT_TRUE(IsTestOrToolPath("third_party/zlib/adler32.c"));
  EXPECT_TRUE(IsTestOrToolPath("reference/dot_ref.cpp"));
  EXPECT_FALSE(IsTestOrToolPath("src/dot.cpp"));
  EXPECT_FALSE(IsTestOrToolPath("lib/adler32.c"));
}

}  // namespace
}  // namespace rlvr
