#include "kernels/backward.h"

#include <cmath>

#include "kernels/softmax.h"
#include "kernels/vec_exp.h"

namespace rlvr {

namespace {

constexpr int kLanes = 16;  // independent partial sums: vectorize without -ffast-math

float Dot(const float* a, const float* b, int n) {
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += a[i + l] * b[i + l];
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y[0, n) += a * x[0, n).
void Axpy(float a, const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

void RmsNormBackward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, int rows, int n, float eps) {
  if (n <= 0) return;
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * n;
    const float* dyr = dy + static_cast<size_t>(r) * n;
    float* dxr = dx + static_cast<size_t>(r) * n;
    const float mean_square = Dot(xr, xr, n) / static_cast<float>(n);
    const float inv = 1.0f / std::sqrt(mean_square + eps);
    // y_j = x_j * inv * w_j, inv = (mean(x^2) + eps)^(-1/2), d inv / d x_k = -inv^3 x_k / n:
    // dx_k = inv * dy_k w_k - inv^3 / n * x_k * sum_j dy_j w_j x_j.
    float lane[kLanes] = {};
    int j = 0;
    for (; j + kLanes <= n; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) lane[l] += dyr[j + l] * weight[j + l] * xr[j + l];
    }
    float dot = 0.0f;
    for (int l = 0; l < kLanes; ++l) dot += lane[l];
    for (; j < n; ++j) dot += dyr[j] * weight[j] * xr[j];
    // inv^3 alone underflows to subnormals for |x| above ~1e12: multiply it into dot one factor
    // at a time, each product staying near the scale of the result.
    const float coefficient = inv * (inv * (inv * dot)) / static_cast<float>(n);
    for (int k = 0; k < n; ++k) {
      dxr[k] += inv * dyr[k] * weight[k] - coefficient * xr[k];
      dweight[k] += dyr[k] * xr[k] * inv;
    }
  }
}

void SoftmaxBackward(const float* y, const float* dy, float* dx, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const float* yr = y + static_cast<size_t>(r) * cols;
    const float* dyr = dy + static_cast<size_t>(r) * cols;
    float* dxr = dx + static_cast<size_t>(r) * cols;
    const float dot = Dot(dyr, yr, cols);
    for (int j = 0; j < cols; ++j) dxr[j] += yr[j] * (dyr[j] - dot);
  }
}

float CrossEntropyForwardBackward(const float* logits, const int* targets, float* dlogits, int rows,
                                  int vocab, float scale) {
  if (rows <= 0) return 0.0f;
  double total = 0.0;
  const float per_row = scale / static_cast<float>(rows);
  for (int r = 0; r < rows; ++r) {
    const float* z = logits + static_cast<size_t>(r) * vocab;
    float* g = dlogits + static_cast<size_t>(r) * vocab;
    float max = z[0];
    for (int j = 1; j < vocab; ++j) max = z[j] > max ? z[j] : max;
    const float target_logit = z[targets[r]];  // read before g (which may alias z) is written
    float lane[kLanes] = {};
    int j = 0;
    for (; j + kLanes <= vocab; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const float e = ExpFast(z[j + l] - max);
        g[j + l] = e;
        lane[l] += e;
      }
    }
    float sum = 0.0f;
    for (int l = 0; l < kLanes; ++l) sum += lane[l];
    for (; j < vocab; ++j) {
      const float e = ExpFast(z[j] - max);
      g[j] = e;
      sum += e;
    }
    total += static_cast<double>(std::log(sum)) + max - target_logit;
    const float factor = per_row / sum;
    for (int k = 0; k < vocab; ++k) g[k] *= factor;
    g[targets[r]] -= per_row;
  }
  return static_cast<float>(total / rows);
}

void SwiGLUBackward(const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                    size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sigmoid = 1.0f / (1.0f + ExpFast(-g));
    const float silu = g * sigmoid;
    // silu'(g) = sigmoid(g) * (1 + g * (1 - sigmoid(g))).
    dgate[i] += dout[i] * up[i] * sigmoid * (1.0f + g * (1.0f - sigmoid));
    dup[i] += dout[i] * silu;
  }
}

void RopeBackward(float* dvec, int n_heads, int head_dim, int pos, const RopeCache& cache) {
  const int half = head_dim / 2;
  const float* c = cache.cos.data() + static_cast<size_t>(pos) * half;
  const float* s = cache.sin.data() + static_cast<size_t>(pos) * half;
  for (int h = 0; h < n_heads; ++h) {
    float* lo = dvec + static_cast<size_t>(h) * head_dim;
    float* hi = lo + half;
    for (int i = 0; i < half; ++i) {
      const float d0 = lo[i];
      const float d1 = hi[i];
      lo[i] = d0 * c[i] + d1 * s[i];
      hi[i] = d1 * c[i] - d0 * s[i];
    }
  }
}

void CausalAttentionForward(const float* q, const float* k, const float* v, float* out,
                            float* probs, int T, int n_heads, int n_kv_heads, int head_dim) {
  const int group = n_heads / n_kv_heads;
  const size_t q_stride = static_cast<size_t>(n_heads) * head_dim;
  const size_t kv_stride = static_cast<size_t>(n_kv_heads) * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int h = 0; h < n_heads; ++h) {
    const int g = h / group;
    for (int i = 0; i < T; ++i) {
      const float* qi = q + i * q_stride + static_cast<size_t>(h) * head_dim;
      float* p = probs + (static_cast<size_t>(h) * T + i) * T;
      for (int j = 0; j <= i; ++j) {
        p[j] = scale * Dot(qi, k + j * kv_stride + static_cast<size_t>(g) * head_dim, head_dim);
      }
      Softmax(p, i + 1);
      for (int j = i + 1; j < T; ++j) p[j] = 0.0f;
      float* oi = out + i * q_stride + static_cast<size_t>(h) * head_dim;
      for (int d = 0; d < head_dim; ++d) oi[d] = 0.0f;
      for (int j = 0; j <= i; ++j) {
        Axpy(p[j], v + j * kv_stride + static_cast<size_t>(g) * head_dim, oi, head_dim);
      }
    }
  }
}

void CausalAttentionBackward(const float* q, const float* k, const float* v, const float* probs,
                             const float* dout, float* dq, float* dk, float* dv, float* scratch,
                             int T, int n_heads, int n_kv_heads, int head_dim) {
  const int group = n_heads / n_kv_heads;
  const size_t q_stride = static_cast<size_t>(n_heads) * head_dim;
  const size_t kv_stride = static_cast<size_t>(n_kv_heads) * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int h = 0; h < n_heads; ++h) {
    const size_t q_offset = static_cast<size_t>(h) * head_dim;
    const size_t kv_offset = static_cast<size_t>(h / group) * head_dim;
    for (int i = 0; i < T; ++i) {
      const float* p = probs + (static_cast<size_t>(h) * T + i) * T;
      const float* doi = dout + i * q_stride + q_offset;
      const float* qi = q + i * q_stride + q_offset;
      float* dqi = dq + i * q_stride + q_offset;
      // dP_j = dout_i . v_j; dS_j = P_j (dP_j - sum_l P_l dP_l) is the softmax backward.
      float weighted = 0.0f;
      for (int j = 0; j <= i; ++j) {
        scratch[j] = Dot(doi, v + j * kv_stride + kv_offset, head_dim);
        weighted += p[j] * scratch[j];
      }
      for (int j = 0; j <= i; ++j) {
        const float ds = scale * p[j] * (scratch[j] - weighted);
        Axpy(ds, k + j * kv_stride + kv_offset, dqi, head_dim);
        Axpy(ds, qi, dk + j * kv_stride + kv_offset, head_dim);
        Axpy(p[j], doi, dv + j * kv_stride + kv_offset, head_dim);
      }
    }
  }
}

}  // namespace rlvr
