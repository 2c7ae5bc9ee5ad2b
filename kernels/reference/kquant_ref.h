// Plain references for the K-quants (kernels/kquant.h): dequantization written from GGML's
// format description value by value (not calling the kernels), and matrix-vector products that
// dequantize a row and take its dot product with double accumulation. Never optimize these.
#pragma once

#include "kernels/kquant.h"

namespace rlvr {

// n a multiple of kSuperBlock.
void DequantizeQ4_KRef(const BlockQ4_K* x, float* y, int n);
void DequantizeQ6_KRef(const BlockQ6_K* x, float* y, int n);

// y[N] = dequantize(W)[N,K] * x[K], accumulated in double.
void MatVecQ4_KRef(const BlockQ4_K* W, const float* x, float* y, int N, int K);
void MatVecQ6_KRef(const BlockQ6_K* W, const float* x, float* y, int N, int K);

}  // namespace rlvr
