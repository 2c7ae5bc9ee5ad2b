#include "kernels/quant.h"

#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/thread_pool.h"

namespace rlvr {

uint16_t FloatToHalf(float f) {
  // Round-to-nearest-even with subnormals, after F. Giesen's float_to_half_fast3_rtne.
  uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  bits &= 0x7fffffffu;
  uint16_t h;
  if (bits >= (127u + 16u) << 23) {
    // >= 65536 (or inf/NaN): inf, or a quiet NaN. Finite values just below round to inf below.
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

// Integer dot products of one block against a Q8_0 block of x; int32 sums vectorize freely.
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
    const Block* w = job.W + static_cast<size_t>(row) * job.blocks;
    float sum = 0.0f;
    for (int b = 0; b < job.blocks; ++b) {
      sum += HalfToFloat(w[b].d) * HalfToFloat(job.x[b].d) *
             static_cast<float>(DotBlock(w[b], job.x[b]));
    }
    job.y[row] = sum;
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
