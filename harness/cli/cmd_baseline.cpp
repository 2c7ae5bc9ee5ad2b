// `rlvr baseline [--target NAME]... [--rounds N] [--commit] [-C DIR]`: builds the committed HEAD
// and records baselines/<target>.json (DESIGN.md) for each target's benchmarks and references.
// Commits nothing unless --commit is given; then one commit holding only the baseline files.
// Repositories built by a command (rlvr.json build.command) or benchmarked by a command
// (bench_command) are built the same way the evaluator builds them (into .rlvr/build/baseline) and
// measured by running the target's bench command as it is, rlvr selecting the benchmarks.
#include <cstdio>

#include <fmt/format.h>

#include "harness/base/process.h"
#include "harness/base/utc_time.h"
#include "harness/bench/baseline.h"
#include "harness/bench/setup.h"
#include "harness/cli/commands.h"

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

void RunBaseline(const BaselineArgs& args) {
  if (args.rounds < 1) throw CLI::RuntimeError("rlvr baseline: --rounds must be at least 1", 2);
  BenchMetric metric;
  try {
    metric = ParseBenchMetric(args.metric);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr baseline: ") + e.what(), 2);
  }
  std::filesystem::path root = RepoRootOrFail("baseline", args.directory);
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("baseline", root);
  BenchSetup setup = PrepareBench("baseline", root, args.targets, args.bench, args.jobs);
  const std::filesystem::path& tree = setup.tree;  // HEAD's worktree, for bench commands
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
      target_settings.command_repetitions = target->bench_command.repetitions;
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
