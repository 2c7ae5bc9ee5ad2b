// Plain reference implementations of the matrix products in kernels/gemm.h: the obvious loops
// with double accumulation, no blocking, no threads. Tests and benchmarks judge the fast paths
// against these. Also the error metric those comparisons use.
#pragma once

#include <cstddef>

namespace rlvr {

// C[M,N] = alpha * A[M,K] * B[K,N] + beta * C[M,N]; beta == 0 ignores C (even NaN).
void GemmRef(const float* A, const float* B, float* C, int M, int N, int K, float alpha = 1.0f,
             float beta = 0.0f);

// y[M,N] = x[M,K] * W[N,K]^T.
void LinearRef(const float* x, const float* W, float* y, int M, int N, int K);

// y[N] = W[N,K] * x[K].
void MatVecRef(const float* W, const float* x, float* y, int N, int K);

// One entry of A*B (no alpha/beta) in double: for spot-checking large products cheaply.
double GemmRefEntry(const float* A, const float* B, int N, int K, int i, int j);

// Normwise relative error: max_i |got[i] - want[i]| / max_i |want[i]|. Robust where single
// entries cancel to ~0. Returns +infinity if any got[i] is NaN/inf while want[i] is finite, and
// the plain max abs error if want is all zeros. n == 0 gives 0.
double MaxRelativeError(const float* got, const float* want, size_t n);

}  // namespace rlvr
