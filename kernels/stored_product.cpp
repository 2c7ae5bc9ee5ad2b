#include "kernels/stored_product.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/gemm.h"
#include "kernels/kquant.h"
#include "kernels/quant.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && \
    defined(__AVX512VL__) && defined(__AVX512VNNI__) && defined(__F16C__)
#define RLVR_STORED_AVX512 1
#include <immintrin.h>
#endif

namespace rlvr {

ProductInput::ProductInput(int max_rows, int max_cols)
    : max_rows_(max_rows),
      max_cols_(max_cols),
      q8_32_(static_cast<size_t>(std::max(max_rows, 0)) * (std::max(max_cols, 0) / 32 + 1)),
      q8_k16_(static_cast<size_t>(std::max(max_rows, 0)) * (std::max(max_cols, 0) / 256 + 1)) {
  if (max_rows <= 0 || max_cols <= 0) {
    throw std::invalid_argument("ProductInput: max_rows and max_cols must be positive, got " +
                                std::to_string(max_rows) + " and " + std::to_string(max_cols));
  }
}

void ProductInput::Set(const float* x, int n, int K) {
  if (n <= 0 || n > max_rows_ || K <= 0 || K > max_cols_) {
    throw std::invalid_argument("ProductInput::Set: input [" + std::to_string(n) + ", " +
                                std::to_string(K) + "] outside [1.." + std::to_string(max_rows_) +
                                ", 1.." + std::to_string(max_cols_) + "]");
  }
  x_ = x;
  n_ = n;
  k_ = K;
  have_q8_32_ = have_q8_k16_ = false;
}

const ActivationQ8_32* ProductInput::Q8_32() {
  if (!have_q8_32_) {
    const int blocks = k_ / 32;
    for (int r = 0; r < n_; ++r) {
      QuantizeActivationQ8_32(x_ + static_cast<size_t>(r) * k_, q8_32_.data() + r * blocks, k_);
    }
    have_q8_32_ = true;
  }
  return q8_32_.data();
}

const ActivationQ8_K16* ProductInput::Q8_K16() {
  if (!have_q8_k16_) {
    const int blocks = k_ / 256;
    for (int r = 0; r < n_; ++r) {
      QuantizeActivationQ8_K16(x_ + static_cast<size_t>(r) * k_, q8_k16_.data() + r * blocks, k_);
    }
    have_q8_k16_ = true;
  }
  return q8_k16_.data();
}

namespace {

// GCC 12 reports the undefined pass-through vectors inside its AVX-512 headers as "maybe
// uninitialized" (false positives; see the kernels below).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// Largest |x| of 16 values (exact, so the same in either branch).
float AbsMax16(const float* x) {
#ifdef RLVR_STORED_AVX512
  const __m512 v = _mm512_abs_ps(_mm512_loadu_ps(x));
  __m256 m = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_max_ss(q, _mm_movehdup_ps(q)));
#else
  float amax = 0.0f;
  for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[i]));
  return amax;
#endif
}

// Codes of 16 values: clamp(nearest of x * inverse, +-127), ties to even. Returns their sum.
int RoundGroup(const float* x, float inverse, int8_t* q) {
#ifdef RLVR_STORED_AVX512
  const __m512 scaled =
      _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(inverse)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512i codes = _mm512_cvttps_epi32(
      _mm512_min_ps(_mm512_max_ps(scaled, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(codes));
  return _mm512_reduce_add_epi32(codes);
#else
  int sum = 0;
  for (int i = 0; i < 16; ++i) {
    q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] * inverse), -127.0f, 127.0f));
    sum += q[i];
  }
  return sum;
#endif
}

// Codes of 32 values on one step d = amax / 127 (code = round(x / d)); returns d and the sum of
// the codes in *sum.
float RoundBlock32(const float* x, int8_t* q, int32_t* sum) {
  const float amax = std::max(AbsMax16(x), AbsMax16(x + 16));
  const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
  *sum = RoundGroup(x, inverse, q) + RoundGroup(x + 16, inverse, q + 16);
  return amax / 127.0f;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

void QuantizeActivationQ8_32(const float* x, ActivationQ8_32* out, int K) {
  for (int b = 0; b < K / 32; ++b) {
    ActivationQ8_32& o = out[b];
    o.d = RoundBlock32(x + b * 32, o.qs, &o.sum);
  }
}

void QuantizeActivationQ8_K16(const float* x, ActivationQ8_K16* out, int K) {
  for (int b = 0; b < K / 256; ++b) {
    const float* xb = x + b * 256;
    ActivationQ8_K16& o = out[b];
    float group_max[16], amax = 0.0f;
    for (int g = 0; g < 16; ++g) {
      group_max[g] = AbsMax16(xb + 16 * g);
      amax = std::max(amax, group_max[g]);
    }
    o.d = amax / static_cast<float>(127 * kMaxGroupSteps);
    if (!std::isnormal(o.d)) {  // no usable step: zeros (see the header)
      o.d = 0.0f;
      std::fill_n(o.k, 16, int16_t{1});
      std::fill_n(o.bsums, 16, int16_t{0});
      std::fill_n(o.qs, 256, int8_t{0});
    } else {
      for (int g = 0; g < 16; ++g) {
        const float steps = std::ceil(group_max[g] * (kMaxGroupSteps / amax));
        const int k = std::clamp(static_cast<int>(steps), 1, kMaxGroupSteps);
        o.k[g] = static_cast<int16_t>(k);
        o.bsums[g] = static_cast<int16_t>(
            RoundGroup(xb + 16 * g, 1.0f / (o.d * static_cast<float>(k)), o.qs + 16 * g));
      }
    }
    for (int g = 0; g < 16; ++g) o.sums[g] = o.d * static_cast<float>(o.k[g] * o.bsums[g]);
    // Q4_K's layout: int16 lane i of pair p's packed dot holds 4 products of values in group
    // 4 * (2p + (i % 8 >= 4)) + i / 8 (Q4_KPairDot).
    for (int p = 0; p < 2; ++p) {
      for (int i = 0; i < 32; ++i) o.k_q4k[p][i] = o.k[4 * (2 * p + (i % 8 >= 4 ? 1 : 0)) + i / 8];
    }
  }
}

namespace {

// ---- Portable kernels: one weight row against one input row. ----

float BF16ToFloat(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

float PlainDotF32(const float* w, const float* x, int K) {
  float sum = 0.0f;
  for (int k = 0; k < K; ++k) sum += w[k] * x[k];
  return sum;
}

float PlainDotF16(const uint16_t* w, const float* x, int K) {
  float sum = 0.0f;
  for (int k = 0; k < K; ++k) sum += HalfToFloat(w[k]) * x[k];
  return sum;
}

float PlainDotBF16(const uint16_t* w, const float* x, int K) {
  float sum = 0.0f;
  for (int k = 0; k < K; ++k) sum += BF16ToFloat(w[k]) * x[k];
  return sum;
}

float PlainDotQ8_0(const BlockQ8_0* w, const ActivationQ8_32* x, int blocks) {
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) {
    int dot = 0;
    for (int i = 0; i < 32; ++i) dot += w[b].qs[i] * x[b].qs[i];
    sum += HalfToFloat(w[b].d) * x[b].d * static_cast<float>(dot);
  }
  return sum;
}

float PlainDotQ4_0(const BlockQ4_0* w, const ActivationQ8_32* x, int blocks) {
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) {
    int dot = 0;
    for (int i = 0; i < 16; ++i) {
      dot += (w[b].qs[i] & 0x0f) * x[b].qs[i] + (w[b].qs[i] >> 4) * x[b].qs[i + 16];
    }
    dot -= 8 * x[b].sum;
    sum += HalfToFloat(w[b].d) * x[b].d * static_cast<float>(dot);
  }
  return sum;
}

float PlainDotQ4_K(const BlockQ4_K* w, const ActivationQ8_K16* x, int blocks) {
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) {
    uint8_t sc[8], mn[8];
    UnpackQ4_KScales(w[b].scales, sc, mn);
    int group[16] = {};  // sum of q * x per 16 values
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        group[4 * c + l / 16] += (w[b].qs[32 * c + l] & 0x0f) * x[b].qs[64 * c + l];
        group[4 * c + 2 + l / 16] += (w[b].qs[32 * c + l] >> 4) * x[b].qs[64 * c + 32 + l];
      }
    }
    int64_t dot = 0, mins = 0;
    for (int g = 0; g < 16; ++g) {
      dot += static_cast<int64_t>(sc[g / 2] * x[b].k[g]) * group[g];
      mins += static_cast<int64_t>(mn[g / 2] * x[b].k[g]) * x[b].bsums[g];
    }
    sum += x[b].d * (HalfToFloat(w[b].d) * static_cast<float>(dot) -
                     HalfToFloat(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

float PlainDotQ6_K(const BlockQ6_K* w, const ActivationQ8_K16* x, int blocks) {
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* ql = w[b].ql;
    const uint8_t* qh = w[b].qh;
    int sub[16] = {};  // sum of q * x per sub-block of 16 values
    for (int half = 0; half < 2; ++half) {
      const int8_t* xq = x[b].qs + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int q1 = (ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4);
        const int q2 = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4);
        const int q3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int q4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        const int s = 8 * half + l / 16;
        sub[s + 0] += q1 * xq[l];
        sub[s + 2] += q2 * xq[l + 32];
        sub[s + 4] += q3 * xq[l + 64];
        sub[s + 6] += q4 * xq[l + 96];
      }
      ql += 64;
      qh += 32;
    }
    // Sub-block j's x step is k[j] steps d: its scale times k[j] (|.| <= 8192) weighs it.
    int64_t dot = 0;
    for (int j = 0; j < 16; ++j) {
      dot += static_cast<int64_t>(w[b].scales[j] * x[b].k[j]) * (sub[j] - 32 * x[b].bsums[j]);
    }
    sum += HalfToFloat(w[b].d) * x[b].d * static_cast<float>(dot);
  }
  return sum;
}

#ifdef RLVR_STORED_AVX512

// ---- AVX-512 kernels. ----

// GCC 12 reports the intentionally undefined pass-through vectors inside its own AVX-512
// intrinsic headers (cvtph, extracts) as "maybe uninitialized": a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// Sum of the 16 lanes in a fixed order, ((l0+l8)+(l4+l12)) + ... as a tree of vector adds (GCC
// 12's _mm512_reduce_add_ps warns spuriously). Every kernel reduces with it, so tiles and
// one-row kernels round alike.
inline float SumLanes(__m512 v) {
  const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  const __m128 pair = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)));
}

inline __m512i Bytes64(const void* p) {
  return _mm512_loadu_si512(p);
}
inline __m256i Bytes32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m512i Join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// One row at a time, front to back: the weights stream as one sequential read, which the
// hardware prefetcher follows better than four rows read side by side (measured 3-6% more
// bytes per second on one thread, alternating in one process).
float FastDotF32(const float* w, const float* x, int K) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  int k = 0;
  for (; k + 64 <= K; k += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 32), _mm512_loadu_ps(x + k + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 48), _mm512_loadu_ps(x + k + 48), a3);
  }
  for (; k + 16 <= K; k += 16)
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
  float sum = SumLanes(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; k < K; ++k) sum += w[k] * x[k];
  return sum;
}

float FastDotF16(const uint16_t* w, const float* x, int K) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(Bytes32(w + k)), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(Bytes32(w + k + 16)), _mm512_loadu_ps(x + k + 16), a1);
  }
  float sum = SumLanes(_mm512_add_ps(a0, a1));
  for (; k < K; ++k) sum += HalfToFloat(w[k]) * x[k];
  return sum;
}

inline __m512 WidenBF16(const uint16_t* w) {
  const __m512i wide = _mm512_cvtepu16_epi32(Bytes32(w));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

float FastDotBF16(const uint16_t* w, const float* x, int K) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm512_fmadd_ps(WidenBF16(w + k), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(WidenBF16(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
  }
  float sum = SumLanes(_mm512_add_ps(a0, a1));
  for (; k < K; ++k) sum += BF16ToFloat(w[k]) * x[k];
  return sum;
}

// Lanes 0-7 of the result hold lo, lanes 8-15 hold hi.
inline __m512 TwoScales(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_set1_ps(lo), _mm256_set1_ps(hi), 1);
}

template <int R>
void FastDotQ8_0Rows(const BlockQ8_0* w, const ActivationQ8_32* x, size_t stride, int blocks,
                     float* out) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const __m512i wq = Join(Bytes32(w[b].qs), Bytes32(w[b + 1].qs));
    // dpbusd takes its first operand unsigned, so w's sign moves onto x (|-128| = 128 is right
    // as an unsigned byte).
    const __mmask64 negative = _mm512_movepi8_mask(wq);
    const __m512i magnitude = _mm512_abs_epi8(wq);
    const float d0 = _cvtsh_ss(w[b].d), d1 = _cvtsh_ss(w[b + 1].d);
    for (int r = 0; r < R; ++r) {
      const ActivationQ8_32* xr = x + r * stride + b;
      const __m512i xq = Join(Bytes32(xr[0].qs), Bytes32(xr[1].qs));
      const __m512i signed_x = _mm512_mask_sub_epi8(xq, negative, _mm512_setzero_si512(), xq);
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), magnitude, signed_x);
      acc[r] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), TwoScales(d0 * xr[0].d, d1 * xr[1].d), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    out[r] = SumLanes(acc[r]);
    if (b < blocks) out[r] += PlainDotQ8_0(w + b, x + r * stride + b, 1);
  }
}

float FastDotQ8_0(const BlockQ8_0* w, const ActivationQ8_32* x, int blocks) {
  float out;
  FastDotQ8_0Rows<1>(w, x, 0, blocks, &out);
  return out;
}

// The 32 codes of a Q4_0 block (0..15, offset not removed): low nibbles then high nibbles.
inline __m256i Q4_0Codes(const BlockQ4_0& w) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),
                          _mm256_set1_epi8(0x0f));
}

float FastDotQ4_0(const BlockQ4_0* w, const ActivationQ8_32* x, int blocks) {
  // The arithmetic of TileQ4_0, for one weight row and one input.
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 acc = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const __m512i wq = Join(Q4_0Codes(w[b]), Q4_0Codes(w[b + 1]));
    const __m512i xq = Join(Bytes32(x[b].qs), Bytes32(x[b + 1].qs));
    const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(),
                                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, xq));
    const __m512 ws = TwoScales(_cvtsh_ss(w[b].d), _cvtsh_ss(w[b + 1].d));
    const __m512 xs = TwoScales(x[b].d, x[b + 1].d);
    const __m512i dot = _mm512_dpbusd_epi32(start, wq, xq);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs), acc);
  }
  float sum = SumLanes(acc);
  if (b < blocks) sum += PlainDotQ4_0(w + b, x + b, 1);
  return sum;
}

// GGML's unpacking of Q4_K's 12 scale bytes, in a vector register: bytes 0-7 of the result hold
// the 8 sub-block scales and bytes 8-15 the 8 mins. (Unpacking in general registers and moving
// four words into a vector cost more than the bit arithmetic.) Reads 16 bytes from `packed`: the
// 12 scale bytes and the first 4 code bytes after them in the block.
inline __m128i UnpackScalesVector(const uint8_t* packed) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));  // w0 w1 w2 -
  const __m128i low6 = _mm_set1_epi8(0x3f), low4 = _mm_set1_epi8(0x0f);
  const __m128i low2 = _mm_set1_epi8(0x03);
  // Lanes 0, 1: w0 & low6, w1 & low6 (scales 0-3, mins 0-3).
  const __m128i first = _mm_and_si128(v, low6);
  // Lanes 0, 1: (w2 & low4) | ((w0 >> 6) & low2) << 4 and ((w2 >> 4) & low4) | ((w1 >> 6) ...).
  const __m128i w2w2 =
      _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 2, 2, 2)), _mm_setr_epi32(0, 4, 0, 0));
  const __m128i high2 = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(v, 6), low2), 4);
  const __m128i second = _mm_or_si128(_mm_and_si128(w2w2, low4), high2);
  // out = first0 second0 first1 second1.
  return _mm_unpacklo_epi32(first, second);
}

// 32 code bytes broadcast to both halves: the high half shifted down by 4, so after masking
// with 0x0f the low half holds the low nibbles (one sub-block) and the high half the high ones
// (the next). An immediate shift under a mask: cheaper than a variable shift of the whole.
inline __m512i HighHalfNibbles(__m512i raw) {
  return _mm512_mask_srli_epi16(raw, 0xFFFF0000u, raw, 4);
}

// Sum of the 8 lanes of v.
inline float SumLanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q4_K's integer dot products, per block and input: chunk c (64 codes: sub-blocks 2c | 2c + 1)
// times x by dpbusd gives 16 int32 lanes of 4 products each (8 lanes per sub-block, |lane| <=
// 4 * 15 * 128, so int16 holds it). Chunks 2p and 2p + 1 are packed to int16 (packs_epi32: per
// 128-bit lane 4 values of one, then 4 of the other) and multiplied by their sub-block scales
// and summed in pairs by one dpwssd. This table holds, for pair p, the shuffle_epi8 byte indices
// that place each value's int16 scale, from 8 int16 scales in every 128-bit lane: in lane k,
// positions 0-3 come from chunk 2p (sub-block 4p + (k >= 2)), 4-7 from chunk 2p + 1 (sub-block
// 4p + 2 + (k >= 2)).
struct Q4_KPairScaleIndex {
  alignas(64) int8_t bytes[2][64];
  Q4_KPairScaleIndex() {
    for (int p = 0; p < 2; ++p) {
      for (int i = 0; i < 64; ++i) {
        const int lane = i / 16, position = (i % 16) / 2;
        const int sub_block = 4 * p + (position >= 4 ? 2 : 0) + (lane >= 2 ? 1 : 0);
        bytes[p][i] = static_cast<int8_t>(2 * sub_block + (i & 1));
      }
    }
  }
};
const Q4_KPairScaleIndex kQ4_KPairScaleIndex;

// The two pair-scale vectors of a block from its unpacked scales (UnpackScalesVector).
inline void Q4_KPairScales(__m128i unpacked, __m512i scales[2]) {
  const __m512i all = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(unpacked));
  scales[0] = _mm512_shuffle_epi8(all, _mm512_load_si512(kQ4_KPairScaleIndex.bytes[0]));
  scales[1] = _mm512_shuffle_epi8(all, _mm512_load_si512(kQ4_KPairScaleIndex.bytes[1]));
}

// Codes of chunk c of a Q4_K block: sub-block 2c in the low 256 bits, 2c + 1 in the high.
inline __m512i Q4_KChunkCodes(const BlockQ4_K& b, int c, __m512i low4) {
  return _mm512_and_si512(HighHalfNibbles(_mm512_broadcast_i64x4(Bytes32(b.qs + 32 * c))), low4);
}

// sum + the scaled integer dot of chunks 2p, 2p + 1 (codes) with 128 x values at xq.
inline __m512i Q4_KPairDot(__m512i sum, __m512i codes0, __m512i codes1, const int8_t* xq,
                           __m512i scales) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i t0 = _mm512_dpbusd_epi32(zero, codes0, Bytes64(xq));
  const __m512i t1 = _mm512_dpbusd_epi32(zero, codes1, Bytes64(xq + 64));
  return _mm512_dpwssd_epi32(sum, _mm512_packs_epi32(t0, t1), scales);
}

// Pair p's scales (Q4_KPairScales) times the input's steps k of the same values (laid out alike
// in ActivationQ8_K16::k_q4k): |scale * k| <= 63 * 64, so a lane of Q4_KPairDot's sum stays
// under 2 * 2 * 7620 * 4032 < 2^31 per block.
inline __m512i Q4_KInputSteps(__m512i scales, const ActivationQ8_K16& x, int p) {
  return _mm512_mullo_epi16(scales, Bytes64(x.k_q4k[p]));
}

// The 16 lanes dmin * min of the sub-block holding group g (g / 2), as floats: times the input's
// group sums (ActivationQ8_K16::sums) they give the block's min term lane by lane, one fnmadd per
// input instead of an integer product and its conversion.
inline __m512 Q4_KGroupMins(__m128i unpacked, float dmin) {
  const __m128i pairs = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  const __m512i mins = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(unpacked, pairs));
  return _mm512_mul_ps(_mm512_cvtepi32_ps(mins), _mm512_set1_ps(dmin));
}

// Rows x[0], x[stride], ... x[(R-1) * stride] (each `blocks` blocks) against one Q4_K weight row:
// the codes and scales of each block are unpacked once for the R inputs (prefill's batches).
template <int R>
void FastDotQ4_KRows(const BlockQ4_K* w, const ActivationQ8_K16* x, size_t stride, int blocks,
                     float* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int b = 0; b < blocks; ++b) {
    const __m128i unpacked = UnpackScalesVector(w[b].scales);
    __m512i scales[2];
    Q4_KPairScales(unpacked, scales);
    __m512i sum[R];
    for (int r = 0; r < R; ++r) sum[r] = _mm512_setzero_si512();
    for (int p = 0; p < 2; ++p) {
      const __m512i codes0 = Q4_KChunkCodes(w[b], 2 * p, low4);
      const __m512i codes1 = Q4_KChunkCodes(w[b], 2 * p + 1, low4);
      for (int r = 0; r < R; ++r) {
        const ActivationQ8_K16& xb = x[r * stride + b];
        sum[r] =
            Q4_KPairDot(sum[r], codes0, codes1, xb.qs + 128 * p, Q4_KInputSteps(scales[p], xb, p));
      }
    }
    const float d = _cvtsh_ss(w[b].d);
    const __m512 mins = Q4_KGroupMins(unpacked, _cvtsh_ss(w[b].dmin));
    for (int r = 0; r < R; ++r) {
      const ActivationQ8_K16& xb = x[r * stride + b];
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r]), _mm512_set1_ps(d * xb.d), acc[r]);
      acc[r] = _mm512_fnmadd_ps(mins, _mm512_loadu_ps(xb.sums), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = SumLanes(acc[r]);
}

float FastDotQ4_K(const BlockQ4_K* w, const ActivationQ8_K16* x, int blocks) {
  float out;
  FastDotQ4_KRows<1>(w, x, 0, blocks, &out);
  return out;
}

// vpermw indices placing Q6_K's 16 int16 sub-block weights (scale * k) for the maddubs pairs of
// one half of a block: pairs 0-31 of q12 (codes q1 | q2) cover sub-blocks 8 * half + 0..3, eight
// pairs each, and those of q34 sub-blocks 8 * half + 4..7. Row 2 * half + (q34 ? 1 : 0).
struct Q6_KScaleIndex {
  alignas(64) int16_t words[4][32];
  Q6_KScaleIndex() {
    for (int v = 0; v < 4; ++v) {
      for (int i = 0; i < 32; ++i) words[v][i] = static_cast<int16_t>(4 * v + i / 8);
    }
  }
};
const Q6_KScaleIndex kQ6_KScaleIndex;

// Rows x[0], x[stride], ... x[(R-1) * stride] against one Q6_K weight row: codes unpacked once
// per block for the R inputs. Each sub-block's integer dot is weighed by scale * k (the input's
// steps, ActivationQ8_K16) in one dpwssd; |lane| <= 4 * 2 * 16002 * 8192 < 2^31 per block.
template <int R>
void FastDotQ6_KRows(const BlockQ6_K* w, const ActivationQ8_K16* x, size_t stride, int blocks,
                     float* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), low2 = _mm512_set1_epi8(0x03);
  __m512i index[4];
  for (int v = 0; v < 4; ++v) index[v] = _mm512_load_si512(kQ6_KScaleIndex.words[v]);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int b = 0; b < blocks; ++b) {
    const __m128i scale_bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales));
    const __m256i scales = _mm256_cvtepi8_epi16(scale_bytes);
    __m256i weights[R];  // scale * k per sub-block, int16
    __m512i sum[R];
    for (int r = 0; r < R; ++r) {
      weights[r] = _mm256_mullo_epi16(scales, Bytes32(x[r * stride + b].k));
      sum[r] = _mm512_setzero_si512();
    }
    for (int half = 0; half < 2; ++half) {
      const __m512i L = Bytes64(w[b].ql + 64 * half);
      const __m256i H = Bytes32(w[b].qh + 32 * half);
      const __m512i h01 = Join(H, _mm256_srli_epi16(H, 2));  // bits for q1 | q2
      const __m512i h23 = _mm512_srli_epi16(h01, 4);         // bits for q3 | q4
      const __m512i q12 = _mm512_or_si512(_mm512_and_si512(L, low4),
                                          _mm512_slli_epi16(_mm512_and_si512(h01, low2), 4));
      const __m512i q34 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L, 4), low4),
                                          _mm512_slli_epi16(_mm512_and_si512(h23, low2), 4));
      for (int r = 0; r < R; ++r) {
        const int8_t* xq = x[r * stride + b].qs + 128 * half;
        const __m512i all = _mm512_castsi256_si512(weights[r]);
        const __m512i s12 = _mm512_permutexvar_epi16(index[2 * half], all);
        const __m512i s34 = _mm512_permutexvar_epi16(index[2 * half + 1], all);
        sum[r] = _mm512_dpwssd_epi32(sum[r], _mm512_maddubs_epi16(q12, Bytes64(xq)), s12);
        sum[r] = _mm512_dpwssd_epi32(sum[r], _mm512_maddubs_epi16(q34, Bytes64(xq + 64)), s34);
      }
    }
    const float dw = _cvtsh_ss(w[b].d);
    // The offset of 32, lane j: 32 * dw * scale_j times the sum of sub-block j's rounded x.
    const __m512 offsets = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(scale_bytes)),
                                         _mm512_set1_ps(32.0f * dw));
    for (int r = 0; r < R; ++r) {
      const ActivationQ8_K16& xb = x[r * stride + b];
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r]), _mm512_set1_ps(dw * xb.d), acc[r]);
      acc[r] = _mm512_fnmadd_ps(offsets, _mm512_loadu_ps(xb.sums), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = SumLanes(acc[r]);
}

float FastDotQ6_K(const BlockQ6_K* w, const ActivationQ8_K16* x, int blocks) {
  float out;
  FastDotQ6_KRows<1>(w, x, 0, blocks, &out);
  return out;
}

// ---- Prefill tiles: RW weight rows x RX input rows per pass. ----
// Each weight block is unpacked once for the RX inputs and each input block loaded once for the
// RW weight rows, so a batch of n inputs costs n / RX passes over the weights (which stay in L1)
// and N / RW passes over the 8-bit inputs (in L2). out[r * out_stride + j] = dot(weight row j,
// input row r); the weight rows are w_stride blocks apart, the input rows x_stride.

// Q8_0: dpbusd wants its first operand unsigned, so x is moved to x + 128 (xor of the sign bit)
// and 128 * sum(w), computed once per weight block, starts the integer accumulator negated.
template <int RW, int RX>
void TileQ8_0(const BlockQ8_0* w, size_t w_stride, const ActivationQ8_32* x, size_t x_stride,
              int blocks, float* out, size_t out_stride) {
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[RX][RW];
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    __m512i wq[RW], start[RW];
    __m512 ws[RW];
    for (int j = 0; j < RW; ++j) {
      const BlockQ8_0* wb = w + j * w_stride + b;
      wq[j] = Join(Bytes32(wb[0].qs), Bytes32(wb[1].qs));
      start[j] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                  _mm512_dpbusd_epi32(_mm512_setzero_si512(), sign, wq[j]));
      ws[j] = TwoScales(_cvtsh_ss(wb[0].d), _cvtsh_ss(wb[1].d));
    }
    for (int r = 0; r < RX; ++r) {
      const ActivationQ8_32* xb = x + r * x_stride + b;
      const __m512i xu = _mm512_xor_si512(Join(Bytes32(xb[0].qs), Bytes32(xb[1].qs)), sign);
      const __m512 xs = TwoScales(xb[0].d, xb[1].d);
      for (int j = 0; j < RW; ++j) {
        const __m512i dot = _mm512_dpbusd_epi32(start[j], xu, wq[j]);
        acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[j], xs), acc[r][j]);
      }
    }
  }
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) {
      float v = SumLanes(acc[r][j]);
      if (b < blocks) v += PlainDotQ8_0(w + j * w_stride + b, x + r * x_stride + b, 1);
      out[r * out_stride + j] = v;
    }
  }
}

// Q4_0: codes 0..15 are dpbusd's unsigned operand; the offset of 8 is -8 * sum(x), computed once
// per input block and used as the integer accumulator's start.
template <int RW, int RX>
void TileQ4_0(const BlockQ4_0* w, size_t w_stride, const ActivationQ8_32* x, size_t x_stride,
              int blocks, float* out, size_t out_stride) {
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 acc[RX][RW];
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    __m512i wq[RW];
    __m512 ws[RW];
    for (int j = 0; j < RW; ++j) {
      const BlockQ4_0* wb = w + j * w_stride + b;
      wq[j] = Join(Q4_0Codes(wb[0]), Q4_0Codes(wb[1]));
      ws[j] = TwoScales(_cvtsh_ss(wb[0].d), _cvtsh_ss(wb[1].d));
    }
    for (int r = 0; r < RX; ++r) {
      const ActivationQ8_32* xb = x + r * x_stride + b;
      const __m512i xq = Join(Bytes32(xb[0].qs), Bytes32(xb[1].qs));
      const __m512i start = _mm512_sub_epi32(
          _mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, xq));
      const __m512 xs = TwoScales(xb[0].d, xb[1].d);
      for (int j = 0; j < RW; ++j) {
        const __m512i dot = _mm512_dpbusd_epi32(start, wq[j], xq);
        acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[j], xs), acc[r][j]);
      }
    }
  }
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) {
      float v = SumLanes(acc[r][j]);
      if (b < blocks) v += PlainDotQ4_0(w + j * w_stride + b, x + r * x_stride + b, 1);
      out[r * out_stride + j] = v;
    }
  }
}

// Q4_K: per 128 values (two chunks of sub-blocks 2c | 2c + 1), Q4_KPairDot, as the decode kernel.
template <int RW, int RX>
void TileQ4_K(const BlockQ4_K* w, size_t w_stride, const ActivationQ8_K16* x, size_t x_stride,
              int blocks, float* out, size_t out_stride) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc[RX][RW];
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  for (int b = 0; b < blocks; ++b) {
    __m512i scales[RW][2];
    __m512 mins[RW];
    float d[RW];
    for (int j = 0; j < RW; ++j) {
      const BlockQ4_K& wb = w[j * w_stride + b];
      const __m128i unpacked = UnpackScalesVector(wb.scales);
      Q4_KPairScales(unpacked, scales[j]);
      mins[j] = Q4_KGroupMins(unpacked, _cvtsh_ss(wb.dmin));
      d[j] = _cvtsh_ss(wb.d);
    }
    __m512i sum[RX][RW];
    for (int r = 0; r < RX; ++r) {
      for (int j = 0; j < RW; ++j) sum[r][j] = _mm512_setzero_si512();
    }
    for (int p = 0; p < 2; ++p) {
      __m512i codes0[RW], codes1[RW];
      for (int j = 0; j < RW; ++j) {
        codes0[j] = Q4_KChunkCodes(w[j * w_stride + b], 2 * p, low4);
        codes1[j] = Q4_KChunkCodes(w[j * w_stride + b], 2 * p + 1, low4);
      }
      for (int r = 0; r < RX; ++r) {
        const ActivationQ8_K16& xb = x[r * x_stride + b];
        for (int j = 0; j < RW; ++j) {
          sum[r][j] = Q4_KPairDot(sum[r][j], codes0[j], codes1[j], xb.qs + 128 * p,
                                  Q4_KInputSteps(scales[j][p], xb, p));
        }
      }
    }
    // The same float operations per output, in the same order, as FastDotQ4_KRows.
    for (int r = 0; r < RX; ++r) {
      const ActivationQ8_K16& xb = x[r * x_stride + b];
      const __m512 sums = _mm512_loadu_ps(xb.sums);
      for (int j = 0; j < RW; ++j) {
        acc[r][j] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][j]), _mm512_set1_ps(d[j] * xb.d), acc[r][j]);
        acc[r][j] = _mm512_fnmadd_ps(mins[j], sums, acc[r][j]);
      }
    }
  }
  for (int r = 0; r < RX; ++r) {
    for (int j = 0; j < RW; ++j) out[r * out_stride + j] = SumLanes(acc[r][j]);
  }
}

// A tile kernel of one type, for RW in 1..4 and RX in 1..kMaxTileInputs (the edges of the row
// ranges).
constexpr int kMaxTileInputs = 8;
template <typename Block, typename Input>
using TileKernel = void (*)(const Block*, size_t, const Input*, size_t, int, float*, size_t);

template <typename Block, typename Input, template <int, int> class Pick>
struct TileTable {
  TileKernel<Block, Input> k[4][kMaxTileInputs];
  constexpr TileTable() : k{} { Fill<0>(); }
  template <int I>
  constexpr void Fill() {
    if constexpr (I < 4 * kMaxTileInputs) {
      k[I / kMaxTileInputs][I % kMaxTileInputs] =
          Pick<I / kMaxTileInputs + 1, I % kMaxTileInputs + 1>::kFn;
      Fill<I + 1>();
    }
  }
};
template <int RW, int RX>
struct PickQ8_0 {
  static constexpr TileKernel<BlockQ8_0, ActivationQ8_32> kFn = TileQ8_0<RW, RX>;
};
template <int RW, int RX>
struct PickQ4_0 {
  static constexpr TileKernel<BlockQ4_0, ActivationQ8_32> kFn = TileQ4_0<RW, RX>;
};
template <int RW, int RX>
struct PickQ4_K {
  static constexpr TileKernel<BlockQ4_K, ActivationQ8_K16> kFn = TileQ4_K<RW, RX>;
};
// Tile shapes, measured on the 85M prefill (one Zen 5 core): Q8_0 and Q4_0 4 weight rows x 4
// inputs; Q4_K 1 x 8 (2 x 4 is as fast, 2 x 8 and 4 x 4 are 15-20% slower: their per-block
// scales and integer sums spill from the registers).
constexpr int kTileQ4_KRows = 1, kTileQ4_KInputs = 8;
constexpr TileTable<BlockQ8_0, ActivationQ8_32, PickQ8_0> kTilesQ8_0;
constexpr TileTable<BlockQ4_0, ActivationQ8_32, PickQ4_0> kTilesQ4_0;
constexpr TileTable<BlockQ4_K, ActivationQ8_K16, PickQ4_K> kTilesQ4_K;

// Weight rows [begin, end) against all n input rows in tiles of up to kRW x kRX (kRW <= 4), in
// panels of kPanelRows weight rows (16 measured 10% faster than none, as fast as 64): a panel's
// weights and one tile's inputs both stay in L1 while the panel passes over the inputs, so inputs
// come from L2 once per panel, not once per tile.
constexpr int kPanelRows = 16;

template <int kRW, int kRX, typename Block, typename Input, template <int, int> class Pick>
void TiledRows(const TileTable<Block, Input, Pick>& table, const StoredMatrix& W, const Input* x,
               int n, int begin, int end, float* y) {
  static_assert(kRW >= 1 && kRW <= 4 && kRX >= 1 && kRX <= kMaxTileInputs);
  const int blocks = W.cols / StoredBlockValues(W.type);
  const size_t N = static_cast<size_t>(W.rows);
  for (int panel = begin; panel < end; panel += kPanelRows) {
    const int panel_end = std::min(end, panel + kPanelRows);
    for (int r = 0; r < n; r += kRX) {
      const int rx = std::min(kRX, n - r);
      for (int i = panel; i < panel_end; i += kRW) {
        const int rw = std::min(kRW, panel_end - i);
        table.k[rw - 1][rx - 1](reinterpret_cast<const Block*>(W.Row(i)), blocks,
                                x + static_cast<size_t>(r) * blocks, blocks, blocks, y + r * N + i,
                                N);
      }
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // RLVR_STORED_AVX512

struct ProductJob {
  const StoredMatrix* W;
  const float* x;
  const ActivationQ8_32* x32;
  const ActivationQ8_K16* xk16;
  float* y;
  int n;
  int tasks;
  bool plain;
};

// Rows [begin, end) of W against every input row.
template <bool kFast>
void ProductRows(const ProductJob& job, int begin, int end) {
  const StoredMatrix& W = *job.W;
  const int K = W.cols, N = W.rows;
  const int blocks32 = K / 32, blocks256 = K / 256;
#ifdef RLVR_STORED_AVX512
  // Prefill: tiles of up to 4 weight rows x 4 input rows (TiledRows above). Decode keeps the
  // one-row kernels, which are faster for a single input and do the same arithmetic per output
  // in the same order, so a prompt prefilled gives bit for bit the logits of the same tokens
  // stepped one by one. (An output off by one float rounding may flip the 8-bit rounding of the
  // next product's input, which 12 layers amplify to ~1% of the logits.)
  if (kFast && job.n > 1) {
    switch (W.type) {
      case StoredType::kQ8_0:
        TiledRows<4, 4>(kTilesQ8_0, W, job.x32, job.n, begin, end, job.y);
        return;
      case StoredType::kQ4_0:
        TiledRows<4, 4>(kTilesQ4_0, W, job.x32, job.n, begin, end, job.y);
        return;
      case StoredType::kQ4_K:
        TiledRows<kTileQ4_KRows, kTileQ4_KInputs>(kTilesQ4_K, W, job.xk16, job.n, begin, end,
                                                  job.y);
        return;
      default:
        break;
    }
  }
#endif
  for (int i = begin; i < end; ++i) {
    const uint8_t* row = W.Row(i);
    int r = 0;
#ifdef RLVR_STORED_AVX512
    // Prefill of Q6_K: four input rows per pass over a weight row, unpacking its blocks once.
    if (kFast && W.type == StoredType::kQ6_K) {
      for (; r + 4 <= job.n; r += 4) {
        float v[4];
        const ActivationQ8_K16* x = job.xk16 + static_cast<size_t>(r) * blocks256;
        FastDotQ6_KRows<4>(reinterpret_cast<const BlockQ6_K*>(row), x, blocks256, blocks256, v);
        for (int k = 0; k < 4; ++k) job.y[static_cast<size_t>(r + k) * N + i] = v[k];
      }
    }
#endif
    for (; r < job.n; ++r) {
      float v = 0.0f;
      switch (W.type) {
        case StoredType::kF32: {
          const float* w = reinterpret_cast<const float*>(row);
          const float* x = job.x + static_cast<size_t>(r) * K;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotF32(w, x, K) : PlainDotF32(w, x, K);
#else
          v = PlainDotF32(w, x, K);
#endif
          break;
        }
        case StoredType::kF16: {
          const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
          const float* x = job.x + static_cast<size_t>(r) * K;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotF16(w, x, K) : PlainDotF16(w, x, K);
#else
          v = PlainDotF16(w, x, K);
#endif
          break;
        }
        case StoredType::kBF16: {
          const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
          const float* x = job.x + static_cast<size_t>(r) * K;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotBF16(w, x, K) : PlainDotBF16(w, x, K);
#else
          v = PlainDotBF16(w, x, K);
#endif
          break;
        }
        case StoredType::kQ8_0: {
          const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
          const ActivationQ8_32* x = job.x32 + static_cast<size_t>(r) * blocks32;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotQ8_0(w, x, blocks32) : PlainDotQ8_0(w, x, blocks32);
#else
          v = PlainDotQ8_0(w, x, blocks32);
#endif
          break;
        }
        case StoredType::kQ4_0: {
          const auto* w = reinterpret_cast<const BlockQ4_0*>(row);
          const ActivationQ8_32* x = job.x32 + static_cast<size_t>(r) * blocks32;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotQ4_0(w, x, blocks32) : PlainDotQ4_0(w, x, blocks32);
#else
          v = PlainDotQ4_0(w, x, blocks32);
#endif
          break;
        }
        case StoredType::kQ4_K: {
          const auto* w = reinterpret_cast<const BlockQ4_K*>(row);
          const ActivationQ8_K16* x = job.xk16 + static_cast<size_t>(r) * blocks256;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotQ4_K(w, x, blocks256) : PlainDotQ4_K(w, x, blocks256);
#else
          v = PlainDotQ4_K(w, x, blocks256);
#endif
          break;
        }
        case StoredType::kQ6_K: {
          const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
          const ActivationQ8_K16* x = job.xk16 + static_cast<size_t>(r) * blocks256;
#ifdef RLVR_STORED_AVX512
          v = kFast ? FastDotQ6_K(w, x, blocks256) : PlainDotQ6_K(w, x, blocks256);
#else
          v = PlainDotQ6_K(w, x, blocks256);
#endif
          break;
        }
      }
      job.y[static_cast<size_t>(r) * N + i] = v;
    }
  }
}

// First weight row of task `task` of `tasks`: contiguous shares in units of 16 rows, so no two
// tasks write the same 64-byte line of a decode's output (false sharing) and prefill's panels
// start on their boundaries.
int TaskRow(int rows, int tasks, int task) {
  constexpr int kUnit = 16;
  const long long units = (rows + kUnit - 1) / kUnit;
  return static_cast<int>(std::min<long long>(rows, units * task / tasks * kUnit));
}

void ProductTask(void* ctx, int task) {
  const auto& job = *static_cast<const ProductJob*>(ctx);
  const int begin = TaskRow(job.W->rows, job.tasks, task);
  const int end = TaskRow(job.W->rows, job.tasks, task + 1);
  if (job.plain) {
    ProductRows<false>(job, begin, end);
  } else {
    ProductRows<true>(job, begin, end);
  }
}

ProductJob PrepareJob(const StoredMatrix& W, ProductInput& in, float* y, bool plain) {
  CheckStoredMatrix(W, "StoredProduct");
  if (W.cols != in.cols()) {
    throw std::invalid_argument(std::string("StoredProduct: ") + StoredTypeName(W.type) +
                                " matrix rows have " + std::to_string(W.cols) +
                                " values, the input rows " + std::to_string(in.cols()));
  }
  ProductJob job{&W, in.x(), nullptr, nullptr, y, in.rows(), 1, plain};
  if (W.type == StoredType::kQ8_0 || W.type == StoredType::kQ4_0) job.x32 = in.Q8_32();
  if (W.type == StoredType::kQ4_K || W.type == StoredType::kQ6_K) job.xk16 = in.Q8_K16();
  return job;
}

}  // namespace

namespace {

// The tasks of several ProductJobs as one run: task t belongs to the job whose range holds it.
struct ProductJobs {
  ProductJob jobs[kMaxStoredProducts];
  int first_task[kMaxStoredProducts + 1];
  int count;
};

void ProductJobsTask(void* ctx, int task) {
  auto& all = *static_cast<ProductJobs*>(ctx);
  int j = 0;
  while (task >= all.first_task[j + 1]) ++j;
  ProductTask(&all.jobs[j], task - all.first_task[j]);
}

// F32 weights times several input rows: the float GEMM kernels (packed, cache-blocked) do better
// than rows of FastDotF32, which one input row (decode) takes.
bool TakesFloatPath(const StoredMatrix& W, const ProductInput& in) {
  return W.type == StoredType::kF32 && W.data != nullptr && in.rows() > 1;
}

// Precondition: TakesFloatPath(W, in), W checked and W.cols == in.cols().
void FloatBatchProduct(const StoredMatrix& W, ProductInput& in, float* y, ThreadPool* pool) {
  Linear(in.x(), static_cast<const float*>(W.data), y, in.rows(), W.rows, W.cols, pool);
}

}  // namespace

void StoredProducts(std::span<const StoredProductTarget> targets, ProductInput& in,
                    ThreadPool* pool) {
  if (targets.size() > static_cast<size_t>(kMaxStoredProducts)) {
    throw std::invalid_argument("StoredProducts: " + std::to_string(targets.size()) +
                                " products, at most " + std::to_string(kMaxStoredProducts));
  }
  if (!pool) pool = &DefaultPool();
  ProductJobs all{};
  long long work = 0;
  for (const StoredProductTarget& t : targets) {
    if (TakesFloatPath(*t.W, in)) {
      CheckStoredMatrix(*t.W, "StoredProduct");
      if (t.W->cols != in.cols()) PrepareJob(*t.W, in, t.y, false);  // throws the mismatch
      continue;
    }
    all.jobs[all.count++] = PrepareJob(*t.W, in, t.y, !StoredProductHasFastPath());
    work += static_cast<long long>(t.W->rows) * t.W->cols * in.rows();
  }
  for (const StoredProductTarget& t : targets) {
    if (TakesFloatPath(*t.W, in)) FloatBatchProduct(*t.W, in, t.y, pool);
  }
  if (all.count == 0) return;
  // Products too small to be worth waking the pool run inline; otherwise a few tasks per thread
  // in all, shared out by each product's work, so a thread slowed by other load is balanced by
  // the pool's dynamic hand-out.
  const int threads = pool->threads();
  const bool parallel = threads > 1 && work >= (1 << 17);
  all.first_task[0] = 0;
  for (int j = 0; j < all.count; ++j) {
    ProductJob& job = all.jobs[j];
    job.tasks = 1;
    if (parallel) {
      const long long own = static_cast<long long>(job.W->rows) * job.W->cols * in.rows();
      const int share = static_cast<int>((threads * 4 * own + work - 1) / work);
      job.tasks = std::clamp(share, 1, std::max(1, (job.W->rows + 15) / 16));
    }
    all.first_task[j + 1] = all.first_task[j] + job.tasks;
  }
  if (parallel) {
    pool->Run(all.first_task[all.count], ProductJobsTask, &all);
  } else {
    for (int j = 0; j < all.count; ++j) ProductTask(&all.jobs[j], 0);
  }
}

void StoredProduct(const StoredMatrix& W, ProductInput& in, float* y, ThreadPool* pool) {
  const StoredProductTarget one[] = {{&W, y}};
  StoredProducts(one, in, pool);
}

void StoredProductPlain(const StoredMatrix& W, ProductInput& in, float* y) {
  ProductJob job = PrepareJob(W, in, y, true);
  ProductTask(&job, 0);
}

bool StoredProductHasFastPath() {
#ifdef RLVR_STORED_AVX512
  return true;
#else
  return false;
#endif
}

}  // namespace rlvr
