// Plain references for the K-quants (kernels/kquant.h): dequantization written from GGML's
// format description value by value (not calling the kernels), and matrix-vector products that
// dequantize a row and take its dot product with double accumulation. Never optimize these.
#pragma once

#include "kernels/kquant.h"

namespace rlvr {

// n a multiple of kSuperBlock.
void DequantizeQ4_KRef(const BlockQ4_K* x, float* y, int n);
void DequantizeQ6_KRef(const BlockQ6_K* x, float* y, int n);

// GGML's own quantizers (quantize_row_q4_K_ref, quantize_row_q6_K_ref of ggml-quants.c: per
// sub-block a weighted least-squares search of scale and min over trial grids, make_qkx2_quants
// and make_qx_quants), written plain: the accuracy rlvr's quantizers must at least match. n a
// multiple of kSuperBlock.
void QuantizeQ4_KGgmlRef(const float* x, BlockQ4_K* y, int n);
void QuantizeQ6_KGgmlRef(const float* x, BlockQ6_K* y, int n);

// y[N] = dequantize(W)[N,K] * x[K], accumulated in double.
void MatVecQ4_KRef(const BlockQ4_K* W, const float* x, float* y, int N, int K);
void MatVecQ6_KRef(const BlockQ6_K* W, const float* x, float* y, int N, int K);

}  // namespace rlvr
