#include "kernels/decoder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"

namespace rlvr {

namespace {

void AddInPlace(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

const StoredWeights& Checked(const StoredWeights& w, int max_batch) {
  w.Check();
  if (max_batch <= 0) {
    throw std::invalid_argument("Decoder: max_batch must be positive, got " +
                                std::to_string(max_batch));
  }
  return w;
}

int WidestInput(const ModelConfig& c) {
  return std::max({c.dim, c.q_dim(), c.ffn_dim});
}

}  // namespace

Decoder::Decoder(const ModelWeights& weights, int max_batch, ThreadPool* pool)
    : view_(ViewWeights(weights)),
      weights_(Checked(view_, max_batch)),
      config_(weights_.config),
      max_batch_(max_batch),
      pool_(pool ? pool : &DefaultPool()),
      cache_(config_.n_layers, config_.max_positions, config_.n_kv_heads, config_.head_dim),
      rope_(config_.head_dim, config_.max_positions, config_.rope_theta),
      attention_scratch_(config_.max_positions, pool_->threads()),
      input_(max_batch, WidestInput(config_)) {
  Allocate();
}

Decoder::Decoder(const StoredWeights& weights, int max_batch, ThreadPool* pool)
    : weights_(Checked(weights, max_batch)),
      config_(weights_.config),
      max_batch_(max_batch),
      pool_(pool ? pool : &DefaultPool()),
      cache_(config_.n_layers, config_.max_positions, config_.n_kv_heads, config_.head_dim),
      rope_(config_.head_dim, config_.max_positions, config_.rope_theta),
      attention_scratch_(config_.max_positions, pool_->threads()),
      input_(max_batch, WidestInput(config_)) {
  Allocate();
}

void Decoder::Allocate() {
  const size_t rows = static_cast<size_t>(max_batch_);
  residual_.resize(rows * config_.dim);
  normed_.resize(rows * config_.dim);
  q_.resize(rows * config_.q_dim());
  attended_.resize(rows * config_.q_dim());
  branch_.resize(rows * config_.dim);
  gate_.resize(rows * config_.ffn_dim);
  up_.resize(rows * config_.ffn_dim);
  logits_.resize(config_.vocab);
}

void Decoder::CheckTokens(std::span<const int> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config_.vocab) {
      throw std::out_of_range("Decoder: token " + std::to_string(tokens[i]) + " at index " +
                              std::to_string(i) + " outside vocabulary [0, " +
                              std::to_string(config_.vocab) + ")");
    }
  }
  if (tokens.size() > static_cast<size_t>(config_.max_positions - cache_.length)) {
    throw std::length_error("Decoder: " + std::to_string(tokens.size()) +
                            " more tokens do not fit in the context: position " +
                            std::to_string(cache_.length) + " of max_positions " +
                            std::to_string(config_.max_positions));
  }
}

void Decoder::Project(const StoredMatrix& W, float* y) {
  StoredProduct(W, input_, y, pool_);
}

void Decoder::Truncate(int length) {
  if (length < 0 || length > cache_.length) {
    throw std::out_of_range("Decoder::Truncate: length " + std::to_string(length) +
                            " outside [0, " + std::to_string(cache_.length) + "]");
  }
  cache_.length = length;
}

const float* Decoder::Step(int token) {
  return Prefill(std::span<const int>(&token, 1));
}

const float* Decoder::Prefill(std::span<const int> tokens) {
  if (tokens.empty()) throw std::invalid_argument("Decoder::Prefill: no tokens");
  CheckTokens(tokens);
  for (size_t done = 0; done < tokens.size();) {
    const int n = static_cast<int>(std::min<size_t>(max_batch_, tokens.size() - done));
    ForwardChunk(tokens.data() + done, n, cache_.length);
    done += n;
  }
  return logits_.data();
}

void Decoder::ForwardChunk(const int* tokens, int n, int start) {
  const ModelConfig& c = config_;
  const int dim = c.dim, q_dim = c.q_dim(), ffn = c.ffn_dim;
  for (int r = 0; r < n; ++r) {
    DequantizeStoredRow(weights_.embed_tokens, tokens[r],
                        residual_.data() + static_cast<size_t>(r) * dim);
  }
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const StoredLayer& w = weights_.layers[layer];
    for (int r = 0; r < n; ++r) {
      RmsNorm(residual_.data() + static_cast<size_t>(r) * dim, w.input_norm.data(),
              normed_.data() + static_cast<size_t>(r) * dim, dim, c.norm_eps);
    }
    // Keys and values go straight into the cache: its rows for consecutive positions of one
    // layer are contiguous, so the projection's output rows land where Attention reads them.
    // One input for three products (its 8-bit form made once), in one run of the pool.
    input_.Set(normed_.data(), n, dim);
    const StoredProductTarget qkv[] = {{&w.q_proj, q_.data()},
                                       {&w.k_proj, cache_.K(layer, start)},
                                       {&w.v_proj, cache_.V(layer, start)}};
    StoredProducts(qkv, input_, pool_);
    for (int r = 0; r < n; ++r) {
      ApplyRope(q_.data() + static_cast<size_t>(r) * q_dim, c.n_heads, c.head_dim, start + r,
                rope_);
      ApplyRope(cache_.K(layer, start + r), c.n_kv_heads, c.head_dim, start + r, rope_);
    }
    Attention(q_.data(), cache_, layer, start, n, c.n_heads, attended_.data(), attention_scratch_);
    input_.Set(attended_.data(), n, q_dim);
    Project(w.o_proj, branch_.data());
    AddInPlace(residual_.data(), branch_.data(), static_cast<size_t>(n) * dim);

    for (int r = 0; r < n; ++r) {
      RmsNorm(residual_.data() + static_cast<size_t>(r) * dim, w.post_norm.data(),
              normed_.data() + static_cast<size_t>(r) * dim, dim, c.norm_eps);
    }
    input_.Set(normed_.data(), n, dim);
    const StoredProductTarget gate_up[] = {{&w.gate_proj, gate_.data()}, {&w.up_proj, up_.data()}};
    StoredProducts(gate_up, input_, pool_);
    SwiGLU(gate_.data(), up_.data(), gate_.data(), n * ffn);
    input_.Set(gate_.data(), n, ffn);
    Project(w.down_proj, branch_.data());
    AddInPlace(residual_.data(), branch_.data(), static_cast<size_t>(n) * dim);
  }
  // Only the last row's logits are needed: the next token follows the chunk's last position.
  const float* last = residual_.data() + static_cast<size_t>(n - 1) * dim;
  RmsNorm(last, weights_.final_norm.data(), normed_.data(), dim, c.norm_eps);
  input_.Set(normed_.data(), 1, dim);
  Project(weights_.head, logits_.data());
  cache_.length = start + n;
}

std::vector<int> Decoder::Generate(std::span<const int> prompt, int n_new, Sampler& sampler) {
  if (prompt.empty()) throw std::invalid_argument("Decoder::Generate: empty prompt");
  if (n_new < 0) throw std::invalid_argument("Decoder::Generate: negative token count");
  // The last sampled token is returned, never run, so it needs no cache position.
  const size_t positions = prompt.size() + (n_new > 0 ? n_new - 1 : 0);
  if (positions > static_cast<size_t>(config_.max_positions)) {
    throw std::length_error("Decoder::Generate: prompt of " + std::to_string(prompt.size()) +
                            " tokens plus " + std::to_string(n_new) +
                            " new ones exceed max_positions " +
                            std::to_string(config_.max_positions));
  }
  Reset();
  std::vector<int> out;
  out.reserve(n_new);
  if (n_new == 0) return out;
  const float* logits = Prefill(prompt);
  for (int i = 0; i < n_new; ++i) {
    out.push_back(sampler.Sample(logits));
    if (i + 1 < n_new) logits = Step(out.back());
  }
  return out;
}

}  // namespace rlvr
