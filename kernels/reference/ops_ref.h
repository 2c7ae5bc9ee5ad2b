// Plain reference implementations of the LLM-inference ops (softmax, RMSNorm, RoPE, SiLU/SwiGLU,
// attention, quantized matrix-vector): straightforward formulas with double accumulation, written
// independently of the fast kernels so tests and benchmarks can check them. Never optimize these.
#pragma once

#include "kernels/attention.h"
#include "kernels/quant.h"

namespace rlvr {

// out[i] = exp(x[i] - max) / sum; out may alias x.
void SoftmaxRef(const float* x, float* out, int n);

// out = x / sqrt(mean(x^2) + eps) * weight; out may alias x.
void RmsNormRef(const float* x, const float* weight, float* out, int n, float eps = 1e-5f);

// Hugging Face LLaMA rotate_half RoPE in place, computing each angle pos * theta^(-2i/head_dim)
// and its cos/sin in double (no table).
void RopeRef(float* vec, int n_heads, int head_dim, int pos, float theta = 10000.0f);

void SiluRef(const float* x, float* out, int n);
void SwiGLURef(const float* gate, const float* up, float* out, int n);

// Naive causal grouped-query attention reading `layer` of the cache; same contract as Attention.
void AttentionRef(const float* q, const KVCache& cache, int layer, int start_pos, int n_q,
                  int n_heads, float* out);

// Dequantization written from the GGML format description (not calling the kernels).
float HalfToFloatRef(uint16_t h);
void DequantizeQ8_0Ref(const BlockQ8_0* x, float* y, int n);
void DequantizeQ4_0Ref(const BlockQ4_0* x, float* y, int n);

// y[N] = dequantize(W)[N,K] * x[K] with double accumulation; x stays in float (the kernels also
// quantize x, which the tests account for in their tolerance).
void MatVecQ8_0Ref(const BlockQ8_0* W, const float* x, float* y, int N, int K);
void MatVecQ4_0Ref(const BlockQ4_0* W, const float* x, float* y, int N, int K);

}  // namespace rlvr
