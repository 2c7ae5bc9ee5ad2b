#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

// Inputs in [-1, 1]; the table's float cos/sin and two float products: 2e-6 absolute.
constexpr float kAbsTol = 2e-6f;

TEST(RopeTest, MatchesRotateHalfReference) {
  test::Rng rng(TestSeedFor(301));
  const int max_positions = 8192;
  for (int head_dim : {2, 4, 6, 64, 128, 34}) {
    for (float theta : {10000.0f, 500000.0f}) {
      RopeCache cache(head_dim, max_positions, theta);
      for (int trial = 0; trial < 8; ++trial) {
        const int n_heads = rng.Int(1, 5);
        const int pos = trial == 0 ? max_positions - 1 : rng.Int(0, max_positions - 1);
        std::vector<float> got = rng.Vector(static_cast<size_t>(n_heads) * head_dim);
        std::vector<float> want = got;
        ApplyRope(got.data(), n_heads, head_dim, pos, cache);
        RopeRef(want.data(), n_heads, head_dim, pos, theta);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_NEAR(got[i], want[i], kAbsTol)
              << "head_dim=" << head_dim << " pos=" << pos << " i=" << i;
        }
      }
    }
  }
}

TEST(RopeTest, PositionZeroIsIdentityAndPairsKeepTheirNorm) {
  test::Rng rng(TestSeedFor(302));
  const int head_dim = 8;
  RopeCache cache(head_dim, 100);
  std::vector<float> x = rng.Vector(2 * head_dim);
  std::vector<float> y = x;
  ApplyRope(y.data(), 2, head_dim, 0, cache);
  EXPECT_EQ(x, y);
  ApplyRope(y.data(), 2, head_dim, 37, cache);
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < head_dim / 2; ++i) {
      const float* a = x.data() + h * head_dim;
      const float* b = y.data() + h * head_dim;
      EXPECT_NEAR(std::hypot(a[i], a[i + head_dim / 2]), std::hypot(b[i], b[i + head_dim / 2]),
                  1e-6f);
    }
  }
}

TEST(RopeTest, FirstPairRotatesByPositionRadians) {
  // freq_0 = 1, so the pair (x[0], x[d/2]) = (1, 0) turns by exactly pos radians.
  const int head_dim = 4;
  RopeCache cache(head_dim, 10);
  std::vector<float> x = {1.0f, 0.0f, 0.0f, 0.0f};
  ApplyRope(x.data(), 1, head_dim, 3, cache);
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-7);
  EXPECT_NEAR(x[2], std::sin(3.0), 1e-7);
}

// Regimes the contract admits (rope.h: rotate each pair (x[i], x[i + d/2]) by pos * theta^(-2i/d)):
// every finite regime of input_regimes.h with narrow = 1, limit = 1e38 (a rotated pair's entries
// stay below sqrt(2) max|x| < FLT_MAX) and an outlier of 1e4. Infinities and NaN are outside it
// (inf * 0 at a zero sine). Tolerance, per pair: the table's float cos/sin (u each), the two
// products and the sum (3u) give at most 5u (|x_lo| + |x_hi|) = 3e-7 (|x_lo| + |x_hi|); 2e-6 of
// that, plus 1e-44 for denormal inputs (each denormal product rounds to a multiple of 2^-149).
// Property: rotation keeps each pair's norm (same bound).
TEST(RopeTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(303));
  const int max_positions = 4096;
  const test::RegimeLimits limits{.narrow = 1.0f, .limit = 1e38f, .outlier = 1e4f};
  for (int head_dim : {2, 6, 34, 64, 128}) {
    RopeCache cache(head_dim, max_positions);
    const int half = head_dim / 2;
    for (test::Regime regime : test::FiniteRegimes()) {
      const int n_heads = rng.Int(1, 3);
      const int pos = rng.Int(0, max_positions - 1);
      const std::vector<float> x =
          test::RegimeRow(regime, static_cast<size_t>(n_heads) * head_dim, rng, limits);
      std::vector<float> got = x, want = x;
      ApplyRope(got.data(), n_heads, head_dim, pos, cache);
      RopeRef(want.data(), n_heads, head_dim, pos, 10000.0f);
      for (int h = 0; h < n_heads; ++h) {
        for (int i = 0; i < half; ++i) {
          const size_t lo = static_cast<size_t>(h) * head_dim + i, hi = lo + half;
          const double size = std::fabs(x[lo]) + std::fabs(x[hi]);
          const double tol = kAbsTol * size + 1e-44;
          ASSERT_NEAR(got[lo], want[lo], tol)
              << test::RegimeName(regime) << " d=" << head_dim << " pos=" << pos << " i=" << lo;
          ASSERT_NEAR(got[hi], want[hi], tol)
              << test::RegimeName(regime) << " d=" << head_dim << " pos=" << pos << " i=" << hi;
          ASSERT_NEAR(std::hypot(double(got[lo]), double(got[hi])),
                      std::hypot(double(x[lo]), double(x[hi])), 2 * tol)
              << test::RegimeName(regime) << " pair norm, d=" << head_dim << " i=" << lo;
        }
      }
    }
  }
}

TEST(RopeTest, RejectsBadArguments) {
  EXPECT_THROW(RopeCache(3, 10), std::invalid_argument);
  EXPECT_THROW(RopeCache(0, 10), std::invalid_argument);
  RopeCache cache(4, 10);
  std::vector<float> x(8);
  EXPECT_THROW(ApplyRope(x.data(), 2, 4, 10, cache), std::invalid_argument);
  EXPECT_THROW(ApplyRope(x.data(), 2, 4, -1, cache), std::invalid_argument);
  EXPECT_THROW(ApplyRope(x.data(), 1, 8, 0, cache), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
