#include "kernels/rmsnorm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

// Float sum of squares over up to 8192 values against double: 1e-5 relative, 1e-6 absolute.
constexpr float kRelTol = 1e-5f;
constexpr float kAbsTol = 1e-6f;

TEST(RmsNormTest, MatchesReferenceOnRandomShapes) {
  test::Rng rng(TestSeedFor(201));
  std::vector<int> sizes = {1, 2, 3, 15, 16, 17, 33, 768, 4096};
  for (int i = 0; i < 20; ++i) sizes.push_back(rng.Int(1, 8192));
  for (int n : sizes) {
    const float scale = rng.Uniform(0.01f, 10.0f);
    std::vector<float> x = rng.Vector(n, -scale, scale);
    std::vector<float> w = rng.Vector(n, -2.0f, 2.0f);
    const float eps = rng.Int(0, 1) ? 1e-5f : 1e-6f;
    std::vector<float> got(n), want(n);
    RmsNorm(x.data(), w.data(), got.data(), n, eps);
    RmsNormRef(x.data(), w.data(), want.data(), n, eps);
    for (int i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * std::fabs(want[i])) << "n=" << n;
    }
  }
}

TEST(RmsNormTest, OutputMayAliasInput) {
  test::Rng rng(TestSeedFor(202));
  const int n = 257;
  std::vector<float> x = rng.Vector(n);
  std::vector<float> w = rng.Vector(n);
  std::vector<float> want(n);
  RmsNormRef(x.data(), w.data(), want.data(), n);
  RmsNorm(x.data(), w.data(), x.data(), n);
  for (int i = 0; i < n; ++i) ASSERT_NEAR(x[i], want[i], kAbsTol + kRelTol * std::fabs(want[i]));
}

TEST(RmsNormTest, EpsilonKeepsZeroInputFinite) {
  std::vector<float> x(10, 0.0f), w(10, 1.0f), out(10, 1.0f);
  RmsNorm(x.data(), w.data(), out.data(), 10);
  for (float v : out) EXPECT_EQ(v, 0.0f);
  // A constant vector normalizes to (nearly) one, times the weight.
  std::vector<float> c(6, 3.0f);
  std::vector<float> weight = {1, 2, 3, 4, 5, 6};
  RmsNorm(c.data(), weight.data(), out.data(), 6, 0.0f);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(out[i], weight[i], 1e-6f * weight[i]);
}

// Regimes the contract admits (rmsnorm.h: out = x / sqrt(mean(x^2) + eps) * weight, in float):
// every finite regime of input_regimes.h with narrow = 1, limit = 1e17 and an outlier of 1e4.
// The limit is where a float sum of squares of up to 8192 values stays finite (n x^2 < FLT_MAX
// needs |x| < 2e17 at n = 8192); beyond it every float implementation overflows (the double
// reference does not), so larger magnitudes are outside the contract. Infinities and NaN are
// outside it too (no defined result). Denormal rows normalise to x / sqrt(eps) * weight.
// Tolerance: kRelTol/kAbsTol above. The float sum of squares of positive terms has relative error
// growing like sqrt(n) u for random data (worst case n u); the square root halves it, the two
// products add 2u: 1e-5 relative is over ten times the random-walk size at n = 8192.
constexpr test::RegimeLimits kRmsLimits{.narrow = 1.0f, .limit = 1e17f, .outlier = 1e4f};

TEST(RmsNormTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(203));
  std::vector<int> sizes = test::RegimeSizes(rng, 8192);
  sizes.push_back(4096);
  for (test::Regime regime : test::FiniteRegimes()) {
    for (int n : sizes) {
      const std::vector<float> x = test::RegimeRow(regime, n, rng, kRmsLimits);
      const std::vector<float> w = rng.Vector(n, -2.0f, 2.0f);
      const float eps = rng.Int(0, 1) ? 1e-5f : 1e-6f;
      std::vector<float> got(n), want(n);
      RmsNorm(x.data(), w.data(), got.data(), n, eps);
      RmsNormRef(x.data(), w.data(), want.data(), n, eps);
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << test::RegimeName(regime) << " n=" << n << " i=" << i;
        ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * std::fabs(want[i]))
            << test::RegimeName(regime) << " n=" << n << " i=" << i << " x[i]=" << x[i];
      }
    }
  }
}

// Scale equivariance: with eps = 0, rmsnorm(c x) = rmsnorm(x) for any c > 0 (with eps > 0 only
// where mean(x^2) >> eps, so eps = 0 here). Each side is within kRelTol of the exact value
// (relative: the sum's error scales with the sum), so they agree within 2 kRelTol. With unit
// weights the output's mean square is 1 within the same error (squared: 4 kRelTol).
TEST(RmsNormTest, ScaleEquivariantAndUnitMeanSquare) {
  test::Rng rng(TestSeedFor(204));
  for (test::Regime regime : {test::Regime::kNarrow, test::Regime::kWide,
                              test::Regime::kOutlierRandom, test::Regime::kTies}) {
    for (int n : test::RegimeSizes(rng, 4096, 2)) {
      std::vector<float> x = test::RegimeRow(regime, n, rng, {.narrow = 1.0f, .limit = 1e6f});
      if (std::all_of(x.begin(), x.end(), [](float v) { return v == 0.0f; })) x[0] = 1.0f;
      const std::vector<float> ones(n, 1.0f);
      std::vector<float> base(n), scaled_out(n), scaled(n);
      RmsNorm(x.data(), ones.data(), base.data(), n, 0.0f);
      double mean_square = 0.0;
      for (float v : base) mean_square += static_cast<double>(v) * v;
      mean_square /= n;
      EXPECT_NEAR(mean_square, 1.0, 4 * kRelTol) << test::RegimeName(regime) << " n=" << n;
      for (float c : {std::pow(10.0f, rng.Uniform(-6.0f, 6.0f)), 0.37f, 1024.0f}) {
        for (int i = 0; i < n; ++i) scaled[i] = c * x[i];
        RmsNorm(scaled.data(), ones.data(), scaled_out.data(), n, 0.0f);
        for (int i = 0; i < n; ++i) {
          ASSERT_NEAR(scaled_out[i], base[i], 2 * kRelTol * std::fabs(base[i]) + 1e-30f)
              << test::RegimeName(regime) << " n=" << n << " c=" << c << " i=" << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace rlvr
