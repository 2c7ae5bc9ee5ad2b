// Decoder: a LLaMA-style transformer decoder (pre-norm RMSNorm, GQA attention with rotate_half
// RoPE and a KV cache, SwiGLU feed-forward, output head) over StoredWeights, each matrix
// multiplied in its stored type by StoredProduct (kernels/stored_product.h), or over float
// ModelWeights (viewed as F32). Step() decodes one
// token, Prefill() runs a prompt as matrix products over many rows at once, Generate() samples a
// continuation. All activation buffers, the KV cache and the RoPE tables are allocated in the
// constructor: Step() and Prefill() allocate nothing.
#pragma once

#include <span>
#include <vector>

#include "kernels/attention.h"
#include "kernels/rope.h"
#include "kernels/sampler.h"
#include "kernels/stored_product.h"
#include "kernels/stored_weights.h"
#include "kernels/thread_pool.h"
#include "kernels/weights.h"

namespace rlvr {

class Decoder {
 public:
  // Keeps a reference to weights (which must outlive the decoder). max_batch: rows per matrix
  // product in Prefill (longer prompts run in chunks). pool nullptr means DefaultPool().
  // Throws std::invalid_argument if the weights do not match their config.
  explicit Decoder(const ModelWeights& weights, int max_batch = 64, ThreadPool* pool = nullptr);
  // The same over weights in their stored types (which must outlive the decoder). Throws
  // std::invalid_argument if they do not match their config (StoredWeights::Check).
  explicit Decoder(const StoredWeights& weights, int max_batch = 64, ThreadPool* pool = nullptr);
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Runs `token` at position position() (appending its keys and values to the cache) and returns
  // the logits [vocab] for the next token, valid until the next call. Throws std::out_of_range
  // for a token outside the vocabulary and std::length_error when the cache is full; the state
  // is unchanged then.
  const float* Step(int token);

  // Runs tokens at positions position() .. position() + tokens.size() - 1 and returns the logits
  // after the last one. Same errors as Step, checked before any work.
  const float* Prefill(std::span<const int> tokens);

  // Restarts from an empty cache, prefills prompt (non-empty), then samples n_new tokens, feeding
  // each back in. Returns the sampled tokens. Throws std::invalid_argument for an empty prompt and
  // std::length_error if prompt and continuation do not fit in max_positions.
  std::vector<int> Generate(std::span<const int> prompt, int n_new, Sampler& sampler);

  // Forgets the context (position 0 again).
  void Reset() { cache_.Clear(); }

  // Forgets the positions from `length` on, keeping the earlier ones (their keys and values do
  // not depend on later tokens). Throws std::out_of_range unless 0 <= length <= position().
  void Truncate(int length);

  int position() const { return cache_.length; }
  const KVCache& cache() const { return cache_; }
  const ModelConfig& config() const { return config_; }
  const float* logits() const { return logits_.data(); }

 private:
  // Runs rows [0, n) of tokens at positions start .. start + n - 1; n <= max_batch_.
  void ForwardChunk(const int* tokens, int n, int start);
  void CheckTokens(std::span<const int> tokens) const;
  void Allocate();  // the activation buffers
  // y[n, W.rows] = input_ * W^T (input_ set by the caller; n == 1 is a matrix-vector product).
  void Project(const StoredMatrix& W, float* y);

  StoredWeights view_;  // F32 views when constructed from ModelWeights; else unused
  const StoredWeights& weights_;
  ModelConfig config_;
  int max_batch_;
  ThreadPool* pool_;
  KVCache cache_;
  RopeCache rope_;
  AttentionScratch attention_scratch_;
  // Activations, [max_batch][width] each.
  std::vector<float> residual_;  // dim
  std::vector<float> normed_;    // dim
  std::vector<float> q_;         // q_dim
  std::vector<float> attended_;  // q_dim
  std::vector<float> branch_;    // dim: o_proj or down_proj output before the residual add
  std::vector<float> gate_;      // ffn_dim
  std::vector<float> up_;        // ffn_dim
  std::vector<float> logits_;    // vocab
  ProductInput input_;           // the rows the next projections multiply, and their 8-bit forms
};

}  // namespace rlvr
