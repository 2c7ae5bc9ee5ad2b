#include "harness/repo/check.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/base/process.h"
#include "harness/base/write_confinement.h"
#include "harness/bench/baseline.h"
#include "harness/candidate/build.h"
#include "harness/candidate/run.h"
#include "harness/git/head_files.h"
#include "harness/repo/head_build.h"
#include "harness/repo/oracle_reach.h"
#include "harness/verify/drivable_functions.h"
#include "harness/verify/isa_regions.h"
#include "harness/verify/oracle.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// Whether `program` is found on PATH.
bool OnPath(const std::string& program) {
  ProcessResult found = RunProcess({"sh", "-c", "command -v " + program});
  return found.ok() && !found.out.empty();
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The target's editable globs match committed files (and their instruction-set #if blocks have a
// portable build); its context files are at HEAD.
void CheckFiles(const Project& project, const Target& target, const HeadFiles& head,
                CheckReport& report) {
  const std::string subject = target.name + ".editable";
  for (const auto& glob : target.editable) {
    std::vector<std::string> files = head.Matching({glob});
    if (!files.empty()) {
      report.Ok(subject, fmt::format("{} at HEAD: {}", QuoteForCheck(glob), JoinForCheck(files)));
    } else if (fs::exists(project.root / glob)) {
      report.Fail(subject, fmt::format("{} exists but is not committed; candidates are applied to "
                                       "HEAD: git add {} && git commit",
                                       glob, glob));
    } else {
      report.Fail(subject, fmt::format("{} matches no file at HEAD; fix the path (repository-"
                                       "relative, globs allowed)",
                                       QuoteForCheck(glob)));
    }
    for (const auto& file : files) {
      std::optional<std::string> text = head.Text(file);
      if (!text) continue;
      std::vector<bool> isa = IsaConditionalLines(*text);
      int count = static_cast<int>(std::count(isa.begin(), isa.end(), true));
      if (count == 0) continue;
      if (project.build.UsesBuildCommand()) {
        if (project.build.isa_command.empty()) {
          report.Warning(
              target.name + ".portable",
              fmt::format("{} has {} line(s) behind instruction-set #if blocks and build."
                          "isa_command is empty: edits there are refused as untestable. Set "
                          "build.isa_command to the build command with {{march}} where the "
                          "-march= value goes (e.g. [\"make\", \"BUILD={{build_dir}}\", "
                          "\"CFLAGS=-O3 -march={{march}}\", \"all\"]): x86-64-v2, v3 and v4 are "
                          "then built and tested with it",
                          file, count));
        } else {
          report.Ok(target.name + ".portable",
                    fmt::format("{} has instruction-set #if blocks; levels built with: {}", file,
                                JoinForCheck(project.build.isa_command)));
        }
      } else if (project.build.portable_args.empty()) {
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
                              JoinForCheck(project.build.portable_args)));
      }
    }
  }
  for (const auto& file : target.context) {
    if (!head.Matching({file}).empty()) continue;
    report.Warning(target.name + ".context",
                   fmt::format("{} is not at HEAD: the model will not see it; fix the path or "
                               "commit the file",
                               QuoteForCheck(file)));
  }
}

// The build's programs are on PATH (cmake, ninja when asked for, or the build command's), and the
// format gate has a style and clang-format.
void CheckTools(const Project& project, const fs::path& root, CheckReport& report) {
  if (project.build.UsesBuildCommand()) {
    const std::string& program = project.build.command.front();
    if (program.find('/') != std::string::npos || OnPath(program))
      report.Ok("tools", fmt::format("build command {} found", QuoteForCheck(program)));
    else
      report.Fail("tools", fmt::format("the build command's program {} is not on PATH: install it "
                                       "or fix build.command",
                                       QuoteForCheck(program)));
  } else if (OnPath("cmake")) {
    report.Ok("tools", "cmake found");
  } else {
    report.Fail("tools", "cmake not found on PATH: install it (Debian: apt-get install cmake)");
  }
  // Candidate code runs with writes confined to its own trees where the kernel allows.
  if (WriteConfinementAvailable())
    report.Ok("sandbox", WriteConfinementStatus());
  else
    report.Warning("sandbox", WriteConfinementStatus() +
                                  ": only the static checks stand between a candidate and files "
                                  "outside its tree (Linux 5.13+ with Landlock enabled fixes it)");
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

// Each test command of `target` passes on HEAD's build (as the tests gate runs it, without
// RLVR_TEST_SEED).
void CheckTestCommands(const Target& target, const HeadBuild& built, double timeout,
                       CheckReport& report) {
  for (const auto& test : target.test_commands) {
    const std::string subject = fmt::format("{}.test_commands[{}]", target.name, test.name);
    TestRunResult run =
        RunTestCommand(test, built.tree, built.build_dir, std::nullopt, timeout, false);
    if (run.ok)
      report.Ok(subject, fmt::format("`{}` passes on HEAD ({:.1f} s)", fmt::join(test.command, " "),
                                     run.seconds));
    else
      report.Fail(subject,
                  fmt::format("fails on HEAD, so every candidate would fail: {}{}; fix the "
                              "command (it runs in the tree with {{build_dir}} = {}):\n{}",
                              run.message, OffOptionsHint(built.build_dir),
                              built.build_dir.string(), run.detail));
  }
}

// The benchmark command runs on HEAD's build, prints Google Benchmark JSON, the target's regex
// selects some of its benchmarks and every primary among them.
void CheckBenchCommand(const Target& target, const HeadBuild& built, CheckReport& report) {
  const std::string subject = target.name + ".bench_command";
  RunOptions options;
  options.cwd = built.tree;
  options.limits.wall_seconds = 600;
  options.max_output_bytes = size_t{64} << 20;
  ProcessResult run =
      RunProcess(ExpandCommand(target.bench_command.command, built.tree, built.build_dir), options);
  if (!run.ok()) {
    report.Fail(subject, fmt::format("fails on HEAD: {}{}; the first lines of its output:\n{}",
                                     run.Describe(), OffOptionsHint(built.build_dir),
                                     (run.out + run.err).substr(0, 1500)));
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
    report.Fail(
        subject,
        fmt::format("printed no Google Benchmark JSON benchmarks ({}): it must "
                    "print {{\"benchmarks\": [{{\"name\", \"real_time\", "
                    "\"time_unit\"...}}]}} on stdout (convert the "
                    "program's own format with a small script); its output "
                    "begins: {}",
                    parse_error.empty() ? "an empty list" : parse_error,
                    QuoteForCheck(run.out.substr(0, std::min(run.out.find('\n'), size_t{160})))));
    return;
  }
  report.Ok(subject, fmt::format("runs on HEAD and reports {} benchmark(s)", names.size()));
  std::vector<std::string> selected;
  try {
    std::regex filter(target.benchmarks);
    for (const auto& name : names)
      if (std::regex_search(name, filter)) selected.push_back(name);
  } catch (const std::regex_error& e) {
    report.Fail(
        target.name + ".benchmarks",
        fmt::format("{} is not a valid regex: {}", QuoteForCheck(target.benchmarks), e.what()));
    return;
  }
  if (selected.empty())
    report.Fail(target.name + ".benchmarks",
                fmt::format("regex {} selects none of the command's benchmarks: {}",
                            QuoteForCheck(target.benchmarks), JoinForCheck(names)));
  else
    report.Ok(target.name + ".benchmarks",
              fmt::format("regex {} selects {} benchmark(s): {}", QuoteForCheck(target.benchmarks),
                          selected.size(), JoinForCheck(selected, 6)));
  for (const auto& primary : target.primary) {
    if (Contains(selected, primary))
      report.Ok(target.name + ".primary", fmt::format("{} exists", primary));
    else
      report.Fail(target.name + ".primary",
                  fmt::format("the bench command reports no {}{}; choose one of: {}",
                              QuoteForCheck(primary),
                              Contains(names, primary) ? " selected by the benchmarks regex" : "",
                              JoinForCheck(selected.empty() ? names : selected)));
  }
}

// The oracle runs on HEAD and prints the same for the same seed twice (else every candidate
// would differ from HEAD); then it must tell a mutant of the target's code from HEAD (else it does
// not run that code, oracle_reach.h).
void CheckOracle(const Project& project, const Target& target, const HeadBuild& built, int jobs,
                 double timeout, CheckReport& report) {
  const std::string subject = target.name + ".oracle";
  if (!target.oracle.enabled()) {
    std::string drivable =
        "its functions are listed only with a compile_commands.json (a build command's compile "
        "commands are recorded at the first evaluation)";
    if (std::filesystem::exists(built.build_dir / "compile_commands.json")) {
      try {
        drivable = DescribeDrivable(
            ListDrivableFunctions(built.build_dir, built.tree, target.editable, timeout));
      } catch (const std::exception& e) {
        drivable = std::string("its functions could not be listed: ") + e.what();
      }
    }
    report.Ok(subject,
              "none configured: the tests gate runs the default oracle on the edited functions "
              "(it " +
                  drivable +
                  "); a program printing the kernel's outputs for seeded inputs can replace it");
    return;
  }
  OracleConfig once = target.oracle;
  once.seeds = 1;
  OracleRun run = RunDifferentialOracle(once, built.tree, built.build_dir, built.tree,
                                        built.build_dir, 1, timeout);
  if (!run.ok) {
    report.Fail(subject, fmt::format("{} — two runs of HEAD with the same seed must print the "
                                     "same values (within the tolerance)\n{}",
                                     run.message, run.detail.substr(0, 1500)));
    return;
  }
  report.Ok(subject, fmt::format("`{}` runs on HEAD and repeats its output for a seed",
                                 fmt::join(target.oracle.command, " ")));
  OracleReach reach = CheckOracleReach(project, target, built.tree, built.build_dir, jobs, timeout);
  switch (reach.outcome) {
    case OracleReach::Outcome::kNoticed:
      report.Ok(subject, reach.message);
      break;
    case OracleReach::Outcome::kNotNoticed:
      report.Fail(subject, reach.message);
      break;
    case OracleReach::Outcome::kUnknown:
      report.Warning(subject, reach.message);
      break;
  }
}

// The target's test filters select tests of HEAD's test binary; its benchmarks regex, primaries and
// references name benchmarks of the bench binary (or the bench command's); a stored baseline.
void CheckFilters(const Project& project, const Target& target, const HeadBuild& built,
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
                                          QuoteForCheck(*filter)));
      continue;
    }
    ProcessResult listed =
        RunListing(built.test_binary, {"--gtest_list_tests", "--gtest_filter=" + *filter});
    std::vector<std::string> matched = ParseTestList(listed.out);
    if (matched.empty()) {
      report.Fail(subject,
                  fmt::format("filter {} matches no test of {}; a GoogleTest filter is "
                              "Suite.Name patterns joined by ':' (e.g. \"Dot*\"); suites there: {}",
                              QuoteForCheck(*filter), project.build.test_binary,
                              JoinForCheck(SuitesOf(built.tests))));
    } else {
      report.Ok(subject, fmt::format("filter {} selects {} test(s): {}", QuoteForCheck(*filter),
                                     matched.size(), JoinForCheck(matched, 4)));
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
                                     QuoteForCheck(target.benchmarks), project.build.bench_binary,
                                     listed.ok() ? "" : " (" + listed.Describe() + ")",
                                     JoinForCheck(built.benchmarks)));
  } else {
    report.Ok(subject,
              fmt::format("regex {} selects {} benchmark(s): {}", QuoteForCheck(target.benchmarks),
                          selected.size(), JoinForCheck(selected, 6)));
  }
  for (const auto& primary : target.primary) {
    if (Contains(selected, primary)) {
      report.Ok(target.name + ".primary", fmt::format("{} exists", primary));
    } else if (Contains(built.benchmarks, primary)) {
      report.Fail(target.name + ".primary",
                  fmt::format("{} exists but the benchmarks regex {} does not select it; widen "
                              "the regex",
                              primary, QuoteForCheck(target.benchmarks)));
    } else {
      report.Fail(target.name + ".primary",
                  fmt::format("no benchmark {} in {}; choose one of: {}", QuoteForCheck(primary),
                              project.build.bench_binary,
                              JoinForCheck(selected.empty() ? built.benchmarks : selected)));
    }
  }
  for (const auto& reference : target.references) {
    if (Contains(built.benchmarks, reference)) {
      report.Ok(target.name + ".references", fmt::format("{} exists", reference));
    } else {
      report.Fail(target.name + ".references",
                  fmt::format("no benchmark {} in {}; references must be benchmarks of the same "
                              "binary (or drop it)",
                              QuoteForCheck(reference), project.build.bench_binary));
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

}  // namespace

RepositoryCheck::RepositoryCheck(fs::path root, CheckOptions options)
    : root_(std::move(root)), options_(std::move(options)) {}

std::optional<CheckStop> RepositoryCheck::CheckConfig() {
  try {
    project_ = LoadProject(root_);
  } catch (const ConfigError& e) {
    report_.Fail("rlvr.json", fmt::format("{} (`rlvr init` writes a starting one)", e.what()));
    return CheckStop{report_.Summary(), 1};
  }
  targets_.clear();
  try {
    for (const auto& name : options_.targets) targets_.push_back(&project_.GetTarget(name));
  } catch (const ConfigError& e) {
    return CheckStop{std::string("rlvr check: ") + e.what(), 2};
  }
  if (options_.targets.empty()) {
    for (const auto& target : project_.targets) targets_.push_back(&target);
  }
  std::vector<std::string> names;
  for (const auto* t : targets_) names.push_back(t->name);
  if (targets_.empty()) {
    report_.Fail("rlvr.json", "no targets: add one (`rlvr init --force` writes a starting config)");
    return CheckStop{report_.Summary(), 1};
  }
  report_.Ok("rlvr.json", fmt::format("parses; target(s) {}", JoinForCheck(names)));
  return std::nullopt;
}

std::optional<CheckStop> RepositoryCheck::CheckHead() {
  std::unique_ptr<HeadFiles> head;
  try {
    head = std::make_unique<HeadFiles>(root_);
  } catch (const std::exception& e) {
    report_.Fail("git", fmt::format("cannot read HEAD ({}): commit the sources first", e.what()));
    return CheckStop{report_.Summary(), 1};
  }
  for (const auto* target : targets_) CheckFiles(project_, *target, *head, report_);
  CheckTools(project_, root_, report_);
  // Placeholders `rlvr init` left for the user.
  bool placeholders = false;
  for (const auto& [field, value] :
       {std::pair{"build.test_binary", &project_.build.test_binary},
        std::pair{"build.bench_binary", &project_.build.bench_binary}}) {
    if (!value->starts_with("TODO")) continue;
    placeholders = true;
    report_.Fail(field, fmt::format("still the placeholder {}: name the program, relative to the "
                                    "build dir",
                                    QuoteForCheck(*value)));
  }
  for (const auto* target : targets_) {
    if (target->description.starts_with("TODO"))
      report_.Warning(target->name + ".description",
                      "still TODO: say what the kernel computes (the model reads it)");
  }
  HeadBuild built;
  if (!placeholders) built = BuildAndProbe(project_, root_, options_.jobs, report_);
  if (built.built) {
    for (const auto* target : targets_) {
      CheckFilters(project_, *target, built, report_);
      CheckTestCommands(*target, built, options_.test_timeout, report_);
      CheckOracle(project_, *target, built, options_.jobs, options_.test_timeout, report_);
    }
  } else {
    report_.Warning("targets", "filters, benchmarks and primaries not checked: HEAD did not build");
  }
  std::printf("%s\n", report_.Summary().c_str());
  if (report_.failures() > 0)
    return CheckStop{"fix the FAIL lines above, then run rlvr check again", 1};
  return std::nullopt;
}

}  // namespace rlvr
