#include "kernels/reference/kquant_ref.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
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

// ---- GGML's quantizers, as ggml-quants.c writes them ----

// GGML's nearest_int: round half to even (the default rounding mode).
int NearestInt(float v) {
  return static_cast<int>(std::nearbyint(v));
}

// GGML_FP32_TO_FP16: round to nearest even.
uint16_t ToHalf(float v) {
  _Float16 h = static_cast<_Float16>(v);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

void SetBits(uint8_t* bytes, int first, int count, int value) {
  for (int i = 0; i < count; ++i) {
    const int bit = first + i;
    bytes[bit / 8] = static_cast<uint8_t>((bytes[bit / 8] & ~(1 << (bit % 8))) |
                                          (((value >> i) & 1) << (bit % 8)));
  }
}

// The inverse of Q4_KScaleAndMin.
void SetQ4_KScaleAndMin(uint8_t* packed, int j, int scale, int min) {
  if (j < 4) {
    SetBits(packed, 8 * j, 6, scale);
    SetBits(packed, 32 + 8 * j, 6, min);
  } else {
    const int k = j - 4;
    SetBits(packed, 64 + 8 * k, 4, scale & 15);
    SetBits(packed, 8 * k + 6, 2, scale >> 4);
    SetBits(packed, 64 + 8 * k + 4, 4, min & 15);
    SetBits(packed, 8 * j + 6, 2, min >> 4);
  }
}

// make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin, rdelta, nstep, false): returns
// the scale and sets *the_min to minus the (non-positive) offset.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* the_min, float rmin, float rdelta, int nstep) {
  std::vector<uint8_t> Laux(n);
  float min = x[0], max = x[0];
  float sum_w = weights[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    const float diff = scale * L[i] + min - x[i];
    best_mad += weights[i] * diff * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      sum_l += weights[i] * l;
      sum_l2 += weights[i] * l * l;
      sum_xl += weights[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float mad = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * Laux[i] + this_min - x[i];
        mad += weights[i] * diff * diff;
      }
      if (mad < best_mad) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// make_qx_quants(n, nmax, x, L, rmse_type = 1, NULL): L holds codes + nmax.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) {  // GROUP_MAX_EPS
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<int8_t>(nmax + std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void QuantizeBlockQ4_KGgml(const float* x, BlockQ4_K& y) {
  uint8_t L[kSuperBlock];
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = MakeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], -1.f, 0.1f, 20);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(&y, 0, sizeof y);
  int sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    // GGML stores nearest_int into a uint8_t before MIN(63, .).
    sc[j] = std::min(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])) + 0);
    m[j] = std::min(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])) + 0);
    SetQ4_KScaleAndMin(y.scales, j, sc[j], m[j]);
  }
  y.d = ToHalf(max_scale / 63.f);
  y.dmin = ToHalf(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    const float d = HalfToFloatRef(y.d) * sc[j];
    if (!d) continue;
    const float dm = HalfToFloatRef(y.dmin) * m[j];
    for (int ii = 0; ii < 32; ++ii)
      L[32 * j + ii] =
          static_cast<uint8_t>(std::clamp(NearestInt((x[32 * j + ii] + dm) / d), 0, 15));
  }
  for (int i = 0; i < kSuperBlock; ++i) {
    const int chunk = i / 64, within = i % 64;
    uint8_t& byte = y.qs[32 * chunk + within % 32];
    byte = static_cast<uint8_t>(within < 32 ? (byte & 0xf0) | L[i] : (byte & 0x0f) | (L[i] << 4));
  }
}

void QuantizeBlockQ6_KGgml(const float* x, BlockQ6_K& y) {
  int8_t L[kSuperBlock];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  std::memset(&y, 0, sizeof y);
  if (max_abs_scale < 1e-15f) return;  // all zero: d = 0
  const float iscale = -128.f / max_scale;
  y.d = ToHalf(1 / iscale);
  for (int ib = 0; ib < 16; ++ib)
    y.scales[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float d = HalfToFloatRef(y.d) * y.scales[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] =
          static_cast<int8_t>(std::clamp(NearestInt(x[16 * j + ii] / d), -32, 31) + 32);
  }
  for (int i = 0; i < kSuperBlock; ++i) {
    // As Q6_KValue reads it: low 4 bits in ql, high 2 in qh.
    const int h = i / 128, k = (i % 128) / 32, l = i % 32;
    uint8_t& low = y.ql[64 * h + 32 * (k % 2) + l];
    low = static_cast<uint8_t>(k < 2 ? (low & 0xf0) | (L[i] & 15)
                                     : (low & 0x0f) | ((L[i] & 15) << 4));
    y.qh[32 * h + l] = static_cast<uint8_t>(y.qh[32 * h + l] | (((L[i] >> 4) & 3) << (2 * k)));
  }
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

void QuantizeQ4_KGgmlRef(const float* x, BlockQ4_K* y, int n) {
  for (int b = 0; b < n / kSuperBlock; ++b) QuantizeBlockQ4_KGgml(x + b * kSuperBlock, y[b]);
}
void QuantizeQ6_KGgmlRef(const float* x, BlockQ6_K* y, int n) {
  for (int b = 0; b < n / kSuperBlock; ++b) QuantizeBlockQ6_KGgml(x + b * kSuperBlock, y[b]);
}

void MatVecQ4_KRef(const BlockQ4_K* W, const float* x, float* y, int N, int K) {
  MatVec(DequantizeQ4_KRef, W, x, y, N, K);
}
void MatVecQ6_KRef(const BlockQ6_K* W, const float* x, float* y, int N, int K) {
  MatVec(DequantizeQ6_KRef, W, x, y, N, K);
}

}  // namespace rlvr
