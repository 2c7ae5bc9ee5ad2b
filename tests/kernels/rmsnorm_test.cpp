#include "kernels/rmsnorm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
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

}  // namespace
}  // namespace rlvr
