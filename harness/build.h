// Building a source tree for evaluation: `cmake -S tree -B build <configure_args>` (only when the
// build dir has no cache yet, so later builds are incremental) then `cmake --build` of the test
// and benchmark binaries, all through RunProcess with limits. Compiler errors are condensed to
// their first lines for the verdict.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct BuildRequest {
  std::filesystem::path source_dir;
  std::filesystem::path build_dir;
  std::vector<std::string> configure_args;
  std::vector<std::string> targets;  // cmake --build --target ...; empty = all
  int jobs = 2;
  double timeout_seconds = 1200;
  // A sanitizer build: no address-space limit, since a build step may run the instrumented
  // binaries (e.g. gtest_discover_tests lists the tests) and ASan reserves terabytes of it.
  bool sanitizer = false;
};

struct BuildOutcome {
  bool ok = false;
  double seconds = 0;
  std::string message;  // "configure failed: exit status 1", "compile error in kernel/dot.cpp"
  std::string detail;   // first lines of the error output
};

// Runs cmake configure unless the build dir already has a CMakeCache.txt.
BuildOutcome Configure(const BuildRequest& request);

// Configure, then build request.targets (target names, or object files relative to the build
// dir, which Ninja accepts as targets).
BuildOutcome ConfigureAndBuild(const BuildRequest& request);

// The first `max_lines` lines of a build log starting at its first "error" line (compiler,
// linker or CMake), or the last lines when no such line exists.
std::string FirstErrorLines(const std::string& log, int max_lines = 20);

// Target name of a binary path relative to the build dir ("tests/kernel_tests" -> kernel_tests).
std::string TargetNameOf(const std::string& binary_path);

}  // namespace rlvr
