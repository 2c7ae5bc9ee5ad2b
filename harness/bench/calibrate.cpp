#include "harness/bench/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/bench/relayout.h"
#include "harness/bench/rule.h"
#include "harness/bench/stats.h"
#include "harness/candidate/build.h"
#include "harness/candidate/sources.h"
#include "harness/git/worktree.h"

namespace rlvr {

namespace {

std::string Rate(int events, int trials) {
  return fmt::format("{}/{} = {:.1f}% (95% upper bound {:.1f}%)", events, trials,
                     100.0 * events / std::max(trials, 1),
                     100 * BinomialUpperBound95(events, trials));
}

std::string LowerRate(int events, int trials) {
  return fmt::format("{}/{} = {:.1f}% (95% lower bound {:.1f}%)", events, trials,
                     100.0 * events / std::max(trials, 1),
                     100 * (1 - BinomialUpperBound95(trials - events, trials)));
}

bool IsPrimary(const Target& target, const std::string& name) {
  return std::find(target.primary.begin(), target.primary.end(), name) != target.primary.end();
}

double Median(std::vector<int> values) {
  return MedianOf(std::vector<double>(values.begin(), values.end()));
}

void PrintTally(const ReplayTally& tally, double seconds_per_round) {
  for (const auto& s : tally.scenarios) {
    double median = Median(s.rounds);
    std::string timing =
        fmt::format("median {:g} rounds, {:.1f} s per verdict", median, median * seconds_per_round);
    if (!s.held_back.empty()) {
      timing += fmt::format(
          "; in {}/{} a promotion was held back at its look and the held-back gated benchmarks "
          "(median {:g}) were measured alone for a median {:g} more rounds (not in the seconds)",
          s.held_back.size(), tally.trials, Median(s.held_back), Median(s.held_back_rounds));
    }
    if (s.scale == 1) {
      std::printf("  false-promotion rate: %s; %s\n", Rate(s.promoted, tally.trials).c_str(),
                  timing.c_str());
      std::printf(
          "  false rejections (refused for a regression of a gated benchmark, before the gate's "
          "re-measurement under other layouts): %s\n",
          Rate(s.regressions, tally.trials).c_str());
    } else if (s.scale < 1) {
      // Missed = not promoted: refused for a regression, or not shown faster within the budget.
      std::printf(
          "  detection power at %.0f%% speed-up: %s; missed %d/%d (%d refused for a regression of "
          "a gated benchmark, %d not shown faster within the budget); %s\n",
          (1 - s.scale) * 100, LowerRate(s.promoted, tally.trials).c_str(),
          tally.trials - s.promoted, tally.trials, s.regressions,
          tally.trials - s.promoted - s.regressions, timing.c_str());
    } else {
      std::printf("  a %gx slower candidate: promoted %d/%d; %s\n", s.scale, s.promoted,
                  tally.trials, timing.c_str());
    }
  }
}

// The share of trials in which `tally`'s simulated 10% speed-up was not promoted.
double MissedTenPercent(const ReplayTally& tally) {
  for (const auto& s : tally.scenarios) {
    if (std::abs(s.scale - 0.90) < 1e-9) return 1 - double(s.promoted) / std::max(tally.trials, 1);
  }
  return 0;
}

// Robust run-to-run spread of one side's samples: 1.4826 x the median absolute deviation of their
// logarithms (about the relative standard deviation for small, normal noise; unmoved by outliers).
double RelativeSpread(const std::vector<double>& samples_ns) {
  std::vector<double> logs;
  for (double v : samples_ns) {
    if (v > 0) logs.push_back(std::log(v));
  }
  if (logs.size() < 2) return 0;
  double median = MedianOf(logs);
  for (double& v : logs) v = std::abs(v - median);
  return 1.4826 * MedianOf(logs);
}

// Each primary benchmark's noise (median over trials of RelativeSpread of both sides), and when
// the gate misses a 10% speed-up in more than a fifth of `tally`'s trials, what lowers the noise.
void PrintNoise(const std::map<std::string, std::vector<double>>& spreads, const Target& target,
                const ReplayTally& tally, int rounds, int repetitions) {
  std::printf(
      "run-to-run noise (1.4826 x median absolute deviation of log time within a trial):\n");
  for (const auto& [name, values] : spreads) {
    std::printf("  %-40s %.1f%%\n", name.c_str(), 100 * MedianOf(values));
  }
  double missed = MissedTenPercent(tally);
  if (missed <= 0.2) return;
  std::string remedy =
      target.UsesBenchCommand()
          ? fmt::format(
                "raise the target's bench_command \"repetitions\" in rlvr.json (invocations per "
                "run, each benchmark's fastest kept; here {}: try `rlvr calibrate --repetitions "
                "{}` to see its effect) or the time the command measures each benchmark for",
                repetitions, std::max(5, 2 * repetitions))
          : "run on a quieter machine (fewer concurrent jobs) or raise the target's "
            "min_improvement";
  std::printf(
      "  a 10%% speed-up is missed in %.0f%% of trials: at this noise the gate cannot see it "
      "within %d rounds; to lower the noise, %s\n",
      100 * missed, rounds, remedy.c_str());
}

// The command that runs the target's benchmarks of the build in `build_dir` from `tree`: the
// benchmark binary, or the target's bench_command expanded for them.
std::vector<std::string> BenchCommandOf(const BenchSetup& setup, const Target& target,
                                        const std::filesystem::path& tree,
                                        const std::filesystem::path& build_dir) {
  if (target.UsesBenchCommand())
    return ExpandCommand(target.bench_command.command, tree, build_dir);
  return {(build_dir / setup.project.build.bench_binary).string()};
}

// HEAD with a fresh random code layout: every editable C/C++ file of the target padded
// (bench/relayout.h) in a scratch worktree, its benchmarks built. Returns the command that runs
// them.
std::vector<std::string> BuildReLaidOutHead(const BenchSetup& setup, const Target& target,
                                            std::mt19937_64& rng, int jobs,
                                            std::string& described) {
  std::filesystem::path state_dir = setup.project.root / ".rlvr";
  std::filesystem::path tree =
      PrepareWorktree(setup.project.root, state_dir, "calibrate-null", setup.commit);
  std::vector<std::string> files;
  for (const auto& file : target.editable) {
    if (IsCxxSource(file)) files.push_back(file);
  }
  if (files.empty())
    throw CLI::RuntimeError(
        fmt::format("rlvr calibrate: --null-patches: target {} has no editable C or C++ file to "
                    "re-lay-out",
                    target.name),
        2);
  auto paddings = RandomLayoutPaddings(files, rng);
  ApplyLayoutPaddings(tree, paddings);
  described = DescribePaddings(paddings);
  std::filesystem::path build_dir = state_dir / "build" / "calibrate-null";
  // What PrepareBench built for HEAD, built here for the re-laid-out HEAD.
  BuildOutcome built = BuildProject(setup.project.build, tree, build_dir, setup.build_targets, jobs,
                                    BuildRequest().timeout_seconds);
  if (!built.ok)
    throw CLI::RuntimeError(fmt::format("rlvr calibrate: the re-laid-out HEAD ({}) does not "
                                        "build: {}\n{}",
                                        described, built.message, built.detail),
                            1);
  return BenchCommandOf(setup, target, tree, build_dir);
}

// Per benchmark over the null-patch trials: how far layout alone moved it.
void PrintLayoutSpread(const std::map<std::string, std::vector<double>>& estimates,
                       const Target& target) {
  std::printf("layout noise per benchmark (Hodges-Lehmann ratio, re-laid-out HEAD / HEAD):\n");
  for (const auto& [name, values] : estimates) {
    std::vector<double> change;
    for (double v : values) change.push_back(std::abs(v - 1));
    double largest = *std::max_element(change.begin(), change.end());
    int beyond = int(std::count_if(values.begin(), values.end(),
                                   [&](double v) { return v > 1 + target.max_regression; }));
    std::printf("  %-40s median |change| %.1f%%, largest %.1f%%, slower than %.0f%% in %d/%zu\n",
                name.c_str(), 100 * MedianOf(change), 100 * largest, 100 * target.max_regression,
                beyond, values.size());
  }
}

}  // namespace

void CheckCalibrationOptions(const CalibrationOptions& options) {
  if (options.rounds < 2 || options.trials < 1 || options.resamples < 0 ||
      options.repetitions < 0 || options.min_time < 0) {
    throw CLI::RuntimeError(
        "rlvr calibrate: need --rounds >= 2, --trials >= 1, --resamples >= 0, --repetitions >= 0 "
        "(0 = the gate's), --min-time >= 0 (0 = the gate's)",
        2);
  }
  if (options.speedup <= 0 || options.speedup >= 1) {
    throw CLI::RuntimeError("rlvr calibrate: --speedup must be in (0, 1), e.g. 0.10", 2);
  }
}

double RefusalsAfterRemeasurement(const ReplayScenario& null_scenario,
                                  const std::map<std::string, double>& not_within, int trials) {
  double expected = 0;
  for (const auto& names : null_scenario.regressed) {
    double survives = 1;
    for (const auto& name : names) {
      auto it = not_within.find(name);
      double share = it == not_within.end() ? 1 : it->second;
      survives *= std::pow(share, kRegressionRelayouts);
    }
    expected += survives;
  }
  return trials > 0 ? expected / trials : 0;
}

void Calibrate(const BenchSetup& setup, const CalibrationOptions& options) {
  const Target& target = *setup.targets.front();
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  rule.alpha = options.alpha;
  const SequentialDesign design = MakeSequentialDesign(options.rounds, options.alpha);
  std::vector<double> speedups = {0.05, 0.10};
  if (std::none_of(speedups.begin(), speedups.end(),
                   [&](double s) { return std::abs(s - options.speedup) < 1e-9; })) {
    speedups.push_back(options.speedup);
    std::sort(speedups.begin(), speedups.end());
  }

  AbRequest request;
  request.baseline_command = {setup.bench_binary.string()};
  request.options.cwd = setup.bench_binary.parent_path();
  request.settings.min_time_seconds =
      options.min_time > 0 ? options.min_time : kBenchMinTimeSeconds;
  request.settings.repetitions = options.repetitions > 0 ? options.repetitions : kBenchRepetitions;
  if (target.UsesBenchCommand()) {
    if (options.min_time > 0)
      throw CLI::RuntimeError(
          fmt::format("rlvr calibrate: target {} is measured by its bench_command, which times "
                      "itself; --min-time does not apply (--repetitions sets its invocations "
                      "per run)",
                      target.name),
          2);
    if (setup.tree.empty())
      throw CLI::RuntimeError(
          fmt::format("rlvr calibrate: target {} is measured by its bench_command; --bench does "
                      "not apply",
                      target.name),
          2);
    // As the benchmark gate runs it: as given, from HEAD's tree, rlvr selecting the benchmarks.
    request.baseline_command = BenchCommandOf(setup, target, setup.tree, setup.build_dir);
    request.settings.append_flags = false;
    request.settings.command_repetitions =
        options.repetitions > 0 ? options.repetitions : target.bench_command.repetitions;
    request.options.cwd = setup.tree;
  }
  request.candidate_command = request.baseline_command;
  // As the gate's rounds: the target's benchmarks (the gate measures the references, for the
  // roofline, in one round of their own before them).
  request.settings.filter = target.benchmarks;
  request.rounds = options.rounds;
  try {
    request.metric = ParseBenchMetric(options.metric);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr calibrate: ") + e.what(), 2);
  }
  request.options.limits.wall_seconds = 900;

  std::vector<std::string> looks;
  for (size_t k = 0; k < design.looks.size(); ++k) {
    looks.push_back(fmt::format("{} (p <= {:.2g})", design.looks[k], design.promotion_level[k]));
  }
  // What one run is: the gate's, unless a flag changed it.
  const int repetitions = target.UsesBenchCommand() ? request.settings.command_repetitions
                                                    : request.settings.repetitions;
  const std::string run =
      target.UsesBenchCommand()
          ? fmt::format(
                "each run {} invocation{} of the bench_command (it times itself), each "
                "benchmark's fastest kept{}",
                repetitions, repetitions == 1 ? "" : "s",
                options.repetitions > 0 ? " (--repetitions; the gate uses rlvr.json's " +
                                              std::to_string(target.bench_command.repetitions) + ")"
                                        : "")
          : fmt::format("fastest of {} repetitions of min_time {:g} s", repetitions,
                        request.settings.min_time_seconds);
  std::printf(
      "calibrating target %s (%s): the sequential gate, at most %d rounds, looks after rounds "
      "%s; %s, alpha %g, min_improvement %g, max_regression %g\n",
      target.name.c_str(), options.metric.c_str(), options.rounds,
      fmt::format("{}", fmt::join(looks, ", ")).c_str(), run.c_str(), options.alpha,
      rule.min_improvement, rule.max_regression);
  std::fflush(stdout);  // before the trials' progress lines on stderr
  if (options.null_patches && setup.build_dir.empty())
    throw CLI::RuntimeError("rlvr calibrate: --null-patches builds HEAD itself; drop --bench", 2);
  if (options.null_patches)
    std::printf(
        "null patches: each trial compares HEAD with HEAD re-laid-out (random padding "
        "of 1..%d bytes in each editable file)\n",
        kMaxLayoutPaddingBytes);
  std::fflush(stdout);
  ReplayTally real(speedups);
  std::map<std::string, std::vector<double>> pool;  // every sample of every run, per benchmark
  std::map<std::string, std::vector<double>> layout_estimates;
  std::map<std::string, std::vector<double>> spreads;  // per primary, RelativeSpread per trial
  std::map<std::string, double> not_within;  // share of trials with the interval beyond the limit
  // Share of trials in which every primary looked materially faster by layout alone (interval
  // below 1, at least half of min_improvement faster): what the gate's confirmation of a small
  // speed-up under another layout would accept.
  double layout_confirms = 0;
  std::mt19937_64 layout_rng(std::random_device{}());
  double seconds = 0;
  for (int trial = 0; trial < options.trials; ++trial) {
    std::string layout;
    if (options.null_patches) {
      request.candidate_command =
          BuildReLaidOutHead(setup, target, layout_rng, options.jobs, layout);
    }
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
    real.Add(result.benchmarks, target, design, rule);
    int primaries_confirmed = 0;
    for (const auto& b : result.benchmarks) {
      if (options.null_patches) {
        layout_estimates[b.name].push_back(b.estimate);
        if (IsPrimary(target, b.name) && SpeedupHoldsUnderLayout(b.ratio, b.ci_high, rule))
          primaries_confirmed += 1;
        if (!RegressionDismissedByLayout(b.estimate, b.ci_high, rule))
          not_within[b.name] += 1.0 / options.trials;
      }
      if (IsPrimary(target, b.name)) {
        spreads[b.name].push_back((RelativeSpread(b.baseline_ns) + RelativeSpread(b.candidate_ns)) /
                                  2);
      }
      auto& samples = pool[b.name];
      samples.insert(samples.end(), b.baseline_ns.begin(), b.baseline_ns.end());
      samples.insert(samples.end(), b.candidate_ns.begin(), b.candidate_ns.end());
    }
    if (primaries_confirmed == int(target.primary.size())) layout_confirms += 1.0 / options.trials;
    const ReplayScenario& null_patch = real.scenarios.front();
    std::fprintf(stderr,
                 "trial %d/%d: %.1f s, decided after %d rounds; false promotions so far %d, false "
                 "rejections %d%s\n",
                 trial + 1, options.trials, result.seconds, null_patch.rounds.back(),
                 null_patch.promoted, null_patch.regressions,
                 layout.empty() ? "" : (" (layout: " + layout + ")").c_str());
  }
  const double seconds_per_round = seconds / (double(options.trials) * options.rounds);
  std::printf("real %s trials (%d rounds each, %.2f s per round):\n",
              options.null_patches ? "null-patch" : "A/A", options.rounds, seconds_per_round);
  PrintTally(real, seconds_per_round);
  if (options.null_patches) {
    std::printf(
        "  false rejections after the gate's re-measurement under %d other layouts (estimated "
        "from these trials): %.2f%%\n",
        kRegressionRelayouts,
        100 * RefusalsAfterRemeasurement(real.scenarios.front(), not_within, real.trials));
    std::printf(
        "  false promotions after the gate's confirmation of small speed-ups under another layout "
        "(estimated from these trials: %.0f%% of layouts look materially faster): %.2f%%\n",
        100 * layout_confirms,
        100.0 * real.scenarios.front().promoted / std::max(real.trials, 1) * layout_confirms);
    PrintLayoutSpread(layout_estimates, target);
  }

  if (options.resamples > 0) {
    std::mt19937_64 rng(20261123);  // fixed: the same pool gives the same figures
    ReplayTally resampled(speedups);
    for (int r = 0; r < options.resamples; ++r) {
      std::vector<AbBenchmark> benchmarks;
      for (auto& [name, samples] : pool) {
        std::shuffle(samples.begin(), samples.end(), rng);
        AbBenchmark b;
        b.name = name;
        size_t n = std::min<size_t>(size_t(options.rounds), samples.size() / 2);
        b.baseline_ns.assign(samples.begin(), samples.begin() + n);
        b.candidate_ns.assign(samples.begin() + n, samples.begin() + 2 * n);
        benchmarks.push_back(std::move(b));
      }
      resampled.Add(benchmarks, target, design, rule);
    }
    // Pooling mixes the layouts of every trial into both sides: the resampled figures show the
    // run-to-run noise only (the real trials above carry the layout effect).
    std::printf("resampled trials from the pooled %zu runs per side%s:\n",
                size_t(options.trials) * options.rounds,
                options.null_patches ? " (run-to-run noise only: layouts are pooled away)" : "");
    PrintTally(resampled, seconds_per_round);
    PrintNoise(spreads, target, resampled, options.rounds, repetitions);
  } else {
    PrintNoise(spreads, target, real, options.rounds, repetitions);
  }
  std::printf(
      "targets: false promotions <= 1%%, detection of a 5%% speed-up >= 95%% within the budget, "
      "clear verdicts (10%% faster, 2x slower) in 6 rounds or fewer\n");
}

}  // namespace rlvr
