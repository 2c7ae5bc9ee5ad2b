#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "kernels/vec_exp.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

// One float exp and a division against double: 1e-6 relative, 1e-7 absolute.
constexpr float kRelTol = 1e-6f;
constexpr float kAbsTol = 1e-7f;

std::vector<int> RandomSizes(test::Rng& rng) {
  std::vector<int> sizes = {1, 2, 3, 15, 16, 17, 2048};
  for (int i = 0; i < 10; ++i) sizes.push_back(rng.Int(1, 11008));
  return sizes;
}

TEST(SiluTest, MatchesReference) {
  test::Rng rng(TestSeedFor(401));
  for (int n : RandomSizes(rng)) {
    std::vector<float> x = rng.Vector(n, -12.0f, 12.0f);
    std::vector<float> want(n);
    SiluRef(x.data(), want.data(), n);
    Silu(x.data(), n);
    for (int i = 0; i < n; ++i) {
      ASSERT_NEAR(x[i], want[i], kAbsTol + kRelTol * std::fabs(want[i])) << "n=" << n;
    }
  }
}

TEST(SiluTest, ExtremeInputsStayFinite) {
  std::vector<float> x = {-1000.0f, -88.0f, 0.0f, 88.0f, 1000.0f};
  Silu(x.data(), 5);
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], 0.0f, 1e-30f);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_FLOAT_EQ(x[3], 88.0f);
  EXPECT_FLOAT_EQ(x[4], 1000.0f);
}

// ExpFast feeds Silu, SwiGLU, Softmax and Attention: within 4 float ulps (relative 5e-7) of the
// double exp over the whole finite range, exactly 0 below it and inf above it.
TEST(SiluExpFastTest, AccurateOverTheFloatRange) {
  double worst = 0.0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(ExpFast(x) - want) / want);
  }
  EXPECT_LT(worst, 5e-7);
  EXPECT_EQ(ExpFast(0.0f), 1.0f);
  EXPECT_EQ(ExpFast(-INFINITY), 0.0f);
  EXPECT_EQ(ExpFast(-1000.0f), 0.0f);
  EXPECT_EQ(ExpFast(1000.0f), INFINITY);
  EXPECT_EQ(ExpFast(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(ExpFast(NAN)));
}

TEST(SwiGLUTest, MatchesReference) {
  test::Rng rng(TestSeedFor(402));
  for (int n : RandomSizes(rng)) {
    std::vector<float> gate = rng.Vector(n, -12.0f, 12.0f);
    std::vector<float> up = rng.Vector(n, -3.0f, 3.0f);
    std::vector<float> got(n), want(n);
    SwiGLU(gate.data(), up.data(), got.data(), n);
    SwiGLURef(gate.data(), up.data(), want.data(), n);
    for (int i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * std::fabs(want[i])) << "n=" << n;
    }
  }
}

TEST(SwiGLUTest, OutputMayAliasGateOrUp) {
  test::Rng rng(TestSeedFor(403));
  const int n = 99;
  std::vector<float> gate = rng.Vector(n, -6.0f, 6.0f);
  std::vector<float> up = rng.Vector(n);
  std::vector<float> want(n);
  SwiGLURef(gate.data(), up.data(), want.data(), n);
  std::vector<float> g = gate, u = up;
  SwiGLU(g.data(), up.data(), g.data(), n);
  SwiGLU(gate.data(), u.data(), u.data(), n);
  for (int i = 0; i < n; ++i) {
    ASSERT_NEAR(g[i], want[i], kAbsTol + kRelTol * std::fabs(want[i]));
    ASSERT_NEAR(u[i], want[i], kAbsTol + kRelTol * std::fabs(want[i]));
  }
}

// Regimes the contract admits (activation.h: silu(x) = x sigmoid(x), swiglu = silu(gate) * up):
// every finite regime of input_regimes.h for x and gate with narrow = 12, limit = FLT_MAX (silu
// is finite for every finite input: x or an underflowing x e^x) and an outlier of 1e4, and NaN,
// which the reference propagates (NaN in, NaN out at that index). up stays in [-3, 3] but for
// the kExtreme regime, where it is in [-1, 1]; where silu(gate) * up exceeds FLT_MAX (kWide) the
// reference's double result rounds to inf and the kernel's must be the same inf. Infinities are
// outside the contract (the reference gives silu(-inf) = -inf / inf = NaN).
// Tolerance: kRelTol/kAbsTol above (ExpFast within 5e-7 relative, the add and division 2u); an
// exp that underflows near x = -88 leaves results below 1e-36, inside kAbsTol.
void ExpectActivationMatches(const std::vector<float>& got, const std::vector<float>& want,
                             test::Regime regime) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << test::RegimeName(regime) << " i=" << i;
      continue;
    }
    if (std::isinf(want[i])) {  // silu(gate) * up beyond FLT_MAX: the float result overflows too
      ASSERT_EQ(got[i], want[i]) << test::RegimeName(regime) << " i=" << i;
      continue;
    }
    ASSERT_NEAR(got[i], want[i], kAbsTol + kRelTol * std::fabs(want[i]))
        << test::RegimeName(regime) << " n=" << got.size() << " i=" << i;
  }
}

std::vector<test::Regime> ActivationRegimes() {
  std::vector<test::Regime> regimes = test::FiniteRegimes();
  regimes.push_back(test::Regime::kNaN);
  return regimes;
}

constexpr test::RegimeLimits kActivationLimits{.narrow = 12.0f, .limit = FLT_MAX, .outlier = 1e4f};

TEST(SiluTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(404));
  for (test::Regime regime : ActivationRegimes()) {
    for (int n : test::RegimeSizes(rng, 11008)) {
      std::vector<float> x = test::RegimeRow(regime, n, rng, kActivationLimits);
      std::vector<float> want(n);
      SiluRef(x.data(), want.data(), n);
      Silu(x.data(), n);
      ExpectActivationMatches(x, want, regime);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(SwiGLUTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(405));
  for (test::Regime regime : ActivationRegimes()) {
    for (int n : test::RegimeSizes(rng, 11008)) {
      const std::vector<float> gate = test::RegimeRow(regime, n, rng, kActivationLimits);
      const float up_range = regime == test::Regime::kExtreme ? 1.0f : 3.0f;
      const std::vector<float> up = rng.Vector(n, -up_range, up_range);
      std::vector<float> got(n), want(n);
      SwiGLU(gate.data(), up.data(), got.data(), n);
      SwiGLURef(gate.data(), up.data(), want.data(), n);
      ExpectActivationMatches(got, want, regime);
      if (HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace rlvr
