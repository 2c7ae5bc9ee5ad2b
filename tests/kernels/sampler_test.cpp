#include "kernels/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "tests/common/test_seed.h"
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

TEST(SamplerTest, RejectsBadConfig) {
  EXPECT_THROW(Sampler(0, {}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.temperature = -1.0f}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.temperature = NAN}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.top_k = -3}), std::invalid_argument);
  EXPECT_THROW(Sampler(10, {.top_p = 1.5f}), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
