// Building a source tree for evaluation: `cmake -S tree[/source_subdir] -B build <configure_args>`
// then `cmake --build` of the test and benchmark binaries, all through RunProcess with limits.
// Compiler errors are condensed to their first lines for the verdict.
//
// A build dir remembers what it was configured with (source dir, build dir, configure args, cmake
// version) in a stamp file beside CMakeCache.txt. Configure is skipped while all of that is
// unchanged, so later builds are incremental; when anything differs (rlvr.json's configure_args
// changed, the repository was moved or copied with its .rlvr/, cmake was upgraded, or the cache
// names another source dir) the build dir is wiped and configured afresh, and the outcome says
// why. A stale build dir is never used.
#pragma once

#include <filesystem>
#include <map>
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
  // Where CMakeLists.txt is, relative to source_dir, for repositories whose CMake project is not
  // at the root (e.g. "cmake" or "src"). Empty: source_dir itself.
  std::filesystem::path source_subdir;
  // Set for the build's processes on top of the usual environment (e.g. CCACHE_DISABLE=1 to time
  // a real compile).
  std::map<std::string, std::string> env;

  // source_dir/source_subdir: what `cmake -S` is given.
  std::filesystem::path CMakeSourceDir() const;
};

struct BuildOutcome {
  bool ok = false;
  double seconds = 0;
  std::string message;     // "configure failed: exit status 1", "compile error in kernel/dot.cpp"
  std::string detail;      // first lines of the error output
  bool timed_out = false;  // the build was stopped at request.timeout_seconds
  // Why the failure is the machine's, not the code's (candidate/machine_fault.h: a tool that
  // cannot start, a compiler killed from outside even when retried with one job); also noted for
  // the verifier (NoteMachineFault). Empty otherwise.
  std::string machine_fault;
  // Why the build dir was wiped and configured afresh, e.g. "reconfigured: configure_args
  // changed"; empty when it was configured for the first time or reused as it was. Also in
  // `message` ("built; reconfigured: ...").
  std::string reconfigured;
};

// Name of the file in a build dir recording what it was configured with.
inline constexpr const char* kConfigureStampName = "rlvr-configure.json";

// Why the build dir cannot be reused as configured ("reconfigured: configure_args changed"), or
// empty when it can, or when it has no CMakeCache.txt yet (a first configure).
std::string StaleBuildReason(const BuildRequest& request);

// The request for building `source_dir` into `build_dir` as rlvr.json's build section says
// (configure_args, then `extra_args` merged in by MergeConfigureArgs; source_subdir), for
// `targets`.
struct BuildConfig;

// `base` followed by `extra`, except that a flags variable (`-D<NAME>[:TYPE]=VALUE` with NAME
// ending in _FLAGS or _FLAGS_<CONFIG>, e.g. CMAKE_CXX_FLAGS) that `base` sets already gets
// `extra`'s value appended to its own instead of replacing it: the sanitizer and portable builds
// must compile what the other gates compile, with their flags on top (a sanitize_args
// -DCMAKE_C_FLAGS=-fsanitize=... would otherwise silently drop configure_args' CMAKE_C_FLAGS).
std::vector<std::string> MergeConfigureArgs(const std::vector<std::string>& base,
                                            const std::vector<std::string>& extra);

BuildRequest ProjectBuild(const BuildConfig& config, const std::filesystem::path& source_dir,
                          const std::filesystem::path& build_dir,
                          const std::vector<std::string>& extra_args,
                          std::vector<std::string> targets, int jobs, double timeout_seconds,
                          bool sanitizer = false);

// Builds `source_dir` into `build_dir` as rlvr.json's build section says: its build command
// (RunBuildCommand, which builds whatever the command builds) or CMake for `targets` (empty:
// everything).
BuildOutcome BuildProject(const BuildConfig& config, const std::filesystem::path& source_dir,
                          const std::filesystem::path& build_dir, std::vector<std::string> targets,
                          int jobs, double timeout_seconds);

// The CMake target of the benchmark binary, {TargetNameOf(bench_binary)}, or {} (everything) when
// rlvr.json names none.
std::vector<std::string> BenchBinaryTarget(const BuildConfig& config);

// Runs cmake configure unless the build dir was already configured exactly so (see above); wipes
// and reconfigures a stale one.
BuildOutcome Configure(const BuildRequest& request);

// Configure, then build request.targets (target names, or object files relative to the build
// dir, which Ninja accepts as targets).
BuildOutcome ConfigureAndBuild(const BuildRequest& request);

// Name of the file in a command build's dir recording the command it was built with.
inline constexpr const char* kCommandStampName = "rlvr-build-command.json";

// A build command instead of CMake (rlvr.json build.command): runs `command` with {build_dir}
// and {source_dir} substituted (ExpandCommand), in source_dir, under the same limits as a CMake
// build, then requires every artifact (relative to build_dir) to exist. The build dir remembers
// the expanded command; when it changes (rlvr.json edited, repository moved) the dir is wiped
// first and the outcome says why. `request.configure_args` and `targets` are ignored.
BuildOutcome RunBuildCommand(const BuildRequest& request, const std::vector<std::string>& command,
                             const std::vector<std::string>& artifacts);

// The first `max_lines` lines of a build log starting at its first "error" line (compiler,
// linker or CMake), or the last lines when no such line exists.
std::string FirstErrorLines(const std::string& log, int max_lines = 20);

// Target name of a binary path relative to the build dir ("tests/kernel_tests" -> kernel_tests).
std::string TargetNameOf(const std::string& binary_path);

}  // namespace rlvr
