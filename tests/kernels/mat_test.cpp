// Mat layout and the FillRandom generator every test and benchmark draws its data from.
#include "kernels/mat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

TEST(Mat, ShapeAndRowMajorIndexing) {
  Mat m(3, 5);
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 5);
  EXPECT_EQ(m.stride(), 5);
  EXPECT_EQ(m.size(), 15u);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 5; ++j) m.at(i, j) = static_cast<float>(10 * i + j);
  }
  EXPECT_EQ(m.data[7], 12.0f);  // row 1, column 2
  EXPECT_EQ(m.row(2)[4], 24.0f);
  const Mat& c = m;
  EXPECT_EQ(c.at(2, 0), 20.0f);
}

TEST(Mat, FillRandomIsDeterministicPerSeed) {
  const uint64_t seed = TestSeed();
  Mat a(17, 31), b(17, 31), c(17, 31);
  a.FillRandom(seed);
  b.FillRandom(seed);
  c.FillRandom(seed + 1);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  std::vector<float> plain(a.size());
  FillRandom(plain.data(), plain.size(), seed);
  EXPECT_EQ(plain, a.data);  // the free function and the member draw the same sequence
}

TEST(Mat, FillRandomStaysInRangeAndCoversIt) {
  std::vector<float> v(100000);
  FillRandom(v.data(), v.size(), TestSeed(), -3.0f, 5.0f);
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_GE(*lo, -3.0f);
  EXPECT_LT(*hi, 5.0f);
  // 100k uniform draws: extremes within 0.01 of the ends, mean within 0.05 of the middle
  // (standard error of the mean is 8 / sqrt(12 * 1e5) ~ 0.007).
  EXPECT_LT(*lo, -2.99f);
  EXPECT_GT(*hi, 4.99f);
  double sum = 0.0;
  for (float x : v) sum += x;
  EXPECT_NEAR(sum / v.size(), 1.0, 0.05);
}

TEST(Mat, FillRandomValuesAreNotRepeating) {
  std::vector<float> v(4096);
  FillRandom(v.data(), v.size(), TestSeed());
  std::sort(v.begin(), v.end());
  size_t distinct = std::unique(v.begin(), v.end()) - v.begin();
  EXPECT_GT(distinct, 4000u);  // 24-bit grid: a handful of collisions at most
}

}  // namespace
}  // namespace rlvr
