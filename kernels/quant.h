// Quantized blocks in GGML's layouts: Q8_0 (32 int8 values and an fp16 scale) and Q4_0 (32
// 4-bit values stored as nibbles with an offset of 8, and an fp16 scale), with quantize,
// dequantize and fused matrix-vector products.
#pragma once

#include <cstdint>

namespace rlvr {

constexpr int kQuantBlock = 32;

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQuantBlock];
};
static_assert(sizeof(BlockQ8_0) == 34, "GGML block_q8_0 layout");

struct BlockQ4_0 {
  uint16_t d;                   // fp16 scale
  uint8_t qs[kQuantBlock / 2];  // value j in low nibble of qs[j], value j+16 in the high nibble
};
static_assert(sizeof(BlockQ4_0) == 18, "GGML block_q4_0 layout");

uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// n must be a multiple of kQuantBlock.
void QuantizeQ8_0(const float* x, BlockQ8_0* y, int n);
void DequantizeQ8_0(const BlockQ8_0* x, float* y, int n);
void QuantizeQ4_0(const float* x, BlockQ4_0* y, int n);
void DequantizeQ4_0(const BlockQ4_0* x, float* y, int n);

// y[N] = W[N,K] * x[K] with W stored as N rows of K/32 blocks. x is quantized to Q8_0 into
// x_scratch (K/32 blocks, caller-owned) first, as GGML does. Large products run on DefaultPool(),
// so do not call these from inside a task of that pool. K must be a multiple of kQuantBlock.
void MatVecQ8_0(const BlockQ8_0* W, const float* x, float* y, int N, int K, BlockQ8_0* x_scratch);
void MatVecQ4_0(const BlockQ4_0* W, const float* x, float* y, int N, int K, BlockQ8_0* x_scratch);

}  // namespace rlvr
