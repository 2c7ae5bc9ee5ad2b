// HEAD's build as `rlvr check` makes and probes it: the committed HEAD built in a worktree under
// .rlvr/ into .rlvr/build/baseline (the evaluator's own baseline build, so a later
// `rlvr evaluate` starts warm), with CMake or build.command, then the test and benchmark binaries
// rlvr.json names asked what they hold (--gtest_list_tests, --benchmark_list_tests). Each finding
// is a line of the check report; the listings serve the checks of the targets' filters.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/base/process.h"
#include "harness/repo/check_report.h"

namespace rlvr {

struct HeadBuild {
  bool built = false;
  std::filesystem::path tree;       // HEAD's worktree
  std::filesystem::path build_dir;  // HEAD's build dir (the evaluator's baseline build)
  std::filesystem::path test_binary;
  std::filesystem::path bench_binary;
  std::vector<std::string> tests;       // every test of the test binary ("Suite.Name")
  std::vector<std::string> benchmarks;  // every benchmark of the bench binary
  bool tests_answer = false;            // the test binary listed some tests
  bool benchmarks_answer = false;       // the bench binary listed some benchmarks
};

// Builds HEAD of the repository at `root` (`project` is its rlvr.json) with `jobs` parallel jobs
// and probes the binaries, reporting "build", "compile_commands" or "binary_audit", and
// "build.test_binary" / "build.bench_binary" lines. Precondition: the caller holds the repository
// lock (the worktree and build dir under .rlvr/ are the evaluator's). A failure to build is a FAIL
// line and `built` false, never an exception; prints "rlvr check: building HEAD ..." on stderr.
HeadBuild BuildAndProbe(const Project& project, const std::filesystem::path& root, int jobs,
                        CheckReport& report);

// Runs `binary args...` in the binary's directory, at most 60 s.
ProcessResult RunListing(const std::filesystem::path& binary, std::vector<std::string> args);

// Test names ("Suite.Name") from --gtest_list_tests output.
std::vector<std::string> ParseTestList(const std::string& out);

// The suites of "Suite.Name" tests, in first-seen order, each once.
std::vector<std::string> SuitesOf(const std::vector<std::string>& tests);

// The boolean options of a CMakeCache.txt that are off and whose name mentions `word` (any case,
// e.g. "TEST" finds LIBDEFLATE_BUILD_TESTS and BUILD_TESTING), sorted: what may switch on a
// program the build did not make.
std::vector<std::string> OffOptionsNaming(const std::string& cmake_cache, const std::string& word);

// When a test or benchmark program is missing or finds nothing to run ("No tests were found"):
// "; the build has LIBDEFLATE_BUILD_TESTS off: add \"-DLIBDEFLATE_BUILD_TESTS=ON\" to
// build.configure_args if it builds the program", naming the options of `build_dir`'s
// CMakeCache.txt that are off and mention TEST or BENCH; "" when there is none (or no cache).
std::string OffOptionsHint(const std::filesystem::path& build_dir);

// Benchmark names from --benchmark_list_tests, without a time-mode suffix (as rlvr.json names
// them, see bench/run.h).
std::vector<std::string> ParseBenchmarkList(const std::string& out);

}  // namespace rlvr
