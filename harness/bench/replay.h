// The sequential promotion rule (rule.h) replayed on recorded samples: what the benchmark gate
// would have decided had it measured full-budget A/A samples round by round and stopped when
// settled, with the primary benchmarks' candidate times scaled to simulate a known true speed-up
// or slow-down; and the tally of such replays over many trials, per simulated candidate. What
// `rlvr calibrate` (calibrate.h) measures the gate's error rates and speed with.
#pragma once

#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/bench/rule.h"
#include "harness/bench/run.h"

namespace rlvr {

// What the gate decided on one replayed trial.
struct ReplayOutcome {
  bool promoted = false;
  bool regression = false;  // refused for a regression of a gated benchmark
  std::vector<std::string> regressed;
  int rounds = 0;
  int held_back = 0;         // benchmarks measured alone after a held-back look
  int held_back_rounds = 0;  // for how many more rounds
};

// Replays DecideSequential (and DecideHeldBack after a held-back look, as CompareBenchmarks does)
// on the first rounds of `full`, the primary benchmarks' candidate times multiplied by `scale`
// (< 1 a true speed-up, > 1 a slow-down, 1 none). Preconditions: every benchmark of `full` holds
// as many baseline as candidate samples, one per round; `design` is MakeSequentialDesign's. When
// the samples run out before a verdict, `rounds` is the rounds they held and nothing is decided.
ReplayOutcome ReplaySequentialRule(const std::vector<AbBenchmark>& full, const Target& target,
                                   const SequentialDesign& design, const BenchGateRule& rule,
                                   double scale);

// One simulated candidate of calibration, over every trial replayed: no change, a known speed-up,
// a clear slow-down.
struct ReplayScenario {
  explicit ReplayScenario(double candidate_scale) : scale(candidate_scale) {}
  double scale;  // candidate primary time x scale
  int promoted = 0;
  int regressions = 0;                              // refused for a regression of a gated benchmark
  std::vector<std::vector<std::string>> regressed;  // per refused trial, the benchmarks
  std::vector<int> rounds;
  std::vector<int> held_back;  // per verdict that measured held-back benchmarks alone: how many
  std::vector<int> held_back_rounds;  // ... and for how many more rounds
};

// The scenarios of calibration, in order: no change (scale 1), one per speed-up s of `speedups`
// (scale 1 - s, each in (0, 1)), and a 2x slower candidate.
struct ReplayTally {
  std::vector<ReplayScenario> scenarios;
  int trials = 0;
  explicit ReplayTally(const std::vector<double>& speedups);
  // Replays one trial's samples `aa` (as ReplaySequentialRule requires) for every scenario.
  void Add(const std::vector<AbBenchmark>& aa, const Target& target, const SequentialDesign& design,
           const BenchGateRule& rule);
};

}  // namespace rlvr
