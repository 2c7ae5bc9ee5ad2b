// `rlvr calibrate [--target NAME] [--rounds N] [--trials N] [--speedup F] [--null-patches]
// [-C DIR]`: measures the benchmark gate's error rates and speed on this machine
// (bench/calibrate.h): real A/A trials, or with --null-patches HEAD against HEAD re-laid-out,
// replayed under the sequential rule with known speed-ups and a clear slow-down, then resampled
// from the pooled samples.
#include <memory>

#include "harness/bench/calibrate.h"
#include "harness/bench/setup.h"
#include "harness/cli/commands.h"

namespace rlvr {

namespace {

struct CalibrateArgs {
  std::string target;
  std::string bench;
  std::string directory = ".";
  CalibrationOptions options;
};

void RunCalibrate(const CalibrateArgs& args) {
  CheckCalibrationOptions(args.options);
  std::vector<std::string> names;
  if (!args.target.empty()) names.push_back(args.target);
  std::filesystem::path root = RepoRootOrFail("calibrate", args.directory);
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("calibrate", root);
  BenchSetup setup = PrepareBench("calibrate", root, names, args.bench, args.options.jobs);
  Calibrate(setup, args.options);
}

}  // namespace

void AddCalibrateCommand(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CalibrationOptions& options = args->options;
  CLI::App* command = app.add_subcommand(
      "calibrate", "measure the benchmark gate's false-promotion rate and detection power");
  command->add_option("--target,-t", args->target, "target name (default: the first)");
  command->add_option("--rounds", options.rounds, "the most interleaved rounds per verdict")
      ->capture_default_str();
  command->add_option("--trials", options.trials, "real A/A trials (default 10)");
  command->add_option("--resamples", options.resamples,
                      "resampled trials from the pooled real samples (default 2000; 0 = none)");
  command->add_option("--min-time", options.min_time,
                      "--benchmark_min_time per repetition (default: the gate's, 0.005; not for "
                      "a bench_command target)");
  command->add_option("--repetitions", options.repetitions,
                      "repetitions per benchmark per run, the fastest kept (default: the gate's, "
                      "10; for a bench_command target its invocations per run, rlvr.json "
                      "bench_command.repetitions)");
  command->add_option("--speedup", options.speedup,
                      "another known speed-up for the power test (5% and 10% always)");
  command->add_option("--alpha", options.alpha, "two-sided Mann-Whitney significance level (0.01)");
  command->add_option("--metric", options.metric, "real_time (default) or cpu_time");
  command->add_option("--bench", args->bench, "use this benchmark binary instead of building HEAD");
  command->add_option("--jobs,-j", options.jobs, "build parallelism");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->add_flag("--null-patches", options.null_patches,
                    "compare HEAD with HEAD re-laid-out (random code padding in the editable "
                    "files, a new layout per trial): the error rates real candidates that change "
                    "nothing a benchmark runs see");
  command->callback([args] { ReportFailures([&] { RunCalibrate(*args); }); });
}

}  // namespace rlvr
