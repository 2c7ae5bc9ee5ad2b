#include "kernels/kquant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/quant.h"
#include "kernels/thread_pool.h"

#if (defined(__AVX512F__) || defined(__AVX2__)) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#endif

namespace rlvr {

void UnpackQ4_KScales(const uint8_t packed[12], uint8_t scale[8], uint8_t min[8]) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = packed[j] & 63;
    min[j] = packed[j + 4] & 63;
    scale[j + 4] = static_cast<uint8_t>((packed[j + 8] & 0x0f) | ((packed[j] >> 6) << 4));
    min[j + 4] = static_cast<uint8_t>((packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4));
  }
}

void PackQ4_KScales(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>((min[j] & 63) | ((min[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0x0f) | ((min[j + 4] & 0x0f) << 4));
  }
}

namespace {

void CheckLength(const char* what, int n) {
  if (n < 0 || n % kSuperBlock != 0) {
    throw std::invalid_argument(std::string(what) + ": length " + std::to_string(n) +
                                " is not a non-negative multiple of " +
                                std::to_string(kSuperBlock));
  }
}

// The smallest fp16 value >= v (v >= 0): scales rounded up, so the largest sub-block scale still
// fits its 6 or 7 bits after the super-block scale is stored in fp16.
uint16_t HalfAtLeast(float v) {
  uint16_t h = FloatToHalf(v);
  if (HalfToFloat(h) < v && h < 0x7c00) ++h;
  return h;
}

// Steps ceil(need / unit), at most `limit`; 0 when unit is 0.
int StepsAtLeast(float need, float unit, int limit) {
  if (!(unit > 0.0f)) return 0;
  const float steps = std::ceil(need / unit);
  return steps >= static_cast<float>(limit) ? limit : static_cast<int>(steps);
}

// Q4_K sub-blocks are 32 values; value i sits in qs[32 * (i / 64) + i % 32], high nibble when
// i % 64 >= 32.
void DequantizeBlockQ4_K(const BlockQ4_K& b, float* y) {
  uint8_t sc[8], mn[8];
  UnpackQ4_KScales(b.scales, sc, mn);
  const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
  for (int c = 0; c < 4; ++c) {
    const float s_lo = d * sc[2 * c], m_lo = dmin * mn[2 * c];
    const float s_hi = d * sc[2 * c + 1], m_hi = dmin * mn[2 * c + 1];
    const uint8_t* q = b.qs + 32 * c;
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = s_lo * static_cast<float>(q[l] & 0x0f) - m_lo;
      y[64 * c + 32 + l] = s_hi * static_cast<float>(q[l] >> 4) - m_hi;
    }
  }
}

// Q6_K: in each half h of 128 values, value 32k + l (k 0..3, l 0..31) keeps its low 4 bits in
// ql[64h + l + 32 (k & 1)] (high nibble when k >= 2) and its high 2 bits in qh[32h + l] at bit
// 2k; sub-block j = value / 16.
void DequantizeBlockQ6_K(const BlockQ6_K& b, float* y) {
  const float d = HalfToFloat(b.d);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    const int8_t* sc = b.scales + 8 * h;
    float* yh = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      const int s = l / 16;
      yh[l] = d * sc[s] * static_cast<float>(q0);
      yh[l + 32] = d * sc[s + 2] * static_cast<float>(q1);
      yh[l + 64] = d * sc[s + 4] * static_cast<float>(q2);
      yh[l + 96] = d * sc[s + 6] * static_cast<float>(q3);
    }
  }
}

// The covering encoding: never clamps, every value within half a step of its sub-block.
void CoverBlockQ4_K(const float* x, BlockQ4_K& b) {
  // Each sub-block covers [lo, hi] with lo = min(0, min x) (GGML keeps mins non-negative, i.e.
  // the offset only lowers). Mins first: -dmin * m[j] <= lo[j]. Then scales, so that the 16
  // codes from -dmin * m[j] reach hi[j]. Both are rounded up, so no value clamps and every error
  // is at most half a step.
  float lo[8], hi[8];
  float max_offset = 0.0f;
  for (int j = 0; j < 8; ++j) {
    lo[j] = 0.0f;
    hi[j] = x[32 * j];
    for (int l = 0; l < 32; ++l) {
      lo[j] = std::min(lo[j], x[32 * j + l]);
      hi[j] = std::max(hi[j], x[32 * j + l]);
    }
    max_offset = std::max(max_offset, -lo[j]);
  }
  b.dmin = HalfAtLeast(max_offset / 63.0f);
  const float dmin = HalfToFloat(b.dmin);
  uint8_t mn[8], sc[8];
  float base[8], need[8];
  float max_need = 0.0f;
  for (int j = 0; j < 8; ++j) {
    mn[j] = static_cast<uint8_t>(StepsAtLeast(-lo[j], dmin, 63));
    base[j] = dmin * mn[j];
    need[j] = std::max(0.0f, (hi[j] + base[j]) / 15.0f);
    max_need = std::max(max_need, need[j]);
  }
  b.d = HalfAtLeast(max_need / 63.0f);
  const float d = HalfToFloat(b.d);
  uint8_t q[kSuperBlock];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(StepsAtLeast(need[j], d, 63));
    const float step = d * sc[j];
    const float inverse = step > 0.0f ? 1.0f / step : 0.0f;
    for (int l = 0; l < 32; ++l) {
      const float code = std::round((x[32 * j + l] + base[j]) * inverse);
      q[32 * j + l] = static_cast<uint8_t>(std::clamp(code, 0.0f, 15.0f));
    }
  }
  PackQ4_KScales(sc, mn, b.scales);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      b.qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
  }
}

// Stores codes q (0..63, value 32 + code) in b's ql and qh.
void PackQ6_K(const uint8_t* q, BlockQ6_K& b) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qv = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      b.ql[64 * h + l] = static_cast<uint8_t>((qv[l] & 0x0f) | ((qv[l + 64] & 0x0f) << 4));
      b.ql[64 * h + l + 32] =
          static_cast<uint8_t>((qv[l + 32] & 0x0f) | ((qv[l + 96] & 0x0f) << 4));
      b.qh[32 * h + l] = static_cast<uint8_t>((qv[l] >> 4) | ((qv[l + 32] >> 4) << 2) |
                                              ((qv[l + 64] >> 4) << 4) | ((qv[l + 96] >> 4) << 6));
    }
  }
}

// The covering encoding: never clamps, every value within half a step of its sub-block.
void CoverBlockQ6_K(const float* x, BlockQ6_K& b) {
  // Codes run -32..31: the side of larger magnitude takes -32 (the scale's sign says which),
  // the other side must fit in 31 steps.
  float scale[16];
  float max_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    float lo = 0.0f, hi = 0.0f;
    for (int l = 0; l < 16; ++l) {
      lo = std::min(lo, x[16 * j + l]);
      hi = std::max(hi, x[16 * j + l]);
    }
    scale[j] = -lo >= hi ? std::max(-lo / 32.0f, hi / 31.0f) : -std::max(hi / 32.0f, -lo / 31.0f);
    max_scale = std::max(max_scale, std::fabs(scale[j]));
  }
  b.d = HalfAtLeast(max_scale / 127.0f);
  const float d = HalfToFloat(b.d);
  uint8_t q[kSuperBlock];
  for (int j = 0; j < 16; ++j) {
    const int magnitude = StepsAtLeast(std::fabs(scale[j]), d, 127);
    b.scales[j] = static_cast<int8_t>(scale[j] < 0.0f ? -magnitude : magnitude);
    const float step = d * b.scales[j];
    const float inverse = step != 0.0f ? 1.0f / step : 0.0f;
    for (int l = 0; l < 16; ++l) {
      const float code = std::round(x[16 * j + l] * inverse);
      q[16 * j + l] = static_cast<uint8_t>(std::clamp(code, -32.0f, 31.0f) + 32.0f);
    }
  }
  PackQ6_K(q, b);
}

// GGML's rounding (nearest_int): half to even, the default rounding mode.
inline int Nearest(float v) {
  return static_cast<int>(std::nearbyint(v));
}

// One Q4_K sub-block of 32 values fitted as GGML does (make_qkx2_quants): codes q in 0..15 for
// value ~ scale * q - offset, offset >= 0, chosen by weighted least squares over 21 trial grids
// (weights av + |x|, so large values count more). Returns the scale; sets *offset and q.
float FitSubBlockQ4_K(const float* x, uint8_t* q, float* offset) {
  float sum_x2 = 0;
  for (int l = 0; l < 32; ++l) sum_x2 += x[l] * x[l];
  const float av = std::sqrt(sum_x2 / 32);
  float w[32];
  float lo = x[0], hi = x[0], sum_w = 0, sum_x = 0;
  for (int l = 0; l < 32; ++l) {
    w[l] = av + std::fabs(x[l]);
    lo = std::min(lo, x[l]);
    hi = std::max(hi, x[l]);
    sum_w += w[l];
    sum_x += w[l] * x[l];
  }
  lo = std::min(lo, 0.0f);
  if (hi == lo) {
    std::fill(q, q + 32, 0);
    *offset = -lo;
    return 0.0f;
  }
  float inverse = 15 / (hi - lo), scale = 1 / inverse, best = 0;
  for (int l = 0; l < 32; ++l) {
    q[l] = static_cast<uint8_t>(std::clamp(Nearest(inverse * (x[l] - lo)), 0, 15));
    const float diff = scale * q[l] + lo - x[l];
    best += w[l] * diff * diff;
  }
  uint8_t trial[32];
  for (int step = 0; step <= 20; ++step) {
    inverse = (-1.0f + 0.1f * step + 15) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int l = 0; l < 32; ++l) {
      const int code = std::clamp(Nearest(inverse * (x[l] - lo)), 0, 15);
      trial[l] = static_cast<uint8_t>(code);
      sum_l += w[l] * code;
      sum_l2 += w[l] * code * code;
      sum_xl += w[l] * code * x[l];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_lo = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_lo > 0) {
      this_lo = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int l = 0; l < 32; ++l) {
      const float diff = this_scale * trial[l] + this_lo - x[l];
      error += w[l] * diff * diff;
    }
    if (error < best) {
      std::copy(trial, trial + 32, q);
      best = error;
      scale = this_scale;
      lo = this_lo;
    }
  }
  *offset = -lo;
  return scale;
}

// Squared error of 32 values coded as step * q - base, q = the nearest code in 0..15, as
// DequantizeBlockQ4_K decodes them.
double SubBlockErrorQ4_K(const float* x, float step, float base) {
  double sum = 0;
  for (int l = 0; l < 32; ++l) {
    const int q = step == 0 ? 0 : std::clamp(Nearest((x[l] + base) / step), 0, 15);
    const double e = static_cast<double>(x[l]) - (step * static_cast<float>(q) - base);
    sum += e * e;
  }
  return sum;
}

// Squared error of 16 values coded as step * code, code the nearest in -32..31.
double SubBlockErrorQ6_K(const float* x, float step) {
  double sum = 0;
  for (int l = 0; l < 16; ++l) {
    const int code = step == 0 ? 0 : std::clamp(Nearest(x[l] / step), -32, 31);
    const double e = static_cast<double>(x[l]) - step * static_cast<float>(code);
    sum += e * e;
  }
  return sum;
}

// Q4_K as GGML's quantize_row_q4_K_ref, then refined: sub-blocks fitted, their scales and offsets
// rounded to 6 bits of the largest, codes rounded again against the stored scales (may clamp
// outliers).
void FitBlockQ4_K(const float* x, BlockQ4_K& b) {
  uint8_t q[kSuperBlock];
  float scale[8], offset[8], max_scale = 0, max_offset = 0;
  for (int j = 0; j < 8; ++j) {
    scale[j] = FitSubBlockQ4_K(x + 32 * j, q + 32 * j, &offset[j]);
    max_scale = std::max(max_scale, scale[j]);
    max_offset = std::max(max_offset, offset[j]);
  }
  const float inverse_scale = max_scale > 0 ? 63 / max_scale : 0;
  const float inverse_offset = max_offset > 0 ? 63 / max_offset : 0;
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(std::min(63, Nearest(inverse_scale * scale[j])));
    mn[j] = static_cast<uint8_t>(std::min(63, Nearest(inverse_offset * offset[j])));
  }
  b.d = FloatToHalf(max_scale / 63);
  b.dmin = FloatToHalf(max_offset / 63);
  const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
  // Beyond GGML: each sub-block's 6-bit scale and offset moved by one step where that lowers its
  // squared error (the fit chose them before rounding them to 6 bits).
  for (int j = 0; j < 8; ++j) {
    int best_sc = sc[j], best_mn = mn[j];
    double best = SubBlockErrorQ4_K(x + 32 * j, d * sc[j], dmin * mn[j]);
    for (int ds = -1; ds <= 1; ++ds) {
      for (int dm = -1; dm <= 1; ++dm) {
        const int s2 = sc[j] + ds, m2 = mn[j] + dm;
        if ((ds == 0 && dm == 0) || s2 < 0 || s2 > 63 || m2 < 0 || m2 > 63) continue;
        const double error = SubBlockErrorQ4_K(x + 32 * j, d * s2, dmin * m2);
        if (error < best) {
          best = error;
          best_sc = s2;
          best_mn = m2;
        }
      }
    }
    sc[j] = static_cast<uint8_t>(best_sc);
    mn[j] = static_cast<uint8_t>(best_mn);
  }
  for (int j = 0; j < 8; ++j) {
    const float step = d * sc[j];
    if (step == 0) continue;
    const float base = dmin * mn[j];
    for (int l = 0; l < 32; ++l)
      q[32 * j + l] =
          static_cast<uint8_t>(std::clamp(Nearest((x[32 * j + l] + base) / step), 0, 15));
  }
  PackQ4_KScales(sc, mn, b.scales);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      b.qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
  }
}

// One Q6_K sub-block of 16 values fitted as GGML does (make_qx_quants, weights x^2): codes -32..31
// for value ~ scale * code, over 19 trial grids. Returns the scale.
float FitSubBlockQ6_K(const float* x) {
  float max = 0, amax = 0;
  for (int l = 0; l < 16; ++l) {
    if (std::fabs(x[l]) > amax) {
      amax = std::fabs(x[l]);
      max = x[l];
    }
  }
  if (amax < 1e-15f) return 0.0f;
  float best = 0, scale = 0;
  for (int step = 0; step <= 18; ++step) {
    // Step 9 is the plain grid (-32 at the value of largest magnitude); GGML tries it first.
    const int is = step == 0 ? 0 : (step <= 9 ? step - 10 : step - 9);
    const float inverse = -(32 + 0.1f * is) / max;
    float sum_lx = 0, sum_l2 = 0;
    for (int l = 0; l < 16; ++l) {
      const int code = std::clamp(Nearest(inverse * x[l]), -32, 31);
      const float w = x[l] * x[l];
      sum_lx += w * x[l] * code;
      sum_l2 += w * code * code;
    }
    if (step == 0) {
      scale = sum_l2 ? sum_lx / sum_l2 : 0.0f;
      best = scale * sum_lx;
    } else if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

// Q6_K as GGML's quantize_row_q6_K_ref, then refined: sub-block scales fitted, stored as int8 steps
// of the largest one's 128th (its sign so that it takes -128), codes rounded against them.
void FitBlockQ6_K(const float* x, BlockQ6_K& b) {
  float scale[16], max_scale = 0, max_abs = 0;
  for (int j = 0; j < 16; ++j) {
    scale[j] = FitSubBlockQ6_K(x + 16 * j);
    if (std::fabs(scale[j]) > max_abs) {
      max_abs = std::fabs(scale[j]);
      max_scale = scale[j];
    }
  }
  uint8_t q[kSuperBlock];
  std::fill(q, q + kSuperBlock, 32);
  if (max_abs < 1e-15f) {
    b.d = 0;
    std::fill(b.scales, b.scales + 16, 0);
  } else {
    const float inverse = -128 / max_scale;
    b.d = FloatToHalf(1 / inverse);
    const float d = HalfToFloat(b.d);
    for (int j = 0; j < 16; ++j) {
      int best_scale = std::min(127, Nearest(inverse * scale[j]));
      // Beyond GGML: the int8 scale moved by one where that lowers the sub-block's error.
      double best = SubBlockErrorQ6_K(x + 16 * j, d * static_cast<float>(best_scale));
      for (int candidate : {best_scale - 1, best_scale + 1}) {
        if (candidate < -128 || candidate > 127) continue;
        const double error = SubBlockErrorQ6_K(x + 16 * j, d * static_cast<float>(candidate));
        if (error < best) {
          best = error;
          best_scale = candidate;
        }
      }
      b.scales[j] = static_cast<int8_t>(best_scale);
      const float step = d * b.scales[j];
      if (step == 0) continue;
      for (int l = 0; l < 16; ++l)
        q[16 * j + l] =
            static_cast<uint8_t>(std::clamp(Nearest(x[16 * j + l] / step), -32, 31) + 32);
    }
  }
  PackQ6_K(q, b);
}

// Sum of squared errors of `b` against x (one super-block), in double.
template <typename Block>
double SquaredError(const float* x, const Block& b, void (*dequantize)(const Block&, float*)) {
  float back[kSuperBlock];
  dequantize(b, back);
  double sum = 0;
  for (int i = 0; i < kSuperBlock; ++i) {
    const double e = static_cast<double>(x[i]) - back[i];
    sum += e * e;
  }
  return sum;
}

// Per super-block, the encoding of lower squared error: GGML's fit (so never less accurate than
// llama.cpp's quantizer) or the covering one (never clamps; preferred on a tie).
void QuantizeBlockQ4_K(const float* x, BlockQ4_K& b) {
  BlockQ4_K fit;
  FitBlockQ4_K(x, fit);
  CoverBlockQ4_K(x, b);
  if (SquaredError(x, fit, DequantizeBlockQ4_K) < SquaredError(x, b, DequantizeBlockQ4_K)) b = fit;
}

void QuantizeBlockQ6_K(const float* x, BlockQ6_K& b) {
  BlockQ6_K fit;
  FitBlockQ6_K(x, fit);
  CoverBlockQ6_K(x, b);
  if (SquaredError(x, fit, DequantizeBlockQ6_K) < SquaredError(x, b, DequantizeBlockQ6_K)) b = fit;
}

}  // namespace

void QuantizeQ4_K(const float* x, BlockQ4_K* y, int n) {
  CheckLength("QuantizeQ4_K", n);
  for (int b = 0; b < n / kSuperBlock; ++b) QuantizeBlockQ4_K(x + b * kSuperBlock, y[b]);
}

void QuantizeQ4_KCovering(const float* x, BlockQ4_K* y, int n) {
  CheckLength("QuantizeQ4_KCovering", n);
  for (int b = 0; b < n / kSuperBlock; ++b) CoverBlockQ4_K(x + b * kSuperBlock, y[b]);
}

void DequantizeQ4_K(const BlockQ4_K* x, float* y, int n) {
  CheckLength("DequantizeQ4_K", n);
  for (int b = 0; b < n / kSuperBlock; ++b) DequantizeBlockQ4_K(x[b], y + b * kSuperBlock);
}

void QuantizeQ6_K(const float* x, BlockQ6_K* y, int n) {
  CheckLength("QuantizeQ6_K", n);
  for (int b = 0; b < n / kSuperBlock; ++b) QuantizeBlockQ6_K(x + b * kSuperBlock, y[b]);
}

void QuantizeQ6_KCovering(const float* x, BlockQ6_K* y, int n) {
  CheckLength("QuantizeQ6_KCovering", n);
  for (int b = 0; b < n / kSuperBlock; ++b) CoverBlockQ6_K(x + b * kSuperBlock, y[b]);
}

void DequantizeQ6_K(const BlockQ6_K* x, float* y, int n) {
  CheckLength("DequantizeQ6_K", n);
  for (int b = 0; b < n / kSuperBlock; ++b) DequantizeBlockQ6_K(x[b], y + b * kSuperBlock);
}

namespace {

// Row dot products: the weights are decoded to float in registers and multiplied with x as it
// is (no rounding of x). Each path sums in a fixed order, so results depend on the inputs only.

#if defined(__AVX512F__) && defined(__FMA__) && defined(__F16C__)

// GCC 12 reports the intentionally undefined pass-through vectors inside its own AVX-512 intrinsic
// headers (_mm512_cvtepu8_epi32, shifts) as "maybe uninitialized": a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Sum of the 16 lanes in a fixed order (GCC 12's _mm512_reduce_add_ps warns spuriously).
inline float HorizontalSum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float half[8];
  for (int i = 0; i < 8; ++i) half[i] = lanes[i] + lanes[i + 8];
  return ((half[0] + half[4]) + (half[2] + half[6])) + ((half[1] + half[5]) + (half[3] + half[7]));
}

inline float DotRow(const BlockQ4_K* w, const float* x, int blocks) {
  const __m512i nibble = _mm512_set1_epi32(0x0f);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  for (int b = 0; b < blocks; ++b) {
    uint8_t sc[8], mn[8];
    UnpackQ4_KScales(w[b].scales, sc, mn);
    const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
    const float* xb = x + static_cast<size_t>(b) * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = w[b].qs + 32 * c;
      const __m512i q0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
      const __m512i q1 =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
      const __m512 s_lo = _mm512_set1_ps(d * sc[2 * c]), m_lo = _mm512_set1_ps(dmin * mn[2 * c]);
      const __m512 s_hi = _mm512_set1_ps(d * sc[2 * c + 1]);
      const __m512 m_hi = _mm512_set1_ps(dmin * mn[2 * c + 1]);
      const float* xc = xb + 64 * c;
      const __m512 w0 =
          _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_and_si512(q0, nibble)), s_lo, m_lo);
      const __m512 w1 =
          _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_and_si512(q1, nibble)), s_lo, m_lo);
      const __m512 w2 = _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(q0, 4)), s_hi, m_hi);
      const __m512 w3 = _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(q1, 4)), s_hi, m_hi);
      acc[0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xc), acc[0]);
      acc[1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xc + 16), acc[1]);
      acc[2] = _mm512_fmadd_ps(w2, _mm512_loadu_ps(xc + 32), acc[2]);
      acc[3] = _mm512_fmadd_ps(w3, _mm512_loadu_ps(xc + 48), acc[3]);
    }
  }
  return HorizontalSum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

inline float DotRow(const BlockQ6_K* w, const float* x, int blocks) {
  const __m512i low4 = _mm512_set1_epi32(0x0f), offset = _mm512_set1_epi32(32);
  const __m512i two_bits = _mm512_set1_epi32(3);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  for (int b = 0; b < blocks; ++b) {
    const float d = _cvtsh_ss(w[b].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qh = w[b].qh + 32 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      const float* xh = x + static_cast<size_t>(b) * kSuperBlock + 128 * h;
      for (int l0 = 0; l0 < 32; l0 += 16) {
        const __m512i lo_a =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l0)));
        const __m512i lo_b =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 32 + l0)));
        const __m512i high =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + l0)));
        const int s = l0 / 16;
        for (int k = 0; k < 4; ++k) {
          const __m512i low_byte = (k & 1) ? lo_b : lo_a;
          const __m512i low =
              k < 2 ? _mm512_and_si512(low_byte, low4) : _mm512_srli_epi32(low_byte, 4);
          const __m512i top = _mm512_and_si512(_mm512_srli_epi32(high, 2 * k), two_bits);
          const __m512i q = _mm512_or_si512(low, _mm512_slli_epi32(top, 4));
          const __m512 value = _mm512_cvtepi32_ps(_mm512_sub_epi32(q, offset));
          const __m512 weight = _mm512_mul_ps(value, _mm512_set1_ps(d * sc[s + 2 * k]));
          acc[k] = _mm512_fmadd_ps(weight, _mm512_loadu_ps(xh + 32 * k + l0), acc[k]);
        }
      }
    }
  }
  return HorizontalSum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

inline __m256i Load8Bytes(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

inline float HorizontalSum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

inline float DotRow(const BlockQ4_K* w, const float* x, int blocks) {
  const __m256i nibble = _mm256_set1_epi32(0x0f);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int b = 0; b < blocks; ++b) {
    uint8_t sc[8], mn[8];
    UnpackQ4_KScales(w[b].scales, sc, mn);
    const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
    const float* xb = x + static_cast<size_t>(b) * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m256 s_lo = _mm256_set1_ps(d * sc[2 * c]), m_lo = _mm256_set1_ps(dmin * mn[2 * c]);
      const __m256 s_hi = _mm256_set1_ps(d * sc[2 * c + 1]);
      const __m256 m_hi = _mm256_set1_ps(dmin * mn[2 * c + 1]);
      const float* xc = xb + 64 * c;
      for (int part = 0; part < 4; ++part) {
        const __m256i q = Load8Bytes(w[b].qs + 32 * c + 8 * part);
        const __m256 w_lo =
            _mm256_fmsub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(q, nibble)), s_lo, m_lo);
        const __m256 w_hi =
            _mm256_fmsub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(q, 4)), s_hi, m_hi);
        acc[part] = _mm256_fmadd_ps(w_lo, _mm256_loadu_ps(xc + 8 * part), acc[part]);
        acc[part] = _mm256_fmadd_ps(w_hi, _mm256_loadu_ps(xc + 32 + 8 * part), acc[part]);
      }
    }
  }
  return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

inline float DotRow(const BlockQ6_K* w, const float* x, int blocks) {
  const __m256i low4 = _mm256_set1_epi32(0x0f), offset = _mm256_set1_epi32(32);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int b = 0; b < blocks; ++b) {
    const float d = _cvtsh_ss(w[b].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qh = w[b].qh + 32 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      const float* xh = x + static_cast<size_t>(b) * kSuperBlock + 128 * h;
      for (int l0 = 0; l0 < 32; l0 += 8) {
        const __m256i lo_a = Load8Bytes(ql + l0), lo_b = Load8Bytes(ql + 32 + l0);
        const __m256i high = Load8Bytes(qh + l0);
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(lo_a, low4),
                            _mm256_slli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(3)), 4)),
            _mm256_or_si256(_mm256_and_si256(lo_b, low4),
                            _mm256_slli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(12)), 2)),
            _mm256_or_si256(_mm256_srli_epi32(lo_a, 4),
                            _mm256_and_si256(high, _mm256_set1_epi32(48))),
            _mm256_or_si256(_mm256_srli_epi32(lo_b, 4),
                            _mm256_srli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(192)), 2))};
        const int s = l0 / 16;
        for (int k = 0; k < 4; ++k) {
          const __m256 value = _mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], offset));
          const __m256 weight = _mm256_mul_ps(value, _mm256_set1_ps(d * sc[s + 2 * k]));
          acc[k] = _mm256_fmadd_ps(weight, _mm256_loadu_ps(xh + 32 * k + l0), acc[k]);
        }
      }
    }
  }
  return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

#else

// Portable path: decode a block into a stack buffer and take the dot product with 8 partial sums,
// which compilers vectorize.
template <typename Block>
float DotRow(const Block* w, const float* x, int blocks) {
  float partial[8] = {};
  float values[kSuperBlock];
  for (int b = 0; b < blocks; ++b) {
    if constexpr (std::is_same_v<Block, BlockQ4_K>) {
      DequantizeBlockQ4_K(w[b], values);
    } else {
      DequantizeBlockQ6_K(w[b], values);
    }
    const float* xb = x + static_cast<size_t>(b) * kSuperBlock;
    for (int i = 0; i < kSuperBlock; i += 8) {
      for (int j = 0; j < 8; ++j) partial[j] += values[i + j] * xb[i + j];
    }
  }
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

#endif

template <typename Block>
struct MatVecJob {
  const Block* W;
  const float* x;
  float* y;
  int N;
  int blocks;  // per row
  int tasks;
};

template <typename Block>
void MatVecRows(void* ctx, int task) {
  const auto& job = *static_cast<const MatVecJob<Block>*>(ctx);
  const int begin = static_cast<int>(static_cast<long long>(job.N) * task / job.tasks);
  const int end = static_cast<int>(static_cast<long long>(job.N) * (task + 1) / job.tasks);
  for (int row = begin; row < end; ++row) {
    job.y[row] = DotRow(job.W + static_cast<size_t>(row) * job.blocks, job.x, job.blocks);
  }
}

template <typename Block>
void MatVec(const char* what, const Block* W, const float* x, float* y, int N, int K) {
  CheckLength(what, K);
  if (N < 0) throw std::invalid_argument(std::string(what) + ": negative N");
  MatVecJob<Block> job{W, x, y, N, K / kSuperBlock, 1};
  // Small products are not worth waking the pool for.
  if (static_cast<long long>(N) * K >= (1 << 18)) {
    ThreadPool& pool = DefaultPool();
    job.tasks = pool.threads() < N ? pool.threads() : N;
    if (job.tasks > 1) {
      pool.Run(job.tasks, MatVecRows<Block>, &job);
      return;
    }
  }
  MatVecRows<Block>(&job, 0);
}

}  // namespace

void MatVecQ4_K(const BlockQ4_K* W, const float* x, float* y, int N, int K) {
  MatVec("MatVecQ4_K", W, x, y, N, K);
}

void MatVecQ6_K(const BlockQ6_K* W, const float* x, float* y, int N, int K) {
  MatVec("MatVecQ6_K", W, x, y, N, K);
}

}  // namespace rlvr
