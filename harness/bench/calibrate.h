// The calibration of the benchmark gate (`rlvr calibrate`): its error rates and speed on this
// machine, for the sequential gate the evaluator uses (rule.h: at most `rounds` rounds, stopping
// when settled). Each trial is a real interleaved A/A run (the same binary on both sides) of the
// full budget; the gate is replayed on its first rounds as if it had stopped when settled
// (replay.h): promoted = a false promotion. The same real noise samples, with the candidate's
// primary times multiplied by 0.95, 0.90 (and 1 - `speedup`) or 2, give known true speed-ups
// (promoted = detected, else a false rejection) and a clear slow-down; each reports the median
// rounds and seconds to a verdict. A trial runs the target's benchmarks exactly as the gate does
// (for a bench_command target: its command, bench_command.repetitions invocations per run, the
// fastest kept), so the figures are the gate's. Because real trials are slow, the runs' samples are
// also pooled and re-drawn into many resampled trials, which estimate rates near 1% with useful
// precision (they keep the noise distribution but not the drift between rounds, which the real
// trials do exercise).
//
// With null patches the candidate side is not HEAD's binary but HEAD rebuilt with a random
// code-layout padding in every editable file of the target (relayout.h), a new layout each trial:
// what real candidates that change nothing a benchmark runs look like. Then the A/A rates include
// layout noise, a rejection for a regression of a gated benchmark is a false rejection, and each
// benchmark's layout spread is reported.
#pragma once

#include <map>
#include <string>

#include "harness/bench/replay.h"
#include "harness/bench/run.h"
#include "harness/bench/setup.h"

namespace rlvr {

struct CalibrationOptions {
  int rounds = kBenchRounds;  // the most interleaved rounds per verdict
  int trials = 10;            // real A/A (or null-patch) trials
  int resamples = 2000;       // resampled trials from the pooled real samples; 0 = none
  // --benchmark_min_time per repetition; 0 = the gate's (kBenchMinTimeSeconds). A bench_command
  // target times itself: a min_time given for one is refused.
  double min_time = 0;
  // Per benchmark per run, the fastest kept; 0 = the gate's: kBenchRepetitions, or for a
  // bench_command target its bench_command.repetitions (invocations per run). Another value shows
  // what a different setting would give.
  int repetitions = 0;
  double speedup = 0.10;             // a known speed-up tested besides 5% and 10%
  double alpha = 0.01;               // two-sided Mann-Whitney significance level
  std::string metric = "real_time";  // or "cpu_time" (ParseBenchMetric)
  int jobs = 2;                      // build parallelism of the re-laid-out HEADs
  bool null_patches = false;         // HEAD against HEAD re-laid-out instead of HEAD against itself
};

// Throws CLI::RuntimeError (exit status 2) naming the flag when `options` are out of range:
// rounds >= 2, trials >= 1, resamples >= 0, repetitions >= 0, min_time >= 0, 0 < speedup < 1.
void CheckCalibrationOptions(const CalibrationOptions& options);

// Runs the calibration of `setup`'s first target and prints its report on stdout, one progress
// line per trial on stderr. Preconditions: CheckCalibrationOptions(options) passed; `setup` comes
// from PrepareBench("calibrate", ...) with the repository lock still held. Throws
// CLI::RuntimeError with exit status 2 on a misuse (a bench_command target with a given binary or
// a --min-time,
// null patches of a given binary or of a target with no editable C or C++ file, an unknown
// metric, a primary benchmark the filter does not run) and 1 when a trial's run or a re-laid-out
// build fails. The report gives each primary benchmark's run-to-run noise and, when a 10% speed-up
// is missed in more than a fifth of the trials, what would lower the noise.
void Calibrate(const BenchSetup& setup, const CalibrationOptions& options);

// What the benchmark gate's re-measurement would leave of the null-patch refusals of
// `null_scenario` (the tally's first scenario, over `trials` trials). The gate measures a refused
// benchmark again under kRegressionRelayouts new random layouts and dismisses it when one of them
// passes RegressionDismissedByLayout; `not_within[b]` is the share of trials in which b did not
// pass it (a benchmark missing there counts as never passing), so a refusal on benchmarks B
// survives with probability about the product over b in B of not_within[b]^kRegressionRelayouts
// (layouts drawn independently). Returns the expected share of trials still refused; 0 for no
// trials.
double RefusalsAfterRemeasurement(const ReplayScenario& null_scenario,
                                  const std::map<std::string, double>& not_within, int trials);

}  // namespace rlvr
