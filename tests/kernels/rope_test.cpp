#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
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
