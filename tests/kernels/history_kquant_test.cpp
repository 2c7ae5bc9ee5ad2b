// History independence (history_util.h) of the K-quant matrix-vector products: the same inputs
// give bit-identical results whatever came before and wherever they are stored, within the
// contract's tolerance of the plain reference after in-place changes, inputs untouched, output
// fully written at return. Shapes include the benchmarks' (4096x4096) and tiny and odd ones.
// Test names start with History.KQuant so the kquant target's filter selects them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/kquant.h"
#include "kernels/reference/kquant_ref.h"
#include "kernels/splitmix64.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/history_util.h"

namespace rlvr {
namespace {

using history::Buffer;
using history::Bytes;
using history::CheckHistory;
using history::RandomFloat;
using history::RandomFloats;

// Random blocks: every code and packed scale, fp16 scales in [2^-8, 2^-7).
template <typename Block>
void RandomBlocks(Block* blocks, size_t count, uint64_t seed) {
  auto* bytes = reinterpret_cast<unsigned char*>(blocks);
  for (size_t i = 0; i < count * sizeof(Block); ++i) bytes[i] = SplitMix64(seed) & 0xff;
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    if constexpr (std::is_same_v<Block, BlockQ4_K>) {
      blocks[b].dmin = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    }
  }
}

// The kquant.h contract per row: within the error of rounding x to 8 bits per 256-value block,
// sum_k |w_k| * (amax of k's block / 254) + 1e-5 * sum |w_k x_k| + 1e-6.
template <typename Block>
struct KQuantMatVecCase {
  using MatVecFn = void (*)(const Block*, const float*, float*, int, int);
  using RefFn = void (*)(const Block*, const float*, float*, int, int);
  using DequantizeFn = void (*)(const Block*, float*, int);
  MatVecFn matvec;
  RefFn matvec_ref;
  DequantizeFn dequantize_ref;
  int N, K;
  struct Inputs {
    Buffer<Block> W;
    Buffer<float> x;
  };
  Inputs Make(uint64_t seed) const {
    Inputs in{Buffer<Block>(size_t(N) * K / kSuperBlock), RandomFloats(K, ~seed, -3.0f, 3.0f)};
    RandomBlocks(in.W.data(), in.W.size(), seed);
    return in;
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {{in.W.data(), in.W.size() * sizeof(Block)}, {in.x.data(), in.x.size() * sizeof(float)}};
  }
  size_t OutputSize() const { return N; }
  void Run(Inputs& in, float* out) const { matvec(in.W.data(), in.x.data(), out, N, K); }
  // Rows checked: all of them, or for large N the first, the last and 64 random ones.
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    const int blocks = K / kSuperBlock;
    std::vector<int> rows;
    if (N <= 512) {
      for (int n = 0; n < N; ++n) rows.push_back(n);
    } else {
      uint64_t seed = TestSeedFor(N + K);
      rows = {0, N - 1};
      for (int s = 0; s < 64; ++s) rows.push_back(static_cast<int>(SplitMix64(seed) % N));
    }
    std::vector<double> x_step(blocks);
    for (int b = 0; b < blocks; ++b) {
      double amax = 0.0;
      for (int j = 0; j < kSuperBlock; ++j) {
        amax = std::max(amax, std::fabs(static_cast<double>(in.x[b * kSuperBlock + j])));
      }
      x_step[b] = amax / 127.0;
    }
    std::vector<float> row(K);
    for (int n : rows) {
      const Block* w = in.W.data() + size_t(n) * blocks;
      float want = 0.0f;
      matvec_ref(w, in.x.data(), &want, 1, K);
      dequantize_ref(w, row.data(), K);
      double tol = 1e-6;
      for (int k = 0; k < K; ++k) {
        tol += std::fabs(row[k]) * (0.5 * x_step[k / kSuperBlock] + 1e-5 * std::fabs(in.x[k]));
      }
      if (!(std::fabs(out[n] - want) <= tol)) {
        return ::testing::AssertionFailure() << "row " << n << ": " << out[n] << " vs reference "
                                             << want << " (allowed " << tol << ")";
      }
    }
    return ::testing::AssertionSuccess();
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    in.x[SplitMix64(seed) % K] = RandomFloat(seed, -3.0f, 3.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    const int blocks = K / kSuperBlock;
    const int row = static_cast<int>(SplitMix64(seed) % N);
    RandomBlocks(in.W.data() + size_t(row) * blocks, blocks, seed);
  }
};

std::string Shape(int N, int K) {
  return std::to_string(N) + "x" + std::to_string(K);
}

constexpr std::pair<int, int> kShapes[] = {{1, 256},  {3, 256},    {17, 512},
                                           {33, 768}, {301, 4096}, {4096, 4096}};

TEST(History, KQuantMatVecQ4_K) {
  uint64_t salt = 16300;
  for (auto [N, K] : kShapes) {
    CheckHistory(KQuantMatVecCase<BlockQ4_K>{MatVecQ4_K, MatVecQ4_KRef, DequantizeQ4_KRef, N, K},
                 TestSeedFor(++salt), "MatVecQ4_K " + Shape(N, K));
  }
}

TEST(History, KQuantMatVecQ6_K) {
  uint64_t salt = 16350;
  for (auto [N, K] : kShapes) {
    CheckHistory(KQuantMatVecCase<BlockQ6_K>{MatVecQ6_K, MatVecQ6_KRef, DequantizeQ6_KRef, N, K},
                 TestSeedFor(++salt), "MatVecQ6_K " + Shape(N, K));
  }
}

}  // namespace
}  // namespace rlvr
