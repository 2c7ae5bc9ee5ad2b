// The benchmark gate's decision on synthetic A/B samples, and callgrind instruction counts.
#include "harness/bench/callgrind.h"
#include "harness/bench/rule.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;

AbBenchmark Compare(const std::string& name, double true_ratio, double noise, int rounds,
                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> jitter(0, noise);
  AbBenchmark b;
  b.name = name;
  for (int i = 0; i < rounds; ++i) {
    b.baseline_ns.push_back(1000 * jitter(rng));
    b.candidate_ns.push_back(1000 * true_ratio * jitter(rng));
  }
  Summarize(b);
  return b;
}

TEST(BenchRuleTest, ClearSpeedupIsPromoted) {
  std::vector<AbBenchmark> bs = {Compare("BM_P", 0.9, 0.01, 10, 1),
                                 Compare("BM_O", 1, 0.01, 10, 2)};
  BenchGateDecision d = DecideBenchGate(bs, {"BM_P"}, {}, {});
  EXPECT_TRUE(d.promotable) << d.message;
  EXPECT_FALSE(d.suspicious);
  EXPECT_NEAR(d.primary_ratio, 0.9, 0.02);
  EXPECT_THAT(d.message, HasSubstr("faster: BM_P"));
}

TEST(BenchRuleTest, NoChangeIsNotPromoted) {
  std::vector<AbBenchmark> bs = {Compare("BM_P", 1.0, 0.02, 10, 3)};
  BenchGateDecision d = DecideBenchGate(bs, {"BM_P"}, {}, {});
  EXPECT_FALSE(d.promotable);
  EXPECT_THAT(d.message, HasSubstr("not 3% faster"));
}

TEST(BenchRuleTest, SignificantButImmaterialSpeedupIsNotPromoted) {
  // 1% faster with almost no noise: significant, but below min_improvement.
  std::vector<AbBenchmark> bs = {Compare("BM_P", 0.99, 0.001, 10, 4)};
  ASSERT_LT(bs[0].p_value, 0.05);
  EXPECT_FALSE(DecideBenchGate(bs, {"BM_P"}, {}, {}).promotable);
}

TEST(BenchRuleTest, RegressionElsewhereBlocksUnlessReference) {
  std::vector<AbBenchmark> bs = {Compare("BM_P", 0.8, 0.01, 10, 5),
                                 Compare("BM_Other", 1.2, 0.01, 10, 6)};
  BenchGateDecision blocked = DecideBenchGate(bs, {"BM_P"}, {}, {});
  EXPECT_FALSE(blocked.promotable);
  EXPECT_THAT(blocked.message, HasSubstr("BM_Other"));
  EXPECT_THAT(blocked.message, HasSubstr("regression"));
  EXPECT_TRUE(DecideBenchGate(bs, {"BM_P"}, {"BM_Other"}, {}).promotable);
  // A small regression within max_regression is allowed.
  bs[1] = Compare("BM_Other", 1.02, 0.005, 10, 7);
  EXPECT_TRUE(DecideBenchGate(bs, {"BM_P"}, {}, {}).promotable);
}

AbBenchmark WithFigures(const std::string& name, double ratio, double p_value) {
  AbBenchmark b;
  b.name = name;
  b.ratio = ratio;
  b.p_value = p_value;
  return b;
}

TEST(BenchRuleTest, RegressionsAreCorrectedForTheNumberOfBenchmarks) {
  // Ten gated benchmarks each 6% slower at p = 0.005: each alone is "significant at 1%", but
  // Holm compares the smallest p with 0.01 / 10 = 0.001, so none is a regression.
  std::vector<AbBenchmark> bs;
  for (int i = 0; i < 10; ++i) bs.push_back(WithFigures("BM_G" + std::to_string(i), 1.06, 0.005));
  EXPECT_TRUE(GatedRegressions(bs, {}, {}, BenchGateRule{}, 0.01).empty());
  // One of them clearly significant: its p = 1e-5 < 0.001 passes the first step, the next
  // (0.005 against 0.01 / 9) stops the procedure.
  bs[3].p_value = 1e-5;
  auto regressed = GatedRegressions(bs, {}, {}, BenchGateRule{}, 0.01);
  ASSERT_EQ(regressed.size(), 1u);
  EXPECT_EQ(regressed[0]->name, "BM_G3");
  // Step-down: with two benchmarks at p = 0.004 the second is compared with 0.01 / 1 and kept.
  std::vector<AbBenchmark> two = {WithFigures("BM_A", 1.2, 0.004), WithFigures("BM_B", 1.2, 0.004)};
  EXPECT_EQ(GatedRegressions(two, {}, {}, BenchGateRule{}, 0.01).size(), 2u);
  // Significant but within max_regression: not a regression.
  two[1].ratio = 1.03;
  EXPECT_EQ(GatedRegressions(two, {}, {}, BenchGateRule{}, 0.01).size(), 1u);
  // Primary, reference and exempt benchmarks are not judged (and do not count in m).
  BenchGateRule exempt;
  exempt.regression_exempt = {"BM_B"};
  EXPECT_EQ(GatedRegressions(two, {"BM_A"}, {}, exempt, 0.01).size(), 0u);
  EXPECT_EQ(GatedRegressions(two, {}, {"BM_B"}, BenchGateRule{}, 0.01).size(), 1u);
}

TEST(BenchRuleTest, TheDecisionNamesTheRegressedBenchmarks) {
  std::vector<AbBenchmark> bs = {Compare("BM_P", 0.8, 0.01, 10, 5),
                                 Compare("BM_Other", 1.2, 0.01, 10, 6)};
  BenchGateDecision blocked = DecideBenchGate(bs, {"BM_P"}, {}, {});
  EXPECT_EQ(blocked.regressed, std::vector<std::string>{"BM_Other"});
  BenchGateRule rule;
  rule.regression_exempt = {"BM_Other"};
  BenchGateDecision exempted = DecideBenchGate(bs, {"BM_P"}, {}, rule);
  EXPECT_TRUE(exempted.promotable) << exempted.message;
  EXPECT_TRUE(exempted.regressed.empty());
  SequentialDecision s =
      DecideSequential(MakeSequentialDesign(10, 0.01), 10, bs, {"BM_P"}, {}, BenchGateRule{});
  ASSERT_TRUE(s.settled);
  EXPECT_FALSE(s.decision.promotable);
  EXPECT_EQ(s.decision.regressed, std::vector<std::string>{"BM_Other"});
  s = DecideSequential(MakeSequentialDesign(10, 0.01), 10, bs, {"BM_P"}, {}, rule);
  EXPECT_TRUE(s.settled && s.decision.promotable) << s.decision.message;
}

TEST(BenchRuleTest, LayoutReMeasurementTests) {
  BenchGateRule rule;  // min_improvement 3%, max_regression 5%
  EXPECT_TRUE(RegressionDismissedByLayout(1.022, 1.061, rule));  // a noisy tiny benchmark
  EXPECT_FALSE(RegressionDismissedByLayout(1.06, 1.08, rule));   // estimate beyond 5%
  EXPECT_FALSE(RegressionDismissedByLayout(1.0, 1.11, rule));    // too noisy to tell
  EXPECT_FALSE(RegressionDismissedByLayout(1.30, 1.35, rule));
  EXPECT_TRUE(SpeedupHoldsUnderLayout(0.985, 0.999, rule));
  EXPECT_FALSE(SpeedupHoldsUnderLayout(0.986, 0.99, rule));  // less than half of 3% faster
  EXPECT_FALSE(SpeedupHoldsUnderLayout(0.90, 1.0, rule));    // interval reaches 1
  // A held-back benchmark measured again passes the early-promotion guard: estimate within 5%,
  // interval within 10%.
  EXPECT_TRUE(WithinEarlyPromotionGuard(1.05, 1.10, rule));
  EXPECT_FALSE(WithinEarlyPromotionGuard(1.051, 1.06, rule));
  EXPECT_FALSE(WithinEarlyPromotionGuard(1.0, 1.101, rule));
}

TEST(BenchRuleTest, EveryPrimaryMustImprove) {
  std::vector<AbBenchmark> bs = {Compare("BM_A", 0.8, 0.01, 10, 8),
                                 Compare("BM_B", 1.0, 0.01, 10, 9)};
  BenchGateDecision d = DecideBenchGate(bs, {"BM_A", "BM_B"}, {}, {});
  EXPECT_FALSE(d.promotable);
  EXPECT_THAT(d.message, HasSubstr("BM_B"));
  EXPECT_NEAR(d.primary_ratio, std::sqrt(0.8), 0.02);
}

TEST(BenchRuleTest, MissingPrimaryOrNoPrimaryRefuses) {
  std::vector<AbBenchmark> bs = {Compare("BM_A", 0.8, 0.01, 10, 10)};
  EXPECT_THAT(DecideBenchGate(bs, {"BM_X"}, {}, {}).message, HasSubstr("BM_X was not measured"));
  EXPECT_FALSE(DecideBenchGate(bs, {}, {}, {}).promotable);
}

TEST(BenchRuleTest, ImplausibleSpeedupIsSuspicious) {
  std::vector<AbBenchmark> bs = {Compare("BM_P", 0.05, 0.01, 10, 11)};
  BenchGateDecision d = DecideBenchGate(bs, {"BM_P"}, {}, {});
  EXPECT_TRUE(d.suspicious);
  EXPECT_THAT(d.message, HasSubstr("suspicious"));
  bs = {Compare("BM_P", 0.5, 0.01, 10, 12)};
  EXPECT_FALSE(DecideBenchGate(bs, {"BM_P"}, {}, {}).suspicious);
}

TEST(BenchRuleTest, ParsesCallgrindTotals) {
  EXPECT_EQ(ParseCallgrindTotal("events: Ir\nfl=a\n1 2\nsummary: 123456\ntotals: 123456\n"),
            123456u);
  EXPECT_EQ(ParseCallgrindTotal("events: Ir\n"), std::nullopt);
}

TEST(BenchRuleTest, CallgrindCountsInstructions) {
  if (!RunProcess({"valgrind", "--version"}).ok()) GTEST_SKIP() << "no valgrind";
  std::string error;
  // /bin/echo ignores the benchmark flags; any program gives an instruction count.
  auto total = CallgrindInstructions({"/bin/echo"}, ".", {}, &error);
  ASSERT_TRUE(total.has_value()) << error;
  EXPECT_GT(*total, 1000u);
  EXPECT_FALSE(CallgrindInstructions({"/nonexistent"}, ".", {}, &error).has_value());
  EXPECT_THAT(error, HasSubstr("callgrind run failed"));
}

}  // namespace
}  // namespace rlvr
