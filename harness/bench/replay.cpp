#include "harness/bench/replay.h"

#include <algorithm>

namespace rlvr {

namespace {

bool IsPrimary(const Target& target, const std::string& name) {
  return std::find(target.primary.begin(), target.primary.end(), name) != target.primary.end();
}

}  // namespace

ReplayOutcome ReplaySequentialRule(const std::vector<AbBenchmark>& full, const Target& target,
                                   const SequentialDesign& design, const BenchGateRule& rule,
                                   double scale) {
  std::vector<AbBenchmark> prefix(full.size());
  for (size_t i = 0; i < full.size(); ++i) prefix[i].name = full[i].name;
  ReplayOutcome outcome;
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

ReplayTally::ReplayTally(const std::vector<double>& speedups) {
  scenarios.emplace_back(1.0);
  for (double s : speedups) scenarios.emplace_back(1 - s);
  scenarios.emplace_back(2.0);
}

void ReplayTally::Add(const std::vector<AbBenchmark>& aa, const Target& target,
                      const SequentialDesign& design, const BenchGateRule& rule) {
  ++trials;
  for (auto& scenario : scenarios) {
    ReplayOutcome o = ReplaySequentialRule(aa, target, design, rule, scenario.scale);
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

}  // namespace rlvr
