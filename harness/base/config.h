// The target config of a kernel repository: `rlvr.json` at its root (format in DESIGN.md). Says
// which files a candidate may edit for each target, how to build, which tests, allocation tests
// and benchmarks judge it, and the thresholds of the benchmark gate.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BuildConfig {
  // A build command instead of CMake (e.g. ["make", "BUILD={build_dir}", "all"]): run in the tree
  // being judged with {build_dir} and {source_dir} substituted (ExpandCommand). Empty: CMake.
  // The candidate cannot change it: rlvr.json and build files are never editable.
  std::vector<std::string> command;
  // The build command of the sanitizer build (into its own build dir); empty: no sanitizer run
  // for a command-built repository (the sanitizers gate says so).
  std::vector<std::string> sanitize_command;
  // What the build command produces, relative to the build dir (reported; checked to exist).
  std::vector<std::string> artifacts;
  std::vector<std::string> configure_args;  // passed to `cmake -S tree -B build`
  std::string source_subdir;                // where CMakeLists.txt is, relative to the root
  std::vector<std::string> sanitize_args;   // added for the sanitizer build
  std::string test_binary;   // relative to the build dir; only needed for GoogleTest targets
  std::string bench_binary;  // relative to the build dir; only needed without bench_command
  // Added to configure_args for a second build without the machine's instruction-set extensions
  // (the "portable" gate), e.g. ["-DRLVR_NATIVE=OFF"]. Empty: edits inside ISA-conditional code
  // are refused as untestable.
  std::vector<std::string> portable_args;
  // The build command for an instruction-set level of a command-built repository, with {march}
  // where the -march= value goes (e.g. ["make", "BUILD={build_dir}", "CFLAGS=-O3 -march={march}",
  // "all"]): the portable gate builds and tests x86-64-v2, -v3 and -v4 with it. Empty: edits
  // inside ISA-conditional code of a command build are refused as untestable.
  std::vector<std::string> isa_command;
  // Environment variables the user passes on purpose to every build and candidate process (all
  // others but a small allowlist are withheld, see base/child_env.h): exact names, or prefixes
  // ending in '*' (which never match secret-looking names).
  std::vector<std::string> pass_env;

  bool UsesBuildCommand() const { return !command.empty(); }
};

// One test program of a target, run as a command: its exit status decides (0 = passed). `kind`
// only shapes the failure excerpt: "exit_status" (the output's last lines), "ctest" (the failed
// tests' output), "gtest" (the [  FAILED  ] lines and their output).
struct TestCommand {
  std::string name;
  std::vector<std::string> command;  // {build_dir} and {source_dir} substituted; cwd = the tree
  std::string kind = "exit_status";
};

// A target's benchmark program run as a command: each invocation prints a report in `format`
// (only "google_benchmark_json") on stdout. rlvr appends no flags; it selects the target's
// benchmarks by name itself. One run (one sample per side and round) is `repetitions`
// invocations, of which each benchmark's fastest time is kept, as Google Benchmark binaries get
// --benchmark_repetitions: a single invocation of a program that reports its mean time is as noisy
// as the machine, and interference only ever adds time.
struct BenchCommand {
  std::vector<std::string> command;
  std::string format = "google_benchmark_json";
  int repetitions = 1;  // rlvr.json bench_command.repetitions, in [1, 100]
};

// How far a benchmark may go beyond the hardware (the benchmark gate's physics check).
// "compute": a GFLOPS counter above the references' best GFLOPS (the measured FMA peak) x margin
// fails; "memory": also a GB/s counter above the references' best GB/s x margin fails (declare it
// only where the working set exceeds the caches); "none": no check.
struct Roofline {
  std::string bound = "compute";
  double margin = 1.10;
};

// The names a candidate's new global symbols may have (symbol check and binary audit, build
// gate): C++ names inside `namespace_name` ("rlvr", or nested "lib::detail"; empty = none), and
// names starting with `prefix` (e.g. "xxh_" for a C library; empty = none). rlvr.json target key
// "symbols": {"namespace": ..., "prefix": ...}. Symbols with internal linkage are always fine.
struct SymbolRules {
  std::string namespace_name = "rlvr";
  std::string prefix;
};

// A differential oracle (optional per target, rlvr.json "oracle"): a program of the repository
// that prints a kernel's outputs for seeded random inputs, run on HEAD's build and on the
// candidate's with the same seeds; the outputs must agree (verify/oracle.h). Catches wrong results
// the repository's own tests miss.
struct OracleConfig {
  // {build_dir}, {source_dir} and {seed} substituted; also given RLVR_ORACLE_SEED; cwd = the tree.
  std::vector<std::string> command;
  // 0: outputs equal token by token; else numbers may differ by this relative amount. Also the
  // default oracle's tolerance for floats (verify/default_oracle.h) when set; given without a
  // command, "oracle" tunes only the default oracle.
  double tolerance = 0;
  int seeds = 4;  // how many seeds (derived from the verdict's seed)

  bool enabled() const { return !command.empty(); }
};

struct Target {
  std::string name;
  std::string description;
  std::vector<std::string> editable;       // globs (repository-relative) a candidate may change
  std::vector<std::string> context;        // files shown to the model, never editable
  std::string tests;                       // GoogleTest filter; empty when test_commands are given
  std::vector<TestCommand> test_commands;  // used instead of test_binary + tests when not empty
  BenchCommand bench_command;        // used instead of bench_binary when its command is not empty
  std::string alloc_tests;           // GoogleTest filter; empty = none
  std::string history_tests;         // GoogleTest filter of history-independence tests
  std::string benchmarks;            // --benchmark_filter regex
  std::vector<std::string> primary;  // benchmarks whose ratio decides
  std::vector<std::string> references;  // roofline / library references (reported, not gated)
  double min_improvement = 0.03;        // primary must be at least this much faster
  double max_regression = 0.05;         // no benchmark may be this much slower
  Roofline roofline;
  // Object audit (verify/object_audit.h): symbol globs of writable static state the target may keep
  // (beyond what HEAD's object already has), and external functions it may call besides the
  // pure-function allowlist and the repository's own library.
  std::vector<std::string> allowed_state;
  std::vector<std::string> allowed_calls;
  SymbolRules symbols;  // which new global symbols the candidate may define
  OracleConfig oracle;  // the differential oracle; disabled when its command is empty

  // True when the tests are a GoogleTest filter on build.test_binary (history, allocation tests
  // and the sanitizer run of the CMake path need that binary).
  bool UsesGoogleTest() const { return test_commands.empty(); }
  bool UsesBenchCommand() const { return !bench_command.command.empty(); }
};

struct Project {
  std::filesystem::path root;  // repository root (holds rlvr.json)
  BuildConfig build;
  std::vector<Target> targets;

  // nullptr when no target has that name.
  const Target* FindTarget(std::string_view name) const;
  // Like FindTarget, but throws ConfigError listing the known names.
  const Target& GetTarget(std::string_view name) const;
};

// Parses rlvr.json text; `source` names it in error messages. Throws ConfigError with the path of
// the offending field on missing/mistyped fields, duplicate names or out-of-range thresholds.
Project ParseProject(std::string_view json_text, const std::filesystem::path& root,
                     std::string_view source = "rlvr.json");

// Reads <repo_root>/rlvr.json and makes its build.pass_env the process-wide pass-through list of
// child processes (base/child_env.h).
Project LoadProject(const std::filesystem::path& repo_root);
// Reads <repo_root>/rlvr.json only.
Project ReadProject(const std::filesystem::path& repo_root);

// `command` with every "{build_dir}" and "{source_dir}" replaced by those paths, made absolute
// (commands run in the tree being judged, not where rlvr was started).
std::vector<std::string> ExpandCommand(const std::vector<std::string>& command,
                                       const std::filesystem::path& source_dir,
                                       const std::filesystem::path& build_dir);

// True when `path` (repository-relative, '/' separated) matches `glob` ('*' within a segment,
// '**' across segments, '?' one character).
bool GlobMatches(std::string_view glob, std::string_view path);

}  // namespace rlvr
