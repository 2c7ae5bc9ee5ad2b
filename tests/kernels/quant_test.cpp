#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
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

// --- Input regimes ------------------------------------------------------------------------------
//
// Regimes the contract admits (quant.h: GGML's Q8_0 and Q4_0 blocks, lengths in whole blocks of
// 32): every finite regime of input_regimes.h (narrow, wide, extreme, an outlier first, last, in
// the middle or anywhere, denormals, signed zeros, constant, ties) on 1, 2, 3, 5 and random block
// counts, plus rows built here: the maximum magnitude at every position of a block, all-zero
// blocks of +0 and -0, two extremes of equal magnitude and opposite sign, block scales from below
// the smallest fp16 subnormal to the limit, and values at and just off the rounding boundaries.
// The limit is where a block's fp16 scale stays finite: max |x| / 127 <= 65504 for Q8_0 (8.3e6;
// 8e6 used) and max |x| / 8 <= 65504 for Q4_0 (5.2e5; 5e5 used); beyond it the scale is inf in
// GGML's format too, so larger blocks are outside the contract, as are infinities and NaN. A block
// whose scale is below half the smallest fp16 subnormal (denormal rows) stores scale 0 and decodes
// to zeros: its error is max |x|, which the bound below allows (stored = 0).
//
// What is checked, per block, is GGML's quantize_row_q8_0_reference / quantize_row_q4_0_reference
// (the byte layout is GGML's, so a GGUF file's blocks must come out the same):
//   Q8_0  scale fp16(amax / 127) with amax = max |x| in float; code j the nearest integer to
//         v = x_j * id, id = 1 / (amax / 127) in float (0 for an all-zero block).
//   Q4_0  scale fp16(max / -8) with max the FIRST value of largest magnitude (so of two opposite
//         extremes the first takes code -8); code j - 8 the nearest integer to v = x_j * id,
//         clamped to 7 (GGML: min(15, (int8_t)(v + 8.5f))).
// Up to ties: the kernel's float product x_j * id (or a division x_j / d) is within 2^-23 |v| of
// the exact v (one rounding, two for the division), and the Q4_0 form rounds once more adding
// 8.5 (2^-20 at 16), so where v lies within 2^-22 |v| (Q8_0) or 2^-18 (Q4_0, |v| <= 8) of a
// half-integer either neighbour is right (GGML's own SIMD Q8_0 path rounds ties to even, its
// reference away from zero). Both slacks are below the 2^-13 and 2^-15 by which the boundary
// test moves values off the half-integers.
constexpr test::RegimeLimits kQ8Limits{.narrow = 1.0f, .limit = 8e6f, .outlier = 1e3f};
constexpr test::RegimeLimits kQ4Limits{.narrow = 1.0f, .limit = 5e5f, .outlier = 1e3f};
constexpr double kQ8TieSlack = 0x1.0p-22;  // relative to |v|
constexpr double kQ4TieSlack = 0x1.0p-18;  // absolute, |v| <= 8

struct NamedRow {
  std::string name;
  std::vector<float> x;
};

std::vector<NamedRow> QuantRegimeRows(test::Rng& rng, const test::RegimeLimits& lim) {
  std::vector<NamedRow> rows;
  const int block_counts[] = {1, 2, 3, 5, rng.Int(6, 40), rng.Int(6, 40)};
  for (test::Regime regime : test::FiniteRegimes()) {
    for (int blocks : block_counts) {
      rows.push_back({test::RegimeName(regime),
                      test::RegimeRow(regime, size_t(blocks) * kQuantBlock, rng, lim)});
    }
  }
  auto sign = [&] { return rng.Int(0, 1) ? 1.0f : -1.0f; };
  // Block b has its largest magnitude (either sign) at index b.
  std::vector<float> x = rng.Vector(size_t(kQuantBlock) * kQuantBlock);
  for (int b = 0; b < kQuantBlock; ++b) x[b * kQuantBlock + b] = sign() * lim.outlier;
  rows.push_back({"max-at-every-position", x});
  // All-zero blocks of +0 and -0 between narrow ones.
  x = rng.Vector(4 * kQuantBlock);
  for (int i = kQuantBlock; i < 3 * kQuantBlock; ++i) x[i] = sign() * 0.0f;
  rows.push_back({"zero-blocks", x});
  // +a and -a, the largest magnitudes, at two random positions of each block.
  x = rng.Vector(8 * kQuantBlock);
  for (int b = 0; b < 8; ++b) {
    const int i = rng.Int(0, kQuantBlock - 1), k = (i + rng.Int(1, kQuantBlock - 1)) % kQuantBlock;
    const float a = rng.Uniform(2.0f, 3.0f);
    x[b * kQuantBlock + i] = a;
    x[b * kQuantBlock + k] = -a;
  }
  rows.push_back({"opposite-extremes", x});
  // One magnitude per block from 2^-40 (scale 0 in fp16) through fp16 subnormal and normal
  // scales up to the limit.
  x = rng.Vector(40 * kQuantBlock);
  for (int b = 0; b < 40; ++b) {
    const float scale = std::fmin(std::exp2(rng.Uniform(-40.0f, std::log2(lim.limit))), lim.limit);
    for (int j = 0; j < kQuantBlock; ++j) x[b * kQuantBlock + j] *= scale;
  }
  rows.push_back({"every-scale", x});
  return rows;
}

::testing::AssertionResult ScaleIs(uint16_t got, float want, size_t block) {
  // Compared as values: an all-zero block's scale may be +0 or -0.
  if (HalfToFloatRef(got) == HalfToFloatRef(FloatToHalf(want))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "block " << block << ": scale " << HalfToFloatRef(got) << ", GGML's is fp16(" << want
         << ") = " << HalfToFloatRef(FloatToHalf(want));
}

// The blocks q of x against GGML's reference quantization (see above).
::testing::AssertionResult MatchesGgmlQ8_0(const std::vector<float>& x,
                                           const std::vector<BlockQ8_0>& q) {
  for (size_t b = 0; b < q.size(); ++b) {
    const float* xb = x.data() + b * kQuantBlock;
    float amax = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    if (auto r = ScaleIs(q[b].d, d, b); !r) return r;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    // A float scale below 2^-128 has no finite inverse: GGML's codes are undefined then, but the
    // fp16 scale is 0 and the block decodes to zeros whatever they are.
    if (!std::isfinite(id)) continue;
    for (int j = 0; j < kQuantBlock; ++j) {
      const double v = double(xb[j]) * id;
      if (!(std::fabs(q[b].qs[j] - v) <= 0.5 + kQ8TieSlack * std::fabs(v))) {
        return ::testing::AssertionFailure()
               << "block " << b << " value " << j << " (" << xb[j] << "): code " << int(q[b].qs[j])
               << " for x * id = " << v;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MatchesGgmlQ4_0(const std::vector<float>& x,
                                           const std::vector<BlockQ4_0>& q) {
  for (size_t b = 0; b < q.size(); ++b) {
    const float* xb = x.data() + b * kQuantBlock;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    if (auto r = ScaleIs(q[b].d, d, b); !r) return r;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (!std::isfinite(id)) continue;  // as Q8_0: scale 0, codes undefined
    for (int j = 0; j < kQuantBlock; ++j) {
      const int code = j < kQuantBlock / 2 ? q[b].qs[j] & 0x0f : q[b].qs[j - kQuantBlock / 2] >> 4;
      const double v = std::clamp(double(xb[j]) * id, -8.0, 7.0);
      if (!(std::fabs(code - 8 - v) <= 0.5 + kQ4TieSlack)) {
        return ::testing::AssertionFailure()
               << "block " << b << " value " << j << " (" << xb[j] << "): code " << code - 8
               << " for x * id = " << double(xb[j]) * id;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Round trip: the fast dequantization equals the reference's exactly (code times scale is exact
// in float), and each value is within half a step of x (Q8_0; Q4_0: a full step, the value
// opposite the extreme clamps from +8 to +7) plus what rounding the scale to fp16 moves the
// largest code (127; 8), plus 2^-20 of a step for the float product x * id.
template <typename Block>
::testing::AssertionResult RoundTripWithinAStep(const std::vector<float>& x,
                                                const std::vector<Block>& q, double steps,
                                                double largest_code, double divisor) {
  const int n = static_cast<int>(x.size());
  std::vector<float> back(n), back_ref(n);
  if constexpr (std::is_same_v<Block, BlockQ8_0>) {
    DequantizeQ8_0(q.data(), back.data(), n);
    DequantizeQ8_0Ref(q.data(), back_ref.data(), n);
  } else {
    DequantizeQ4_0(q.data(), back.data(), n);
    DequantizeQ4_0Ref(q.data(), back_ref.data(), n);
  }
  for (int b = 0; b < n / kQuantBlock; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[b * kQuantBlock + j]));
    const double d = amax / divisor;
    const double stored = std::fabs(HalfToFloatRef(q[b].d));
    const double tol = steps * d + largest_code * std::fabs(stored - d) + 0x1.0p-20 * d;
    for (int j = 0; j < kQuantBlock; ++j) {
      const int i = b * kQuantBlock + j;
      if (std::bit_cast<uint32_t>(back[i]) != std::bit_cast<uint32_t>(back_ref[i]) &&
          back[i] != back_ref[i]) {
        return ::testing::AssertionFailure()
               << "value " << i << ": dequantized " << back[i] << ", reference " << back_ref[i];
      }
      if (!(std::fabs(x[i] - back[i]) <= tol)) {
        return ::testing::AssertionFailure() << "value " << i << ": " << x[i] << " came back as "
                                             << back[i] << ", more than " << tol << " off";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(QuantQ8_0Test, MatchesGgmlInEveryRegime) {
  test::Rng rng(TestSeedFor(705));
  for (const NamedRow& row : QuantRegimeRows(rng, kQ8Limits)) {
    SCOPED_TRACE(row.name + " n=" + std::to_string(row.x.size()));
    std::vector<BlockQ8_0> q(row.x.size() / kQuantBlock);
    QuantizeQ8_0(row.x.data(), q.data(), static_cast<int>(row.x.size()));
    ASSERT_TRUE(MatchesGgmlQ8_0(row.x, q));
    ASSERT_TRUE(RoundTripWithinAStep(row.x, q, 0.5, 127.0, 127.0));
  }
}

TEST(QuantQ4_0Test, MatchesGgmlInEveryRegime) {
  test::Rng rng(TestSeedFor(706));
  for (const NamedRow& row : QuantRegimeRows(rng, kQ4Limits)) {
    SCOPED_TRACE(row.name + " n=" + std::to_string(row.x.size()));
    std::vector<BlockQ4_0> q(row.x.size() / kQuantBlock);
    QuantizeQ4_0(row.x.data(), q.data(), static_cast<int>(row.x.size()));
    ASSERT_TRUE(MatchesGgmlQ4_0(row.x, q));
    ASSERT_TRUE(RoundTripWithinAStep(row.x, q, 1.0, 8.0, 8.0));
  }
}

// Blocks whose scale is a power of two 2^e (so id = 2^-e and every x * id is exact): the largest
// magnitude 127 * 2^e (Q8_0) or 8 * 2^e (Q4_0) at a random position, the other values at
// half-integers k + 1/2 of the step and 2^-13 (Q8_0) or 2^-15 (Q4_0) of a step either side.
// Off the half-integer the nearer code is the only right one; at it either neighbour (ties).
TEST(QuantQ8_0Test, RoundsToNearestAtHalfSteps) {
  test::Rng rng(TestSeedFor(707));
  for (int trial = 0; trial < 64; ++trial) {
    const float scale = std::exp2(static_cast<float>(rng.Int(-20, 10)));
    std::vector<float> x(kQuantBlock);
    for (float& v : x) {
      const float offsets[3] = {-0x1.0p-13f, 0.0f, 0x1.0p-13f};
      v = (static_cast<float>(rng.Int(-127, 126)) + 0.5f + offsets[rng.Int(0, 2)]) * scale;
    }
    x[rng.Int(0, kQuantBlock - 1)] = (rng.Int(0, 1) ? 127.0f : -127.0f) * scale;
    BlockQ8_0 block;
    QuantizeQ8_0(x.data(), &block, kQuantBlock);
    ASSERT_EQ(HalfToFloatRef(block.d), scale);
    ASSERT_TRUE(MatchesGgmlQ8_0(x, {block})) << "scale " << scale;
  }
}

TEST(QuantQ4_0Test, RoundsToNearestAtHalfSteps) {
  test::Rng rng(TestSeedFor(708));
  for (int trial = 0; trial < 64; ++trial) {
    const float scale = std::exp2(static_cast<float>(rng.Int(-14, 14)));
    std::vector<float> x(kQuantBlock);
    for (float& v : x) {
      const float offsets[3] = {-0x1.0p-15f, 0.0f, 0x1.0p-15f};
      // k + 1/2 in [-7.5, 7.5]: up to the clamp at +7 (v = 7.5 and just above it).
      v = (static_cast<float>(rng.Int(-8, 7)) + 0.5f + offsets[rng.Int(0, 2)]) * scale;
    }
    const float extreme = rng.Int(0, 1) ? 8.0f : -8.0f;
    x[rng.Int(0, kQuantBlock - 1)] = extreme * scale;
    BlockQ4_0 block;
    QuantizeQ4_0(x.data(), &block, kQuantBlock);
    ASSERT_EQ(HalfToFloatRef(block.d), -extreme / 8.0f * scale);
    ASSERT_TRUE(MatchesGgmlQ4_0(x, {block})) << "scale " << scale;
  }
}

// Quantizing what a block decodes to gives the same block back: the largest decoded magnitude is
// 127 * d (Q8_0; -8 * d for Q4_0, the first of them has the same sign) exactly, so the scale is
// d again, and every decoded value is its code times d, within rounding of an integer. Checked as
// decoded values, so blocks stored with scale 0 (undefined codes) compare equal.
template <typename Block>
void CheckIdempotent(void (*quantize)(const float*, Block*, int),
                     void (*dequantize)(const Block*, float*, int),
                     const test::RegimeLimits& limits, uint64_t salt) {
  test::Rng rng(TestSeedFor(salt));
  for (const NamedRow& row : QuantRegimeRows(rng, limits)) {
    const int n = static_cast<int>(row.x.size());
    std::vector<Block> q(n / kQuantBlock), q2(n / kQuantBlock);
    std::vector<float> once(n), twice(n);
    quantize(row.x.data(), q.data(), n);
    dequantize(q.data(), once.data(), n);
    quantize(once.data(), q2.data(), n);
    dequantize(q2.data(), twice.data(), n);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(twice[i], once[i]) << row.name << " n=" << n << " value " << i;
    }
  }
}

TEST(QuantQ8_0Test, QuantizingDecodedBlocksIsIdempotent) {
  CheckIdempotent<BlockQ8_0>(QuantizeQ8_0, DequantizeQ8_0Ref, kQ8Limits, 709);
}

TEST(QuantQ4_0Test, QuantizingDecodedBlocksIsIdempotent) {
  CheckIdempotent<BlockQ4_0>(QuantizeQ4_0, DequantizeQ4_0Ref, kQ4Limits, 710);
}

// y = W x within the error of quantizing x (as CheckMatVec) for W[n] the decoded row n:
// sum_k |w_k| (x_err(k's block) + 1e-5 (|x_k| + x_err)) + 1e-30, where x_err is Q8_0's error
// bound (half a step plus fp16 scale rounding times 127). The float accumulation of per-block
// terms scale * (exact integer dot) is within 1e-5 of the sum of |w| |x quantized|.
::testing::AssertionResult MatVecWithinXQuantization(const std::vector<float>& w,
                                                     const std::vector<float>& x,
                                                     const std::vector<float>& got,
                                                     const std::vector<float>& want, int N, int K) {
  const int blocks = K / kQuantBlock;
  std::vector<double> x_err(blocks);
  for (int b = 0; b < blocks; ++b) {
    double amax = 0.0;
    for (int j = 0; j < kQuantBlock; ++j) {
      amax = std::max(amax, std::fabs(double(x[b * kQuantBlock + j])));
    }
    const double d = amax / 127.0;
    x_err[b] = 0.5 * d + 127.0 * std::fabs(HalfToFloatRef(FloatToHalf(float(d))) - d) + 1e-6 * d;
  }
  for (int n = 0; n < N; ++n) {
    double tol = 1e-30;
    for (int k = 0; k < K; ++k) {
      const double wk = std::fabs(w[size_t(n) * K + k]), e = x_err[k / kQuantBlock];
      tol += wk * (e + 1e-5 * (std::fabs(x[k]) + e));
    }
    if (!(std::fabs(double(got[n]) - want[n]) <= tol)) {
      return ::testing::AssertionFailure()
             << "row " << n << ": " << got[n] << ", reference " << want[n] << ", tolerance " << tol;
    }
  }
  // Nothing written past y[N - 1].
  for (size_t i = N; i < got.size(); ++i) {
    if (!std::isnan(got[i])) return ::testing::AssertionFailure() << "wrote y[" << i << "]";
  }
  return ::testing::AssertionSuccess();
}

template <typename Block>
void CheckMatVecRegimes(void (*matvec)(const Block*, const float*, float*, int, int, BlockQ8_0*),
                        void (*matvec_ref)(const Block*, const float*, float*, int, int),
                        void (*quantize)(const float*, Block*, int),
                        void (*dequantize_ref)(const Block*, float*, int),
                        const test::RegimeLimits& w_limits, uint64_t salt) {
  test::Rng rng(TestSeedFor(salt));
  struct Shape {
    int N, K;
  };
  // Tiny, odd, and one on the default pool (N * K >= 2^18).
  const Shape shapes[] = {{1, 32},    {2, 64}, {3, 96}, {7, 160}, {33, 32 * rng.Int(1, 12)},
                          {257, 1024}};
  for (test::Regime regime : test::FiniteRegimes()) {
    for (const Shape& s : shapes) {
      SCOPED_TRACE(std::string(test::RegimeName(regime)) + " N=" + std::to_string(s.N) +
                   " K=" + std::to_string(s.K));
      const int blocks = s.K / kQuantBlock;
      // W quantized from a row of the same regime (within W's format limit) or a narrow one.
      const std::vector<float> w_float =
          rng.Int(0, 1) ? test::RegimeRow(regime, size_t(s.N) * s.K, rng, w_limits)
                        : rng.Vector(size_t(s.N) * s.K);
      std::vector<Block> W(size_t(s.N) * blocks);
      quantize(w_float.data(), W.data(), s.N * s.K);
      std::vector<float> w(size_t(s.N) * s.K);
      dequantize_ref(W.data(), w.data(), s.N * s.K);
      const std::vector<float> x = test::RegimeRow(regime, s.K, rng, kQ8Limits);
      std::vector<BlockQ8_0> scratch(blocks);
      std::vector<float> got(s.N + 8, NAN), want(s.N);
      matvec(W.data(), x.data(), got.data(), s.N, s.K, scratch.data());
      matvec_ref(W.data(), x.data(), want.data(), s.N, s.K);
      ASSERT_TRUE(MatVecWithinXQuantization(w, x, got, want, s.N, s.K));
    }
  }
}

TEST(QuantMatVecTest, Q8_0MatchesReferenceInEveryRegime) {
  CheckMatVecRegimes<BlockQ8_0>(MatVecQ8_0, MatVecQ8_0Ref, QuantizeQ8_0, DequantizeQ8_0Ref,
                                kQ8Limits, 711);
}

TEST(QuantMatVecTest, Q4_0MatchesReferenceInEveryRegime) {
  CheckMatVecRegimes<BlockQ4_0>(MatVecQ4_0, MatVecQ4_0Ref, QuantizeQ4_0, DequantizeQ4_0Ref,
                                kQ4Limits, 712);
}

// Blocks of random bytes (every code, -128 included for Q8_0, every nibble) with fp16 scales of
// either sign from the smallest subnormal to 65504, against narrow and wide x.
template <typename Block>
void CheckMatVecRandomBytes(void (*matvec)(const Block*, const float*, float*, int, int,
                                           BlockQ8_0*),
                            void (*matvec_ref)(const Block*, const float*, float*, int, int),
                            void (*dequantize_ref)(const Block*, float*, int), uint64_t salt) {
  test::Rng rng(TestSeedFor(salt));
  for (int N : {1, 5, 33}) {
    for (int K : {32, 96, 512}) {
      std::vector<Block> W(size_t(N) * K / kQuantBlock);
      for (Block& b : W) {
        auto* bytes = reinterpret_cast<unsigned char*>(&b);
        for (size_t i = 0; i < sizeof(Block); ++i)
          bytes[i] = static_cast<unsigned char>(rng.Int(0, 255));
        // Exponent 0 (subnormal) to 30 (normal up to 65504), any mantissa and sign.
        b.d = static_cast<uint16_t>((rng.Int(0, 1) << 15) | (rng.Int(0, 30) << 10) |
                                    rng.Int(0, 1023));
      }
      std::vector<float> w(size_t(N) * K);
      dequantize_ref(W.data(), w.data(), N * K);
      for (test::Regime regime : {test::Regime::kNarrow, test::Regime::kWide}) {
        SCOPED_TRACE(std::string(test::RegimeName(regime)) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K));
        const std::vector<float> x =
            test::RegimeRow(regime, K, rng, {.narrow = 1.0f, .limit = 1e4f});
        std::vector<BlockQ8_0> scratch(K / kQuantBlock);
        std::vector<float> got(N + 8, NAN), want(N);
        matvec(W.data(), x.data(), got.data(), N, K, scratch.data());
        matvec_ref(W.data(), x.data(), want.data(), N, K);
        ASSERT_TRUE(MatVecWithinXQuantization(w, x, got, want, N, K));
      }
    }
  }
}

TEST(QuantMatVecTest, Q8_0RandomBlockBytesAtEveryScale) {
  CheckMatVecRandomBytes<BlockQ8_0>(MatVecQ8_0, MatVecQ8_0Ref, DequantizeQ8_0Ref, 713);
}

TEST(QuantMatVecTest, Q4_0RandomBlockBytesAtEveryScale) {
  CheckMatVecRandomBytes<BlockQ4_0>(MatVecQ4_0, MatVecQ4_0Ref, DequantizeQ4_0Ref, 714);
}

// N = 0 writes nothing; K = 0 writes zeros (empty sums).
TEST(QuantMatVecTest, EmptyProducts) {
  std::vector<BlockQ8_0> q8(1), scratch(1);
  std::vector<BlockQ4_0> q4(1);
  std::vector<float> x(32, 1.0f), y = {7.0f, 7.0f};
  MatVecQ8_0(q8.data(), x.data(), y.data(), 0, 32, scratch.data());
  MatVecQ4_0(q4.data(), x.data(), y.data(), 0, 32, scratch.data());
  EXPECT_EQ(y, std::vector<float>({7.0f, 7.0f}));
  MatVecQ8_0(q8.data(), x.data(), y.data(), 2, 0, scratch.data());
  EXPECT_EQ(y, std::vector<float>({0.0f, 0.0f}));
  y = {7.0f, 7.0f};
  MatVecQ4_0(q4.data(), x.data(), y.data(), 2, 0, scratch.data());
  EXPECT_EQ(y, std::vector<float>({0.0f, 0.0f}));
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
