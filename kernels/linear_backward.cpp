// The backward products of a linear layer (declared in kernels/backward.h), in their own file so
// the linear_backward target can optimise them apart from the rest of the training step.
#include "kernels/backward.h"
#include "kernels/gemm.h"

namespace rlvr {

void LinearBackwardInput(const float* dy, const float* W, float* dx, int M, int N, int K,
                         ThreadPool* pool) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  Gemm(dy, W, dx, M, K, N, 1.0f, 1.0f, pool);
}

void LinearBackwardWeight(const float* dy, const float* x, float* dW, int M, int N, int K,
                          float* scratch, ThreadPool* pool) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  // dy^T [N,M] into scratch in tiles, so both the reads and the writes stay within a few cache
  // lines; then one GEMM accumulates into dW.
  constexpr int kTile = 32;
  for (int m0 = 0; m0 < M; m0 += kTile) {
    const int m1 = m0 + kTile < M ? m0 + kTile : M;
    for (int n0 = 0; n0 < N; n0 += kTile) {
      const int n1 = n0 + kTile < N ? n0 + kTile : N;
      for (int m = m0; m < m1; ++m) {
        for (int n = n0; n < n1; ++n)
          scratch[static_cast<size_t>(n) * M + m] = dy[static_cast<size_t>(m) * N + n];
      }
    }
  }
  Gemm(scratch, x, dW, N, K, M, 1.0f, 1.0f, pool);
}

}  // namespace rlvr
