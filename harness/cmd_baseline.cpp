// `rlvr baseline [--target NAME]... [--rounds N] [--commit] [-C DIR]`: builds the committed HEAD
// and records baselines/<target>.json (DESIGN.md) for each target's benchmarks and references.
// Commits nothing unless --commit is given; then one commit holding only the baseline files.
// Repositories built by a command (rlvr.json build.command) or benchmarked by a command
// (bench_command) are built the same way the evaluator builds them (into .rlvr/build/baseline) and
// measured by running the target's bench command as it is, rlvr selecting the benchmarks.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "harness/baseline.h"
#include "harness/bench_setup.h"
#include "harness/build.h"
#include "harness/commands.h"
#include "harness/process.h"
#include "harness/repo.h"
#include "harness/run_lock.h"
#include "harness/utc_time.h"
#include "harness/worktree.h"

namespace rlvr {

namespace {

struct BaselineArgs {
  std::vector<std::string> targets;
  int rounds = 10;
  double min_time = kBenchMinTimeSeconds;
  std::string metric = "real_time";
  bool commit = false;
  std::string bench;
  int jobs = 2;
  std::string directory = ".";
};

void CommitBaselines(const std::filesystem::path& root, const std::vector<std::string>& paths,
                     const std::string& message) {
  RunOptions options;
  options.cwd = root;
  std::vector<std::string> add = {"git", "add", "--"};
  add.insert(add.end(), paths.begin(), paths.end());
  ProcessResult added = RunProcess(add, options);
  if (!added.ok()) {
    throw CLI::RuntimeError("rlvr baseline: git add failed: " + added.Describe() + " " + added.err,
                            2);
  }
  // Only these paths: whatever else the user has staged stays staged and uncommitted.
  std::vector<std::string> commit = {"git", "commit", "-q", "-m", message, "--"};
  commit.insert(commit.end(), paths.begin(), paths.end());
  ProcessResult committed = RunProcess(commit, options);
  if (!committed.ok()) {
    throw CLI::RuntimeError(
        "rlvr baseline: git commit failed: " + committed.Describe() + " " + committed.err, 2);
  }
}

// Whether the benchmarks run as commands rather than as build.bench_binary (then PrepareBench,
// which builds and runs that binary, does not apply).
bool UsesCommands(const Project& project, const std::vector<std::string>& names) {
  if (project.build.UsesBuildCommand()) return true;
  for (const auto& target : project.targets) {
    bool requested =
        names.empty() || std::find(names.begin(), names.end(), target.name) != names.end();
    if (requested && target.UsesBenchCommand()) return true;
  }
  return false;
}

// PrepareBench for command builds and bench commands: the same lock, worktree of HEAD and build
// dir, built by build.command or by CMake (everything: bench commands may run any program).
// `tree` receives HEAD's worktree (bench commands run there).
BenchSetup PrepareCommandBench(const std::string& directory, const std::vector<std::string>& names,
                               int jobs, std::filesystem::path* tree) {
  auto fail = [](const std::string& message) {
    return CLI::RuntimeError("rlvr baseline: " + message, 2);
  };
  BenchSetup setup;
  auto root = FindRepoRoot(std::filesystem::absolute(directory));
  if (!root) throw fail(directory + " is not inside a git repository");
  try {
    setup.lock = std::make_unique<RunLock>(*root, "rlvr baseline");
  } catch (const RunLockError& e) {
    throw fail(e.what());
  }
  try {
    setup.project = LoadProject(*root);
    for (const auto& target : setup.project.targets)
      if (names.empty()) setup.targets.push_back(&target);
    for (const auto& name : names) setup.targets.push_back(&setup.project.GetTarget(name));
    setup.commit = HeadCommit(*root);
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  if (setup.targets.empty()) throw fail("rlvr.json has no targets");
  std::filesystem::path state_dir = *root / ".rlvr";
  try {
    EnsureStateDir(state_dir);
    *tree = PrepareWorktree(*root, state_dir, "baseline", setup.commit);
  } catch (const std::exception& e) {
    throw fail(fmt::format("cannot prepare a worktree of HEAD: {}", e.what()));
  }
  setup.build_dir = state_dir / "build" / "baseline";
  std::fprintf(stderr, "rlvr baseline: building %.12s in %s\n", setup.commit.c_str(),
               setup.build_dir.c_str());
  const BuildConfig& build = setup.project.build;
  BuildRequest request =
      ProjectBuild(build, *tree, setup.build_dir, {}, {}, jobs, BuildRequest().timeout_seconds);
  BuildOutcome built = build.UsesBuildCommand()
                           ? RunBuildCommand(request, build.command, build.artifacts)
                           : ConfigureAndBuild(request);
  if (!built.ok) throw fail(fmt::format("build failed: {}\n{}", built.message, built.detail));
  setup.bench_binary = setup.build_dir / build.bench_binary;
  return setup;
}

void RunBaseline(const BaselineArgs& args) {
  if (args.rounds < 1) throw CLI::RuntimeError("rlvr baseline: --rounds must be at least 1", 2);
  BenchMetric metric;
  try {
    metric = ParseBenchMetric(args.metric);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr baseline: ") + e.what(), 2);
  }
  std::filesystem::path tree;  // HEAD's worktree, for bench commands
  bool commands = false;
  if (args.bench.empty()) {
    auto root = FindRepoRoot(std::filesystem::absolute(args.directory));
    try {
      commands = root && UsesCommands(ReadProject(*root), args.targets);
    } catch (const ConfigError&) {
      // PrepareBench reports it.
    }
  }
  BenchSetup setup =
      commands ? PrepareCommandBench(args.directory, args.targets, args.jobs, &tree)
               : PrepareBench("baseline", args.directory, args.targets, args.bench, args.jobs);
  HostFacts host = CurrentHostFacts(setup.build_dir);
  RunOptions options;
  options.cwd = setup.bench_binary.parent_path();
  options.limits.wall_seconds = 900;
  BenchRunSettings settings;
  settings.min_time_seconds = args.min_time;
  std::vector<std::string> written;
  std::vector<std::string> names;
  for (const Target* target : setup.targets) {
    std::fprintf(stderr, "rlvr baseline: measuring %s (%d runs)\n", target->name.c_str(),
                 args.rounds);
    std::vector<std::string> bench = {setup.bench_binary.string()};
    RunOptions target_options = options;
    BenchRunSettings target_settings = settings;
    if (target->UsesBenchCommand()) {
      if (tree.empty())
        throw CLI::RuntimeError(fmt::format("rlvr baseline: {} benchmarks with a command; --bench "
                                            "does not apply",
                                            target->name),
                                2);
      // As the benchmark gate runs it: as given, in the tree, rlvr selecting the benchmarks.
      bench = ExpandCommand(target->bench_command.command, tree, setup.build_dir);
      target_options.cwd = tree;
      target_settings.append_flags = false;
    }
    BaselineMeasurement m =
        MeasureBaseline(bench, *target, args.rounds, target_settings, metric, target_options);
    if (!m.ok) {
      throw CLI::RuntimeError(fmt::format("rlvr baseline: {}: {}", target->name, m.message), 1);
    }
    m.baseline.commit = setup.commit;
    m.baseline.recorded_at = UtcNowIso8601();
    m.baseline.host = host;
    auto path = BaselinePath(setup.project.root, target->name);
    try {
      WriteBaselineFile(path, m.baseline);
    } catch (const BaselineError& e) {
      throw CLI::RuntimeError(std::string("rlvr baseline: ") + e.what(), 2);
    }
    for (const auto& [name, entry] : m.baseline.benchmarks) {
      std::printf("%-12s %-40s %14.0f ns\n", target->name.c_str(), name.c_str(), entry.median_ns);
    }
    for (const auto& [name, entry] : m.baseline.references) {
      std::printf("%-12s %-40s %14.0f ns (reference)\n", target->name.c_str(), name.c_str(),
                  entry.median_ns);
    }
    written.push_back(std::filesystem::relative(path, setup.project.root).string());
    names.push_back(target->name);
  }
  std::printf("wrote %s\n", fmt::format("{}", fmt::join(written, ", ")).c_str());
  if (args.commit) {
    CommitBaselines(setup.project.root, written,
                    fmt::format("Baseline of {} at {:.12}", fmt::join(names, ", "), setup.commit));
    std::printf("committed\n");
  }
}

}  // namespace

void AddBaselineCommand(CLI::App& app) {
  auto args = std::make_shared<BaselineArgs>();
  CLI::App* command = app.add_subcommand(
      "baseline", "build HEAD and record baselines/<target>.json for the targets");
  command->add_option("--target,-t", args->targets, "target name (repeatable; default: all)");
  command->add_option("--rounds", args->rounds, "benchmark runs per target (default 10)");
  command->add_option("--min-time", args->min_time,
                      "Google Benchmark --benchmark_min_time per benchmark, seconds");
  command->add_option("--metric", args->metric, "real_time or cpu_time");
  command->add_flag("--commit", args->commit, "commit the baseline files (and nothing else)");
  command->add_option("--bench", args->bench, "use this benchmark binary instead of building HEAD");
  command->add_option("--jobs,-j", args->jobs, "build parallelism");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->callback([args] { ReportFailures([&] { RunBaseline(*args); }); });
}

}  // namespace rlvr
