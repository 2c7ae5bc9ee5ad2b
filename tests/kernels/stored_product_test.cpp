// StoredProduct (kernels/stored_product.h): every storage type's fused kernel, fast and plain,
// against the double-accumulating reference on random blocks (every bit pattern a file may hold,
// not only what rlvr's quantizers write), odd and tiny shapes, several input rows; the accuracy
// cost of rounding the input to 8 bits; and the input's 8-bit forms never outliving the input.
#include "kernels/stored_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/kquant.h"
#include "kernels/quant.h"
#include "kernels/reference/stored_product_ref.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

constexpr StoredType kAllTypes[] = {StoredType::kF32,  StoredType::kF16,  StoredType::kBF16,
                                    StoredType::kQ8_0, StoredType::kQ4_0, StoredType::kQ4_K,
                                    StoredType::kQ6_K};

// A matrix of random bytes whose scale fields are set to random finite halves, so every code,
// sub-block scale, min and high-bit pattern occurs.
struct RandomMatrix {
  std::vector<uint8_t> bytes;
  StoredMatrix m;
  RandomMatrix(StoredType type, int rows, int cols, std::mt19937_64& rng) {
    m = StoredMatrix{type, nullptr, rows, cols};
    bytes.resize(m.Bytes());
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> value(-1.0f, 1.0f), scale(0.001f, 0.05f);
    const size_t blocks = m.Bytes() / StoredBlockBytes(type);
    auto half = [&](float f) { return FloatToHalf(f); };
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* p = bytes.data() + b * StoredBlockBytes(type);
      switch (type) {
        case StoredType::kF32: {
          const float f = value(rng);
          std::memcpy(p, &f, 4);
          break;
        }
        case StoredType::kF16: {
          const uint16_t h = half(value(rng));
          std::memcpy(p, &h, 2);
          break;
        }
        case StoredType::kBF16: {
          const float f = value(rng);
          uint32_t bits;
          std::memcpy(&bits, &f, 4);
          const uint16_t h = static_cast<uint16_t>(bits >> 16);
          std::memcpy(p, &h, 2);
          break;
        }
        case StoredType::kQ8_0:
          reinterpret_cast<BlockQ8_0*>(p)->d = half(value(rng) * 0.05f);
          break;
        case StoredType::kQ4_0:
          reinterpret_cast<BlockQ4_0*>(p)->d = half(value(rng) * 0.05f);
          break;
        case StoredType::kQ4_K:
          reinterpret_cast<BlockQ4_K*>(p)->d = half(scale(rng));
          reinterpret_cast<BlockQ4_K*>(p)->dmin = half(scale(rng));
          break;
        case StoredType::kQ6_K:
          reinterpret_cast<BlockQ6_K*>(p)->d = half(scale(rng) * 0.1f);
          break;
      }
    }
    m.data = bytes.data();
  }
};

std::vector<float> RandomInput(int n, int K, std::mt19937_64& rng, float magnitude = 1.0f) {
  std::normal_distribution<float> normal(0.0f, magnitude);
  std::vector<float> x(static_cast<size_t>(n) * K);
  for (float& v : x) v = normal(rng);
  return x;
}

// |y - ref| within float accumulation error of the terms' magnitudes.
void ExpectMatchesReference(const StoredMatrix& W, const std::vector<float>& x, int n,
                            const float* y, const std::string& what) {
  std::vector<double> want(static_cast<size_t>(n) * W.rows);
  StoredProductRef(W, x.data(), n, want.data());
  std::vector<float> w(W.cols), xr(W.cols);
  for (int r = 0; r < n; ++r) {
    RoundInputRef(W.type, x.data() + static_cast<size_t>(r) * W.cols, xr.data(), W.cols);
    for (int i = 0; i < W.rows; ++i) {
      DequantizeStoredRowRef(W, i, w.data());
      double magnitude = 0.0;
      for (int k = 0; k < W.cols; ++k) magnitude += std::fabs(static_cast<double>(w[k]) * xr[k]);
      const size_t at = static_cast<size_t>(r) * W.rows + i;
      ASSERT_NEAR(y[at], want[at], 2e-6 * magnitude + 1e-30)
          << what << " row " << i << " input " << r;
    }
  }
}

int BlockOf(StoredType type) {
  return StoredBlockValues(type);
}

TEST(StoredProduct, EveryTypeMatchesTheReferenceOnOddAndTinyShapes) {
  std::mt19937_64 rng(TestSeedFor(2601));
  ThreadPool pool(2);
  std::printf("StoredProduct fast path (AVX-512 VNNI): %s\n",
              StoredProductHasFastPath() ? "compiled in, tested" : "not in this build");
  for (StoredType type : kAllTypes) {
    const int block = BlockOf(type);
    // {rows, cols in blocks (or values for float types), input rows}
    const int shapes[][3] = {{1, 1, 1}, {3, 1, 2}, {7, 3, 1}, {33, 5, 3}, {130, 8, 1}, {5, 2, 9}};
    for (const auto& s : shapes) {
      const int cols = block == 1 ? s[1] * 37 + 3 : s[1] * block;  // odd lengths for floats
      RandomMatrix W(type, s[0], cols, rng);
      const std::vector<float> x = RandomInput(s[2], cols, rng);
      ProductInput in(s[2], cols);
      in.Set(x.data(), s[2], cols);
      std::vector<float> fast(static_cast<size_t>(s[2]) * s[0], NAN), plain = fast;
      StoredProduct(W.m, in, fast.data(), &pool);
      StoredProductPlain(W.m, in, plain.data());
      const std::string what = std::string(StoredTypeName(type)) + " [" + std::to_string(s[0]) +
                               ", " + std::to_string(cols) + "] x " + std::to_string(s[2]);
      ExpectMatchesReference(W.m, x, s[2], fast.data(), what + " (StoredProduct)");
      ExpectMatchesReference(W.m, x, s[2], plain.data(), what + " (plain)");
    }
  }
}

// Prefill's tiles (4 weight rows x 4 input rows for Q8_0, Q4_0 and Q4_K) and their edges: every
// input row count 1..9 against odd weight row counts, odd and even block counts.
TEST(StoredProduct, TiledPrefillMatchesTheReferenceForEveryRowCount) {
  std::mt19937_64 rng(TestSeedFor(2602));
  ThreadPool pool(2);
  int checked = 0;
  for (StoredType type : kAllTypes) {
    const int block = BlockOf(type);
    for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 64}) {
      for (const int rows : {1, 5, 11, 37, 256}) {
        const int cols = block == 1 ? 67 : (n == 64 ? 8 : n % 2 == 0 ? 3 : 2) * block;
        RandomMatrix W(type, rows, cols, rng);
        const std::vector<float> x = RandomInput(n, cols, rng);
        ProductInput in(n, cols);
        in.Set(x.data(), n, cols);
        std::vector<float> fast(static_cast<size_t>(n) * rows, NAN), one = fast;
        StoredProduct(W.m, in, fast.data(), &pool);
        ThreadPool single(1);
        StoredProduct(W.m, in, one.data(), &single);
        const std::string what = std::string(StoredTypeName(type)) + " [" + std::to_string(rows) +
                                 ", " + std::to_string(cols) + "] x " + std::to_string(n);
        ExpectMatchesReference(W.m, x, n, fast.data(), what + " (2 threads)");
        ExpectMatchesReference(W.m, x, n, one.data(), what + " (1 thread)");
        ++checked;
      }
    }
  }
  std::printf("checked %d tiled shapes (fast path %s)\n", checked,
              StoredProductHasFastPath() ? "compiled in" : "not in this build: plain kernels");
}

// An input row's outputs do not depend on the batch it came in (tiles for batches, one-row
// kernels for single rows): bit for bit, for every type but F32 (whose batches go through the
// float GEMM, another summation order).
TEST(StoredProduct, BatchedRowsEqualSingleRowsBitForBit) {
  std::mt19937_64 rng(TestSeedFor(2603));
  ThreadPool pool(2);
  for (StoredType type : kAllTypes) {
    if (type == StoredType::kF32) continue;
    const int cols = 3 * BlockOf(type), rows = 37;
    RandomMatrix W(type, rows, cols, rng);
    for (int n = 2; n <= 9; ++n) {
      const std::vector<float> x = RandomInput(n, cols, rng);
      ProductInput batch(n, cols), single(1, cols);
      batch.Set(x.data(), n, cols);
      std::vector<float> y(static_cast<size_t>(n) * rows), alone(rows);
      StoredProduct(W.m, batch, y.data(), &pool);
      for (int r = 0; r < n; ++r) {
        single.Set(x.data() + static_cast<size_t>(r) * cols, 1, cols);
        StoredProduct(W.m, single, alone.data(), &pool);
        EXPECT_EQ(0, std::memcmp(alone.data(), y.data() + static_cast<size_t>(r) * rows,
                                 rows * sizeof(float)))
            << StoredTypeName(type) << ": row " << r << " of " << n;
      }
    }
  }
}

// The 8-bit input forms (vectorised where the CPU allows) give exactly the reference's codes and
// scales, ties (values on a half step) and all-zero blocks included.
TEST(StoredProduct, InputRoundingMatchesTheReferenceExactly) {
  std::mt19937_64 rng(TestSeedFor(2604));
  constexpr int K = 512;
  std::vector<float> x = RandomInput(1, K, rng);
  for (int i = 0; i < 32; ++i) x[64 + i] = 0.0f;  // an all-zero block of 32
  // Ties: amax 127 makes the step 1, so k + 0.5 lies exactly between two codes.
  x[256] = 127.0f;
  for (int i = 1; i < 40; ++i) x[256 + i] = static_cast<float>(i % 9 - 4) + 0.5f;
  // Q6_K's steps per 16: a group far below its block's amax (k = 1) and one just above a whole
  // number of steps (ceil must not round it down).
  for (int i = 0; i < 16; ++i) x[256 + 64 + i] = 1e-3f * static_cast<float>(i - 8);
  x[256 + 80] = 127.0f * 3.0f / 64.0f + 1e-4f;
  std::vector<ActivationQ8_32> a32(K / 32);
  std::vector<ActivationQ8_K16> ak16(K / 256);
  QuantizeActivationQ8_32(x.data(), a32.data(), K);
  QuantizeActivationQ8_K16(x.data(), ak16.data(), K);
  std::vector<float> want32(K), wantk16(K), want_q4k(K);
  RoundInputRef(StoredType::kQ8_0, x.data(), want32.data(), K);
  RoundInputRef(StoredType::kQ6_K, x.data(), wantk16.data(), K);
  RoundInputRef(StoredType::kQ4_K, x.data(), want_q4k.data(), K);
  for (int i = 0; i < K; ++i) {
    ASSERT_EQ(a32[i / 32].qs[i % 32] * a32[i / 32].d, want32[i]) << "Q8_32 value " << i;
    const ActivationQ8_K16& g = ak16[i / 256];
    ASSERT_EQ(static_cast<float>(g.qs[i % 256] * g.k[i % 256 / 16]) * g.d, wantk16[i])
        << "Q8_K16 value " << i;
    ASSERT_EQ(want_q4k[i], wantk16[i]) << "Q4_K and Q6_K take the same input, value " << i;
  }
  for (const ActivationQ8_K16& g : ak16) {
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += g.qs[16 * j + i];
      ASSERT_EQ(sum, g.bsums[j]);
      ASSERT_GE(g.k[j], 1);
      ASSERT_LE(g.k[j], kMaxGroupSteps);
    }
  }
  EXPECT_EQ(ak16[1].k[4], 1) << "a group 1000x below its block's amax takes the finest step";
  EXPECT_EQ(ak16[1].k[5], 4) << "a group just above 3 steps takes 4";
}

// GGML's Q8_K rounding of x[256] (what llama.cpp multiplies K-quants by): one step amax / 127.
std::vector<float> RoundPer256(const float* x) {
  float amax = 0.0f;
  for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(x[i]));
  std::vector<float> out(256);
  for (int i = 0; i < 256; ++i) {
    out[i] = amax == 0.0f ? 0.0f : std::nearbyint(x[i] * (127.0f / amax)) * (amax / 127.0f);
  }
  return out;
}

// The K-quants' input has a step per 16 values, so rounding it errs less than one step per 256
// (GGML's Q8_K, which llama.cpp uses): about half the squared error on normal inputs, and an
// outlier coarsens only its own 16 values.
TEST(StoredProduct, StepsPer16ValuesRoundTheInputCloser) {
  std::mt19937_64 rng(TestSeedFor(2606));
  constexpr int K = 4096;
  for (const bool outliers : {false, true}) {
    std::vector<float> x = RandomInput(1, K, rng);
    if (outliers) {
      for (int i = 0; i < K; i += 97) x[i] *= 20.0f;
    }
    std::vector<ActivationQ8_K16> ak16(K / 256);
    QuantizeActivationQ8_K16(x.data(), ak16.data(), K);
    double per_block = 0, per_group = 0;
    std::vector<float> block;
    for (int i = 0; i < K; ++i) {
      if (i % 256 == 0) block = RoundPer256(x.data() + i);
      const ActivationQ8_K16& g = ak16[i / 256];
      const double block_value = block[i % 256];
      const double group_value = static_cast<double>(g.qs[i % 256]) * g.k[i % 256 / 16] * g.d;
      per_block += (block_value - x[i]) * (block_value - x[i]);
      per_group += (group_value - x[i]) * (group_value - x[i]);
    }
    std::printf("%s input: squared rounding error per 16 / per 256 = %.3f\n",
                outliers ? "outlier" : "normal", per_group / per_block);
    EXPECT_LT(per_group, (outliers ? 0.2 : 0.6) * per_block);
  }
}

TEST(StoredProduct, ResultDoesNotDependOnThreadCount) {
  std::mt19937_64 rng(TestSeedFor(2602));
  ThreadPool one(1), two(2);
  for (StoredType type : kAllTypes) {
    const int cols = BlockOf(type) == 1 ? 1024 : 4 * std::max(BlockOf(type), 256);
    RandomMatrix W(type, 300, cols, rng);
    const std::vector<float> x = RandomInput(2, cols, rng);
    ProductInput in(2, cols);
    in.Set(x.data(), 2, cols);
    std::vector<float> a(600), b(600);
    StoredProduct(W.m, in, a.data(), &one);
    StoredProduct(W.m, in, b.data(), &two);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << StoredTypeName(type);
  }
}

// Several matrices with one input in one pool run (a layer's q, k, v; gate and up): each output
// is bit for bit StoredProduct's, whatever the mix of types, row counts and threads.
TEST(StoredProduct, ProductsSharingAnInputEqualSeparateProductsBitForBit) {
  std::mt19937_64 rng(TestSeedFor(2603));
  ThreadPool one(1), three(3);
  const int cols = 512;
  const StoredType mixes[][3] = {{StoredType::kQ4_K, StoredType::kQ6_K, StoredType::kQ8_0},
                                 {StoredType::kF32, StoredType::kQ4_0, StoredType::kBF16},
                                 {StoredType::kF16, StoredType::kF32, StoredType::kQ4_K}};
  for (const auto& mix : mixes) {
    for (int n : {1, 5}) {
      // Row counts: large enough for the pool, odd, and one tiny matrix.
      RandomMatrix a(mix[0], 700, cols, rng), b(mix[1], 37, cols, rng), c(mix[2], 301, cols, rng);
      const std::vector<float> x = RandomInput(n, cols, rng);
      for (ThreadPool* pool : {&one, &three}) {
        ProductInput in(n, cols);
        in.Set(x.data(), n, cols);
        std::vector<float> ya(700 * n, -1.0f), yb(37 * n, -1.0f), yc(301 * n, -1.0f);
        const StoredProductTarget targets[] = {
            {&a.m, ya.data()}, {&b.m, yb.data()}, {&c.m, yc.data()}};
        StoredProducts(targets, in, pool);
        for (const auto& [m, y] : {std::pair{&a.m, &ya}, std::pair{&b.m, &yb}, {&c.m, &yc}}) {
          std::vector<float> want(y->size());
          StoredProduct(*m, in, want.data(), pool);
          EXPECT_EQ(0, std::memcmp(y->data(), want.data(), want.size() * sizeof(float)))
              << StoredTypeName(m->type) << " in a mix, n " << n << ", " << pool->threads()
              << " threads";
        }
      }
    }
  }
}

TEST(StoredProduct, ProductsSharingAnInputCheckEveryMatrixBeforeComputing) {
  std::mt19937_64 rng(TestSeedFor(2604));
  RandomMatrix good(StoredType::kQ8_0, 64, 512, rng), bad(StoredType::kQ4_K, 8, 256, rng);
  ProductInput in(1, 512);
  const std::vector<float> x = RandomInput(1, 512, rng);
  in.Set(x.data(), 1, 512);
  std::vector<float> y_good(64, -7.0f), y_bad(8, -7.0f);
  const StoredProductTarget targets[] = {{&good.m, y_good.data()}, {&bad.m, y_bad.data()}};
  EXPECT_THROW(StoredProducts(targets, in), std::invalid_argument);  // 256 columns against 512
  EXPECT_EQ(y_good, std::vector<float>(64, -7.0f));                  // nothing computed
  const StoredProductTarget five[] = {targets[0], targets[0], targets[0], targets[0], targets[0]};
  EXPECT_THROW(StoredProducts(five, in), std::invalid_argument);
}

TEST(StoredProduct, NewInputInTheSameBufferIsRoundedAgain) {
  // ProductInput keeps the 8-bit form of its input for the next product; a new Set must drop it,
  // even when the new input lives at the same address.
  std::mt19937_64 rng(TestSeedFor(2603));
  for (StoredType type : {StoredType::kQ8_0, StoredType::kQ4_K}) {
    RandomMatrix W(type, 40, 512, rng);
    std::vector<float> x = RandomInput(1, 512, rng);
    ProductInput in(1, 512);
    std::vector<float> y(40);
    in.Set(x.data(), 1, 512);
    StoredProduct(W.m, in, y.data());
    x = RandomInput(1, 512, rng);  // same size: same buffer
    std::vector<float> fresh = RandomInput(1, 512, rng);
    std::memcpy(x.data(), fresh.data(), 512 * sizeof(float));
    in.Set(x.data(), 1, 512);
    StoredProduct(W.m, in, y.data());
    ExpectMatchesReference(W.m, x, 1, y.data(), StoredTypeName(type));
  }
}

TEST(StoredProduct, RoundingTheInputCostsLittle) {
  // The accuracy cost the header states: relative L2 error of the product against the exact
  // product of the same stored weights, for normal inputs (under 1%) and for inputs with an
  // outlier 20x the rest in every block of 97 (under 5%: the outlier sets the block's step; under
  // 1.2% for the K-quants, whose outlier sets only its 16 values' step).
  std::mt19937_64 rng(TestSeedFor(2604));
  for (StoredType type :
       {StoredType::kQ8_0, StoredType::kQ4_0, StoredType::kQ4_K, StoredType::kQ6_K}) {
    for (const bool outliers : {false, true}) {
      RandomMatrix W(type, 256, 2048, rng);
      std::vector<float> x = RandomInput(1, 2048, rng);
      if (outliers) {
        for (int i = 0; i < 2048; i += 97) x[i] *= 20.0f;
      }
      ProductInput in(1, 2048);
      in.Set(x.data(), 1, 2048);
      std::vector<float> y(256);
      StoredProduct(W.m, in, y.data());
      std::vector<double> exact(256);
      StoredProductExactRef(W.m, x.data(), 1, exact.data());
      double err = 0, norm = 0;
      for (int i = 0; i < 256; ++i) {
        err += (y[i] - exact[i]) * (y[i] - exact[i]);
        norm += exact[i] * exact[i];
      }
      const double relative = std::sqrt(err / norm);
      std::printf("%s, %s input: rounding it costs %.3f%% relative L2\n", StoredTypeName(type),
                  outliers ? "outlier" : "normal", 100 * relative);
      // The K-quants' steps per 16 values keep an outlier's step to its own 16 (see the header).
      const bool k_quant = type == StoredType::kQ4_K || type == StoredType::kQ6_K;
      EXPECT_LT(relative, outliers ? (k_quant ? 0.012 : 0.05) : 0.01) << StoredTypeName(type);
      EXPECT_GT(relative, 0.0) << StoredTypeName(type) << ": the input was not rounded at all?";
    }
  }
}

TEST(StoredProduct, ZeroInputBlocksAndLargeValues) {
  std::mt19937_64 rng(TestSeedFor(2605));
  for (StoredType type : kAllTypes) {
    const int cols = 512;
    RandomMatrix W(type, 17, cols, rng);
    std::vector<float> x = RandomInput(1, cols, rng, 1e4f);
    for (int i = 0; i < 256; ++i) x[i] = 0.0f;  // a whole zero block: scale 0
    ProductInput in(1, cols);
    in.Set(x.data(), 1, cols);
    std::vector<float> y(17);
    StoredProduct(W.m, in, y.data());
    ExpectMatchesReference(W.m, x, 1, y.data(), StoredTypeName(type));
  }
}

TEST(StoredProduct, RejectsMismatchedShapesAndBadMatrices) {
  std::vector<uint8_t> bytes(1 << 16);
  ProductInput in(2, 512);
  std::vector<float> x(1024, 1.0f), y(64);
  in.Set(x.data(), 1, 512);
  StoredMatrix W{StoredType::kQ4_K, bytes.data(), 4, 256};
  try {
    StoredProduct(W, in, y.data());
    FAIL() << "no error for 256 columns against an input of 512";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
  W = StoredMatrix{StoredType::kQ8_0, bytes.data(), 4, 500};
  EXPECT_THROW(StoredProduct(W, in, y.data()), std::invalid_argument);  // not whole blocks
  W = StoredMatrix{StoredType::kF32, nullptr, 4, 512};
  EXPECT_THROW(StoredProduct(W, in, y.data()), std::invalid_argument);
  EXPECT_THROW(in.Set(x.data(), 3, 512), std::invalid_argument);  // more rows than room
  EXPECT_THROW(ProductInput(0, 5), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
