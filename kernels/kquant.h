// K-quants in GGML's block layouts: Q4_K and Q6_K super-blocks of 256 values, with quantize,
// dequantize and fused row-major matrix-vector products. The byte layouts are GGML's exactly, so
// blocks read from a GGUF file written by llama.cpp decode here unchanged.
//
//   Q4_K ("type-1", 4.5 bits per value): 8 sub-blocks of 32 values; value = d * sc[j] * q - dmin *
//        m[j] with q in 0..15 and 6-bit sub-block scales sc[j] and mins m[j].
//   Q6_K ("type-0", 6.5625 bits per value): 16 sub-blocks of 16 values; value = d * sc[j] * (q -
//        32) with q in 0..63 and signed 8-bit sub-block scales sc[j].
#pragma once

#include <cstdint>

namespace rlvr {

constexpr int kSuperBlock = 256;  // GGML's QK_K

struct BlockQ4_K {
  uint16_t d;                   // fp16 scale of the sub-block scales
  uint16_t dmin;                // fp16 scale of the sub-block mins
  uint8_t scales[12];           // 8 scales and 8 mins of 6 bits, packed (see UnpackQ4_KScales)
  uint8_t qs[kSuperBlock / 2];  // values 64c+l in the low nibble of qs[32c+l] and 64c+32+l in
                                // its high nibble, for chunk c in 0..3 and l in 0..31
};
static_assert(sizeof(BlockQ4_K) == 144, "GGML block_q4_K layout");

struct BlockQ6_K {
  uint8_t ql[kSuperBlock / 2];      // low 4 bits of the values
  uint8_t qh[kSuperBlock / 4];      // high 2 bits of the values
  int8_t scales[kSuperBlock / 16];  // sub-block scale of values 16j..16j+15
  uint16_t d;                       // fp16 scale of the sub-block scales
};
static_assert(sizeof(BlockQ6_K) == 210, "GGML block_q6_K layout");

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K block, from GGML's packing: j < 4 in
// the low 6 bits of scales[j] and scales[j+4]; j >= 4 in the nibbles of scales[j+4] with their two
// high bits in the top bits of scales[j-4] (scale) and scales[j] (min).
void UnpackQ4_KScales(const uint8_t packed[12], uint8_t scale[8], uint8_t min[8]);
void PackQ4_KScales(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]);

// n must be a non-negative multiple of kSuperBlock (else std::invalid_argument).
//
// QuantizeQ4_K / QuantizeQ6_K take, per super-block, the encoding of lower squared error of two:
// GGML's own (quantize_row_q4_K_ref / q6_K_ref: per sub-block a weighted least-squares search of
// scale and offset, which may clamp an outlier), with each sub-block's rounded scale (and offset)
// then moved by one step where that lowers its error, and the covering one below. Their RMS error
// is about 1% below llama.cpp's quantizer on a model's weights (tests/kernels/kquant_test.cpp
// prints the figures), and never above the covering encoding's in any super-block.
//
// QuantizeQ4_KCovering / QuantizeQ6_KCovering bound every value's error by half a quantization
// step of its sub-block (scales rounded up, no value clamped): within about 3.5% of the
// super-block's range for Q4_K and 1% for Q6_K, for values whose scales are normal fp16 numbers
// (|x| between ~1e-3 and ~1e5). A lower worst case, a higher RMS error.
void QuantizeQ4_K(const float* x, BlockQ4_K* y, int n);
void QuantizeQ4_KCovering(const float* x, BlockQ4_K* y, int n);
void DequantizeQ4_K(const BlockQ4_K* x, float* y, int n);
void QuantizeQ6_K(const float* x, BlockQ6_K* y, int n);
void QuantizeQ6_KCovering(const float* x, BlockQ6_K* y, int n);
void DequantizeQ6_K(const BlockQ6_K* x, float* y, int n);

// y[N] = W[N,K] * x[K] with W stored as N rows of K/256 blocks. Contract (what the tests hold
// any implementation to): relative L2 error against the exact product of the dequantized W under
// 1% (Q4_K) and 0.5% (Q6_K), and each row within the error that rounding x to 8 bits per
// 256-value block would cause (GGML's Q8_K); the result depends only on the call's inputs. This
// implementation keeps x in float, so its error is float rounding only, and needs no scratch.
// Large products run on DefaultPool(), so do not call these from inside a task of that pool.
// K must be a non-negative multiple of kSuperBlock and N non-negative (else
// std::invalid_argument).
void MatVecQ4_K(const BlockQ4_K* W, const float* x, float* y, int N, int K);
void MatVecQ6_K(const BlockQ6_K* W, const float* x, float* y, int N, int K);

}  // namespace rlvr
