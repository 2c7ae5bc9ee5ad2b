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
  std::vector<std::string> configure_args;  // passed to `cmake -S tree -B build`
  std::string source_subdir;                // where CMakeLists.txt is, relative to the root
  std::vector<std::string> sanitize_args;   // added for the sanitizer build
  std::string test_binary;                  // relative to the build dir
  std::string bench_binary;                 // relative to the build dir
  // Added to configure_args for a second build without the machine's instruction-set extensions
  // (the "portable" gate), e.g. ["-DRLVR_NATIVE=OFF"]. Empty: edits inside ISA-conditional code
  // are refused as untestable.
  std::vector<std::string> portable_args;
  // Environment variables the user passes on purpose to every build and candidate process (all
  // others but a small allowlist are withheld, see child_env.h): exact names, or prefixes ending
  // in '*' (which never match secret-looking names).
  std::vector<std::string> pass_env;
};

// How far a benchmark may go beyond the hardware (the benchmark gate's physics check).
// "compute": a GFLOPS counter above the references' best GFLOPS (the measured FMA peak) x margin
// fails; "memory": also a GB/s counter above the references' best GB/s x margin fails (declare it
// only where the working set exceeds the caches); "none": no check.
struct Roofline {
  std::string bound = "compute";
  double margin = 1.10;
};

struct Target {
  std::string name;
  std::string description;
  std::vector<std::string> editable;    // globs (repository-relative) a candidate may change
  std::vector<std::string> context;     // files shown to the model, never editable
  std::string tests;                    // GoogleTest filter
  std::string alloc_tests;              // GoogleTest filter; empty = none
  std::string history_tests;            // GoogleTest filter of history-independence tests
  std::string benchmarks;               // --benchmark_filter regex
  std::vector<std::string> primary;     // benchmarks whose ratio decides
  std::vector<std::string> references;  // roofline / library references (reported, not gated)
  double min_improvement = 0.03;        // primary must be at least this much faster
  double max_regression = 0.05;         // no benchmark may be this much slower
  Roofline roofline;
  // Object audit (object_audit.h): symbol globs of writable static state the target may keep
  // (beyond what HEAD's object already has), and external functions it may call besides the
  // pure-function allowlist and the repository's own library.
  std::vector<std::string> allowed_state;
  std::vector<std::string> allowed_calls;
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
// child processes (child_env.h).
Project LoadProject(const std::filesystem::path& repo_root);
// Reads <repo_root>/rlvr.json only.
Project ReadProject(const std::filesystem::path& repo_root);

// True when `path` (repository-relative, '/' separated) matches `glob` ('*' within a segment,
// '**' across segments, '?' one character).
bool GlobMatches(std::string_view glob, std::string_view path);

}  // namespace rlvr
