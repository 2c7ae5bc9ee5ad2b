// Trainer: training steps of the LLaMA-style decoder of kernels/decoder.h (token embedding,
// per layer pre-norm RMSNorm, grouped-query causal attention with rotate_half RoPE, SwiGLU
// feed-forward, each added to the residual stream; final RMSNorm and output head, tied or not)
// on next-token cross-entropy: forward, hand-derived backward (kernels/backward.h) and Adam
// (kernels/adam.h). The activations every backward needs, the gradients and Adam's moments live
// in a workspace allocated once in the constructor: ComputeGradients(), ApplyAdam() and Step()
// allocate nothing.
#pragma once

#include <span>
#include <vector>

#include "kernels/adam.h"
#include "kernels/rope.h"
#include "kernels/thread_pool.h"
#include "kernels/weights.h"

namespace rlvr {

class Trainer {
 public:
  // Trains `weights` in place (it must outlive the trainer) on batches of `batch` sequences of
  // seq_len positions. pool nullptr means DefaultPool(). Throws std::invalid_argument if the
  // weights do not match their config, batch or seq_len is not positive, or seq_len exceeds
  // max_positions.
  Trainer(ModelWeights& weights, int batch, int seq_len, const AdamConfig& adam = {},
          ThreadPool* pool = nullptr);

  // Forward and backward over tokens [batch][seq_len + 1]: row b's inputs are its first seq_len
  // tokens, at positions 0 .. seq_len - 1, and its targets the same row shifted by one. Returns
  // the mean cross-entropy over all batch * seq_len predictions and leaves dloss/dweight in
  // gradients() (overwritten, not accumulated). The weights do not change. Throws
  // std::invalid_argument for a wrong token count and std::out_of_range for a token outside the
  // vocabulary, before any work.
  float ComputeGradients(std::span<const int> tokens);

  // One Adam step on every parameter with the current gradients(); advances steps().
  void ApplyAdam();

  // ComputeGradients then ApplyAdam; returns the loss before the update.
  float Step(std::span<const int> tokens);

  // Same shapes and names as the weights; with tied embeddings the head's gradient is part of
  // embed_tokens' and lm_head is empty.
  const ModelWeights& gradients() const { return grads_; }
  int steps() const { return steps_; }
  int batch() const { return batch_; }
  int seq_len() const { return seq_len_; }
  const AdamConfig& adam() const { return adam_; }

 private:
  // Activations of one layer kept for its backward, [rows][width] each.
  struct LayerActivations {
    std::vector<float> input;     // dim: residual stream entering the layer
    std::vector<float> normed1;   // dim
    std::vector<float> q;         // q_dim, after RoPE
    std::vector<float> k;         // kv_dim, after RoPE
    std::vector<float> v;         // kv_dim
    std::vector<float> probs;     // [batch][n_heads][seq_len][seq_len]
    std::vector<float> attended;  // q_dim
    std::vector<float> middle;    // dim: residual stream after the attention block
    std::vector<float> normed2;   // dim
    std::vector<float> gate;      // ffn_dim
    std::vector<float> up;        // ffn_dim
    std::vector<float> hidden;    // ffn_dim: silu(gate) * up
  };

  // One parameter tensor with its gradient and Adam moments (pointers into the ModelWeights).
  struct Slot {
    float* param;
    float* grad;
    float* m;
    float* v;
    size_t size;
  };

  void Forward();
  float Backward();

  ModelWeights& weights_;
  ModelConfig config_;
  int batch_;
  int seq_len_;
  int rows_;  // batch * seq_len
  AdamConfig adam_;
  ThreadPool* pool_;
  RopeCache rope_;
  int steps_ = 0;

  std::vector<int> inputs_;   // [rows]
  std::vector<int> targets_;  // [rows]
  std::vector<LayerActivations> layers_;
  std::vector<float> final_input_;   // [rows][dim]: residual stream after the last layer
  std::vector<float> final_normed_;  // [rows][dim]
  std::vector<float> logits_;        // [rows][vocab], turned into dlogits by the loss

  // Gradients of the activations, reused by every layer.
  std::vector<float> d_residual_;         // dim
  std::vector<float> d_normed_;           // dim
  std::vector<float> d_q_;                // q_dim
  std::vector<float> d_k_;                // kv_dim
  std::vector<float> d_v_;                // kv_dim
  std::vector<float> d_attended_;         // q_dim
  std::vector<float> d_gate_;             // ffn_dim
  std::vector<float> d_up_;               // ffn_dim
  std::vector<float> d_hidden_;           // ffn_dim
  std::vector<float> transpose_;          // rows * max(vocab, ffn_dim, q_dim, kv_dim, dim)
  std::vector<float> attention_scratch_;  // seq_len

  ModelWeights grads_;
  ModelWeights adam_m_;
  ModelWeights adam_v_;
  std::vector<Slot> slots_;
};

}  // namespace rlvr
