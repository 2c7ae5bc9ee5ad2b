// `rlvr calibrate [--target NAME] [--rounds N] [--trials N] [--speedup F] [-C DIR]`: measures the
// benchmark gate's two error rates on this machine. Each trial is a real interleaved A/A run (the
// same binary on both sides): promoted = a false promotion. The same real noise samples, with the
// candidate's primary times multiplied by (1 - speedup), give a known true speed-up: promoted =
// detected. Because real trials are slow, the runs' samples are also pooled and re-drawn into many
// resampled trials, which estimate rates near 1% with useful precision (they keep the noise
// distribution but not the drift between rounds, which the real trials do exercise).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "harness/bench_rule.h"
#include "harness/bench_run.h"
#include "harness/bench_setup.h"
#include "harness/commands.h"

namespace rlvr {

namespace {

struct CalibrateArgs {
  std::string target;
  int rounds = kBenchRounds;
  int trials = 10;
  int resamples = 2000;
  double min_time = kBenchMinTimeSeconds;
  int repetitions = kBenchRepetitions;
  double speedup = 0.10;
  double alpha = 0.01;
  std::string metric = "real_time";
  std::string bench;
  int jobs = 2;
  std::string directory = ".";
};

// Exact (Clopper-Pearson) one-sided 95% upper bound of a rate after `events` of `trials`.
double UpperBound95(int events, int trials) {
  if (events >= trials) return 1;
  auto cdf = [&](double p) {  // P(X <= events) for Binomial(trials, p)
    double sum = 0;
    for (int k = 0; k <= events; ++k) {
      sum +=
          std::exp(std::lgamma(trials + 1.0) - std::lgamma(k + 1.0) -
                   std::lgamma(trials - k + 1.0) + k * std::log(p) + (trials - k) * std::log1p(-p));
    }
    return sum;
  };
  double low = 0, high = 1;
  for (int i = 0; i < 60; ++i) {
    double mid = 0.5 * (low + high);
    (cdf(mid) > 0.05 ? low : high) = mid;
  }
  return high;
}

std::string Rate(int events, int trials) {
  return fmt::format("{}/{} = {:.1f}% (95% upper bound {:.1f}%)", events, trials,
                     100.0 * events / std::max(trials, 1), 100 * UpperBound95(events, trials));
}

std::string LowerRate(int events, int trials) {
  return fmt::format("{}/{} = {:.1f}% (95% lower bound {:.1f}%)", events, trials,
                     100.0 * events / std::max(trials, 1),
                     100 * (1 - UpperBound95(trials - events, trials)));
}

// The same samples with the primary candidate times scaled: a known true speed-up.
std::vector<AbBenchmark> WithSpeedup(std::vector<AbBenchmark> benchmarks, const Target& target,
                                     double speedup) {
  for (auto& b : benchmarks) {
    if (std::find(target.primary.begin(), target.primary.end(), b.name) == target.primary.end()) {
      continue;
    }
    for (auto& x : b.candidate_ns) x *= 1 - speedup;
    Summarize(b);
  }
  return benchmarks;
}

struct Tally {
  int trials = 0, false_promotions = 0, detections = 0;
  void Add(const std::vector<AbBenchmark>& aa, const Target& target, double speedup,
           const BenchGateRule& rule) {
    ++trials;
    false_promotions += DecideBenchGate(aa, target.primary, target.references, rule).promotable;
    detections +=
        DecideBenchGate(WithSpeedup(aa, target, speedup), target.primary, target.references, rule)
            .promotable;
  }
};

void RunCalibrate(const CalibrateArgs& args) {
  if (args.rounds < 2 || args.trials < 1 || args.resamples < 0 || args.repetitions < 1) {
    throw CLI::RuntimeError(
        "rlvr calibrate: need --rounds >= 2, --trials >= 1, --resamples >= 0, --repetitions >= 1",
        2);
  }
  if (args.speedup <= 0 || args.speedup >= 1) {
    throw CLI::RuntimeError("rlvr calibrate: --speedup must be in (0, 1), e.g. 0.10", 2);
  }
  std::vector<std::string> names;
  if (!args.target.empty()) names.push_back(args.target);
  BenchSetup setup = PrepareBench("calibrate", args.directory, names, args.bench, args.jobs);
  const Target& target = *setup.targets.front();
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  rule.alpha = args.alpha;

  AbRequest request;
  request.baseline_command = {setup.bench_binary.string()};
  request.candidate_command = request.baseline_command;
  request.settings.filter = target.benchmarks;
  request.settings.min_time_seconds = args.min_time;
  request.settings.repetitions = args.repetitions;
  request.rounds = args.rounds;
  try {
    request.metric = ParseBenchMetric(args.metric);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr calibrate: ") + e.what(), 2);
  }
  request.options.cwd = setup.bench_binary.parent_path();
  request.options.limits.wall_seconds = 900;

  std::printf(
      "calibrating target %s (%s): %d rounds per trial, fastest of %d repetitions of min_time "
      "%g s, alpha %g, min_improvement %g, max_regression %g, known speed-up %g\n",
      target.name.c_str(), args.metric.c_str(), args.rounds, args.repetitions, args.min_time,
      args.alpha, rule.min_improvement, rule.max_regression, args.speedup);
  Tally real;
  std::map<std::string, std::vector<double>> pool;  // every sample of every run, per benchmark
  double seconds = 0;
  for (int trial = 0; trial < args.trials; ++trial) {
    AbResult result = RunInterleaved(request);
    if (!result.ok) {
      throw CLI::RuntimeError(
          fmt::format("rlvr calibrate: trial {}: {}", trial + 1, result.message), 1);
    }
    for (const auto& name : target.primary) {
      if (std::none_of(result.benchmarks.begin(), result.benchmarks.end(),
                       [&](const AbBenchmark& b) { return b.name == name; })) {
        throw CLI::RuntimeError(
            fmt::format("rlvr calibrate: primary benchmark {} of target {} was not measured (is "
                        "it matched by the target's \"benchmarks\" filter?)",
                        name, target.name),
            2);
      }
    }
    seconds += result.seconds;
    real.Add(result.benchmarks, target, args.speedup, rule);
    for (const auto& b : result.benchmarks) {
      auto& samples = pool[b.name];
      samples.insert(samples.end(), b.baseline_ns.begin(), b.baseline_ns.end());
      samples.insert(samples.end(), b.candidate_ns.begin(), b.candidate_ns.end());
    }
    std::fprintf(stderr, "trial %d/%d: %.1f s, false promotions so far %d, detections %d\n",
                 trial + 1, args.trials, result.seconds, real.false_promotions, real.detections);
  }
  std::printf("real A/A trials (%.1f s each):\n", seconds / args.trials);
  std::printf("  false-promotion rate: %s\n", Rate(real.false_promotions, real.trials).c_str());
  std::printf("  detection power at %.0f%% speed-up: %s\n", args.speedup * 100,
              LowerRate(real.detections, real.trials).c_str());

  if (args.resamples > 0) {
    std::mt19937_64 rng(20261123);  // fixed: the same pool gives the same figures
    Tally resampled;
    for (int r = 0; r < args.resamples; ++r) {
      std::vector<AbBenchmark> benchmarks;
      for (auto& [name, samples] : pool) {
        std::shuffle(samples.begin(), samples.end(), rng);
        AbBenchmark b;
        b.name = name;
        size_t n = std::min<size_t>(size_t(args.rounds), samples.size() / 2);
        b.baseline_ns.assign(samples.begin(), samples.begin() + n);
        b.candidate_ns.assign(samples.begin() + n, samples.begin() + 2 * n);
        Summarize(b);
        benchmarks.push_back(std::move(b));
      }
      resampled.Add(benchmarks, target, args.speedup, rule);
    }
    std::printf("resampled trials from the pooled %zu runs per side:\n",
                size_t(args.trials) * args.rounds);
    std::printf("  false-promotion rate: %s\n",
                Rate(resampled.false_promotions, resampled.trials).c_str());
    std::printf("  detection power at %.0f%% speed-up: %s\n", args.speedup * 100,
                LowerRate(resampled.detections, resampled.trials).c_str());
  }
  std::printf("targets: false promotions <= 1%%, detection of a 10%% speed-up >= 95%%\n");
}

}  // namespace

void AddCalibrateCommand(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* command = app.add_subcommand(
      "calibrate", "measure the benchmark gate's false-promotion rate and detection power");
  command->add_option("--target,-t", args->target, "target name (default: the first)");
  command->add_option("--rounds", args->rounds, "interleaved rounds per trial")
      ->capture_default_str();
  command->add_option("--trials", args->trials, "real A/A trials (default 10)");
  command->add_option("--resamples", args->resamples,
                      "resampled trials from the pooled real samples (default 2000; 0 = none)");
  command->add_option("--min-time", args->min_time, "--benchmark_min_time per repetition")
      ->capture_default_str();
  command
      ->add_option("--repetitions", args->repetitions,
                   "repetitions per benchmark per run; the fastest is kept")
      ->capture_default_str();
  command->add_option("--speedup", args->speedup, "known speed-up for the power test (0.10)");
  command->add_option("--alpha", args->alpha, "two-sided Mann-Whitney significance level (0.01)");
  command->add_option("--metric", args->metric, "real_time (default) or cpu_time");
  command->add_option("--bench", args->bench, "use this benchmark binary instead of building HEAD");
  command->add_option("--jobs,-j", args->jobs, "build parallelism");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->callback([args] { ReportFailures([&] { RunCalibrate(*args); }); });
}

}  // namespace rlvr
