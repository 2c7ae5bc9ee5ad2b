#include "kernels/reference/kquant_ref.h"

#include <cstddef>
#include <vector>

#include "kernels/reference/ops_ref.h"

namespace rlvr {

namespace {

// Bits [first, first + count) of a little-endian byte array.
int Bits(const uint8_t* bytes, int first, int count) {
  int value = 0;
  for (int i = 0; i < count; ++i) {
    const int bit = first + i;
    value |= ((bytes[bit / 8] >> (bit % 8)) & 1) << i;
  }
  return value;
}

// Q4_K's 12 scale bytes, as 96 bits: sub-block j < 4 has its scale in bits [8j, 8j + 6) and its
// min in bits [32 + 8j, 32 + 8j + 6); sub-block j >= 4 has the low 4 bits of its scale in bits
// [64 + 8(j-4), +4), of its min in the next 4, and the high 2 bits of scale and min in bits 6..7
// of bytes j - 4 and j.
void Q4_KScaleAndMin(const uint8_t* packed, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = Bits(packed, 8 * j, 6);
    *min = Bits(packed, 32 + 8 * j, 6);
  } else {
    const int k = j - 4;
    *scale = Bits(packed, 64 + 8 * k, 4) | (Bits(packed, 8 * k + 6, 2) << 4);
    *min = Bits(packed, 64 + 8 * k + 4, 4) | (Bits(packed, 8 * j + 6, 2) << 4);
  }
}

double Q4_KValue(const BlockQ4_K& b, int i) {
  // Value i: chunk i / 64 of 32 bytes; low nibble for the first 32 values of the chunk.
  const int chunk = i / 64, within = i % 64;
  const uint8_t byte = b.qs[32 * chunk + within % 32];
  const int q = within < 32 ? byte & 0x0f : byte >> 4;
  int scale, min;
  Q4_KScaleAndMin(b.scales, i / 32, &scale, &min);
  return static_cast<double>(HalfToFloatRef(b.d)) * scale * q -
         static_cast<double>(HalfToFloatRef(b.dmin)) * min;
}

double Q6_KValue(const BlockQ6_K& b, int i) {
  // Value i: half h = i / 128; within it, group k = (i % 128) / 32 and lane l = i % 32.
  const int h = i / 128, k = (i % 128) / 32, l = i % 32;
  const uint8_t low_byte = b.ql[64 * h + 32 * (k % 2) + l];
  const int low = k < 2 ? low_byte & 0x0f : low_byte >> 4;
  const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
  const int q = (low | (high << 4)) - 32;
  return static_cast<double>(HalfToFloatRef(b.d)) * b.scales[i / 16] * q;
}

template <typename Block>
void Dequantize(double (*value)(const Block&, int), const Block* x, float* y, int n) {
  for (int i = 0; i < n; ++i) {
    y[i] = static_cast<float>(value(x[i / kSuperBlock], i % kSuperBlock));
  }
}

template <typename Block>
void MatVec(void (*dequantize)(const Block*, float*, int), const Block* W, const float* x, float* y,
            int N, int K) {
  std::vector<float> row(K);
  const int blocks = K / kSuperBlock;
  for (int n = 0; n < N; ++n) {
    dequantize(W + static_cast<size_t>(n) * blocks, row.data(), K);
    double acc = 0.0;
    for (int k = 0; k < K; ++k) acc += static_cast<double>(row[k]) * x[k];
    y[n] = static_cast<float>(acc);
  }
}

}  // namespace

void DequantizeQ4_KRef(const BlockQ4_K* x, float* y, int n) {
  Dequantize(Q4_KValue, x, y, n);
}
void DequantizeQ6_KRef(const BlockQ6_K* x, float* y, int n) {
  Dequantize(Q6_KValue, x, y, n);
}

void MatVecQ4_KRef(const BlockQ4_K* W, const float* x, float* y, int N, int K) {
  MatVec(DequantizeQ4_KRef, W, x, y, N, K);
}
void MatVecQ6_KRef(const BlockQ6_K* W, const float* x, float* y, int N, int K) {
  MatVec(DequantizeQ6_KRef, W, x, y, N, K);
}

}  // namespace rlvr
