#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
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
