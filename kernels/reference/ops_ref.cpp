#include "kernels/reference/ops_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rlvr {

void SoftmaxRef(const float* x, float* out, int n) {
  if (n <= 0) return;
  double max = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < n; ++i) max = std::max(max, static_cast<double>(x[i]));
  if (max == -std::numeric_limits<double>::infinity()) {
    for (int i = 0; i < n; ++i) out[i] = static_cast<float>(1.0 / n);
    return;
  }
  std::vector<double> e(n);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    e[i] = std::exp(static_cast<double>(x[i]) - max);
    sum += e[i];
  }
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(e[i] / sum);
}

void RmsNormRef(const float* x, const float* weight, float* out, int n, float eps) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(sum / n + eps);
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] * scale * weight[i]);
}

void RopeRef(float* vec, int n_heads, int head_dim, int pos, float theta) {
  const int half = head_dim / 2;
  std::vector<double> rotated(head_dim);
  for (int h = 0; h < n_heads; ++h) {
    float* x = vec + static_cast<size_t>(h) * head_dim;
    // x * cos + rotate_half(x) * sin, where rotate_half(x) = [-x[half:], x[:half]].
    for (int d = 0; d < head_dim; ++d) {
      const int i = d % half;
      const double angle = pos * std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
      const double rotate_half = d < half ? -static_cast<double>(x[d + half]) : x[d - half];
      rotated[d] = x[d] * std::cos(angle) + rotate_half * std::sin(angle);
    }
    for (int d = 0; d < head_dim; ++d) x[d] = static_cast<float>(rotated[d]);
  }
}

void SiluRef(const float* x, float* out, int n) {
  for (int i = 0; i < n; ++i) {
    const double v = x[i];
    out[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
  }
}

void SwiGLURef(const float* gate, const float* up, float* out, int n) {
  for (int i = 0; i < n; ++i) {
    const double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

void AttentionRef(const float* q, const KVCache& cache, int layer, int start_pos, int n_q,
                  int n_heads, float* out) {
  const int head_dim = cache.head_dim;
  const int group = n_heads / cache.n_kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  for (int i = 0; i < n_q; ++i) {
    const int pos = start_pos + i;
    for (int h = 0; h < n_heads; ++h) {
      const float* qh = q + (static_cast<size_t>(i) * n_heads + h) * head_dim;
      const int kv = h / group;
      std::vector<double> scores(pos + 1);
      double max = -std::numeric_limits<double>::infinity();
      for (int t = 0; t <= pos; ++t) {
        const float* k = cache.K(layer, t) + kv * head_dim;
        double dot = 0.0;
        for (int d = 0; d < head_dim; ++d) dot += static_cast<double>(qh[d]) * k[d];
        scores[t] = dot * scale;
        max = std::max(max, scores[t]);
      }
      double sum = 0.0;
      for (double& s : scores) {
        s = std::exp(s - max);
        sum += s;
      }
      float* o = out + (static_cast<size_t>(i) * n_heads + h) * head_dim;
      for (int d = 0; d < head_dim; ++d) {
        double acc = 0.0;
        for (int t = 0; t <= pos; ++t)
          acc += scores[t] / sum * cache.V(layer, t)[kv * head_dim + d];
        o[d] = static_cast<float>(acc);
      }
    }
  }
}

float HalfToFloatRef(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<double>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::quiet_NaN();
  } else {
    value = std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
  }
  return static_cast<float>(sign ? -value : value);
}

void DequantizeQ8_0Ref(const BlockQ8_0* x, float* y, int n) {
  for (int i = 0; i < n; ++i) {
    const BlockQ8_0& block = x[i / kQuantBlock];
    y[i] = static_cast<float>(static_cast<double>(HalfToFloatRef(block.d)) *
                              block.qs[i % kQuantBlock]);
  }
}

namespace {

void DequantizeBlockQ4_0Ref(const BlockQ4_0& block, float* y) {
  for (int j = 0; j < kQuantBlock; ++j) {
    // Value j lives in the low nibble of qs[j] for j < 16, else in the high nibble of qs[j-16].
    const int nibble =
        j < kQuantBlock / 2 ? block.qs[j] & 0x0f : block.qs[j - kQuantBlock / 2] >> 4;
    y[j] = static_cast<float>(static_cast<double>(HalfToFloatRef(block.d)) * (nibble - 8));
  }
}

}  // namespace

void DequantizeQ4_0Ref(const BlockQ4_0* x, float* y, int n) {
  for (int b = 0; b < n / kQuantBlock; ++b) DequantizeBlockQ4_0Ref(x[b], y + b * kQuantBlock);
}

namespace {

template <typename Block>
void QuantMatVecRef(void (*dequantize)(const Block*, float*, int), const Block* W, const float* x,
                    float* y, int N, int K) {
  std::vector<float> row(K);
  const int blocks = K / kQuantBlock;
  for (int n = 0; n < N; ++n) {
    dequantize(W + static_cast<size_t>(n) * blocks, row.data(), K);
    double acc = 0.0;
    for (int k = 0; k < K; ++k) acc += static_cast<double>(row[k]) * x[k];
    y[n] = static_cast<float>(acc);
  }
}

}  // namespace

void MatVecQ8_0Ref(const BlockQ8_0* W, const float* x, float* y, int N, int K) {
  QuantMatVecRef<BlockQ8_0>(DequantizeQ8_0Ref, W, x, y, N, K);
}

void MatVecQ4_0Ref(const BlockQ4_0* W, const float* x, float* y, int N, int K) {
  QuantMatVecRef<BlockQ4_0>(DequantizeQ4_0Ref, W, x, y, N, K);
}

}  // namespace rlvr
