// `rlvr check [-C DIR] [--target T]...`: verifies everything a verdict needs, one line per check
// ("ok", "warning" or "FAIL" followed by what to fix): rlvr.json parses; each target's editable
// and context files exist at HEAD; the tools are there (cmake and ninja, or the build command's
// program; clang-format and whether a .clang-format exists); HEAD builds (into
// .rlvr/build/baseline, the evaluator's own baseline build, so a later `rlvr evaluate` starts
// warm) with CMake or build.command; compile_commands.json exists (the object audit reads it) or,
// for a build command, which programs the binary audit compares; the test and benchmark binaries
// exist and answer --gtest_list_tests / --benchmark_list_tests; every filter (tests, alloc_tests,
// history_tests) selects a test; each test command passes on HEAD; the benchmark command prints
// Google Benchmark JSON; the benchmarks regex selects benchmarks; every primary and reference
// benchmark exists; the oracle repeats its output for a seed; an editable file with
// instruction-set #if blocks has build.portable_args. Exit status 0 when nothing FAILs.
//
// `rlvr check --mutants [--max N] [--seed S]`: after those checks pass, how strong the gate is:
// a seeded sample of single-point mutants (repo/mutants.h) of each target's editable files, each
// judged as a candidate by the evaluator without sanitizers and benchmarks. A mutant the apply,
// format or build gate stops is "not viable"; one a test-running gate stops is "killed"; one
// that passes them all "survived": a wrong kernel the repository's tests cannot see. Prints the
// kill rate per target and each survivor's file:line and mutated line.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/base/run_lock.h"
#include "harness/bench/baseline.h"
#include "harness/bench/setup.h"
#include "harness/candidate/build.h"
#include "harness/candidate/run.h"
#include "harness/cli/commands.h"
#include "harness/git/head_files.h"
#include "harness/git/repo.h"
#include "harness/git/worktree.h"
#include "harness/patch/diff.h"
#include "harness/repo/mutants.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/isa_regions.h"
#include "harness/verify/object_audit.h"
#include "harness/verify/oracle.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

struct CheckArgs {
  std::string directory = ".";
  std::vector<std::string> targets;
  bool mutants = false;
  int max_mutants = 20;
  uint64_t seed = 1;
  int jobs = 2;
  double test_timeout = 60;
};

// The check lines and their tally.
class CheckReport {
 public:
  void Ok(const std::string& subject, const std::string& message) {
    Line("ok", subject, message);
    ++ok_;
  }
  void Warning(const std::string& subject, const std::string& message) {
    Line("warning", subject, message);
    ++warnings_;
  }
  void Fail(const std::string& subject, const std::string& message) {
    Line("FAIL", subject, message);
    ++failures_;
  }
  int failures() const { return failures_; }
  std::string Summary() const {
    return fmt::format("rlvr check: {} ok, {} warning(s), {} FAIL", ok_, warnings_, failures_);
  }

 private:
  static void Line(const char* status, const std::string& subject, const std::string& message) {
    std::printf("%-7s %s: %s\n", status, subject.c_str(), message.c_str());
    std::fflush(stdout);
  }
  int ok_ = 0, warnings_ = 0, failures_ = 0;
};

std::string Quote(const std::string& text) {
  return "\"" + text + "\"";
}

std::string JoinList(const std::vector<std::string>& items, size_t max_items = 12) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i)
    out += (out.empty() ? "" : ", ") + items[i];
  if (items.size() > max_items) out += fmt::format(", ... ({} in all)", items.size());
  return out;
}

bool OnPath(const std::string& program) {
  ProcessResult found = RunProcess({"sh", "-c", "command -v " + program});
  return found.ok() && !found.out.empty();
}

// Executables under a build dir (CMake's own files skipped), for "did you mean" messages.
std::vector<std::string> BuiltPrograms(const fs::path& build_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(build_dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (it->is_directory() && (name == "CMakeFiles" || name.starts_with("_deps"))) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || name.find('.') != std::string::npos) continue;
    struct stat info;
    if (stat(it->path().c_str(), &info) == 0 && (info.st_mode & S_IXUSR))
      out.push_back(fs::relative(it->path(), build_dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

ProcessResult RunListing(const fs::path& binary, std::vector<std::string> args) {
  args.insert(args.begin(), binary.string());
  RunOptions options;
  options.cwd = binary.parent_path();
  options.limits.wall_seconds = 60;
  return RunProcess(args, options);
}

// Test names ("Suite.Name") from --gtest_list_tests output.
std::vector<std::string> ParseTestList(const std::string& out) {
  std::vector<std::string> tests;
  std::string suite, line;
  std::istringstream lines(out);
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::string name = line.substr(0, line.find("  #"));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
    if (line[0] != ' ') {
      suite = name;
    } else if (!suite.empty()) {
      tests.push_back(suite + name.substr(name.find_first_not_of(' ')));
    }
  }
  return tests;
}

std::vector<std::string> SuitesOf(const std::vector<std::string>& tests) {
  std::vector<std::string> suites;
  for (const auto& test : tests) {
    std::string suite = test.substr(0, test.find('.'));
    if (std::find(suites.begin(), suites.end(), suite) == suites.end()) suites.push_back(suite);
  }
  return suites;
}

// Benchmark names from --benchmark_list_tests, without a time-mode suffix (as rlvr.json names
// them, see bench/run.h).
std::vector<std::string> ParseBenchmarkList(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    for (const char* suffix : {"/real_time", "/process_time", "/manual_time"}) {
      std::string s = suffix;
      if (line.size() > s.size() && line.ends_with(s)) line.resize(line.size() - s.size());
    }
    names.push_back(line);
  }
  return names;
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// build.source_subdir as written in rlvr.json (the config loader may not know it yet).
std::string SourceSubdir(const fs::path& root) {
  try {
    auto document = nlohmann::json::parse(ReadFileText(root / "rlvr.json"));
    auto build = document.find("build");
    if (build != document.end() && build->is_object()) {
      auto subdir = build->find("source_subdir");
      if (subdir != build->end() && subdir->is_string()) return subdir->get<std::string>();
    }
  } catch (const std::exception&) {
  }
  return "";
}

struct BuiltBinaries {
  bool built = false;
  fs::path tree;       // HEAD's worktree
  fs::path build_dir;  // HEAD's build dir (the evaluator's baseline build)
  fs::path test_binary;
  fs::path bench_binary;
  std::vector<std::string> tests;       // every test of the test binary ("Suite.Name")
  std::vector<std::string> benchmarks;  // every benchmark of the bench binary
  bool tests_answer = false;
  bool benchmarks_answer = false;
};

void CheckFiles(const Project& project, const Target& target, const HeadFiles& head,
                CheckReport& report) {
  const std::string subject = target.name + ".editable";
  for (const auto& glob : target.editable) {
    std::vector<std::string> files = head.Matching({glob});
    if (!files.empty()) {
      report.Ok(subject, fmt::format("{} at HEAD: {}", Quote(glob), JoinList(files)));
    } else if (fs::exists(project.root / glob)) {
      report.Fail(subject, fmt::format("{} exists but is not committed; candidates are applied to "
                                       "HEAD: git add {} && git commit",
                                       glob, glob));
    } else {
      report.Fail(subject, fmt::format("{} matches no file at HEAD; fix the path (repository-"
                                       "relative, globs allowed)",
                                       Quote(glob)));
    }
    for (const auto& file : files) {
      std::optional<std::string> text = head.Text(file);
      if (!text) continue;
      std::vector<bool> isa = IsaConditionalLines(*text);
      int count = static_cast<int>(std::count(isa.begin(), isa.end(), true));
      if (count == 0) continue;
      if (project.build.portable_args.empty()) {
        report.Warning(
            target.name + ".portable",
            fmt::format("{} has {} line(s) behind instruction-set #if blocks and build."
                        "portable_args is empty: edits there are refused as untestable. Set "
                        "build.portable_args to configure arguments that build without those "
                        "extensions (e.g. [\"-DCMAKE_C_FLAGS=-march=x86-64\", "
                        "\"-DCMAKE_CXX_FLAGS=-march=x86-64\"] or the project's own option)",
                        file, count));
      } else {
        report.Ok(target.name + ".portable",
                  fmt::format("{} has instruction-set #if blocks; portable build: {}", file,
                              JoinList(project.build.portable_args)));
      }
    }
  }
  for (const auto& file : target.context) {
    if (!head.Matching({file}).empty()) continue;
    report.Warning(target.name + ".context",
                   fmt::format("{} is not at HEAD: the model will not see it; fix the path or "
                               "commit the file",
                               Quote(file)));
  }
}

void CheckTools(const Project& project, const fs::path& root, CheckReport& report) {
  if (project.build.UsesBuildCommand()) {
    const std::string& program = project.build.command.front();
    if (program.find('/') != std::string::npos || OnPath(program))
      report.Ok("tools", fmt::format("build command {} found", Quote(program)));
    else
      report.Fail("tools", fmt::format("the build command's program {} is not on PATH: install it "
                                       "or fix build.command",
                                       Quote(program)));
  } else if (OnPath("cmake")) {
    report.Ok("tools", "cmake found");
  } else {
    report.Fail("tools", "cmake not found on PATH: install it (Debian: apt-get install cmake)");
  }
  const auto& args = project.build.configure_args;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-G" && args[i + 1] == "Ninja" && !OnPath("ninja"))
      report.Fail("tools",
                  "configure_args ask for -G Ninja but ninja is not on PATH: install it "
                  "(apt-get install ninja-build) or drop \"-G\", \"Ninja\"");
  }
  bool style = fs::exists(root / ".clang-format") || fs::exists(root / "_clang-format");
  bool formatter = OnPath("clang-format");
  if (style && formatter) {
    report.Ok("format",
              ".clang-format and clang-format present: candidates are formatted in the "
              "repository's style");
  } else if (style) {
    report.Warning("format",
                   ".clang-format exists but clang-format is not installed: install "
                   "it (apt-get install clang-format) or candidates are not formatted");
  } else {
    report.Warning("format",
                   fmt::format("no .clang-format in the repository{}: candidates are not "
                               "restyled; add a .clang-format if you want the format gate to "
                               "enforce a style",
                               formatter ? "" : " (and clang-format is not installed)"));
  }
}

void ProbeBinaries(const Project& project, const fs::path& root, const fs::path& build_dir,
                   BuiltBinaries& out, CheckReport& report);

BuiltBinaries BuildAndProbe(const Project& project, const fs::path& root, int jobs,
                            CheckReport& report) {
  BuiltBinaries out;
  std::string commit;
  try {
    commit = HeadCommit(root);
  } catch (const GitError& e) {
    report.Fail("build",
                fmt::format("no commit to build ({}): commit the sources first", e.what()));
    return out;
  }
  fs::path state_dir = root / ".rlvr";
  fs::path tree;
  try {
    EnsureStateDir(state_dir);
    tree = PrepareWorktree(root, state_dir, "baseline", commit);
  } catch (const std::exception& e) {
    report.Fail("build", fmt::format("cannot prepare a worktree of HEAD: {}", e.what()));
    return out;
  }
  fs::path build_dir = state_dir / "build" / "baseline";
  out.tree = tree;
  out.build_dir = build_dir;
  BuildRequest request;
  request.source_dir = tree;
  request.build_dir = build_dir;
  request.configure_args = project.build.configure_args;
  // Test and benchmark commands (ctest, scripts) may need any program of the build: build all.
  bool build_all = project.build.test_binary.empty() || project.build.bench_binary.empty();
  for (const auto& target : project.targets)
    build_all = build_all || !target.UsesGoogleTest() || target.UsesBenchCommand() ||
                target.oracle.enabled();
  if (!build_all)
    request.targets = {TargetNameOf(project.build.test_binary),
                       TargetNameOf(project.build.bench_binary)};
  request.jobs = jobs;
  request.source_subdir = SourceSubdir(root);
  std::fprintf(stderr, "rlvr check: building HEAD (%.12s) in %s\n", commit.c_str(),
               build_dir.c_str());
  if (project.build.UsesBuildCommand()) {
    BuildOutcome built = RunBuildCommand(request, project.build.command, project.build.artifacts);
    if (!built.ok) {
      report.Fail("build",
                  fmt::format("HEAD does not build with build.command ({}): {}; the first "
                              "error lines:\n{}",
                              JoinList(project.build.command), built.message, built.detail));
      return out;
    }
    out.built = true;
    report.Ok("build",
              fmt::format("HEAD builds with the build command ({:.1f} s{}) in {}{}", built.seconds,
                          built.reconfigured.empty() ? "" : "; " + built.reconfigured,
                          fs::relative(build_dir, root).string(),
                          project.build.artifacts.empty()
                              ? ""
                              : "; artifacts present: " + JoinList(project.build.artifacts)));
    std::vector<std::string> programs = project.build.artifacts;
    if (programs.empty()) programs = LinkedBinariesUnder(build_dir);
    std::vector<std::string> linked;
    for (const auto& program : programs)
      if (IsLinkedElf(build_dir / program)) linked.push_back(program);
    if (linked.empty())
      report.Warning("binary_audit",
                     "the build made no linked ELF program the binary audit could compare with "
                     "HEAD's (declare the test and benchmark programs in build.artifacts)");
    else
      report.Ok("binary_audit",
                fmt::format("the build gate compares {} with HEAD's build (the per-file object "
                            "audit needs a compile database, which a build command lacks)",
                            JoinList(linked)));
    if (!project.build.test_binary.empty() || !project.build.bench_binary.empty())
      ProbeBinaries(project, root, build_dir, out, report);
    return out;
  }
  BuildOutcome built = ConfigureAndBuild(request);
  if (!built.ok) {
    std::string hint;
    bool no_cmake = built.message.find("configure") != std::string::npos &&
                    request.source_subdir.empty() && !fs::exists(tree / "CMakeLists.txt");
    if (no_cmake && fs::exists(tree / "Makefile")) {
      hint =
          " (this repository builds with make and has no CMakeLists.txt at the root: rlvr "
          "builds CMake projects; wrap the Makefile in a small CMakeLists.txt or describe the "
          "build as a command once build.command is supported)";
    } else if (no_cmake) {
      hint =
          " (no CMakeLists.txt at the root: set build.source_subdir to the directory that "
          "holds it)";
    }
    report.Fail("build", fmt::format("HEAD does not build with rlvr.json's configure_args: "
                                     "{}{}; the first error lines:\n{}",
                                     built.message, hint, built.detail));
    return out;
  }
  out.built = true;
  report.Ok("build", fmt::format("HEAD configures and builds ({:.1f} s{}) in {}", built.seconds,
                                 built.reconfigured.empty() ? "" : "; " + built.reconfigured,
                                 fs::relative(build_dir, root).string()));
  if (fs::exists(build_dir / "compile_commands.json")) {
    report.Ok("compile_commands", "compile_commands.json present (the object audit reads it)");
  } else {
    report.Warning("compile_commands",
                   "no compile_commands.json in the build dir: the per-file object audit cannot "
                   "find the edited files' objects (the binary audit of the linked programs "
                   "still runs); add \"-DCMAKE_EXPORT_COMPILE_COMMANDS=ON\" to "
                   "build.configure_args");
  }
  ProbeBinaries(project, root, build_dir, out, report);
  return out;
}

// The GoogleTest and Google Benchmark binaries of build, when rlvr.json names them: they exist
// and list their tests / benchmarks.
void ProbeBinaries(const Project& project, const fs::path& root, const fs::path& build_dir,
                   BuiltBinaries& out, CheckReport& report) {
  std::vector<std::string> programs;
  auto missing = [&](const char* field, const std::string& value) {
    if (programs.empty()) programs = BuiltPrograms(build_dir);
    report.Fail(field, fmt::format("{} was not built at {} (relative to the build dir); programs "
                                   "the build made: {}",
                                   Quote(value), fs::relative(build_dir, root).string(),
                                   programs.empty() ? "(none)" : JoinList(programs)));
  };
  out.test_binary = build_dir / project.build.test_binary;
  out.bench_binary = build_dir / project.build.bench_binary;
  if (project.build.test_binary.empty()) {
    report.Ok("build.test_binary", "none: the targets' tests are commands (test_commands)");
  } else if (!fs::exists(out.test_binary)) {
    missing("build.test_binary", project.build.test_binary);
  } else {
    ProcessResult listed = RunListing(out.test_binary, {"--gtest_list_tests"});
    out.tests = ParseTestList(listed.out);
    if (listed.ok() && !out.tests.empty()) {
      out.tests_answer = true;
      report.Ok("build.test_binary",
                fmt::format("{} lists {} tests in {} suites", project.build.test_binary,
                            out.tests.size(), SuitesOf(out.tests).size()));
    } else {
      report.Fail("build.test_binary",
                  fmt::format("{} does not answer --gtest_list_tests ({}{}): the tests gate runs "
                              "GoogleTest programs; name one in build.test_binary",
                              project.build.test_binary, listed.Describe(),
                              listed.ok() ? ", no tests listed" : ""));
    }
  }
  if (project.build.bench_binary.empty()) {
    report.Ok("build.bench_binary", "none: the targets' benchmarks are commands (bench_command)");
  } else if (!fs::exists(out.bench_binary)) {
    missing("build.bench_binary", project.build.bench_binary);
  } else {
    ProcessResult listed = RunListing(out.bench_binary, {"--benchmark_list_tests"});
    out.benchmarks = ParseBenchmarkList(listed.out);
    if (listed.ok() && !out.benchmarks.empty()) {
      out.benchmarks_answer = true;
      report.Ok(
          "build.bench_binary",
          fmt::format("{} lists {} benchmarks", project.build.bench_binary, out.benchmarks.size()));
    } else {
      report.Fail("build.bench_binary",
                  fmt::format("{} does not answer --benchmark_list_tests ({}{}): the benchmark "
                              "gate runs Google Benchmark programs; name one in "
                              "build.bench_binary",
                              project.build.bench_binary, listed.Describe(),
                              listed.ok() ? ", no benchmarks listed" : ""));
    }
  }
}

// Each test command of `target` passes on HEAD's build (as the tests gate runs it, without
// RLVR_TEST_SEED).
void CheckTestCommands(const Target& target, const BuiltBinaries& built, double timeout,
                       CheckReport& report) {
  for (const auto& test : target.test_commands) {
    const std::string subject = fmt::format("{}.test_commands[{}]", target.name, test.name);
    TestRunResult run =
        RunTestCommand(test, built.tree, built.build_dir, std::nullopt, timeout, false);
    if (run.ok)
      report.Ok(subject, fmt::format("`{}` passes on HEAD ({:.1f} s)", fmt::join(test.command, " "),
                                     run.seconds));
    else
      report.Fail(subject, fmt::format("fails on HEAD, so every candidate would fail: {}; fix the "
                                       "command (it runs in the tree with {{build_dir}} = {}):\n{}",
                                       run.message, built.build_dir.string(), run.detail));
  }
}

// The benchmark command runs on HEAD's build, prints Google Benchmark JSON, the target's regex
// selects some of its benchmarks and every primary among them.
void CheckBenchCommand(const Target& target, const BuiltBinaries& built, CheckReport& report) {
  const std::string subject = target.name + ".bench_command";
  RunOptions options;
  options.cwd = built.tree;
  options.limits.wall_seconds = 600;
  options.max_output_bytes = size_t{64} << 20;
  ProcessResult run =
      RunProcess(ExpandCommand(target.bench_command.command, built.tree, built.build_dir), options);
  if (!run.ok()) {
    report.Fail(subject, fmt::format("fails on HEAD: {}; the first lines of its output:\n{}",
                                     run.Describe(), (run.out + run.err).substr(0, 1500)));
    return;
  }
  std::vector<std::string> names;
  std::string parse_error;
  try {
    for (const auto& entry : ParseBenchmarkJson(run.out)) names.push_back(entry.name);
  } catch (const std::exception& e) {
    parse_error = e.what();
  }
  if (names.empty()) {
    report.Fail(subject,
                fmt::format("printed no Google Benchmark JSON benchmarks ({}): it must "
                            "print {{\"benchmarks\": [{{\"name\", \"real_time\", "
                            "\"time_unit\"...}}]}} on stdout (convert the "
                            "program's own format with a small script); its output "
                            "begins: {}",
                            parse_error.empty() ? "an empty list" : parse_error,
                            Quote(run.out.substr(0, std::min(run.out.find('\n'), size_t{160})))));
    return;
  }
  report.Ok(subject, fmt::format("runs on HEAD and reports {} benchmark(s)", names.size()));
  std::vector<std::string> selected;
  try {
    std::regex filter(target.benchmarks);
    for (const auto& name : names)
      if (std::regex_search(name, filter)) selected.push_back(name);
  } catch (const std::regex_error& e) {
    report.Fail(target.name + ".benchmarks",
                fmt::format("{} is not a valid regex: {}", Quote(target.benchmarks), e.what()));
    return;
  }
  if (selected.empty())
    report.Fail(target.name + ".benchmarks",
                fmt::format("regex {} selects none of the command's benchmarks: {}",
                            Quote(target.benchmarks), JoinList(names)));
  else
    report.Ok(target.name + ".benchmarks",
              fmt::format("regex {} selects {} benchmark(s): {}", Quote(target.benchmarks),
                          selected.size(), JoinList(selected, 6)));
  for (const auto& primary : target.primary) {
    if (Contains(selected, primary))
      report.Ok(target.name + ".primary", fmt::format("{} exists", primary));
    else
      report.Fail(
          target.name + ".primary",
          fmt::format("the bench command reports no {}{}; choose one of: {}", Quote(primary),
                      Contains(names, primary) ? " selected by the benchmarks regex" : "",
                      JoinList(selected.empty() ? names : selected)));
  }
}

// The oracle runs on HEAD and prints the same for the same seed twice (else every candidate
// would differ from HEAD).
void CheckOracle(const Target& target, const BuiltBinaries& built, double timeout,
                 CheckReport& report) {
  const std::string subject = target.name + ".oracle";
  if (!target.oracle.enabled()) {
    report.Ok(subject,
              "none (optional: a program printing the kernel's outputs for seeded "
              "inputs catches bugs the tests miss)");
    return;
  }
  OracleConfig once = target.oracle;
  once.seeds = 1;
  OracleRun run = RunDifferentialOracle(once, built.tree, built.build_dir, built.tree,
                                        built.build_dir, 1, timeout);
  if (run.ok)
    report.Ok(subject, fmt::format("`{}` runs on HEAD and repeats its output for a seed",
                                   fmt::join(target.oracle.command, " ")));
  else
    report.Fail(subject, fmt::format("{} — two runs of HEAD with the same seed must print the "
                                     "same values (within the tolerance)\n{}",
                                     run.message, run.detail.substr(0, 1500)));
}

void CheckFilters(const Project& project, const Target& target, const BuiltBinaries& built,
                  CheckReport& report) {
  std::vector<std::pair<const char*, const std::string*>> filters = {
      {"tests", &target.tests},
      {"alloc_tests", &target.alloc_tests},
      {"history_tests", &target.history_tests}};
  for (const auto& [field, filter] : filters) {
    std::string subject = target.name + "." + field;
    if (filter->empty()) {
      if (std::string(field) == "tests" && !target.UsesGoogleTest())
        report.Ok(subject, fmt::format("{} test command(s) (below)", target.test_commands.size()));
      else if (std::string(field) != "tests")
        report.Ok(subject, "none (the gate that uses it says it has nothing to run)");
      continue;
    }
    if (!built.tests_answer) {
      report.Warning(subject, fmt::format("filter {} not checked: the test binary could not "
                                          "list its tests (see above)",
                                          Quote(*filter)));
      continue;
    }
    ProcessResult listed =
        RunListing(built.test_binary, {"--gtest_list_tests", "--gtest_filter=" + *filter});
    std::vector<std::string> matched = ParseTestList(listed.out);
    if (matched.empty()) {
      report.Fail(
          subject,
          fmt::format("filter {} matches no test of {}; a GoogleTest filter is "
                      "Suite.Name patterns joined by ':' (e.g. \"Dot*\"); suites there: {}",
                      Quote(*filter), project.build.test_binary, JoinList(SuitesOf(built.tests))));
    } else {
      report.Ok(subject, fmt::format("filter {} selects {} test(s): {}", Quote(*filter),
                                     matched.size(), JoinList(matched, 4)));
    }
  }
  if (target.UsesBenchCommand()) {
    CheckBenchCommand(target, built, report);
    return;
  }
  const std::string subject = target.name + ".benchmarks";
  if (!built.benchmarks_answer) {
    report.Warning(subject,
                   "benchmarks, primary and references not checked: the benchmark "
                   "binary could not list its benchmarks (see above)");
    return;
  }
  ProcessResult listed = RunListing(
      built.bench_binary, {"--benchmark_list_tests", "--benchmark_filter=" + target.benchmarks});
  std::vector<std::string> selected = ParseBenchmarkList(listed.out);
  if (!listed.ok() || selected.empty()) {
    report.Fail(subject, fmt::format("regex {} selects no benchmark of {}{}; benchmarks there: {}",
                                     Quote(target.benchmarks), project.build.bench_binary,
                                     listed.ok() ? "" : " (" + listed.Describe() + ")",
                                     JoinList(built.benchmarks)));
  } else {
    report.Ok(subject, fmt::format("regex {} selects {} benchmark(s): {}", Quote(target.benchmarks),
                                   selected.size(), JoinList(selected, 6)));
  }
  for (const auto& primary : target.primary) {
    if (Contains(selected, primary)) {
      report.Ok(target.name + ".primary", fmt::format("{} exists", primary));
    } else if (Contains(built.benchmarks, primary)) {
      report.Fail(target.name + ".primary",
                  fmt::format("{} exists but the benchmarks regex {} does not select it; widen "
                              "the regex",
                              primary, Quote(target.benchmarks)));
    } else {
      report.Fail(target.name + ".primary",
                  fmt::format("no benchmark {} in {}; choose one of: {}", Quote(primary),
                              project.build.bench_binary,
                              JoinList(selected.empty() ? built.benchmarks : selected)));
    }
  }
  for (const auto& reference : target.references) {
    if (Contains(built.benchmarks, reference)) {
      report.Ok(target.name + ".references", fmt::format("{} exists", reference));
    } else {
      report.Fail(target.name + ".references",
                  fmt::format("no benchmark {} in {}; references must be benchmarks of the same "
                              "binary (or drop it)",
                              Quote(reference), project.build.bench_binary));
    }
  }
  if (fs::exists(BaselinePath(project.root, target.name))) {
    report.Ok(target.name + ".baseline",
              fs::relative(BaselinePath(project.root, target.name), project.root).string());
  } else {
    report.Warning(target.name + ".baseline",
                   fmt::format("no stored baseline yet: `rlvr baseline --target {} --commit` "
                               "records one (reports measure speed-ups from it)",
                               target.name));
  }
}

// ---- --mutants --------------------------------------------------------------------------

struct MutantTally {
  int generated = 0, killed = 0, survived = 0, not_viable = 0;
};

bool IsMutableSource(const std::string& path) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl"})
    if (path.ends_with(ext)) return true;
  return false;
}

MutantTally RunMutants(const Project& project, const Target& target, const CheckArgs& args) {
  MutantTally tally;
  HeadFiles head(project.root);
  std::vector<MutantSource> sources;
  int excluded = 0;
  for (const auto& file : head.Matching(target.editable)) {
    if (!IsMutableSource(file)) continue;
    std::optional<std::string> text = head.Text(file);
    if (!text) continue;
    MutantSource source{file, *text, {}};
    if (project.build.portable_args.empty()) {
      source.excluded_lines = IsaConditionalLines(*text);
      excluded += static_cast<int>(
          std::count(source.excluded_lines.begin(), source.excluded_lines.end(), true));
    }
    sources.push_back(std::move(source));
  }
  std::vector<Mutant> mutants =
      SampleMutants(sources, static_cast<size_t>(std::max(0, args.max_mutants)), args.seed);
  std::printf("%s: %zu mutant(s) of %s (seed %llu%s)\n", target.name.c_str(), mutants.size(),
              JoinList(head.Matching(target.editable)).c_str(),
              static_cast<unsigned long long>(args.seed),
              excluded > 0 ? fmt::format("; {} line(s) behind instruction-set #if skipped: "
                                         "this build never compiles them",
                                         excluded)
                                 .c_str()
                           : "");
  std::fflush(stdout);
  EvaluateOptions options;
  options.benchmark = false;
  options.sanitizers = false;
  options.jobs = args.jobs;
  options.seed = args.seed == 0 ? 1 : args.seed;  // the same test inputs for every mutant
  options.test_timeout_seconds = args.test_timeout;
  Evaluator evaluator(project, options);
  std::vector<const Mutant*> survivors;
  for (size_t i = 0; i < mutants.size(); ++i) {
    const Mutant& mutant = mutants[i];
    std::string before = *head.Text(mutant.path);
    std::string diff = GitDiff({{mutant.path, before, mutant.mutated_text}});
    Verdict verdict = evaluator.Evaluate(target, diff);
    ++tally.generated;
    std::string outcome;
    const std::string& gate = verdict.failed_gate;
    if (gate.empty()) {
      ++tally.survived;
      survivors.push_back(&mutant);
      outcome = "SURVIVED";
    } else if (gate == "scope" || gate == "apply" || gate == "format" || gate == "build") {
      ++tally.not_viable;
      outcome = fmt::format("not viable ({})", gate);
    } else {
      ++tally.killed;
      outcome = fmt::format("killed ({})", gate);
    }
    std::printf("  [%zu/%zu] %-22s %s\n", i + 1, mutants.size(), outcome.c_str(),
                mutant.Describe().c_str());
    std::fflush(stdout);
  }
  int viable = tally.killed + tally.survived;
  std::printf("%s: %d mutants: %d killed, %d survived, %d not viable; kill rate %s\n",
              target.name.c_str(), tally.generated, tally.killed, tally.survived, tally.not_viable,
              viable == 0
                  ? "n/a (no viable mutant)"
                  : fmt::format("{}% ({} of {} viable)", (100 * tally.killed + viable / 2) / viable,
                                tally.killed, viable)
                        .c_str());
  if (!survivors.empty()) {
    std::printf("surviving mutants (wrong kernels the tests of %s do not catch):\n",
                target.name.c_str());
    for (const Mutant* m : survivors) {
      std::printf("  %s:%d\n    - %s\n    + %s\n", m->path.c_str(), m->site.line,
                  m->original_line.c_str(), m->mutated_line.c_str());
    }
  }
  std::fflush(stdout);
  return tally;
}

void RunCheck(const CheckArgs& args) {
  if (args.max_mutants < 1) throw CLI::RuntimeError("rlvr check: --max must be at least 1", 2);
  auto root = FindRepoRoot(fs::absolute(args.directory));
  if (!root)
    throw CLI::RuntimeError(
        fmt::format("rlvr check: {} is not inside a git repository", args.directory), 2);
  CheckReport report;
  Project project;
  try {
    project = LoadProject(*root);
  } catch (const ConfigError& e) {
    report.Fail("rlvr.json", fmt::format("{} (`rlvr init` writes a starting one)", e.what()));
    throw CLI::RuntimeError(report.Summary(), 1);
  }
  std::vector<const Target*> targets;
  try {
    for (const auto& name : args.targets) targets.push_back(&project.GetTarget(name));
  } catch (const ConfigError& e) {
    throw CLI::RuntimeError(std::string("rlvr check: ") + e.what(), 2);
  }
  if (args.targets.empty()) {
    for (const auto& target : project.targets) targets.push_back(&target);
  }
  std::vector<std::string> names;
  for (const auto* t : targets) names.push_back(t->name);
  if (targets.empty()) {
    report.Fail("rlvr.json", "no targets: add one (`rlvr init --force` writes a starting config)");
    throw CLI::RuntimeError(report.Summary(), 1);
  }
  report.Ok("rlvr.json", fmt::format("parses; target(s) {}", JoinList(names)));
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("check", *root);
  std::unique_ptr<HeadFiles> head;
  try {
    head = std::make_unique<HeadFiles>(*root);
  } catch (const std::exception& e) {
    report.Fail("git", fmt::format("cannot read HEAD ({}): commit the sources first", e.what()));
    throw CLI::RuntimeError(report.Summary(), 1);
  }
  for (const auto* target : targets) CheckFiles(project, *target, *head, report);
  CheckTools(project, *root, report);
  // Placeholders `rlvr init` left for the user.
  bool placeholders = false;
  for (const auto& [field, value] :
       {std::pair{"build.test_binary", &project.build.test_binary},
        std::pair{"build.bench_binary", &project.build.bench_binary}}) {
    if (!value->starts_with("TODO")) continue;
    placeholders = true;
    report.Fail(field, fmt::format("still the placeholder {}: name the program, relative to the "
                                   "build dir",
                                   Quote(*value)));
  }
  for (const auto* target : targets) {
    if (target->description.starts_with("TODO"))
      report.Warning(target->name + ".description",
                     "still TODO: say what the kernel computes (the model reads it)");
  }
  BuiltBinaries built;
  if (!placeholders) built = BuildAndProbe(project, *root, args.jobs, report);
  if (built.built) {
    for (const auto* target : targets) {
      CheckFilters(project, *target, built, report);
      CheckTestCommands(*target, built, args.test_timeout, report);
      CheckOracle(*target, built, args.test_timeout, report);
    }
  } else {
    report.Warning("targets", "filters, benchmarks and primaries not checked: HEAD did not build");
  }
  std::printf("%s\n", report.Summary().c_str());
  if (report.failures() > 0)
    throw CLI::RuntimeError("fix the FAIL lines above, then run rlvr check again", 1);
  if (!args.mutants) return;
  std::printf(
      "\nmutants: single-point changes of the editable files, each judged by the apply, "
      "build and test gates (no sanitizers, no benchmarks)\n");
  for (const auto* target : targets) RunMutants(project, *target, args);
}

}  // namespace

void AddCheckCommand(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* command = app.add_subcommand(
      "check", "verify that rlvr.json, the build, the binaries and every filter work");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->add_option("--target,-t", args->targets, "target name (repeatable; default: all)");
  command->add_flag("--mutants", args->mutants,
                    "also judge a sample of single-point mutants of the editable files and "
                    "report the tests' kill rate");
  command->add_option("--max", args->max_mutants, "mutants per target (default 20)");
  command->add_option("--seed", args->seed, "seed of the mutant sample and of the test inputs");
  command->add_option("--jobs,-j", args->jobs, "build parallelism");
  command->add_option("--test-timeout", args->test_timeout,
                      "seconds per test run of a mutant (a mutant that hangs is killed by it)");
  command->callback([args] { ReportFailures([&] { RunCheck(*args); }); });
}

}  // namespace rlvr
