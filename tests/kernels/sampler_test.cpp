#include "kernels/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

std::vector<int> Draw(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<int> tokens(draws);
  for (int& t : tokens) t = sampler.Sample(logits.data());
  return tokens;
}

// The distribution the sampler must draw from, computed independently in double:
// softmax(logits / T) over the top_k largest, then the smallest descending prefix with mass
// >= top_p, renormalized.
std::vector<double> ExpectedProbabilities(const std::vector<float>& logits, SamplerConfig c) {
  const int n = static_cast<int>(logits.size());
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  const int kept = c.top_k > 0 ? std::min(c.top_k, n) : n;
  std::vector<double> p(n, 0.0);
  double total = 0.0;
  for (int i = 0; i < kept; ++i) {
    p[order[i]] =
        std::exp((static_cast<double>(logits[order[i]]) - logits[order[0]]) / c.temperature);
    total += p[order[i]];
  }
  double mass = 0.0;
  int nucleus = 0;
  while (nucleus < kept) {
    mass += p[order[nucleus++]] / total;
    if (mass >= c.top_p) break;
  }
  for (int i = nucleus; i < n; ++i) p[order[i]] = 0.0;
  const double kept_total = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= kept_total;
  return p;
}

TEST(SamplerTest, GreedyIsArgmaxWithLowestIndexOnTies) {
  test::Rng rng(TestSeedFor(601));
  for (int vocab : {1, 2, 7, 1000}) {
    std::vector<float> logits = rng.Vector(vocab, -5.0f, 5.0f);
    Sampler sampler(vocab, {.temperature = 0.0f, .seed = 1});
    const int want =
        static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(sampler.Sample(logits.data()), want) << "vocab=" << vocab;
  }
  std::vector<float> ties = {1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
  Sampler greedy(5, {.temperature = 0.0f});
  EXPECT_EQ(greedy.Sample(ties.data()), 1);
  // Ties spread over vectorized lanes and the tail of a longer vector.
  std::vector<float> long_ties = rng.Vector(101, -5.0f, 5.0f);
  for (int i : {93, 40, 77, 100}) long_ties[i] = 9.0f;
  Sampler greedy_long(101, {.temperature = 0.0f});
  EXPECT_EQ(greedy_long.Sample(long_ties.data()), 40);
  long_ties[40] = NAN;  // NaN is never the argmax
  EXPECT_EQ(greedy_long.Sample(long_ties.data()), 77);
}

TEST(SamplerTest, SameSeedSameStreamAndResetRestartsIt) {
  test::Rng rng(TestSeedFor(602));
  std::vector<float> logits = rng.Vector(50, -1.0f, 1.0f);
  const SamplerConfig config{.temperature = 1.0f, .top_k = 40, .top_p = 0.95f, .seed = 42};
  Sampler a(50, config), b(50, config);
  const std::vector<int> first = Draw(a, logits, 200);
  EXPECT_EQ(first, Draw(b, logits, 200));
  EXPECT_NE(first, Draw(a, logits, 200)) << "the stream should move on";
  a.Reset();
  EXPECT_EQ(first, Draw(a, logits, 200));
  SamplerConfig other = config;
  other.seed = 43;
  Sampler c(50, other);
  EXPECT_NE(first, Draw(c, logits, 200));
}

TEST(SamplerTest, TopKOfOneEqualsGreedy) {
  test::Rng rng(TestSeedFor(603));
  for (int trial = 0; trial < 20; ++trial) {
    const int vocab = rng.Int(1, 500);
    std::vector<float> logits = rng.Vector(vocab, -3.0f, 3.0f);
    Sampler greedy(vocab, {.temperature = 0.0f});
    Sampler top1(vocab, {.temperature = 1.5f, .top_k = 1, .seed = static_cast<uint64_t>(trial)});
    const int want = greedy.Sample(logits.data());
    for (int t : Draw(top1, logits, 10)) ASSERT_EQ(t, want);
  }
}

TEST(SamplerTest, TopKNeverLeavesTheKLargest) {
  test::Rng rng(TestSeedFor(604));
  for (int k : {1, 2, 5, 17}) {
    const int vocab = 100;
    std::vector<float> logits = rng.Vector(vocab, -1.0f, 1.0f);
    std::vector<int> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    const std::set<int> allowed(order.begin(), order.begin() + k);
    Sampler sampler(vocab, {.temperature = 5.0f, .top_k = k, .seed = TestSeed()});
    std::set<int> seen;
    for (int t : Draw(sampler, logits, 3000)) {
      ASSERT_TRUE(allowed.count(t)) << "token " << t << " not in the top " << k;
      seen.insert(t);
    }
    EXPECT_EQ(seen.size(), allowed.size()) << "a flat distribution should reach every kept token";
  }
}

TEST(SamplerTest, SmallTopPKeepsOnlyTheDominantToken) {
  std::vector<float> logits(1000, 0.0f);
  logits[417] = 8.0f;  // probability ~0.75 of the whole
  Sampler sampler(1000, {.temperature = 1.0f, .top_p = 0.5f, .seed = TestSeed()});
  for (int t : Draw(sampler, logits, 500)) ASSERT_EQ(t, 417);
  // top_p = 0 still keeps one token.
  Sampler zero(1000, {.temperature = 1.0f, .top_p = 0.0f, .seed = TestSeed()});
  for (int t : Draw(zero, logits, 50)) ASSERT_EQ(t, 417);
}

TEST(SamplerTest, TopPNeverLeavesTheNucleusOnALargeVocabulary) {
  test::Rng rng(TestSeedFor(607));
  const int vocab = 5000;
  for (float top_p : {0.3f, 0.9f}) {
    const std::vector<float> logits = rng.Vector(vocab, -8.0f, 8.0f);
    const SamplerConfig config{.temperature = 0.7f, .top_p = top_p, .seed = TestSeed()};
    const std::vector<double> want = ExpectedProbabilities(logits, config);
    Sampler sampler(vocab, config);
    std::set<int> seen;
    for (int t : Draw(sampler, logits, 4000)) {
      ASSERT_GT(want[t], 0.0) << "token " << t << " is outside the top-p " << top_p << " nucleus";
      seen.insert(t);
    }
    const auto nucleus = std::count_if(want.begin(), want.end(), [](double p) { return p > 0; });
    // 4000 draws over a few hundred similar tokens reach most of them.
    EXPECT_GT(seen.size(), static_cast<size_t>(nucleus) / 2) << "top_p=" << top_p;
  }
}

// Over kDraws draws the standard deviation of a frequency is at most sqrt(0.25 / kDraws) ~ 0.0011;
// the tolerance is about six of those.
constexpr int kDraws = 200000;
constexpr double kFrequencyTol = 0.007;

void ExpectFrequenciesMatch(const std::vector<float>& logits, SamplerConfig config) {
  const int vocab = static_cast<int>(logits.size());
  const std::vector<double> want = ExpectedProbabilities(logits, config);
  Sampler sampler(vocab, config);
  std::vector<int> counts(vocab, 0);
  for (int t : Draw(sampler, logits, kDraws)) ++counts[t];
  for (int i = 0; i < vocab; ++i) {
    const double freq = static_cast<double>(counts[i]) / kDraws;
    if (want[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " was cut and must never be drawn";
    } else {
      EXPECT_NEAR(freq, want[i], kFrequencyTol) << "token " << i << " T=" << config.temperature
                                                << " k=" << config.top_k << " p=" << config.top_p;
    }
  }
}

TEST(SamplerTest, FrequenciesMatchProbabilities) {
  test::Rng rng(TestSeedFor(605));
  const std::vector<float> logits = rng.Vector(10, -2.0f, 2.0f);
  ExpectFrequenciesMatch(logits, {.temperature = 1.0f, .seed = TestSeedFor(1)});
  ExpectFrequenciesMatch(logits, {.temperature = 0.6f, .seed = TestSeedFor(2)});
  ExpectFrequenciesMatch(logits, {.temperature = 1.3f, .top_k = 4, .seed = TestSeedFor(3)});
  ExpectFrequenciesMatch(logits, {.temperature = 1.0f, .top_p = 0.7f, .seed = TestSeedFor(4)});
  ExpectFrequenciesMatch(logits,
                         {.temperature = 0.8f, .top_k = 6, .top_p = 0.8f, .seed = TestSeedFor(5)});
}

TEST(SamplerTest, LogitsAreNotModified) {
  test::Rng rng(TestSeedFor(606));
  const std::vector<float> logits = rng.Vector(64);
  std::vector<float> copy = logits;
  Sampler sampler(64, {.temperature = 0.9f, .top_k = 10, .top_p = 0.9f, .seed = 5});
  Draw(sampler, copy, 10);
  EXPECT_EQ(copy, logits);
}

// Regimes the contract admits (sampler.h: greedy, temperature, top-k and top-p over a logits
// vector; sampler.cpp: NaN counts as -inf, so it is never chosen): every finite regime of
// input_regimes.h with narrow = 8, limit = FLT_MAX (differences that overflow just give weight 0)
// and an outlier of 120 (100 above the row: without the shift by the maximum exp overflows), and
// -inf masks. NaN for greedy only: the independent expectation below sorts the logits, which NaN
// would leave unordered. Sizes from 1 up to 5000 (a vocabulary), temperatures down to 0.01.
constexpr test::RegimeLimits kSamplerLimits{.narrow = 8.0f, .limit = FLT_MAX, .outlier = 120.0f};

// Lowest index of the largest non-NaN logit; 0 if there is none (every logit NaN or -inf).
int ExpectedArgmax(const std::vector<float>& logits) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(logits.size()); ++i) {
    if (std::isnan(logits[i]) || logits[i] == -INFINITY) continue;
    if (best < 0 || logits[i] > logits[best]) best = i;
  }
  return best < 0 ? 0 : best;
}

TEST(SamplerTest, GreedyIsArgmaxInEveryRegime) {
  test::Rng rng(TestSeedFor(608));
  std::vector<test::Regime> regimes = test::FiniteRegimes();
  regimes.push_back(test::Regime::kNegInfMask);
  regimes.push_back(test::Regime::kNaN);
  for (test::Regime regime : regimes) {
    for (int vocab : test::RegimeSizes(rng, 5000)) {
      const std::vector<float> logits = test::RegimeRow(regime, vocab, rng, kSamplerLimits);
      Sampler greedy(vocab, {.temperature = 0.0f});
      ASSERT_EQ(greedy.Sample(logits.data()), ExpectedArgmax(logits))
          << test::RegimeName(regime) << " vocab=" << vocab;
      // top_k = 1 at any temperature is the same choice.
      Sampler top1(vocab, {.temperature = 0.7f, .top_k = 1, .seed = TestSeed()});
      if (regime != test::Regime::kNaN && regime != test::Regime::kNegInfMask) {
        ASSERT_EQ(top1.Sample(logits.data()), ExpectedArgmax(logits))
            << test::RegimeName(regime) << " vocab=" << vocab << " (top_k = 1)";
      }
    }
  }
}

// Every drawn token lies in the nucleus ExpectedProbabilities computes in double. Where the
// mass crosses top_p within float rounding of the kernel's weights (relative ~1e-6) the boundary
// token is ambiguous, so the allowed set is the nucleus for top_p + 1e-5: a superset that differs
// only by such a token. Likewise tokens whose probabilities equal the nucleus's smallest within
// 1e-5 (denormal logits, ties) are interchangeable: the kernel orders by its float weights, which
// are then equal, so it may keep any of them. A wrong cut (a token well past the nucleus, a
// maximum not shifted out) still falls outside.
// A token of probability below 1e-30 (an outlier 100 above it at T = 1) is never drawn: over this
// test's ~50000 draws the chance of one is below 1e-25, plus 2^-53 per draw for the uniform's
// granularity. A sampler whose weights overflow (not shifted by the maximum) draws them.
constexpr double kNeverDrawn = 1e-30;

TEST(SamplerTest, DrawsStayInTheNucleusInEveryRegime) {
  test::Rng rng(TestSeedFor(609));
  std::vector<test::Regime> regimes = test::FiniteRegimes();
  regimes.push_back(test::Regime::kNegInfMask);
  const float temperatures[] = {1.0f, 0.6f, 0.01f, 2.0f};
  const float top_ps[] = {1.0f, 0.9f, 0.5f, 0.1f};
  int config = 0;
  for (test::Regime regime : regimes) {
    for (int vocab : test::RegimeSizes(rng, 5000, 2)) {
      const std::vector<float> logits = test::RegimeRow(regime, vocab, rng, kSamplerLimits);
      ++config;
      const SamplerConfig c{.temperature = temperatures[config % 4],
                            .top_k = config % 3 == 0 ? rng.Int(1, vocab) : 0,
                            .top_p = top_ps[(config / 4) % 4],
                            .seed = TestSeedFor(config)};
      SamplerConfig wider = c;
      wider.top_p = std::min(1.0f, c.top_p + 1e-5f);
      const std::vector<double> nucleus = ExpectedProbabilities(logits, wider);
      SamplerConfig uncut = c;
      uncut.top_p = 1.0f;
      const std::vector<double> p = ExpectedProbabilities(logits, uncut);
      double smallest_kept = 1.0;
      for (int i = 0; i < vocab; ++i) {
        if (nucleus[i] > 0.0) smallest_kept = std::min(smallest_kept, p[i]);
      }
      Sampler sampler(vocab, c);
      for (int t : Draw(sampler, logits, 200)) {
        ASSERT_GE(t, 0);
        ASSERT_LT(t, vocab);
        const bool allowed =
            (nucleus[t] > 0.0 || (p[t] > 0.0 && p[t] >= smallest_kept * (1 - 1e-5))) &&
            p[t] >= kNeverDrawn;
        ASSERT_TRUE(allowed) << test::RegimeName(regime) << " vocab=" << vocab << " token " << t
                             << " logit " << logits[t] << " T=" << c.temperature << " k=" << c.top_k
                             << " p=" << c.top_p;
      }
    }
  }
}

// One logit 100 above all others, anywhere in the row: its probability is 1 - (n - 1) e^-100 / T
// or more, so it is drawn every time, with or without top-k and top-p cuts.
TEST(SamplerTest, OutlierAnywhereIsAlwaysDrawn) {
  test::Rng rng(TestSeedFor(610));
  for (int vocab : {2, 3, 17, 33, 1000}) {
    for (int at : {0, vocab / 2, vocab - 1, rng.Int(0, vocab - 1)}) {
      std::vector<float> logits = rng.Vector(vocab, -8.0f, 8.0f);
      logits[at] = 108.0f;
      for (SamplerConfig c :
           {SamplerConfig{.temperature = 1.0f}, SamplerConfig{.temperature = 0.5f, .top_p = 0.9f},
            SamplerConfig{.temperature = 1.0f, .top_k = 2, .top_p = 0.5f}}) {
        c.seed = TestSeed();
        Sampler sampler(vocab, c);
        for (int t : Draw(sampler, logits, 20)) {
          ASSERT_EQ(t, at) << "vocab=" << vocab << " T=" << c.temperature << " k=" << c.top_k
                           << " p=" << c.top_p;
        }
      }
    }
  }
}

// top_p keeps the SMALLEST prefix whose mass reaches p, boundary included: with n equal logits
// and p = k / n exactly (dyadic, so every sum is exact in float and double), the first k tokens by
// index are kept and token k never is; a strict ">" would keep k + 1.
TEST(SamplerTest, TopPMassExactlyReachingPStopsThere) {
  struct Case {
    int n;
    float top_p;
    int kept;
  };
  for (Case cs : {Case{4, 0.5f, 2}, Case{8, 0.25f, 2}, Case{8, 0.75f, 6}, Case{16, 0.0625f, 1},
                  Case{32, 0.5f, 16}}) {
    const std::vector<float> logits(cs.n, 1.5f);
    Sampler sampler(cs.n, {.temperature = 1.0f, .top_p = cs.top_p, .seed = TestSeed()});
    std::set<int> seen;
    for (int t : Draw(sampler, logits, 100 * cs.n)) {
      ASSERT_LT(t, cs.kept) << "n=" << cs.n << " top_p=" << cs.top_p;
      seen.insert(t);
    }
    // Each kept token has probability 1/kept >= 1/16 per draw: missing one in 100 n draws has
    // probability below (15/16)^400 ~ 6e-12.
    EXPECT_EQ(seen.size(), static_cast<size_t>(cs.kept)) << "n=" << cs.n;
  }
}

// The contract admits any finite temperature >= 0. For a subnormal one (below ~2.9e-39) 1 / T
// overflows to inf, and the maximum's weight 0 * inf would be NaN, so the draw fell through to the
// last candidate instead of the argmax: a temperature that small is greedy.
TEST(SamplerTest, SubnormalTemperatureActsAsGreedy) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  for (float t : {1e-40f, 1e-45f}) {
    Sampler sampler(3, {.temperature = t, .seed = TestSeed()});
    for (int token : Draw(sampler, logits, 20)) ASSERT_EQ(token, 1) << "T=" << t;
  }
}

TEST(SamplerTest, RejectsBadConfig) {
  EXPECT_THROW(Sampler(0, {}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.temperature = -1.0f}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.temperature = NAN}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.top_k = -3}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.top_p = 1.5f}), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
