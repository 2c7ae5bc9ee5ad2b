// Dense float32 matrix products: general GEMM, the linear-layer product y = x * W^T, and
// matrix-vector. Cache-blocked and parallel over row blocks on a ThreadPool; no allocation per
// call after the first (packing buffers are kept per thread).
#pragma once

#include "kernels/mat.h"
#include "kernels/thread_pool.h"

namespace rlvr {

// C[M,N] = alpha * A[M,K] * B[K,N] + beta * C[M,N]; all row-major with strides K, N and N.
// beta == 0 ignores C's prior contents (even NaN).
void Gemm(const float* A, const float* B, float* C, int M, int N, int K, float alpha = 1.0f,
          float beta = 0.0f, ThreadPool* pool = nullptr);
void Gemm(const Mat& A, const Mat& B, Mat& C, float alpha = 1.0f, float beta = 0.0f,
          ThreadPool* pool = nullptr);

// y[M,N] = x[M,K] * W[N,K]^T: the layout of Hugging Face linear layers (W is out x in).
void Linear(const float* x, const float* W, float* y, int M, int N, int K,
            ThreadPool* pool = nullptr);

// y[N] = W[N,K] * x[K].
void MatVec(const float* W, const float* x, float* y, int N, int K, ThreadPool* pool = nullptr);

}  // namespace rlvr
