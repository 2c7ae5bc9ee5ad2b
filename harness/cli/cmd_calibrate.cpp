// `rlvr calibrate [--target NAME] [--rounds N] [--trials N] [--speedup F] [-C DIR]`: measures the
// benchmark gate's error rates and speed on this machine, for the sequential gate the evaluator
// uses (bench/rule.h: at most --rounds rounds, stopping when settled). Each trial is a real
// interleaved A/A run (the same binary on both sides) of the full budget; the gate is replayed on
// its first rounds as if it had stopped when settled: promoted = a false promotion. The same real
// noise samples, with the candidate's primary times multiplied by 0.95, 0.90 (and 1 - --speedup)
// or 2, give known true speed-ups (promoted = detected, else a false rejection) and a clear
// slow-down; each reports the median rounds and seconds to a verdict. Because real trials are slow,
// the runs' samples are also pooled and re-drawn into many resampled trials, which estimate rates
// near 1% with useful precision (they keep the noise distribution but not the drift between rounds,
// which the real trials do exercise).
//
// With --null-patches the candidate side is not HEAD's binary but HEAD rebuilt with a random
// code-layout padding in every editable file of the target (bench/relayout.h), a new layout each
// trial: what real candidates that change nothing a benchmark runs look like. Then the A/A rates
// include layout noise, a rejection for a regression of a gated benchmark is a false rejection, and
// each benchmark's layout spread is reported.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "harness/bench/relayout.h"
#include "harness/bench/rule.h"
#include "harness/bench/run.h"
#include "harness/bench/setup.h"
#include "harness/bench/stats.h"
#include "harness/candidate/build.h"
#include "harness/cli/commands.h"
#include "harness/git/worktree.h"
#include "harness/verify/gates/gate.h"

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
  bool null_patches = false;
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

bool IsPrimary(const Target& target, const std::string& name) {
  return std::find(target.primary.begin(), target.primary.end(), name) != target.primary.end();
}

// What the sequential gate would have decided had it measured these full-budget samples round by
// round and stopped when settled; the primary's candidate times scaled by `scale` (a known true
// speed-up < 1 or slow-down > 1).
struct Outcome {
  bool promoted = false;
  bool regression = false;  // refused for a regression of a gated benchmark
  std::vector<std::string> regressed;
  int rounds = 0;
  int held_back = 0;         // benchmarks measured alone after a held-back look
  int held_back_rounds = 0;  // for how many more rounds
};

Outcome DecideOnPrefixes(const std::vector<AbBenchmark>& full, const Target& target,
                         const SequentialDesign& design, const BenchGateRule& rule, double scale) {
  std::vector<AbBenchmark> prefix(full.size());
  for (size_t i = 0; i < full.size(); ++i) prefix[i].name = full[i].name;
  Outcome outcome;
  for (int round = 1; round <= design.max_rounds; ++round) {
    // Between looks only the raw samples matter (the gross-slowdown check): summarise at looks.
    bool look = std::find(design.looks.begin(), design.looks.end(), round) != design.looks.end();
    for (size_t i = 0; i < full.size(); ++i) {
      if (size_t(round) > full[i].baseline_ns.size()) {
        outcome.rounds = round - 1;
        return outcome;
      }
      double factor = IsPrimary(target, full[i].name) ? scale : 1;
      prefix[i].baseline_ns.push_back(full[i].baseline_ns[round - 1]);
      prefix[i].candidate_ns.push_back(full[i].candidate_ns[round - 1] * factor);
      if (look) Summarize(prefix[i]);
    }
    SequentialDecision decision =
        DecideSequential(design, round, prefix, target.primary, target.references, rule);
    if (!decision.settled && !decision.held_back.empty()) {
      // As CompareBenchmarks does: the held-back benchmarks alone, round by round, until decided.
      const SequentialDecision at_look = decision;
      std::vector<AbBenchmark> on = prefix;
      for (int more = round + 1; more <= design.max_rounds && !decision.settled; ++more) {
        for (size_t i = 0; i < full.size(); ++i) {
          if (std::find(at_look.held_back.begin(), at_look.held_back.end(), full[i].name) ==
              at_look.held_back.end())
            continue;
          on[i].baseline_ns.push_back(full[i].baseline_ns[more - 1]);
          on[i].candidate_ns.push_back(full[i].candidate_ns[more - 1]);
          Summarize(on[i]);
        }
        decision =
            DecideHeldBack(design, more, at_look, on, target.primary, target.references, rule);
        outcome.held_back_rounds = more - round;
      }
      outcome.held_back = int(at_look.held_back.size());
    }
    if (decision.settled) {
      outcome.promoted = decision.decision.promotable;
      outcome.regression = !decision.decision.regressed.empty();
      outcome.regressed = decision.decision.regressed;
      outcome.rounds = round;
      return outcome;
    }
  }
  outcome.rounds = design.max_rounds;
  return outcome;
}

// The candidates calibration simulates on real noise: no change, known speed-ups, a clear
// slow-down.
struct Scenario {
  explicit Scenario(double candidate_scale) : scale(candidate_scale) {}
  double scale;  // candidate primary time x scale
  int promoted = 0;
  int regressions = 0;                              // refused for a regression of a gated benchmark
  std::vector<std::vector<std::string>> regressed;  // per refused trial, the benchmarks
  std::vector<int> rounds;
  std::vector<int> held_back;  // per verdict that measured held-back benchmarks alone: how many
  std::vector<int> held_back_rounds;  // ... and for how many more rounds
};

struct Tally {
  std::vector<Scenario> scenarios;
  int trials = 0;
  explicit Tally(const std::vector<double>& speedups) {
    scenarios.emplace_back(1.0);
    for (double s : speedups) scenarios.emplace_back(1 - s);
    scenarios.emplace_back(2.0);
  }
  void Add(const std::vector<AbBenchmark>& aa, const Target& target, const SequentialDesign& design,
           const BenchGateRule& rule) {
    ++trials;
    for (auto& scenario : scenarios) {
      Outcome o = DecideOnPrefixes(aa, target, design, rule, scenario.scale);
      scenario.promoted += o.promoted;
      scenario.regressions += o.regression;
      if (o.regression) scenario.regressed.push_back(o.regressed);
      scenario.rounds.push_back(o.rounds);
      if (o.held_back > 0) {
        scenario.held_back.push_back(o.held_back);
        scenario.held_back_rounds.push_back(o.held_back_rounds);
      }
    }
  }
};

double Median(std::vector<int> values) {
  return MedianOf(std::vector<double>(values.begin(), values.end()));
}

void PrintTally(const Tally& tally, double seconds_per_round) {
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
      std::printf("  detection power at %.0f%% speed-up: %s; false rejections %d/%d; %s\n",
                  (1 - s.scale) * 100, LowerRate(s.promoted, tally.trials).c_str(),
                  tally.trials - s.promoted, tally.trials, timing.c_str());
    } else {
      std::printf("  a %gx slower candidate: promoted %d/%d; %s\n", s.scale, s.promoted,
                  tally.trials, timing.c_str());
    }
  }
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

// What the benchmark gate's re-measurement would leave of the null-patch refusals. The gate
// measures a refused benchmark again under kRegressionRelayouts new random layouts and dismisses
// it when one of them passes RegressionDismissedByLayout; `not_within[b]` is the share of trials
// in which b did not pass it, so a refusal on benchmarks B survives with probability about prod
// over b in B of not_within[b]^kRegressionRelayouts (layouts drawn independently).
double RefusalsAfterRemeasurement(const Scenario& null_scenario,
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
  std::filesystem::path root = RepoRootOrFail("calibrate", args.directory);
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("calibrate", root);
  BenchSetup setup = PrepareBench("calibrate", root, names, args.bench, args.jobs);
  const Target& target = *setup.targets.front();
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  rule.alpha = args.alpha;
  const SequentialDesign design = MakeSequentialDesign(args.rounds, args.alpha);
  std::vector<double> speedups = {0.05, 0.10};
  if (std::none_of(speedups.begin(), speedups.end(),
                   [&](double s) { return std::abs(s - args.speedup) < 1e-9; })) {
    speedups.push_back(args.speedup);
    std::sort(speedups.begin(), speedups.end());
  }

  AbRequest request;
  request.baseline_command = {setup.bench_binary.string()};
  request.options.cwd = setup.bench_binary.parent_path();
  if (target.UsesBenchCommand()) {
    if (setup.tree.empty())
      throw CLI::RuntimeError(
          fmt::format("rlvr calibrate: target {} is measured by its bench_command; --bench does "
                      "not apply",
                      target.name),
          2);
    // As the benchmark gate runs it: as given, from HEAD's tree, rlvr selecting the benchmarks.
    request.baseline_command = BenchCommandOf(setup, target, setup.tree, setup.build_dir);
    request.settings.append_flags = false;
    request.options.cwd = setup.tree;
  }
  request.candidate_command = request.baseline_command;
  // As the gate's rounds: the target's benchmarks (the gate measures the references, for the
  // roofline, in one round of their own before them).
  request.settings.filter = target.benchmarks;
  request.settings.min_time_seconds = args.min_time;
  request.settings.repetitions = args.repetitions;
  request.rounds = args.rounds;
  try {
    request.metric = ParseBenchMetric(args.metric);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr calibrate: ") + e.what(), 2);
  }
  request.options.limits.wall_seconds = 900;

  std::vector<std::string> looks;
  for (size_t k = 0; k < design.looks.size(); ++k) {
    looks.push_back(fmt::format("{} (p <= {:.2g})", design.looks[k], design.promotion_level[k]));
  }
  std::printf(
      "calibrating target %s (%s): the sequential gate, at most %d rounds, looks after rounds "
      "%s; fastest of %d repetitions of min_time %g s, alpha %g, min_improvement %g, "
      "max_regression %g\n",
      target.name.c_str(), args.metric.c_str(), args.rounds,
      fmt::format("{}", fmt::join(looks, ", ")).c_str(), args.repetitions, args.min_time,
      args.alpha, rule.min_improvement, rule.max_regression);
  std::fflush(stdout);  // before the trials' progress lines on stderr
  if (args.null_patches && setup.build_dir.empty())
    throw CLI::RuntimeError("rlvr calibrate: --null-patches builds HEAD itself; drop --bench", 2);
  if (args.null_patches)
    std::printf(
        "null patches: each trial compares HEAD with HEAD re-laid-out (random padding "
        "of 1..%d bytes in each editable file)\n",
        kMaxLayoutPaddingBytes);
  std::fflush(stdout);
  Tally real(speedups);
  std::map<std::string, std::vector<double>> pool;  // every sample of every run, per benchmark
  std::map<std::string, std::vector<double>> layout_estimates;
  std::map<std::string, double> not_within;  // share of trials with the interval beyond the limit
  // Share of trials in which every primary looked materially faster by layout alone (interval
  // below 1, at least half of min_improvement faster): what the gate's confirmation of a small
  // speed-up under another layout would accept.
  double layout_confirms = 0;
  std::mt19937_64 layout_rng(std::random_device{}());
  double seconds = 0;
  for (int trial = 0; trial < args.trials; ++trial) {
    std::string layout;
    if (args.null_patches) {
      request.candidate_command = BuildReLaidOutHead(setup, target, layout_rng, args.jobs, layout);
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
      if (args.null_patches) {
        layout_estimates[b.name].push_back(b.estimate);
        if (IsPrimary(target, b.name) && SpeedupHoldsUnderLayout(b.ratio, b.ci_high, rule))
          primaries_confirmed += 1;
        if (!RegressionDismissedByLayout(b.estimate, b.ci_high, rule))
          not_within[b.name] += 1.0 / args.trials;
      }
      auto& samples = pool[b.name];
      samples.insert(samples.end(), b.baseline_ns.begin(), b.baseline_ns.end());
      samples.insert(samples.end(), b.candidate_ns.begin(), b.candidate_ns.end());
    }
    if (primaries_confirmed == int(target.primary.size())) layout_confirms += 1.0 / args.trials;
    const Scenario& null_patch = real.scenarios.front();
    std::fprintf(stderr,
                 "trial %d/%d: %.1f s, decided after %d rounds; false promotions so far %d, false "
                 "rejections %d%s\n",
                 trial + 1, args.trials, result.seconds, null_patch.rounds.back(),
                 null_patch.promoted, null_patch.regressions,
                 layout.empty() ? "" : (" (layout: " + layout + ")").c_str());
  }
  const double seconds_per_round = seconds / (double(args.trials) * args.rounds);
  std::printf("real %s trials (%d rounds each, %.2f s per round):\n",
              args.null_patches ? "null-patch" : "A/A", args.rounds, seconds_per_round);
  PrintTally(real, seconds_per_round);
  if (args.null_patches) {
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

  if (args.resamples > 0) {
    std::mt19937_64 rng(20261123);  // fixed: the same pool gives the same figures
    Tally resampled(speedups);
    for (int r = 0; r < args.resamples; ++r) {
      std::vector<AbBenchmark> benchmarks;
      for (auto& [name, samples] : pool) {
        std::shuffle(samples.begin(), samples.end(), rng);
        AbBenchmark b;
        b.name = name;
        size_t n = std::min<size_t>(size_t(args.rounds), samples.size() / 2);
        b.baseline_ns.assign(samples.begin(), samples.begin() + n);
        b.candidate_ns.assign(samples.begin() + n, samples.begin() + 2 * n);
        benchmarks.push_back(std::move(b));
      }
      resampled.Add(benchmarks, target, design, rule);
    }
    // Pooling mixes the layouts of every trial into both sides: the resampled figures show the
    // run-to-run noise only (the real trials above carry the layout effect).
    std::printf("resampled trials from the pooled %zu runs per side%s:\n",
                size_t(args.trials) * args.rounds,
                args.null_patches ? " (run-to-run noise only: layouts are pooled away)" : "");
    PrintTally(resampled, seconds_per_round);
  }
  std::printf(
      "targets: false promotions <= 1%%, detection of a 5%% speed-up >= 95%% within the budget, "
      "clear verdicts (10%% faster, 2x slower) in 6 rounds or fewer\n");
}

}  // namespace

void AddCalibrateCommand(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* command = app.add_subcommand(
      "calibrate", "measure the benchmark gate's false-promotion rate and detection power");
  command->add_option("--target,-t", args->target, "target name (default: the first)");
  command->add_option("--rounds", args->rounds, "the most interleaved rounds per verdict")
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
  command->add_option("--speedup", args->speedup,
                      "another known speed-up for the power test (5% and 10% always)");
  command->add_option("--alpha", args->alpha, "two-sided Mann-Whitney significance level (0.01)");
  command->add_option("--metric", args->metric, "real_time (default) or cpu_time");
  command->add_option("--bench", args->bench, "use this benchmark binary instead of building HEAD");
  command->add_option("--jobs,-j", args->jobs, "build parallelism");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->add_flag("--null-patches", args->null_patches,
                    "compare HEAD with HEAD re-laid-out (random code padding in the editable "
                    "files, a new layout per trial): the error rates real candidates that change "
                    "nothing a benchmark runs see");
  command->callback([args] { ReportFailures([&] { RunCalibrate(*args); }); });
}

}  // namespace rlvr
