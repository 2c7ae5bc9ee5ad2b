// Hand-derived backward passes of the decoder's operations, for training: linear layers, RMSNorm,
// softmax, fused softmax + cross-entropy, SwiGLU, rotate_half RoPE and causal grouped-query
// attention (with the forward that keeps the attention probabilities the backward needs).
// Plain references with double accumulation are in kernels/reference/train_ref.h.
//
// Conventions, as PyTorch's .grad: every backward ADDS its gradients into the d-outputs (zero
// them first for a plain gradient), so a tensor used twice (the residual stream, tied
// embeddings) collects both contributions. Gradient buffers must not alias inputs unless a
// comment says so. Nothing here allocates; the scratch a function needs is passed in.
#pragma once

#include <cstddef>

#include "kernels/rope.h"
#include "kernels/thread_pool.h"

namespace rlvr {

// --- Linear: y[M,N] = x[M,K] * W[N,K]^T (torch.nn.Linear without bias) -------------------------

// dx[M,K] += dy[M,N] * W[N,K].
void LinearBackwardInput(const float* dy, const float* W, float* dx, int M, int N, int K,
                         ThreadPool* pool = nullptr);

// dW[N,K] += dy[M,N]^T * x[M,K]. scratch: at least M * N floats (dy transposed into it).
void LinearBackwardWeight(const float* dy, const float* x, float* dW, int M, int N, int K,
                          float* scratch, ThreadPool* pool = nullptr);

// --- RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * weight ---------------------------------

// For rows rows of n values: dx += dL/dx and dweight[n] += dL/dweight (summed over rows).
void RmsNormBackward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, int rows, int n, float eps = 1e-5f);

// --- Softmax over rows: y = softmax(x) -----------------------------------------------------------

// From the forward's output y: dx += y * (dy - sum(dy * y)), row by row.
void SoftmaxBackward(const float* y, const float* dy, float* dx, int rows, int cols);

// --- Cross-entropy over rows of logits, mean over the rows ---------------------------------------

// Returns mean_r (logsumexp(logits[r]) - logits[r][targets[r]]) and WRITES (not adds)
// dlogits = (softmax(logits) - onehot(targets)) * (scale / rows): the start of a backward pass,
// scale being dL/dloss (1 for the loss itself). dlogits may alias logits. Every target must be in
// [0, vocab) (unchecked).
float CrossEntropyForwardBackward(const float* logits, const int* targets, float* dlogits, int rows,
                                  int vocab, float scale = 1.0f);

// --- SwiGLU: out = silu(gate) * up, element-wise -------------------------------------------------

// dgate += dout * up * silu'(gate), dup += dout * silu(gate).
void SwiGLUBackward(const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                    size_t n);

// --- RoPE (rotate_half, as ApplyRope)
// -------------------------------------------------------------

// The gradient through ApplyRope at position pos is the inverse rotation: rotates the n_heads
// vectors at dvec by -angle, in place.
void RopeBackward(float* dvec, int n_heads, int head_dim, int pos, const RopeCache& cache);

// --- Causal grouped-query attention over one sequence --------------------------------------------
// q [T][n_heads][head_dim], k and v [T][n_kv_heads][head_dim] (query head h reads key/value head
// h / (n_heads / n_kv_heads)), out [T][n_heads][head_dim]; position i attends to 0..i with scale
// 1/sqrt(head_dim). probs [n_heads][T][T]: the attention weights, zero above the diagonal.

// Writes out and probs.
void CausalAttentionForward(const float* q, const float* k, const float* v, float* out,
                            float* probs, int T, int n_heads, int n_kv_heads, int head_dim);

// From the forward's q, k, v, probs and dout: dq, dk, dv += their gradients. scratch: T floats.
void CausalAttentionBackward(const float* q, const float* k, const float* v, const float* probs,
                             const float* dout, float* dq, float* dk, float* dv, float* scratch,
                             int T, int n_heads, int n_kv_heads, int head_dim);

}  // namespace rlvr
