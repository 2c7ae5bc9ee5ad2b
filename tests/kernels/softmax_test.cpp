#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

// Float exp and a float sum against a double reference: 1e-5 relative plus 1e-7 absolute.
constexpr float kRelTol = 1e-5f;
constexpr float kAbsTol = 1e-7f;

void ExpectMatchesReference(const std::vector<float>& input) {
  const int n = static_cast<int>(input.size());
  std::vector<float> got = input;
  std::vector<float> want(n);
  Softmax(got.data(), n);
  SoftmaxRef(input.data(), want.data(), n);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * want[i]) << "n=" << n << " i=" << i;
    sum += got[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-5) << "n=" << n;
}

TEST(SoftmaxTest, MatchesReferenceOnRandomShapes) {
  test::Rng rng(TestSeedFor(101));
  std::vector<int> sizes = {1, 2, 3, 7, 15, 16, 17, 31, 33, 100, 1000, 32000};
  for (int i = 0; i < 20; ++i) sizes.push_back(rng.Int(1, 5000));
  for (int n : sizes) ExpectMatchesReference(rng.Vector(n, -20.0f, 20.0f));
}

// Regimes the contract admits (softmax.h: numerically stable softmax of a row of logits):
//   - every finite regime (input_regimes.h) with narrow = 20, limit = FLT_MAX (any finite logits:
//     a difference x - max that overflows is -inf and exp gives 0, as in the double reference)
//     and outlier = 120, at least 100 above the rest of the row: without the shift by the maximum
//     exp overflows float there, wherever the outlier sits (first, last, middle, random);
//   - -inf masks: a masked entry gets exactly 0 (an all -inf row is uniform, tested below);
//   - NaN: the reference gives NaN in every entry of the row (exp(NaN - max) poisons the sum), and
//     so must the kernel: a NaN logit must not come out as a plausible distribution.
// +inf logits are outside the contract (the reference gives NaN: inf - inf).
//
// Tolerances: against the reference, kRelTol/kAbsTol above. They cover the rounding of x - max
// (relative u |x - max| in exp, below 100 u = 6e-6 wherever exp(x - max) is not below kAbsTol),
// ExpFast's 5e-7 and the float sum's rounding, whose errors of random sign grow like sqrt(n) u
// (1e-5 at n = 32000 with 16 lanes would need the worst case of every rounding, far outside any
// seed). The sum property is held to the worst case of any summation order: |sum - 1| <= (n + 2) u
// (n - 1 additions, the reciprocal and the scaling), so no order of summation can trip it.
std::vector<test::Regime> SoftmaxRegimes() {
  std::vector<test::Regime> regimes = test::FiniteRegimes();
  regimes.push_back(test::Regime::kNegInfMask);
  regimes.push_back(test::Regime::kNaN);
  return regimes;
}

constexpr test::RegimeLimits kSoftmaxLimits{.narrow = 20.0f, .limit = FLT_MAX, .outlier = 120.0f};

void ExpectRegimeRowMatches(const std::vector<float>& input, test::Regime regime) {
  const int n = static_cast<int>(input.size());
  std::vector<float> got = input;
  std::vector<float> want(n);
  Softmax(got.data(), n);
  SoftmaxRef(input.data(), want.data(), n);
  const bool has_nan =
      std::any_of(input.begin(), input.end(), [](float v) { return std::isnan(v); });
  const bool any_finite =
      std::any_of(input.begin(), input.end(), [](float v) { return std::isfinite(v); });
  for (int i = 0; i < n; ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << test::RegimeName(regime) << " n=" << n << " i=" << i
                                      << ": the reference gives NaN, the kernel " << got[i];
      continue;
    }
    if (input[i] == -INFINITY && any_finite) {
      ASSERT_EQ(got[i], 0.0f) << test::RegimeName(regime) << " n=" << n << " i=" << i;
    }
    ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * want[i])
        << test::RegimeName(regime) << " n=" << n << " i=" << i << " x[i]=" << input[i];
  }
  if (has_nan) return;
  // Properties of a distribution, for any row with a finite entry.
  if (!any_finite) return;
  constexpr double u = std::numeric_limits<float>::epsilon() / 2;
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(got[i]) && got[i] >= 0.0f && got[i] <= 1.0f)
        << test::RegimeName(regime) << " n=" << n << " i=" << i << " got " << got[i];
    sum += got[i];
  }
  const double sum_tol = (n + 2) * u;
  EXPECT_NEAR(sum, 1.0, sum_tol) << test::RegimeName(regime) << " n=" << n;
  // The maximum's entry is exp(0) / sum with sum <= n: at least 1/n.
  const int arg = static_cast<int>(std::max_element(input.begin(), input.end()) - input.begin());
  EXPECT_GE(got[arg], (1.0 - sum_tol) / n) << test::RegimeName(regime) << " n=" << n;
}

TEST(SoftmaxTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(103));
  std::vector<int> sizes = test::RegimeSizes(rng, 5000);
  sizes.push_back(32000);  // a large vocabulary's row
  for (test::Regime regime : SoftmaxRegimes()) {
    for (int n : sizes) {
      ExpectRegimeRowMatches(test::RegimeRow(regime, n, rng, kSoftmaxLimits), regime);
      if (HasFatalFailure()) return;
    }
  }
}

// The attack this file missed: logits drawn from a narrow range with the maximum first. One
// logit 100 above the first anywhere else must still give a finite distribution.
TEST(SoftmaxTest, MaximumAnywhereInTheRow) {
  test::Rng rng(TestSeedFor(104));
  for (int n : {2, 3, 16, 17, 33, 1000}) {
    for (int at : {0, n / 2, n - 1, rng.Int(0, n - 1)}) {
      std::vector<float> x = rng.Vector(n, -1.0f, 1.0f);
      x[at] = 100.0f;
      ExpectRegimeRowMatches(x, test::Regime::kOutlierRandom);
      std::vector<float> y = x;
      Softmax(y.data(), n);
      EXPECT_NEAR(y[at], 1.0f, 1e-6f) << "n=" << n << " max at " << at;
    }
  }
}

TEST(SoftmaxTest, LargeInputsDoNotOverflow) {
  ExpectMatchesReference({1e4f, 1e4f - 1.0f, -1e4f, 0.0f});
  ExpectMatchesReference({-1e4f, -1e4f + 2.0f});
  std::vector<float> x = {3e38f, 3e38f};
  Softmax(x.data(), 2);
  EXPECT_FLOAT_EQ(x[0], 0.5f);
  EXPECT_FLOAT_EQ(x[1], 0.5f);
}

TEST(SoftmaxTest, NegativeInfinityGetsZero) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {1.0f, -inf, 2.0f, -inf, -inf};
  std::vector<float> want(5);
  SoftmaxRef(x.data(), want.data(), 5);
  Softmax(x.data(), 5);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[3], 0.0f);
  EXPECT_NEAR(x[0], want[0], 1e-6f);
  EXPECT_NEAR(x[2], want[2], 1e-6f);
  EXPECT_NEAR(x[0] + x[2], 1.0f, 1e-6f);
}

TEST(SoftmaxTest, AllNegativeInfinityIsUniform) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x(4, -inf);
  Softmax(x.data(), 4);
  for (float v : x) EXPECT_FLOAT_EQ(v, 0.25f);
}

TEST(SoftmaxTest, RowsAreIndependent) {
  test::Rng rng(TestSeedFor(102));
  for (int rows : {1, 3}) {
    for (int cols : {1, 5, 40}) {
      std::vector<float> x = rng.Vector(static_cast<size_t>(rows) * cols, -5.0f, 5.0f);
      std::vector<float> want(x.size());
      for (int r = 0; r < rows; ++r) SoftmaxRef(x.data() + r * cols, want.data() + r * cols, cols);
      SoftmaxRows(x.data(), rows, cols);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_NEAR(x[i], want[i], kAbsTol + kRelTol * want[i]) << rows << "x" << cols;
      }
    }
  }
}

}  // namespace
}  // namespace rlvr
