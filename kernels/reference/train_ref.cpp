#include "kernels/reference/train_ref.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace rlvr {

namespace {

using Vec = std::vector<double>;

Vec ToDouble(const float* x, size_t n) {
  return Vec(x, x + n);
}

void AddInto(float* out, const Vec& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    out[i] = static_cast<float>(static_cast<double>(out[i]) + values[i]);
  }
}

// --- The operations in double, on [rows][width] buffers ----------------------------------------

// y[M,N] = x[M,K] * W[N,K]^T. The loops run as row updates over a transposed W (they vectorize
// without reassociating a sum, which keeps the benchmarks' verification of whole training steps
// affordable); every sum is still in double.
Vec LinearD(const Vec& x, const Vec& W, int M, int N, int K) {
  Vec Wt(static_cast<size_t>(K) * N);
  for (int j = 0; j < N; ++j) {
    for (int k = 0; k < K; ++k) Wt[size_t(k) * N + j] = W[size_t(j) * K + k];
  }
  Vec y(static_cast<size_t>(M) * N, 0.0);
  for (int i = 0; i < M; ++i) {
    double* yi = &y[size_t(i) * N];
    for (int k = 0; k < K; ++k) {
      const double a = x[size_t(i) * K + k];
      const double* wk = &Wt[size_t(k) * N];
      for (int j = 0; j < N; ++j) yi[j] += a * wk[j];
    }
  }
  return y;
}

// dx += dy * W; dW += dy^T * x.
void LinearBackwardD(const Vec& dy, const Vec& x, const Vec& W, Vec* dx, Vec* dW, int M, int N,
                     int K) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      const double g = dy[size_t(i) * N + j];
      if (dx) {
        double* dxi = &(*dx)[size_t(i) * K];
        const double* wj = &W[size_t(j) * K];
        for (int k = 0; k < K; ++k) dxi[k] += g * wj[k];
      }
      if (dW) {
        double* dwj = &(*dW)[size_t(j) * K];
        const double* xi = &x[size_t(i) * K];
        for (int k = 0; k < K; ++k) dwj[k] += g * xi[k];
      }
    }
  }
}

double InverseRms(const double* x, int n, double eps) {
  double sum = 0.0;
  for (int j = 0; j < n; ++j) sum += x[j] * x[j];
  return 1.0 / std::sqrt(sum / n + eps);
}

Vec RmsNormD(const Vec& x, const Vec& w, int rows, int n, double eps) {
  Vec y(x.size());
  for (int r = 0; r < rows; ++r) {
    const double inv = InverseRms(&x[size_t(r) * n], n, eps);
    for (int j = 0; j < n; ++j) y[size_t(r) * n + j] = x[size_t(r) * n + j] * inv * w[j];
  }
  return y;
}

void RmsNormBackwardD(const Vec& x, const Vec& w, const Vec& dy, Vec& dx, Vec& dw, int rows, int n,
                      double eps) {
  for (int r = 0; r < rows; ++r) {
    const double* xr = &x[size_t(r) * n];
    const double* dyr = &dy[size_t(r) * n];
    const double inv = InverseRms(xr, n, eps);
    double dot = 0.0;  // sum_j dy_j w_j x_j
    for (int j = 0; j < n; ++j) dot += dyr[j] * w[j] * xr[j];
    for (int k = 0; k < n; ++k) {
      dx[size_t(r) * n + k] += inv * dyr[k] * w[k] - inv * inv * inv * dot / n * xr[k];
      dw[k] += dyr[k] * xr[k] * inv;
    }
  }
}

// Rotates the n_heads vectors of head_dim at vec by `sign` * the RoPE angle of position pos.
void RopeD(double* vec, int n_heads, int head_dim, int pos, double theta, double sign) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    double* x = vec + size_t(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const double angle = sign * pos * std::pow(theta, -2.0 * i / head_dim);
      const double c = std::cos(angle), s = std::sin(angle);
      const double x0 = x[i], x1 = x[i + half];
      x[i] = x0 * c - x1 * s;
      x[i + half] = x1 * c + x0 * s;
    }
  }
}

double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// One sequence; probs [n_heads][T][T].
void AttentionD(const double* q, const double* k, const double* v, double* out, double* probs,
                int T, int H, int KVH, int hd) {
  const int group = H / KVH;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (int h = 0; h < H; ++h) {
    const int g = h / group;
    for (int i = 0; i < T; ++i) {
      double* p = probs + (size_t(h) * T + i) * T;
      double max = -INFINITY;
      for (int j = 0; j < T; ++j) {
        if (j > i) {
          p[j] = 0.0;
          continue;
        }
        double s = 0.0;
        for (int d = 0; d < hd; ++d)
          s += q[(size_t(i) * H + h) * hd + d] * k[(size_t(j) * KVH + g) * hd + d];
        p[j] = s * scale;
        max = std::max(max, p[j]);
      }
      double sum = 0.0;
      for (int j = 0; j <= i; ++j) sum += (p[j] = std::exp(p[j] - max));
      for (int j = 0; j <= i; ++j) p[j] /= sum;
      for (int d = 0; d < hd; ++d) {
        double o = 0.0;
        for (int j = 0; j <= i; ++j) o += p[j] * v[(size_t(j) * KVH + g) * hd + d];
        out[(size_t(i) * H + h) * hd + d] = o;
      }
    }
  }
}

void AttentionBackwardD(const double* q, const double* k, const double* v, const double* probs,
                        const double* dout, double* dq, double* dk, double* dv, int T, int H,
                        int KVH, int hd) {
  const int group = H / KVH;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  Vec dp(T);
  for (int h = 0; h < H; ++h) {
    const int g = h / group;
    for (int i = 0; i < T; ++i) {
      const double* p = probs + (size_t(h) * T + i) * T;
      const double* doi = dout + (size_t(i) * H + h) * hd;
      double weighted = 0.0;
      for (int j = 0; j <= i; ++j) {
        dp[j] = 0.0;
        for (int d = 0; d < hd; ++d) dp[j] += doi[d] * v[(size_t(j) * KVH + g) * hd + d];
        weighted += p[j] * dp[j];
      }
      for (int j = 0; j <= i; ++j) {
        const double ds = p[j] * (dp[j] - weighted) * scale;
        for (int d = 0; d < hd; ++d) {
          dq[(size_t(i) * H + h) * hd + d] += ds * k[(size_t(j) * KVH + g) * hd + d];
          dk[(size_t(j) * KVH + g) * hd + d] += ds * q[(size_t(i) * H + h) * hd + d];
          dv[(size_t(j) * KVH + g) * hd + d] += p[j] * doi[d];
        }
      }
    }
  }
}

// Mean cross-entropy of rows of logits; dlogits = (softmax - onehot) * scale / rows.
double CrossEntropyD(const Vec& logits, const int* targets, Vec& dlogits, int rows, int vocab,
                     double scale) {
  double total = 0.0;
  for (int r = 0; r < rows; ++r) {
    const double* z = &logits[size_t(r) * vocab];
    double max = z[0];
    for (int j = 1; j < vocab; ++j) max = std::max(max, z[j]);
    double sum = 0.0;
    for (int j = 0; j < vocab; ++j) sum += std::exp(z[j] - max);
    total += std::log(sum) + max - z[targets[r]];
    for (int j = 0; j < vocab; ++j) {
      const double onehot = j == targets[r] ? 1.0 : 0.0;
      dlogits[size_t(r) * vocab + j] = (std::exp(z[j] - max) / sum - onehot) * scale / rows;
    }
  }
  return total / rows;
}

}  // namespace

// --- Per-operation references -------------------------------------------------------------------

void LinearBackwardInputRef(const float* dy, const float* W, float* dx, int M, int N, int K) {
  Vec dxd(size_t(M) * K, 0.0);
  LinearBackwardD(ToDouble(dy, size_t(M) * N), Vec(), ToDouble(W, size_t(N) * K), &dxd, nullptr, M,
                  N, K);
  AddInto(dx, dxd);
}

void LinearBackwardWeightRef(const float* dy, const float* x, float* dW, int M, int N, int K) {
  Vec dWd(size_t(N) * K, 0.0);
  LinearBackwardD(ToDouble(dy, size_t(M) * N), ToDouble(x, size_t(M) * K), Vec(), nullptr, &dWd, M,
                  N, K);
  AddInto(dW, dWd);
}

void RmsNormBackwardRef(const float* x, const float* weight, const float* dy, float* dx,
                        float* dweight, int rows, int n, float eps) {
  const size_t size = size_t(rows) * n;
  Vec dxd(size, 0.0), dwd(n, 0.0);
  RmsNormBackwardD(ToDouble(x, size), ToDouble(weight, n), ToDouble(dy, size), dxd, dwd, rows, n,
                   eps);
  AddInto(dx, dxd);
  AddInto(dweight, dwd);
}

void SoftmaxBackwardRef(const float* y, const float* dy, float* dx, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const float* yr = y + size_t(r) * cols;
    const float* dyr = dy + size_t(r) * cols;
    double dot = 0.0;
    for (int j = 0; j < cols; ++j) dot += static_cast<double>(dyr[j]) * yr[j];
    for (int j = 0; j < cols; ++j) {
      dx[size_t(r) * cols + j] = static_cast<float>(dx[size_t(r) * cols + j] +
                                                    static_cast<double>(yr[j]) * (dyr[j] - dot));
    }
  }
}

float CrossEntropyForwardBackwardRef(const float* logits, const int* targets, float* dlogits,
                                     int rows, int vocab, float scale) {
  if (rows <= 0) return 0.0f;
  const size_t size = size_t(rows) * vocab;
  Vec d(size);
  const double loss = CrossEntropyD(ToDouble(logits, size), targets, d, rows, vocab, scale);
  for (size_t i = 0; i < size; ++i) dlogits[i] = static_cast<float>(d[i]);
  return static_cast<float>(loss);
}

void SwiGLUBackwardRef(const float* gate, const float* up, const float* dout, float* dgate,
                       float* dup, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i], s = Sigmoid(g);
    dgate[i] = static_cast<float>(dgate[i] +
                                  static_cast<double>(dout[i]) * up[i] * (s + g * s * (1.0 - s)));
    dup[i] = static_cast<float>(dup[i] + static_cast<double>(dout[i]) * g * s);
  }
}

void RopeBackwardRef(float* dvec, int n_heads, int head_dim, int pos, float theta) {
  Vec d = ToDouble(dvec, size_t(n_heads) * head_dim);
  RopeD(d.data(), n_heads, head_dim, pos, theta, -1.0);
  for (size_t i = 0; i < d.size(); ++i) dvec[i] = static_cast<float>(d[i]);
}

void CausalAttentionForwardRef(const float* q, const float* k, const float* v, float* out,
                               float* probs, int T, int n_heads, int n_kv_heads, int head_dim) {
  const size_t qn = size_t(T) * n_heads * head_dim, kvn = size_t(T) * n_kv_heads * head_dim;
  Vec o(qn), p(size_t(n_heads) * T * T);
  AttentionD(ToDouble(q, qn).data(), ToDouble(k, kvn).data(), ToDouble(v, kvn).data(), o.data(),
             p.data(), T, n_heads, n_kv_heads, head_dim);
  for (size_t i = 0; i < qn; ++i) out[i] = static_cast<float>(o[i]);
  for (size_t i = 0; i < p.size(); ++i) probs[i] = static_cast<float>(p[i]);
}

void CausalAttentionBackwardRef(const float* q, const float* k, const float* v, const float* dout,
                                float* dq, float* dk, float* dv, int T, int n_heads, int n_kv_heads,
                                int head_dim) {
  const size_t qn = size_t(T) * n_heads * head_dim, kvn = size_t(T) * n_kv_heads * head_dim;
  const Vec qd = ToDouble(q, qn), kd = ToDouble(k, kvn), vd = ToDouble(v, kvn);
  // The probabilities recomputed in double, not taken from the fast forward.
  Vec o(qn), p(size_t(n_heads) * T * T), dqd(qn, 0.0), dkd(kvn, 0.0), dvd(kvn, 0.0);
  AttentionD(qd.data(), kd.data(), vd.data(), o.data(), p.data(), T, n_heads, n_kv_heads, head_dim);
  AttentionBackwardD(qd.data(), kd.data(), vd.data(), p.data(), ToDouble(dout, qn).data(),
                     dqd.data(), dkd.data(), dvd.data(), T, n_heads, n_kv_heads, head_dim);
  AddInto(dq, dqd);
  AddInto(dk, dkd);
  AddInto(dv, dvd);
}

void AdamStepRef(float* param, const float* grad, float* m, float* v, size_t n, int step,
                 const AdamConfig& config) {
  const double b1 = config.beta1, b2 = config.beta2, lr = config.lr;
  const double c1 = 1.0 - std::pow(b1, step), c2 = 1.0 - std::pow(b2, step);
  for (size_t i = 0; i < n; ++i) {
    const double g = grad[i];
    const double mi = b1 * m[i] + (1.0 - b1) * g;
    const double vi = b2 * v[i] + (1.0 - b2) * g * g;
    const double p = param[i] * (1.0 - lr * config.weight_decay);
    param[i] = static_cast<float>(p - lr / c1 * mi / (std::sqrt(vi / c2) + config.eps));
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
  }
}

// --- The whole training step in double ----------------------------------------------------------

namespace {

struct LayerD {
  Vec input_norm, q_proj, k_proj, v_proj, o_proj, post_norm, gate_proj, up_proj, down_proj;
};

Vec Of(const std::vector<float>& v) {
  return Vec(v.begin(), v.end());
}

void Store(const Vec& from, std::vector<float>& to) {
  to.resize(from.size());
  for (size_t i = 0; i < from.size(); ++i) to[i] = static_cast<float>(from[i]);
}

// What the backward needs of one layer's forward.
struct LayerSaved {
  Vec input, normed1, q, k, v, probs, attended, middle, normed2, gate, up, hidden;
};

}  // namespace

double TrainingLossRef(const ModelWeights& weights, std::span<const int> tokens, int batch,
                       int seq_len, ModelWeights* grads) {
  const ModelConfig& c = weights.config;
  const int T = seq_len, R = batch * seq_len, d = c.dim, H = c.n_heads, KVH = c.n_kv_heads;
  const int hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim(), f = c.ffn_dim, V = c.vocab;
  const double eps = c.norm_eps;
  if (tokens.size() != size_t(batch) * (seq_len + 1)) {
    throw std::invalid_argument("TrainingLossRef: " + std::to_string(tokens.size()) +
                                " tokens for batch " + std::to_string(batch) + " x (seq_len " +
                                std::to_string(seq_len) + " + 1)");
  }
  std::vector<int> inputs(R), targets(R);
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < T; ++t) {
      inputs[b * T + t] = tokens[size_t(b) * (T + 1) + t];
      targets[b * T + t] = tokens[size_t(b) * (T + 1) + t + 1];
    }
  }
  const Vec embed = Of(weights.embed_tokens), final_norm = Of(weights.final_norm);
  const Vec head = c.tie_embeddings ? embed : Of(weights.lm_head);
  std::vector<LayerD> L(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = weights.layers[l];
    L[l] = {Of(w.input_norm), Of(w.q_proj),    Of(w.k_proj),  Of(w.v_proj),   Of(w.o_proj),
            Of(w.post_norm),  Of(w.gate_proj), Of(w.up_proj), Of(w.down_proj)};
  }

  // Forward.
  std::vector<LayerSaved> S(c.n_layers);
  Vec x(size_t(R) * d);
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < d; ++j) x[size_t(r) * d + j] = embed[size_t(inputs[r]) * d + j];
  }
  for (int l = 0; l < c.n_layers; ++l) {
    LayerSaved& s = S[l];
    s.input = x;
    s.normed1 = RmsNormD(x, L[l].input_norm, R, d, eps);
    s.q = LinearD(s.normed1, L[l].q_proj, R, qd, d);
    s.k = LinearD(s.normed1, L[l].k_proj, R, kvd, d);
    s.v = LinearD(s.normed1, L[l].v_proj, R, kvd, d);
    for (int r = 0; r < R; ++r) {
      RopeD(&s.q[size_t(r) * qd], H, hd, r % T, c.rope_theta, 1.0);
      RopeD(&s.k[size_t(r) * kvd], KVH, hd, r % T, c.rope_theta, 1.0);
    }
    s.attended.assign(size_t(R) * qd, 0.0);
    s.probs.assign(size_t(batch) * H * T * T, 0.0);
    for (int b = 0; b < batch; ++b) {
      AttentionD(&s.q[size_t(b) * T * qd], &s.k[size_t(b) * T * kvd], &s.v[size_t(b) * T * kvd],
                 &s.attended[size_t(b) * T * qd], &s.probs[size_t(b) * H * T * T], T, H, KVH, hd);
    }
    s.middle = LinearD(s.attended, L[l].o_proj, R, d, qd);
    for (size_t i = 0; i < x.size(); ++i) s.middle[i] += x[i];
    s.normed2 = RmsNormD(s.middle, L[l].post_norm, R, d, eps);
    s.gate = LinearD(s.normed2, L[l].gate_proj, R, f, d);
    s.up = LinearD(s.normed2, L[l].up_proj, R, f, d);
    s.hidden.resize(s.gate.size());
    for (size_t i = 0; i < s.gate.size(); ++i) {
      s.hidden[i] = s.gate[i] * Sigmoid(s.gate[i]) * s.up[i];
    }
    x = LinearD(s.hidden, L[l].down_proj, R, d, f);
    for (size_t i = 0; i < x.size(); ++i) x[i] += s.middle[i];
  }
  const Vec final_normed = RmsNormD(x, final_norm, R, d, eps);
  const Vec logits = LinearD(final_normed, head, R, V, d);
  Vec dlogits(logits.size());
  const double loss = CrossEntropyD(logits, targets.data(), dlogits, R, V, 1.0);
  if (grads == nullptr) return loss;

  // Backward.
  Vec d_embed(embed.size(), 0.0), d_head(head.size(), 0.0), d_final_norm(d, 0.0);
  Vec d_normed(size_t(R) * d, 0.0), dx(size_t(R) * d, 0.0);
  LinearBackwardD(dlogits, final_normed, head, &d_normed, &d_head, R, V, d);
  RmsNormBackwardD(x, final_norm, d_normed, dx, d_final_norm, R, d, eps);
  grads->config = c;
  grads->layers.resize(c.n_layers);
  for (int l = c.n_layers - 1; l >= 0; --l) {
    const LayerSaved& s = S[l];
    const LayerD& w = L[l];
    LayerD g{Vec(d, 0.0),
             Vec(w.q_proj.size(), 0.0),
             Vec(w.k_proj.size(), 0.0),
             Vec(w.v_proj.size(), 0.0),
             Vec(w.o_proj.size(), 0.0),
             Vec(d, 0.0),
             Vec(w.gate_proj.size(), 0.0),
             Vec(w.up_proj.size(), 0.0),
             Vec(w.down_proj.size(), 0.0)};
    Vec d_hidden(size_t(R) * f, 0.0);
    LinearBackwardD(dx, s.hidden, w.down_proj, &d_hidden, &g.down_proj, R, d, f);
    Vec d_gate(d_hidden.size()), d_up(d_hidden.size());
    for (size_t i = 0; i < d_hidden.size(); ++i) {
      const double gt = s.gate[i], sg = Sigmoid(gt);
      d_gate[i] = d_hidden[i] * s.up[i] * (sg + gt * sg * (1.0 - sg));
      d_up[i] = d_hidden[i] * gt * sg;
    }
    Vec dn2(size_t(R) * d, 0.0);
    LinearBackwardD(d_gate, s.normed2, w.gate_proj, &dn2, &g.gate_proj, R, f, d);
    LinearBackwardD(d_up, s.normed2, w.up_proj, &dn2, &g.up_proj, R, f, d);
    RmsNormBackwardD(s.middle, w.post_norm, dn2, dx, g.post_norm, R, d, eps);

    Vec d_att(size_t(R) * qd, 0.0);
    LinearBackwardD(dx, s.attended, w.o_proj, &d_att, &g.o_proj, R, d, qd);
    Vec dq(size_t(R) * qd, 0.0), dk(size_t(R) * kvd, 0.0), dv(size_t(R) * kvd, 0.0);
    for (int b = 0; b < batch; ++b) {
      AttentionBackwardD(&s.q[size_t(b) * T * qd], &s.k[size_t(b) * T * kvd],
                         &s.v[size_t(b) * T * kvd], &s.probs[size_t(b) * H * T * T],
                         &d_att[size_t(b) * T * qd], &dq[size_t(b) * T * qd],
                         &dk[size_t(b) * T * kvd], &dv[size_t(b) * T * kvd], T, H, KVH, hd);
    }
    for (int r = 0; r < R; ++r) {
      RopeD(&dq[size_t(r) * qd], H, hd, r % T, c.rope_theta, -1.0);
      RopeD(&dk[size_t(r) * kvd], KVH, hd, r % T, c.rope_theta, -1.0);
    }
    Vec dn1(size_t(R) * d, 0.0);
    LinearBackwardD(dq, s.normed1, w.q_proj, &dn1, &g.q_proj, R, qd, d);
    LinearBackwardD(dk, s.normed1, w.k_proj, &dn1, &g.k_proj, R, kvd, d);
    LinearBackwardD(dv, s.normed1, w.v_proj, &dn1, &g.v_proj, R, kvd, d);
    RmsNormBackwardD(s.input, w.input_norm, dn1, dx, g.input_norm, R, d, eps);

    LayerWeights& out = grads->layers[l];
    Store(g.input_norm, out.input_norm);
    Store(g.q_proj, out.q_proj);
    Store(g.k_proj, out.k_proj);
    Store(g.v_proj, out.v_proj);
    Store(g.o_proj, out.o_proj);
    Store(g.post_norm, out.post_norm);
    Store(g.gate_proj, out.gate_proj);
    Store(g.up_proj, out.up_proj);
    Store(g.down_proj, out.down_proj);
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < d; ++j) d_embed[size_t(inputs[r]) * d + j] += dx[size_t(r) * d + j];
  }
  if (c.tie_embeddings) {
    for (size_t i = 0; i < d_embed.size(); ++i) d_embed[i] += d_head[i];
    grads->lm_head.clear();
  } else {
    Store(d_head, grads->lm_head);
  }
  Store(d_embed, grads->embed_tokens);
  Store(d_final_norm, grads->final_norm);
  return loss;
}

}  // namespace rlvr
