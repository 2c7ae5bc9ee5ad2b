#include "kernels/quant.h"

#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/thread_pool.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

namespace rlvr {

uint16_t FloatToHalf(float f) {
  // Round-to-nearest-even with subnormals, after F. Giesen's float_to_half_fast3_rtne.
  uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  bits &= 0x7fffffffu;
  uint16_t h;
  if (bits >= (127u + 16u) << 23) {
    // >= 65536, inf or NaN: inf, or a quiet NaN. [65520, 65536) reaches inf by rounding below.
    h = bits > 0x7f800000u ? 0x7e00 : 0x7c00;
  } else if (bits < 113u << 23) {
    // Half subnormal or zero: adding 0.5f puts the value where one float ulp is 2^-24, one half
    // subnormal step, so the FPU's own rounding is round-to-nearest-even.
    const float magic = 0.5f;
    h = static_cast<uint16_t>(std::bit_cast<uint32_t>(std::bit_cast<float>(bits) + magic) -
                              std::bit_cast<uint32_t>(magic));
  } else {
    const uint32_t mantissa_odd = (bits >> 13) & 1u;
    bits += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;
    h = static_cast<uint16_t>(bits >> 13);
  }
  return static_cast<uint16_t>(h | sign);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1.0p-24f;  // exact
    return std::bit_cast<float>(std::bit_cast<uint32_t>(magnitude) | sign);
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

namespace {

void CheckMultiple(const char* what, int n) {
  if (n < 0 || n % kQuantBlock != 0) {
    throw std::invalid_argument(std::string(what) + ": length " + std::to_string(n) +
                                " is not a non-negative multiple of " +
                                std::to_string(kQuantBlock));
  }
}

}  // namespace

void QuantizeQ8_0(const float* x, BlockQ8_0* y, int n) {
  CheckMultiple("QuantizeQ8_0", n);
  for (int b = 0; b < n / kQuantBlock; ++b) {
    const float* xb = x + b * kQuantBlock;
    float amax = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    // As ggml's quantize_row_q8_0_reference: the inverse scale comes from the float scale.
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = FloatToHalf(d);
    for (int j = 0; j < kQuantBlock; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::round(xb[j] * id));
    }
  }
}

void DequantizeQ8_0(const BlockQ8_0* x, float* y, int n) {
  CheckMultiple("DequantizeQ8_0", n);
  for (int b = 0; b < n / kQuantBlock; ++b) {
    const float d = HalfToFloat(x[b].d);
    for (int j = 0; j < kQuantBlock; ++j) y[b * kQuantBlock + j] = x[b].qs[j] * d;
  }
}

void QuantizeQ4_0(const float* x, BlockQ4_0* y, int n) {
  CheckMultiple("QuantizeQ4_0", n);
  constexpr int kHalf = kQuantBlock / 2;
  for (int b = 0; b < n / kQuantBlock; ++b) {
    const float* xb = x + b * kQuantBlock;
    // As ggml's quantize_row_q4_0_reference: the signed value of largest magnitude maps to -8,
    // so the full range [-8, 7] is used.
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = FloatToHalf(d);
    for (int j = 0; j < kHalf; ++j) {
      const int lo = static_cast<int8_t>(xb[j] * id + 8.5f);
      const int hi = static_cast<int8_t>(xb[j + kHalf] * id + 8.5f);
      y[b].qs[j] = static_cast<uint8_t>((lo < 15 ? lo : 15) | ((hi < 15 ? hi : 15) << 4));
    }
  }
}

void DequantizeQ4_0(const BlockQ4_0* x, float* y, int n) {
  CheckMultiple("DequantizeQ4_0", n);
  constexpr int kHalf = kQuantBlock / 2;
  for (int b = 0; b < n / kQuantBlock; ++b) {
    const float d = HalfToFloat(x[b].d);
    float* yb = y + b * kQuantBlock;
    for (int j = 0; j < kHalf; ++j) {
      yb[j] = ((x[b].qs[j] & 0x0f) - 8) * d;
      yb[j + kHalf] = ((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

namespace {

#if defined(__AVX2__) && defined(__F16C__)
#define RLVR_QUANT_AVX2 1

// Sum of 32 products of signed bytes, as 8 int32 partial sums. maddubs multiplies unsigned by
// signed bytes, so w's sign moves onto x (GGML's trick); pairs of products fit int16 since
// |w| <= 128, |x| <= 127 and 2 * 128 * 127 < 32768.
inline __m256i DotBytes(__m256i w, __m256i x) {
  const __m256i abs_w = _mm256_sign_epi8(w, w);
  const __m256i signed_x = _mm256_sign_epi8(x, w);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_w, signed_x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, signed_x), _mm256_set1_epi16(1));
#endif
}

inline __m256i LoadCodes(const BlockQ8_0& w) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs));
}

// Values 0..15 from the low nibbles, 16..31 from the high nibbles, minus the offset of 8.
inline __m256i LoadCodes(const BlockQ4_0& w) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
  const __m256i nibbles =
      _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
  return _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8));
}

template <typename Block>
float DotRow(const Block* w, const BlockQ8_0* x, int blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < blocks; ++b) {
    const __m256i products = DotBytes(LoadCodes(w[b]), LoadCodes(x[b]));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d));
    acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(products), acc);
  }
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

#else

// Portable path: integer dot products per block; int32 sums vectorize freely.
int DotBlock(const BlockQ8_0& w, const BlockQ8_0& x) {
  int sum = 0;
  for (int j = 0; j < kQuantBlock; ++j) sum += w.qs[j] * x.qs[j];
  return sum;
}

int DotBlock(const BlockQ4_0& w, const BlockQ8_0& x) {
  constexpr int kHalf = kQuantBlock / 2;
  int sum = 0;
  for (int j = 0; j < kHalf; ++j) {
    sum += ((w.qs[j] & 0x0f) - 8) * x.qs[j] + ((w.qs[j] >> 4) - 8) * x.qs[j + kHalf];
  }
  return sum;
}

template <typename Block>
float DotRow(const Block* w, const BlockQ8_0* x, int blocks) {
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) {
    sum += HalfToFloat(w[b].d) * HalfToFloat(x[b].d) * static_cast<float>(DotBlock(w[b], x[b]));
  }
  return sum;
}

#endif

template <typename Block>
struct MatVecJob {
  const Block* W;
  const BlockQ8_0* x;
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
void MatVec(const char* what, const Block* W, const float* x, float* y, int N, int K,
            BlockQ8_0* x_scratch) {
  CheckMultiple(what, K);
  if (N < 0) throw std::invalid_argument(std::string(what) + ": negative N");
  QuantizeQ8_0(x, x_scratch, K);
  MatVecJob<Block> job{W, x_scratch, y, N, K / kQuantBlock, 1};
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

void MatVecQ8_0(const BlockQ8_0* W, const float* x, float* y, int N, int K, BlockQ8_0* x_scratch) {
  MatVec("MatVecQ8_0", W, x, y, N, K, x_scratch);
}

void MatVecQ4_0(const BlockQ4_0* W, const float* x, float* y, int N, int K, BlockQ8_0* x_scratch) {
  MatVec("MatVecQ4_0", W, x, y, N, K, x_scratch);
}

}  // namespace rlvr
