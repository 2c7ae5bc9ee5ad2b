// What `rlvr init` learns from a kernel repository before any rlvr.json exists: its build system
// (CMake at the root or in a subdirectory, or a Makefile), the programs its build makes (test
// programs: GoogleTest or add_test; benchmark programs: Google Benchmark), the library sources a
// candidate would edit, the benchmarks its benchmark sources register, and the facts the gates
// depend on (.clang-format, compile_commands.json, a sanitizer option). Then a starting
// rlvr.json made from those findings, with a "_comment" string in each section (JSON has no
// comments; rlvr ignores fields starting with '_') and "TODO" wherever a guess needs a human.
//
// Static reading only: nothing is configured or built (that is `rlvr check`). The CMake reader
// understands the common commands (project, add_subdirectory, set, list(APPEND), option, if,
// foreach, file(GLOB), add_library, add_executable, target_sources, target_link_libraries,
// add_test, gtest_discover_tests, gtest_add_tests) with ${VAR} expansion; anything cleverer is
// missed (a program whose name it cannot resolve is reported, not invented), and the starting
// config says what to check. Every choice is recorded in `guesses` with its reason.
//
// inspect.cpp lists the repository's files, finds its build and sums up the findings; the build
// is read by cmake_reader.h or makefile_reader.h, the benchmark sources by
// registered_benchmarks.h; starter_config.cpp writes the starting rlvr.json.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlvr {

// A program the build makes.
struct BuildProgram {
  std::string name;                  // CMake target (or Makefile program) name
  std::string output_path;           // where the build puts it, relative to the build dir
  std::vector<std::string> sources;  // repository-relative
  bool googletest = false;           // links GoogleTest or is registered by gtest_discover_tests
  bool benchmark = false;            // links Google Benchmark
  bool ctest = false;                // run by add_test
  std::string defined_in;            // repository-relative CMakeLists.txt or Makefile
  // CMake options, off by default, that an enclosing if() names: the program is built only when
  // configure_args turn them on (LIBDEFLATE_BUILD_TESTS, WITH_BENCHMARKS).
  std::vector<std::string> enabled_by;
  // Makefiles: the directory whose Makefile builds it ("" = the root), and its make goal.
  std::string make_dir;
  std::string make_goal;
};

// A CMake option(NAME "description" DEFAULT) of the build.
struct BuildOption {
  std::string name;
  bool default_on = false;
  std::string defined_in;  // repository-relative CMakeLists.txt
};

// A library file proposed as a kernel target, with why (printed by `rlvr init`).
struct KernelGuess {
  std::string path;    // repository-relative source or header
  std::string reason;  // "14 loops in 310 lines; its functions are called by ..."
  double score = 0;
};

// A benchmark a benchmark source registers: BENCHMARK(BM_X)->Arg(64)->Arg(4096) gives name
// "BM_X" and the last argument "4096" (the largest size, usually the one worth optimising).
struct RegisteredBenchmark {
  std::string name;
  std::string last_argument;  // empty when none; "4096", "8/64" (Args), or unevaluated text
  std::string source;         // repository-relative file

  // "BM_X/4096", or "BM_X" without arguments.
  std::string FullName() const;
};

struct RepoInspection {
  std::filesystem::path root;
  std::string build_system;  // "cmake", "make" or "" (none found)
  std::string cmake_dir;     // directory of the top CMakeLists.txt, repository-relative ("" root)
  std::vector<BuildProgram> test_programs;
  std::vector<BuildProgram> bench_programs;
  std::vector<std::string> library_sources;  // non-test C/C++ sources of the libraries
  bool header_only = false;                  // no library sources: library_sources are headers
  std::vector<RegisteredBenchmark> benchmarks;
  std::vector<BuildOption> options;  // every CMake option() read
  // Options, off by default, that the chosen test and benchmark programs need (see enabled_by):
  // the starting configure_args turn each on.
  std::vector<std::string> enable_options;
  std::string largest_data_file;          // the largest committed file that is not code, or ""
  std::vector<KernelGuess> kernels;       // ranked best first (RankKernels, kernel_ranking.h)
  std::string sanitize_option;            // a CMake option(... SANITIZE ...) name, or empty
  bool exports_compile_commands = false;  // CMAKE_EXPORT_COMPILE_COMMANDS set in the CMake files
  bool has_clang_format = false;
  bool c_sources = false;  // some library source is C
  // Makefiles: the variable naming the output directory (BUILD ?= build, O, OUT_DIR...; empty when
  // the programs are made in the tree), whether an `all` rule exists, CFLAGS' default value.
  std::string make_build_variable;
  bool make_has_all = false;
  std::string make_cflags;
  std::vector<std::string> findings;  // one line per fact found, for the user
  // One line per guess `rlvr init` made and why ("build: the root Makefile, because ..."), for
  // the user: what to look at first when `rlvr check` disagrees.
  std::vector<std::string> guesses;
};

// Reads the repository at `root` (its git-tracked files when it is a git repository, else every
// file below it but build trees).
RepoInspection InspectRepository(const std::filesystem::path& root);

struct StarterConfig {
  nlohmann::ordered_json config;     // the rlvr.json to write
  std::vector<std::string> todos;    // what the user must check or fill in, one line each
  std::vector<std::string> guesses;  // each choice made and why ("test program: ..., because ...")
};

// A starting rlvr.json: the build (CMake: configure_args with CMAKE_EXPORT_COMPILE_COMMANDS and
// -D<option>=ON for each option the chosen test and benchmark programs need, a sanitizer build
// whose flags add to configure_args'; a Makefile: build.command into the build dir, or make in
// the tree for each program's directory and a copy, artifacts, a sanitizer command that adds the
// sanitizers through CC/CXX so every flag of the Makefiles stays), the GoogleTest and Google
// Benchmark binaries, and one target per ranked kernel (inspection.kernels, at most four):
// editable = that file, context = its header and tests, tests = "*" (GoogleTest) or
// test_commands (ctest, or the test programs by exit status), for a benchmark program of its own
// format a bench_command that times it and prints Google Benchmark JSON, benchmarks = the
// matching ones (or "."), primary = a guess. Each choice is in `guesses` with its reason.
StarterConfig MakeStarterConfig(const RepoInspection& inspection);

// Whether a repository path is test, benchmark, example or third-party code rather than the
// library (a directory such as tests/, bench/, examples/, third_party/, or a file name with
// "test" or "bench" in it).
bool IsTestOrToolPath(const std::string& path);

}  // namespace rlvr
