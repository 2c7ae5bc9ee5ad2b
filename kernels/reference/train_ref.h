// Plain references for training (kernels/backward.h, kernels/adam.h, kernels/trainer.h): every
// backward written from its formula with double arithmetic throughout, and a whole training
// step of the decoder (forward, loss, backward) computed in double, independently of the fast
// paths. Same contracts as the fast functions (gradients are ADDED into their outputs). Never
// optimise these.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/adam.h"
#include "kernels/weights.h"

namespace rlvr {

void LinearBackwardInputRef(const float* dy, const float* W, float* dx, int M, int N, int K);
void LinearBackwardWeightRef(const float* dy, const float* x, float* dW, int M, int N, int K);
void RmsNormBackwardRef(const float* x, const float* weight, const float* dy, float* dx,
                        float* dweight, int rows, int n, float eps = 1e-5f);
void SoftmaxBackwardRef(const float* y, const float* dy, float* dx, int rows, int cols);
float CrossEntropyForwardBackwardRef(const float* logits, const int* targets, float* dlogits,
                                     int rows, int vocab, float scale = 1.0f);
void SwiGLUBackwardRef(const float* gate, const float* up, const float* dout, float* dgate,
                       float* dup, size_t n);
// Rotation angles pos * theta^(-2i/head_dim) in double, no table.
void RopeBackwardRef(float* dvec, int n_heads, int head_dim, int pos, float theta = 10000.0f);
void CausalAttentionForwardRef(const float* q, const float* k, const float* v, float* out,
                               float* probs, int T, int n_heads, int n_kv_heads, int head_dim);
void CausalAttentionBackwardRef(const float* q, const float* k, const float* v, const float* dout,
                                float* dq, float* dk, float* dv, int T, int n_heads, int n_kv_heads,
                                int head_dim);

// Adam as kernels/adam.h, each element computed in double from the float state and rounded once.
void AdamStepRef(float* param, const float* grad, float* m, float* v, size_t n, int step,
                 const AdamConfig& config);

// The mean next-token cross-entropy of Trainer::ComputeGradients (same token layout:
// [batch][seq_len + 1]), computed in double. If grads is not null it must have the shapes of
// weights (as Trainer::gradients(), lm_head empty when tied) and receives dloss/dweight
// (overwritten). Throws std::invalid_argument on a wrong token count.
double TrainingLossRef(const ModelWeights& weights, std::span<const int> tokens, int batch,
                       int seq_len, ModelWeights* grads = nullptr);

}  // namespace rlvr
