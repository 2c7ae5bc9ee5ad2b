// StoredProduct: y[n, N] = x[n, K] * W[N, K]^T for a weight matrix in the type it is stored in
// (kernels/stored_matrix.h), each type multiplied by its own fused kernel, multithreaded over
// output rows on a ThreadPool. With n == 1 it is the decoder's per-token matrix-vector product;
// with n > 1 (prefill) Q8_0, Q4_0 and Q4_K multiply tiles of several weight rows by several input
// rows (each weight block unpacked once for the tile's inputs, each input block loaded once for
// its weight rows), in panels of 16 weight rows that stay in L1; Q6_K reads each weight row once
// for four input rows.
//
// Accuracy. F32, F16 and BF16 weights multiply x in float (float accumulation). The quantized
// types multiply x rounded to 8 bits, as llama.cpp does, so the inner products are integer ones:
//   Q8_0, Q4_0  x in blocks of 32 values, int8 codes and a float scale amax/127 per block (as
//               llama.cpp's Q8_0 activations);
//   Q4_K, Q6_K  x in blocks of 256 values with a step per 16 values (ActivationQ8_K16), finer
//               than llama.cpp's one step per 256 (GGML's Q8_K): about half its squared error on
//               normal inputs, and an outlier coarsens only its own 16 values. The steps fold
//               into the weights' int16 sub-block scales, so it costs one multiply per block.
// Each x value is then off by at most half a step: amax/254 of its block of 32, resp. of its 16
// values (to within 1/64 of the 256-value block's amax). The product's relative L2 error from
// this rounding, measured by tests/kernels/stored_product_test.cpp on random weights: ~0.5% for
// normal inputs; with an outlier 20x the rest, ~1.2% for Q8_0/Q4_0 and under 1% for the K-quants
// (2.2% with one step per 256). That the K-quants' logits sit closer to the float model's than
// llama.cpp's do on the same files is measured by tests/llama_cpp/kld.py.
// The result is exactly sum over blocks of (weight scale * x scale * integer dot), so it
// depends only on the inputs, never on thread count or the order of the rows; nor, for every
// type but F32, on how many input rows come in one call: the prefill tiles and the one-row decode
// kernels do the same arithmetic per output in the same order, so a prefilled prompt gives bit
// for bit the logits of its tokens stepped one by one. (F32 batches go through the float GEMM.)
//
// The fast path needs AVX-512 (F, BW, DQ, VL, VNNI; compiled in with -march=native on such a
// CPU); elsewhere, and in StoredProductPlain, the portable scalar code runs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/stored_matrix.h"
#include "kernels/thread_pool.h"

namespace rlvr {

// 32 activation values rounded to int8 with their float scale and the sum of the codes (which
// Q4_0's offset of 8 needs).
struct ActivationQ8_32 {
  float d;
  int32_t sum;
  int8_t qs[32];
};

// 256 activation values in 16 groups of 16, each group rounded to int8 on its own step: a whole
// multiple k[g] (1..kMaxGroupSteps) of the block's step d = amax / (127 * kMaxGroupSteps), the
// smallest that holds the group's largest value. So a group's step exceeds its own amax / 127 by
// less than d, and the dot product stays an integer one: Q4_K and Q6_K fold
// k into their int16 sub-block scales (|scale * k| <= 128 * 64). A block whose amax has no normal
// float step (below ~1e-34) rounds to zeros. bsums and sums: each group's codes and rounded values
// summed (for Q4_K's mins and Q6_K's offset of 32).
constexpr int kMaxGroupSteps = 64;
struct ActivationQ8_K16 {
  float d;
  int16_t k[16];
  int16_t bsums[16];
  float sums[16];        // d * k[g] * bsums[g]: each group's rounded values summed
  int16_t k_q4k[2][32];  // k as Q4_K's fast kernels weigh their int16 lanes (stored_product.cpp)
  int8_t qs[256];
};

// The input of StoredProduct: up to max_rows rows of max_cols floats, and their 8-bit forms,
// made on first use and reused by every product with the same input (e.g. q, k and v
// projections of one normed row). Allocates only in its constructor.
class ProductInput {
 public:
  ProductInput(int max_rows, int max_cols);

  // Makes x[n, K] (row-major) the input. x must stay valid and unchanged until the next Set.
  // Throws std::invalid_argument unless 0 < n <= max_rows and 0 < K <= max_cols.
  void Set(const float* x, int n, int K);

  const float* x() const { return x_; }
  int rows() const { return n_; }
  int cols() const { return k_; }
  // The 8-bit forms, made on first call after Set (K must be a multiple of 32, resp. 256).
  const ActivationQ8_32* Q8_32();
  const ActivationQ8_K16* Q8_K16();

 private:
  int max_rows_, max_cols_;
  const float* x_ = nullptr;
  int n_ = 0, k_ = 0;
  bool have_q8_32_ = false, have_q8_k16_ = false;
  std::vector<ActivationQ8_32> q8_32_;
  std::vector<ActivationQ8_K16> q8_k16_;
};

// Rounds x[K] to 8-bit blocks (K a multiple of 32, resp. 256), as ProductInput does.
void QuantizeActivationQ8_32(const float* x, ActivationQ8_32* out, int K);
void QuantizeActivationQ8_K16(const float* x, ActivationQ8_K16* out, int K);

// y[r * W.rows + i] = dot(row i of W, row r of the input) for r < in.rows(), i < W.rows.
// Throws std::invalid_argument if W is invalid (CheckStoredMatrix) or W.cols != in.cols().
// pool nullptr means DefaultPool(); do not call from inside a task of that pool. Allocates
// nothing.
void StoredProduct(const StoredMatrix& W, ProductInput& in, float* y, ThreadPool* pool = nullptr);

// One product of StoredProducts: y = the shared input times W (laid out as StoredProduct's y).
struct StoredProductTarget {
  const StoredMatrix* W;
  float* y;
};

// StoredProduct for several matrices with the same input (a layer's q, k and v projections; its
// gate and up projections) in one run of the pool: the threads share out the rows of all of them
// and wait for each other once rather than once per matrix, which matters when a decode step's
// products take tens of microseconds each. Each y gets exactly what StoredProduct would give.
// Throws as StoredProduct does, before computing anything. At most kMaxStoredProducts targets.
// Allocates nothing.
constexpr int kMaxStoredProducts = 4;
void StoredProducts(std::span<const StoredProductTarget> targets, ProductInput& in,
                    ThreadPool* pool = nullptr);

// The same on one thread with the portable scalar kernels (for tests of the fast path).
void StoredProductPlain(const StoredMatrix& W, ProductInput& in, float* y);

// Whether StoredProduct uses the AVX-512 kernels in this build.
bool StoredProductHasFastPath();

}  // namespace rlvr
