#include "kernels/trainer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/activation.h"
#include "kernels/backward.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"

namespace rlvr {

namespace {

struct TensorRef {
  std::vector<float>* data;
  size_t size;
  const char* name;
};

// Every trainable tensor of w in a fixed order with the size its config implies (lm_head only
// when untied).
std::vector<TensorRef> Tensors(ModelWeights& w) {
  const ModelConfig& c = w.config;
  const size_t d = c.dim, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim, v = c.vocab;
  std::vector<TensorRef> t;
  t.push_back({&w.embed_tokens, v * d, "embed_tokens"});
  for (LayerWeights& l : w.layers) {
    t.push_back({&l.input_norm, d, "input_norm"});
    t.push_back({&l.q_proj, q * d, "q_proj"});
    t.push_back({&l.k_proj, kv * d, "k_proj"});
    t.push_back({&l.v_proj, kv * d, "v_proj"});
    t.push_back({&l.o_proj, d * q, "o_proj"});
    t.push_back({&l.post_norm, d, "post_norm"});
    t.push_back({&l.gate_proj, f * d, "gate_proj"});
    t.push_back({&l.up_proj, f * d, "up_proj"});
    t.push_back({&l.down_proj, d * f, "down_proj"});
  }
  t.push_back({&w.final_norm, d, "final_norm"});
  if (!c.tie_embeddings) t.push_back({&w.lm_head, v * d, "lm_head"});
  return t;
}

// A zero-filled ModelWeights of the same shapes.
ModelWeights ZerosLike(const ModelWeights& w) {
  ModelWeights z;
  z.config = w.config;
  z.layers.resize(w.config.n_layers);
  for (TensorRef& t : Tensors(z)) t.data->assign(t.size, 0.0f);
  return z;
}

ModelWeights& Checked(ModelWeights& w, int batch, int seq_len) {
  w.config.Validate();
  if (w.layers.size() != static_cast<size_t>(w.config.n_layers)) {
    throw std::invalid_argument("Trainer: " + std::to_string(w.layers.size()) +
                                " layers of weights, config says " +
                                std::to_string(w.config.n_layers));
  }
  for (const TensorRef& t : Tensors(w)) {
    if (t.data->size() != t.size) {
      throw std::invalid_argument(std::string("Trainer: weight ") + t.name + " has " +
                                  std::to_string(t.data->size()) + " floats, its config needs " +
                                  std::to_string(t.size));
    }
  }
  if (batch <= 0 || seq_len <= 0 || seq_len > w.config.max_positions) {
    throw std::invalid_argument("Trainer: batch " + std::to_string(batch) + " and seq_len " +
                                std::to_string(seq_len) +
                                " must be positive, seq_len at most max_positions " +
                                std::to_string(w.config.max_positions));
  }
  return w;
}

void Zero(std::vector<float>& v) {
  std::fill(v.begin(), v.end(), 0.0f);
}

void AddInPlace(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

Trainer::Trainer(ModelWeights& weights, int batch, int seq_len, const AdamConfig& adam,
                 ThreadPool* pool)
    : weights_(Checked(weights, batch, seq_len)),
      config_(weights.config),
      batch_(batch),
      seq_len_(seq_len),
      rows_(batch * seq_len),
      adam_(adam),
      pool_(pool ? pool : &DefaultPool()),
      rope_(config_.head_dim, seq_len, config_.rope_theta),
      grads_(ZerosLike(weights)),
      adam_m_(ZerosLike(weights)),
      adam_v_(ZerosLike(weights)) {
  const ModelConfig& c = config_;
  const size_t rows = rows_;
  const size_t d = c.dim, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim, v = c.vocab;
  inputs_.resize(rows);
  targets_.resize(rows);
  layers_.resize(c.n_layers);
  for (LayerActivations& a : layers_) {
    a.input.resize(rows * d);
    a.normed1.resize(rows * d);
    a.q.resize(rows * q);
    a.k.resize(rows * kv);
    a.v.resize(rows * kv);
    a.probs.resize(static_cast<size_t>(batch) * c.n_heads * seq_len * seq_len);
    a.attended.resize(rows * q);
    a.middle.resize(rows * d);
    a.normed2.resize(rows * d);
    a.gate.resize(rows * f);
    a.up.resize(rows * f);
    a.hidden.resize(rows * f);
  }
  final_input_.resize(rows * d);
  final_normed_.resize(rows * d);
  logits_.resize(rows * v);
  d_residual_.resize(rows * d);
  d_normed_.resize(rows * d);
  d_q_.resize(rows * q);
  d_k_.resize(rows * kv);
  d_v_.resize(rows * kv);
  d_attended_.resize(rows * q);
  d_gate_.resize(rows * f);
  d_up_.resize(rows * f);
  d_hidden_.resize(rows * f);
  transpose_.resize(rows * std::max({v, f, q, kv, d}));
  attention_scratch_.resize(seq_len);

  std::vector<TensorRef> p = Tensors(weights_), g = Tensors(grads_), m = Tensors(adam_m_),
                         s = Tensors(adam_v_);
  for (size_t i = 0; i < p.size(); ++i) {
    slots_.push_back(
        {p[i].data->data(), g[i].data->data(), m[i].data->data(), s[i].data->data(), p[i].size});
  }
}

float Trainer::ComputeGradients(std::span<const int> tokens) {
  const size_t row_tokens = static_cast<size_t>(seq_len_) + 1;
  if (tokens.size() != static_cast<size_t>(batch_) * row_tokens) {
    throw std::invalid_argument("Trainer: " + std::to_string(tokens.size()) +
                                " tokens, batch * (seq_len + 1) = " +
                                std::to_string(static_cast<size_t>(batch_) * row_tokens));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config_.vocab) {
      throw std::out_of_range("Trainer: token " + std::to_string(tokens[i]) + " at index " +
                              std::to_string(i) + " outside vocabulary [0, " +
                              std::to_string(config_.vocab) + ")");
    }
  }
  for (int b = 0; b < batch_; ++b) {
    for (int t = 0; t < seq_len_; ++t) {
      inputs_[static_cast<size_t>(b) * seq_len_ + t] = tokens[b * row_tokens + t];
      targets_[static_cast<size_t>(b) * seq_len_ + t] = tokens[b * row_tokens + t + 1];
    }
  }
  Forward();
  return Backward();
}

void Trainer::Forward() {
  const ModelConfig& c = config_;
  const int R = rows_, T = seq_len_, d = c.dim, qd = c.q_dim(), kvd = c.kv_dim(), f = c.ffn_dim;
  const size_t rows = R;
  for (int r = 0; r < R; ++r) {
    std::copy_n(weights_.embed_tokens.data() + static_cast<size_t>(inputs_[r]) * d, d,
                layers_[0].input.data() + static_cast<size_t>(r) * d);
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    LayerActivations& a = layers_[l];
    for (int r = 0; r < R; ++r) {
      RmsNorm(a.input.data() + static_cast<size_t>(r) * d, w.input_norm.data(),
              a.normed1.data() + static_cast<size_t>(r) * d, d, c.norm_eps);
    }
    Linear(a.normed1.data(), w.q_proj.data(), a.q.data(), R, qd, d, pool_);
    Linear(a.normed1.data(), w.k_proj.data(), a.k.data(), R, kvd, d, pool_);
    Linear(a.normed1.data(), w.v_proj.data(), a.v.data(), R, kvd, d, pool_);
    for (int r = 0; r < R; ++r) {
      ApplyRope(a.q.data() + static_cast<size_t>(r) * qd, c.n_heads, c.head_dim, r % T, rope_);
      ApplyRope(a.k.data() + static_cast<size_t>(r) * kvd, c.n_kv_heads, c.head_dim, r % T, rope_);
    }
    for (int b = 0; b < batch_; ++b) {
      const size_t row0 = static_cast<size_t>(b) * T;
      CausalAttentionForward(a.q.data() + row0 * qd, a.k.data() + row0 * kvd,
                             a.v.data() + row0 * kvd, a.attended.data() + row0 * qd,
                             a.probs.data() + row0 * c.n_heads * T, T, c.n_heads, c.n_kv_heads,
                             c.head_dim);
    }
    Linear(a.attended.data(), w.o_proj.data(), a.middle.data(), R, d, qd, pool_);
    AddInPlace(a.middle.data(), a.input.data(), rows * d);
    for (int r = 0; r < R; ++r) {
      RmsNorm(a.middle.data() + static_cast<size_t>(r) * d, w.post_norm.data(),
              a.normed2.data() + static_cast<size_t>(r) * d, d, c.norm_eps);
    }
    Linear(a.normed2.data(), w.gate_proj.data(), a.gate.data(), R, f, d, pool_);
    Linear(a.normed2.data(), w.up_proj.data(), a.up.data(), R, f, d, pool_);
    SwiGLU(a.gate.data(), a.up.data(), a.hidden.data(), R * f);
    float* next = l + 1 < c.n_layers ? layers_[l + 1].input.data() : final_input_.data();
    Linear(a.hidden.data(), w.down_proj.data(), next, R, d, f, pool_);
    AddInPlace(next, a.middle.data(), rows * d);
  }
  for (int r = 0; r < R; ++r) {
    RmsNorm(final_input_.data() + static_cast<size_t>(r) * d, weights_.final_norm.data(),
            final_normed_.data() + static_cast<size_t>(r) * d, d, c.norm_eps);
  }
  Linear(final_normed_.data(), weights_.head(), logits_.data(), R, c.vocab, d, pool_);
}

float Trainer::Backward() {
  const ModelConfig& c = config_;
  const int R = rows_, T = seq_len_, d = c.dim, qd = c.q_dim(), kvd = c.kv_dim(), f = c.ffn_dim;
  const int V = c.vocab;
  for (Slot& s : slots_) std::fill(s.grad, s.grad + s.size, 0.0f);
  float* head_grad = c.tie_embeddings ? grads_.embed_tokens.data() : grads_.lm_head.data();
  float* transpose = transpose_.data();

  // The logits become their gradient in place.
  const float loss =
      CrossEntropyForwardBackward(logits_.data(), targets_.data(), logits_.data(), R, V);
  const float* d_logits = logits_.data();
  Zero(d_normed_);
  LinearBackwardInput(d_logits, weights_.head(), d_normed_.data(), R, V, d, pool_);
  LinearBackwardWeight(d_logits, final_normed_.data(), head_grad, R, V, d, transpose, pool_);
  Zero(d_residual_);
  RmsNormBackward(final_input_.data(), weights_.final_norm.data(), d_normed_.data(),
                  d_residual_.data(), grads_.final_norm.data(), R, d, c.norm_eps);

  // d_residual_ holds dloss/d(output of layer l) on entry to each iteration, and dloss/d(input of
  // layer l) on exit: both branches' gradients are added to the skip connection's.
  for (int l = c.n_layers - 1; l >= 0; --l) {
    const LayerWeights& w = weights_.layers[l];
    LayerWeights& g = grads_.layers[l];
    const LayerActivations& a = layers_[l];

    Zero(d_hidden_);
    LinearBackwardInput(d_residual_.data(), w.down_proj.data(), d_hidden_.data(), R, d, f, pool_);
    LinearBackwardWeight(d_residual_.data(), a.hidden.data(), g.down_proj.data(), R, d, f,
                         transpose, pool_);
    Zero(d_gate_);
    Zero(d_up_);
    SwiGLUBackward(a.gate.data(), a.up.data(), d_hidden_.data(), d_gate_.data(), d_up_.data(),
                   static_cast<size_t>(R) * f);
    Zero(d_normed_);
    LinearBackwardInput(d_gate_.data(), w.gate_proj.data(), d_normed_.data(), R, f, d, pool_);
    LinearBackwardInput(d_up_.data(), w.up_proj.data(), d_normed_.data(), R, f, d, pool_);
    LinearBackwardWeight(d_gate_.data(), a.normed2.data(), g.gate_proj.data(), R, f, d, transpose,
                         pool_);
    LinearBackwardWeight(d_up_.data(), a.normed2.data(), g.up_proj.data(), R, f, d, transpose,
                         pool_);
    RmsNormBackward(a.middle.data(), w.post_norm.data(), d_normed_.data(), d_residual_.data(),
                    g.post_norm.data(), R, d, c.norm_eps);

    Zero(d_attended_);
    LinearBackwardInput(d_residual_.data(), w.o_proj.data(), d_attended_.data(), R, d, qd, pool_);
    LinearBackwardWeight(d_residual_.data(), a.attended.data(), g.o_proj.data(), R, d, qd,
                         transpose, pool_);
    Zero(d_q_);
    Zero(d_k_);
    Zero(d_v_);
    for (int b = 0; b < batch_; ++b) {
      const size_t row0 = static_cast<size_t>(b) * T;
      CausalAttentionBackward(a.q.data() + row0 * qd, a.k.data() + row0 * kvd,
                              a.v.data() + row0 * kvd, a.probs.data() + row0 * c.n_heads * T,
                              d_attended_.data() + row0 * qd, d_q_.data() + row0 * qd,
                              d_k_.data() + row0 * kvd, d_v_.data() + row0 * kvd,
                              attention_scratch_.data(), T, c.n_heads, c.n_kv_heads, c.head_dim);
    }
    for (int r = 0; r < R; ++r) {
      RopeBackward(d_q_.data() + static_cast<size_t>(r) * qd, c.n_heads, c.head_dim, r % T, rope_);
      RopeBackward(d_k_.data() + static_cast<size_t>(r) * kvd, c.n_kv_heads, c.head_dim, r % T,
                   rope_);
    }
    Zero(d_normed_);
    LinearBackwardInput(d_q_.data(), w.q_proj.data(), d_normed_.data(), R, qd, d, pool_);
    LinearBackwardInput(d_k_.data(), w.k_proj.data(), d_normed_.data(), R, kvd, d, pool_);
    LinearBackwardInput(d_v_.data(), w.v_proj.data(), d_normed_.data(), R, kvd, d, pool_);
    LinearBackwardWeight(d_q_.data(), a.normed1.data(), g.q_proj.data(), R, qd, d, transpose,
                         pool_);
    LinearBackwardWeight(d_k_.data(), a.normed1.data(), g.k_proj.data(), R, kvd, d, transpose,
                         pool_);
    LinearBackwardWeight(d_v_.data(), a.normed1.data(), g.v_proj.data(), R, kvd, d, transpose,
                         pool_);
    RmsNormBackward(a.input.data(), w.input_norm.data(), d_normed_.data(), d_residual_.data(),
                    g.input_norm.data(), R, d, c.norm_eps);
  }
  for (int r = 0; r < R; ++r) {
    AddInPlace(grads_.embed_tokens.data() + static_cast<size_t>(inputs_[r]) * d,
               d_residual_.data() + static_cast<size_t>(r) * d, d);
  }
  return loss;
}

void Trainer::ApplyAdam() {
  ++steps_;
  for (Slot& s : slots_) AdamStep(s.param, s.grad, s.m, s.v, s.size, steps_, adam_);
}

float Trainer::Step(std::span<const int> tokens) {
  const float loss = ComputeGradients(tokens);
  ApplyAdam();
  return loss;
}

}  // namespace rlvr
