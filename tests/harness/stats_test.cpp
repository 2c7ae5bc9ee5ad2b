// Benchmark statistics: median, Mann-Whitney p-values cross-checked against scipy (run live when
// python3-scipy is installed), and the Hodges-Lehmann ratio interval.
#include "harness/bench/stats.h"

#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/process.h"

namespace rlvr {
namespace {

std::vector<double> Noisy(std::mt19937_64& rng, int n, double center, double spread) {
  std::lognormal_distribution<double> noise(0, spread);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(center * noise(rng));
  return out;
}

TEST(StatsTest, Median) {
  EXPECT_EQ(MedianOf({}), 0);
  EXPECT_EQ(MedianOf({3}), 3);
  EXPECT_EQ(MedianOf({5, 1, 3}), 3);
  EXPECT_EQ(MedianOf({4, 1, 3, 2}), 2.5);
}

TEST(StatsTest, NormalQuantile) {
  EXPECT_NEAR(NormalUpperQuantile(0.025), 1.959964, 1e-6);
  EXPECT_NEAR(NormalUpperQuantile(0.5), 0, 1e-9);
}

TEST(StatsTest, MannWhitneyOnEqualAndSeparatedSamples) {
  std::vector<double> same(10, 5.0);
  EXPECT_EQ(MannWhitneyTwoSidedP(same, same), 1);
  EXPECT_EQ(MannWhitneyTwoSidedP({}, same), 1);
  std::vector<double> low, high;
  for (int i = 0; i < 10; ++i) {
    low.push_back(100 + i);
    high.push_back(200 + i);
  }
  // Complete separation of 10 vs 10: z = (100 - 50 - 0.5) / sqrt(175), p = 0.000183 (scipy).
  double p = MannWhitneyTwoSidedP(low, high);
  EXPECT_NEAR(p, 2 * 0.5 * std::erfc((49.5 / std::sqrt(175.0)) / std::sqrt(2.0)), 1e-12);
  EXPECT_LT(p, 0.001);
  EXPECT_EQ(p, MannWhitneyTwoSidedP(high, low));  // two-sided: symmetric
}

// Runs scipy.stats.mannwhitneyu (asymptotic, continuity-corrected, two-sided: what compare.py
// gets for n > 8) on the same samples and compares.
TEST(StatsTest, MannWhitneyMatchesScipy) {
  if (!RunProcess({"/usr/bin/python3", "-c", "import scipy.stats"}).ok())
    GTEST_SKIP() << "no scipy";
  std::mt19937_64 rng(42);
  std::ostringstream script;
  script << "from scipy.stats import mannwhitneyu\n";
  std::vector<double> ours;
  for (int trial = 0; trial < 12; ++trial) {
    int n1 = 9 + trial % 5, n2 = 9 + (trial * 3) % 7;
    auto a = Noisy(rng, n1, 100, 0.05), b = Noisy(rng, n2, 100 * (1 + 0.01 * trial), 0.05);
    if (trial % 3 == 0) {  // ties, as coarse timers produce
      for (auto& x : a) x = std::round(x);
      for (auto& x : b) x = std::round(x);
    }
    ours.push_back(MannWhitneyTwoSidedP(a, b));
    script << fmt::format(
        "print(repr(mannwhitneyu({}, {}, alternative='two-sided', method='asymptotic', "
        "use_continuity=True).pvalue))\n",
        fmt::format("[{:.17g}]", fmt::join(a, ",")), fmt::format("[{:.17g}]", fmt::join(b, ",")));
  }
  ProcessResult r = RunProcess({"/usr/bin/python3", "-c", script.str()});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  std::istringstream lines(r.out);
  for (double p : ours) {
    double expected = 0;
    ASSERT_TRUE(lines >> expected);
    EXPECT_NEAR(p, expected, 1e-9 + 1e-9 * expected);
  }
}

TEST(StatsTest, RatioIntervalOfAnExactlyScaledSample) {
  std::mt19937_64 rng(7);
  auto base = Noisy(rng, 15, 1000, 0.03);
  std::vector<double> faster;
  for (double x : base) faster.push_back(0.8 * x);
  RatioInterval ci = RatioConfidence(base, faster);
  EXPECT_NEAR(ci.estimate, 0.8, 1e-12);
  EXPECT_LT(ci.low, 0.8);
  EXPECT_GT(ci.high, 0.8);
}

TEST(StatsTest, RatioIntervalCoversTheTrueRatioAboutNinetyFivePercent) {
  std::mt19937_64 rng(11);
  int covered = 0, trials = 400;
  for (int t = 0; t < trials; ++t) {
    auto base = Noisy(rng, 10, 1000, 0.05), cand = Noisy(rng, 10, 900, 0.05);
    RatioInterval ci = RatioConfidence(base, cand);
    covered += ci.low <= 0.9 && 0.9 <= ci.high;
  }
  EXPECT_GE(covered, int(0.92 * trials));
  EXPECT_LE(covered, int(0.995 * trials));
}

TEST(StatsTest, RatioIntervalNarrowsWithMoreSamples) {
  std::mt19937_64 rng(3);
  auto width = [&](int n) {
    RatioInterval ci = RatioConfidence(Noisy(rng, n, 1000, 0.05), Noisy(rng, n, 1000, 0.05));
    return ci.high - ci.low;
  };
  EXPECT_GT(width(5), width(60));
}

TEST(StatsTest, RatioIntervalIgnoresNonPositiveAndEmpty) {
  RatioInterval none = RatioConfidence({}, {1, 2});
  EXPECT_EQ(none.low, 1);
  EXPECT_EQ(none.high, 1);
  RatioInterval ci = RatioConfidence({0, -1, 10, 10, 10}, {5, 5, 5});
  EXPECT_NEAR(ci.estimate, 0.5, 1e-12);
}

}  // namespace
}  // namespace rlvr
