// The pieces of `rlvr calibrate` (bench/calibrate.h, bench/replay.h) that need no repository: the
// sequential rule replayed on recorded samples with simulated speed-ups, the tally over trials,
// the estimate of refusals left after the gate's re-measurement, the rate bound and the checks of
// the options. calibrate_null_test.cpp runs the whole command on a fixture repository.
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include "harness/bench/calibrate.h"
#include "harness/bench/replay.h"
#include "harness/bench/stats.h"

namespace rlvr {
namespace {

using ::testing::ElementsAre;

// `rounds` samples per side near 100 ns with about 1% of noise and no ties; the candidate's times
// multiplied by `candidate_factor`.
AbBenchmark Samples(const std::string& name, int rounds, double candidate_factor = 1) {
  AbBenchmark b;
  b.name = name;
  for (int i = 0; i < rounds; ++i) {
    b.baseline_ns.push_back(100 * (1 + 0.01 * std::sin(1.7 * i)));
    b.candidate_ns.push_back(candidate_factor * 100 * (1 + 0.01 * std::sin(2.3 * i + 0.5)));
  }
  return b;
}

Target PrimaryAndGated() {
  Target target;
  target.name = "dot";
  target.primary = {"BM_Primary"};
  return target;
}

BenchGateRule RuleOf(const Target& target) {
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  return rule;
}

TEST(CalibrateReplayTest, NoChangeIsNotPromoted) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 20), Samples("BM_Gated", 20)};
  ReplayOutcome o = ReplaySequentialRule(aa, target, design, RuleOf(target), 1.0);
  EXPECT_FALSE(o.promoted);
  EXPECT_FALSE(o.regression);
  EXPECT_GE(o.rounds, design.looks.front());
  EXPECT_LE(o.rounds, 20);
}

TEST(CalibrateReplayTest, AClearSpeedUpIsPromotedAtTheFirstLook) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 20), Samples("BM_Gated", 20)};
  // Only the primary's candidate times are scaled: the gated benchmark stays unchanged.
  ReplayOutcome o = ReplaySequentialRule(aa, target, design, RuleOf(target), 0.5);
  EXPECT_TRUE(o.promoted);
  EXPECT_EQ(o.rounds, design.looks.front());
  EXPECT_EQ(o.held_back, 0);
}

TEST(CalibrateReplayTest, AGrossSlowDownIsRejectedAfterTwoRounds) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 20), Samples("BM_Gated", 20)};
  ReplayOutcome o = ReplaySequentialRule(aa, target, design, RuleOf(target), 2.0);
  EXPECT_FALSE(o.promoted);
  EXPECT_EQ(o.rounds, 2);
}

TEST(CalibrateReplayTest, ARegressionOfAGatedBenchmarkIsNamed) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 20), Samples("BM_Gated", 20, 1.3)};
  ReplayOutcome o = ReplaySequentialRule(aa, target, design, RuleOf(target), 0.5);
  EXPECT_FALSE(o.promoted);
  EXPECT_TRUE(o.regression);
  EXPECT_THAT(o.regressed, ElementsAre("BM_Gated"));
}

TEST(CalibrateReplayTest, SamplesRunningOutDecideNothing) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 3), Samples("BM_Gated", 3)};
  ReplayOutcome o = ReplaySequentialRule(aa, target, design, RuleOf(target), 0.5);
  EXPECT_FALSE(o.promoted);
  EXPECT_FALSE(o.regression);
  EXPECT_EQ(o.rounds, 3);
}

TEST(CalibrateReplayTest, TheTallyReplaysEveryScenarioOfEveryTrial) {
  Target target = PrimaryAndGated();
  SequentialDesign design = MakeSequentialDesign(20, 0.01);
  ReplayTally tally({0.05, 0.10});
  ASSERT_EQ(tally.scenarios.size(), 4u);
  EXPECT_EQ(tally.scenarios[0].scale, 1.0);
  EXPECT_DOUBLE_EQ(tally.scenarios[1].scale, 0.95);
  EXPECT_DOUBLE_EQ(tally.scenarios[2].scale, 0.90);
  EXPECT_EQ(tally.scenarios[3].scale, 2.0);
  std::vector<AbBenchmark> aa = {Samples("BM_Primary", 20), Samples("BM_Gated", 20)};
  tally.Add(aa, target, design, RuleOf(target));
  tally.Add(aa, target, design, RuleOf(target));
  EXPECT_EQ(tally.trials, 2);
  for (const ReplayScenario& s : tally.scenarios) EXPECT_EQ(s.rounds.size(), 2u) << s.scale;
  EXPECT_EQ(tally.scenarios[0].promoted, 0);
  EXPECT_EQ(tally.scenarios[3].promoted, 0);
  EXPECT_THAT(tally.scenarios[3].rounds, ElementsAre(2, 2));
}

TEST(CalibrateEstimateTest, RefusalsSurviveReMeasurementByTheirBenchmarksShares) {
  ReplayScenario null_patch(1.0);
  null_patch.regressed = {{"BM_A"}, {"BM_A", "BM_B"}, {"BM_Unseen"}};
  std::map<std::string, double> not_within = {{"BM_A", 0.5}, {"BM_B", 0.5}};
  // Each layout dismisses BM_A and BM_B half the time: a refusal on one survives
  // kRegressionRelayouts layouts with 0.5^3, on both with 0.5^6; a benchmark never seen passing
  // always survives.
  double expected =
      (std::pow(0.5, kRegressionRelayouts) + std::pow(0.5, 2 * kRegressionRelayouts) + 1) / 4;
  EXPECT_DOUBLE_EQ(RefusalsAfterRemeasurement(null_patch, not_within, 4), expected);
  EXPECT_EQ(RefusalsAfterRemeasurement(null_patch, not_within, 0), 0);
}

TEST(CalibrateEstimateTest, BinomialUpperBound) {
  // No event in n trials: 1 - 0.05^(1/n) (the "rule of three" for large n).
  EXPECT_NEAR(BinomialUpperBound95(0, 10), 1 - std::pow(0.05, 0.1), 1e-9);
  EXPECT_NEAR(BinomialUpperBound95(0, 1000), 0.0030, 1e-4);
  EXPECT_EQ(BinomialUpperBound95(5, 5), 1);
  EXPECT_GT(BinomialUpperBound95(1, 10), BinomialUpperBound95(0, 10));
  EXPECT_GT(BinomialUpperBound95(1, 10), 0.1);
}

TEST(CalibrateOptionsTest, OutOfRangeOptionsAreRefusedWithStatusTwo) {
  EXPECT_NO_THROW(CheckCalibrationOptions(CalibrationOptions()));
  auto status_of = [](CalibrationOptions options) {
    try {
      CheckCalibrationOptions(options);
    } catch (const CLI::RuntimeError& e) {
      return e.get_exit_code();
    }
    return 0;
  };
  CalibrationOptions one_round;
  one_round.rounds = 1;
  EXPECT_EQ(status_of(one_round), 2);
  CalibrationOptions no_trial;
  no_trial.trials = 0;
  EXPECT_EQ(status_of(no_trial), 2);
  CalibrationOptions whole_speedup;
  whole_speedup.speedup = 1;
  EXPECT_EQ(status_of(whole_speedup), 2);
  CalibrationOptions no_resamples;
  no_resamples.resamples = 0;
  EXPECT_EQ(status_of(no_resamples), 0);
  // 0 repetitions or min_time = the gate's own; negative ones are refused.
  CalibrationOptions negative_repetitions;
  negative_repetitions.repetitions = -1;
  EXPECT_EQ(status_of(negative_repetitions), 2);
  CalibrationOptions negative_min_time;
  negative_min_time.min_time = -0.1;
  EXPECT_EQ(status_of(negative_min_time), 2);
}

}  // namespace
}  // namespace rlvr
