#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

TEST(QuantHalfTest, EveryHalfConvertsExactlyAndBack) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = HalfToFloat(h);
    const float want = HalfToFloatRef(h);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << bits;
      ASSERT_TRUE(std::isnan(HalfToFloat(FloatToHalf(f)))) << std::hex << bits;
      continue;
    }
    ASSERT_EQ(std::bit_cast<uint32_t>(f), std::bit_cast<uint32_t>(want)) << std::hex << bits;
    ASSERT_EQ(FloatToHalf(f), h) << std::hex << bits;
  }
}

TEST(QuantHalfTest, RoundsToNearestEven) {
  // Between consecutive finite halves a and b (same sign), the midpoint goes to the one with an
  // even mantissa, and anything off the midpoint to the nearer one.
  for (uint32_t bits = 0; bits < 0x7bff; ++bits) {
    for (uint16_t sign : {0, 0x8000}) {
      const uint16_t a = static_cast<uint16_t>(bits | sign);
      const uint16_t b = static_cast<uint16_t>((bits + 1) | sign);
      const double lo = HalfToFloat(a), hi = HalfToFloat(b);
      const float mid = static_cast<float>((lo + hi) / 2);  // exact in float
      ASSERT_EQ(FloatToHalf(mid), (bits & 1) ? b : a) << std::hex << bits;
      const float near_lo = std::nextafter(mid, static_cast<float>(lo));
      const float near_hi = std::nextafter(mid, static_cast<float>(hi));
      ASSERT_EQ(FloatToHalf(near_lo), a) << std::hex << bits;
      ASSERT_EQ(FloatToHalf(near_hi), b) << std::hex << bits;
    }
  }
}

TEST(QuantHalfTest, OverflowInfinityAndNan) {
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65519.99f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // the midpoint to 2^16 rounds (to even) to inf
  EXPECT_EQ(FloatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-INFINITY), 0xfc00);
  EXPECT_EQ(FloatToHalf(0x1.0p-25f), 0x0000);  // half the smallest subnormal: ties to even
  EXPECT_EQ(FloatToHalf(0x1.8p-25f), 0x0001);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  const uint16_t nan = FloatToHalf(NAN);
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

// Blocks of random data at several magnitudes, with a zero block and a block with one outlier.
std::vector<float> QuantInput(test::Rng& rng, int blocks) {
  std::vector<float> x;
  for (int b = 0; b < blocks; ++b) {
    const float scale = std::pow(10.0f, rng.Uniform(-4.0f, 3.0f));
    for (int j = 0; j < kQuantBlock; ++j) x.push_back(b == 1 ? 0.0f : rng.Uniform(-scale, scale));
    if (b == 2) x.back() = -50.0f * scale;
  }
  return x;
}

TEST(QuantQ8_0Test, RoundTripErrorIsHalfAStep) {
  test::Rng rng(TestSeedFor(701));
  const int blocks = 64;
  const std::vector<float> x = QuantInput(rng, blocks);
  std::vector<BlockQ8_0> q(blocks);
  std::vector<float> back(x.size()), back_ref(x.size());
  QuantizeQ8_0(x.data(), q.data(), static_cast<int>(x.size()));
  DequantizeQ8_0(q.data(), back.data(), static_cast<int>(x.size()));
  DequantizeQ8_0Ref(q.data(), back_ref.data(), static_cast<int>(x.size()));
  for (int b = 0; b < blocks; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[b * kQuantBlock + j]));
    const double d = amax / 127.0;
    const double stored = HalfToFloat(q[b].d);
    // Half a step, plus what rounding the scale to fp16 moves the largest code (127).
    const double tol = 0.5 * d + 127.0 * std::fabs(stored - d) + 1e-6 * d;
    for (int j = 0; j < kQuantBlock; ++j) {
      const int i = b * kQuantBlock + j;
      ASSERT_EQ(back[i], back_ref[i]) << i;
      ASSERT_LE(std::fabs(x[i] - back[i]), tol) << "block " << b << " value " << j;
    }
  }
}

TEST(QuantQ4_0Test, RoundTripErrorIsAtMostAStep) {
  test::Rng rng(TestSeedFor(702));
  const int blocks = 64;
  const std::vector<float> x = QuantInput(rng, blocks);
  std::vector<BlockQ4_0> q(blocks);
  std::vector<float> back(x.size()), back_ref(x.size());
  QuantizeQ4_0(x.data(), q.data(), static_cast<int>(x.size()));
  DequantizeQ4_0(q.data(), back.data(), static_cast<int>(x.size()));
  DequantizeQ4_0Ref(q.data(), back_ref.data(), static_cast<int>(x.size()));
  for (int b = 0; b < blocks; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[b * kQuantBlock + j]));
    const double d = amax / 8.0;
    const double stored = std::fabs(HalfToFloat(q[b].d));
    // A full step (the value opposite the extreme clamps from +8 to +7), plus fp16 scale rounding
    // times the largest code magnitude (8).
    const double tol = d + 8.0 * std::fabs(stored - d) + 1e-6 * d;
    for (int j = 0; j < kQuantBlock; ++j) {
      const int i = b * kQuantBlock + j;
      ASSERT_EQ(back[i], back_ref[i]) << i;
      ASSERT_LE(std::fabs(x[i] - back[i]), tol) << "block " << b << " value " << j;
    }
  }
}

TEST(QuantQ4_0Test, NibbleOrderAndScaleFollowGgml) {
  // Values j-8 in the first half and 7-j in the second: the extreme -8 fixes d = -8 / -8 = 1.
  std::vector<float> x(kQuantBlock);
  for (int j = 0; j < 16; ++j) {
    x[j] = static_cast<float>(j - 8);
    x[j + 16] = static_cast<float>(7 - j);
  }
  BlockQ4_0 block;
  QuantizeQ4_0(x.data(), &block, kQuantBlock);
  EXPECT_EQ(block.d, FloatToHalf(1.0f));
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(block.qs[j], j | ((15 - j) << 4)) << "qs[" << j << "]";
  }
  // A positive extreme gives a negative scale, so +8 is representable as code -8.
  std::vector<float> y(kQuantBlock, 0.0f);
  y[5] = 8.0f;
  y[20] = -4.0f;
  QuantizeQ4_0(y.data(), &block, kQuantBlock);
  EXPECT_EQ(HalfToFloat(block.d), -1.0f);
  std::vector<float> back(kQuantBlock);
  DequantizeQ4_0(&block, back.data(), kQuantBlock);
  EXPECT_EQ(back, y);
}

TEST(QuantQ8_0Test, CodesFollowGgml) {
  std::vector<float> x(kQuantBlock);
  for (int j = 0; j < kQuantBlock; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ8_0 block;
  QuantizeQ8_0(x.data(), &block, kQuantBlock);
  EXPECT_EQ(block.d, FloatToHalf(16.0f / 127.0f));
  for (int j = 0; j < kQuantBlock; ++j) {
    EXPECT_EQ(block.qs[j], static_cast<int>(std::round((j - 16) * (127.0f / 16.0f)))) << j;
  }
}

// |y - y_ref| is bounded by the quantization of x (the kernels quantize x to Q8_0, the reference
// does not): sum over blocks of (x's per-value error bound) * sum |w|, plus float accumulation
// error 1e-5 * sum |w x| and 1e-6 absolute.
template <typename Block>
void CheckMatVec(void (*matvec)(const Block*, const float*, float*, int, int, BlockQ8_0*),
                 void (*matvec_ref)(const Block*, const float*, float*, int, int),
                 void (*quantize)(const float*, Block*, int),
                 void (*dequantize_ref)(const Block*, float*, int), uint64_t salt) {
  test::Rng rng(TestSeedFor(salt));
  for (int N : {1, 3, 17, 33, 301}) {
    for (int K : {32, 96, 256, 4096}) {
      const int blocks = K / kQuantBlock;
      std::vector<float> w_float = rng.Vector(static_cast<size_t>(N) * K);
      std::vector<Block> W(static_cast<size_t>(N) * blocks);
      quantize(w_float.data(), W.data(), N * K);
      std::vector<float> w(static_cast<size_t>(N) * K);
      dequantize_ref(W.data(), w.data(), N * K);
      std::vector<float> x = rng.Vector(K, -3.0f, 3.0f);
      std::vector<BlockQ8_0> scratch(blocks);
      std::vector<float> got(N), want(N);
      matvec(W.data(), x.data(), got.data(), N, K, scratch.data());
      matvec_ref(W.data(), x.data(), want.data(), N, K);

      std::vector<double> x_err(blocks);
      for (int b = 0; b < blocks; ++b) {
        double amax = 0.0;
        for (int j = 0; j < kQuantBlock; ++j)
          amax = std::max(amax, std::fabs(static_cast<double>(x[b * 32 + j])));
        const double d = amax / 127.0;
        x_err[b] = 0.5 * d + 127.0 * std::fabs(HalfToFloat(FloatToHalf(d)) - d) + 1e-6 * d;
      }
      for (int n = 0; n < N; ++n) {
        double tol = 1e-6;
        for (int k = 0; k < K; ++k) {
          const double wk = std::fabs(w[static_cast<size_t>(n) * K + k]);
          tol += wk * (x_err[k / kQuantBlock] + 1e-5 * std::fabs(x[k]));
        }
        ASSERT_NEAR(got[n], want[n], tol) << "N=" << N << " K=" << K << " row " << n;
      }
    }
  }
}

TEST(QuantMatVecTest, Q8_0MatchesDequantizedReference) {
  CheckMatVec<BlockQ8_0>(MatVecQ8_0, MatVecQ8_0Ref, QuantizeQ8_0, DequantizeQ8_0Ref, 703);
}

TEST(QuantMatVecTest, Q4_0MatchesDequantizedReference) {
  CheckMatVec<BlockQ4_0>(MatVecQ4_0, MatVecQ4_0Ref, QuantizeQ4_0, DequantizeQ4_0Ref, 704);
}

TEST(QuantMatVecTest, RejectsLengthsThatAreNotWholeBlocks) {
  std::vector<float> x(48);
  std::vector<BlockQ8_0> q(2);
  std::vector<float> y(1);
  EXPECT_THROW(QuantizeQ8_0(x.data(), q.data(), 48), std::invalid_argument);
  EXPECT_THROW(MatVecQ8_0(q.data(), x.data(), y.data(), 1, 48, q.data()), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
