// Plain references for StoredProduct (kernels/stored_product.h): every weight row dequantized by
// the reference dequantizers, the input rounded to 8 bits as StoredProduct's contract says
// (written here again, value by value), dot products accumulated in double. Never optimize these.
#pragma once

#include "kernels/stored_matrix.h"

namespace rlvr {

// Row `row` of W as float, by the reference dequantizers (ops_ref.h, kquant_ref.h).
void DequantizeStoredRowRef(const StoredMatrix& W, int row, float* out);

// x[K] as StoredProduct multiplies it for weights of `type`: unchanged for F32/F16/BF16, else
// rounded per block of 32 (Q8_0, Q4_0) values to code * amax / 127 with code = nearest of
// x * (127 / amax) (float arithmetic, ties to even); for Q4_K and Q6_K per group of 16 to
// (code * k) * d with d = amax / 8128 of its 256 and k = ceil(group amax * (64 / amax)) in 1..64,
// code = nearest of x * (1 / (d * k)), clamped to +-127 (zeros where d is not a normal float).
void RoundInputRef(StoredType type, const float* x, float* out, int K);

// y[r * W.rows + i] = sum_k dequantized W[i, k] * rounded x[r, k], in double.
void StoredProductRef(const StoredMatrix& W, const float* x, int n, double* y);

// The same with x not rounded: the exact product of the stored weights.
void StoredProductExactRef(const StoredMatrix& W, const float* x, int n, double* y);

}  // namespace rlvr
