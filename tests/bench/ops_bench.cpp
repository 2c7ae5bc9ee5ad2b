// Benchmarks of the LLM-inference ops: softmax, RMSNorm, RoPE, SwiGLU, decode attention over a
// KV cache, the sampler and the Q8_0/Q4_0 matrix-vector products. Each perturbs its input every
// iteration and checks its final output against the reference after the timing loop.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/quant.h"
#include "kernels/reference/ops_ref.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/sampler.h"
#include "kernels/softmax.h"
#include "kernels/thread_pool.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

std::vector<float> RandomVector(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  InputPerturber(v.data(), n, n, seed, lo, hi).Next();
  return v;
}

// Softmax is in place, so each iteration copies the (perturbed) logits into the work buffer
// first; the copy (n floats from cache) is part of the measured time.
void BM_Softmax(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> input = RandomVector(n, 1, -10.0f, 10.0f);
  std::vector<float> work(n), want(n);
  InputPerturber perturb(input.data(), n, 1, 11, -10.0f, 10.0f);
  for (auto _ : state) {
    perturb.Next();
    std::memcpy(work.data(), input.data(), n * sizeof(float));
    Softmax(work.data(), n);
    benchmark::DoNotOptimize(work.data());
  }
  SoftmaxRef(input.data(), want.data(), n);
  VerifyAll(state, work.data(), want.data(), n, 1e-5);
  ReportBytes(state, 2.0 * n * sizeof(float));
}
BENCHMARK(BM_Softmax)->Arg(32000);

void BM_RmsNorm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> x = RandomVector(n, 2), w = RandomVector(n, 3), out(n), want(n);
  InputPerturber perturb(x.data(), n, 1, 12);
  for (auto _ : state) {
    perturb.Next();
    RmsNorm(x.data(), w.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  RmsNormRef(x.data(), w.data(), want.data(), n);
  VerifyAll(state, out.data(), want.data(), n, 1e-5);
  ReportBytes(state, 3.0 * n * sizeof(float));
}
BENCHMARK(BM_RmsNorm)->Arg(768)->Arg(4096);

// The decoder's query rotation: 12 heads of 64 at a mid-context position. In place, so each
// iteration copies the 768 input floats into the work buffer first (measured too).
void BM_Rope(benchmark::State& state) {
  const int n_heads = 12, head_dim = 64, pos = 1000;
  const int n = n_heads * head_dim;
  RopeCache cache(head_dim, 2048);
  std::vector<float> input = RandomVector(n, 4), work(n);
  InputPerturber perturb(input.data(), n, 1, 13);
  for (auto _ : state) {
    perturb.Next();
    std::memcpy(work.data(), input.data(), n * sizeof(float));
    ApplyRope(work.data(), n_heads, head_dim, pos, cache);
    benchmark::DoNotOptimize(work.data());
  }
  std::vector<float> want = input;
  RopeRef(want.data(), n_heads, head_dim, pos, cache.theta);
  VerifyAll(state, work.data(), want.data(), n, 1e-5);
}
BENCHMARK(BM_Rope);

void BM_SwiGLU(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> gate = RandomVector(n, 5, -6.0f, 6.0f), up = RandomVector(n, 6);
  std::vector<float> out(n), want(n);
  InputPerturber perturb(gate.data(), n, 1, 14, -6.0f, 6.0f);
  for (auto _ : state) {
    perturb.Next();
    SwiGLU(gate.data(), up.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  SwiGLURef(gate.data(), up.data(), want.data(), n);
  VerifyAll(state, out.data(), want.data(), n, 1e-5);
  ReportBytes(state, 3.0 * n * sizeof(float));
}
BENCHMARK(BM_SwiGLU)->Arg(2048);

// One decode step (a single query position at the end of the context) of a 12-head model with 4
// KV heads of 64, on the default thread pool. GB/s counts the keys and values read.
void BM_Attention(benchmark::State& state) {
  const int context = static_cast<int>(state.range(0));
  const int n_heads = 12, n_kv = 4, head_dim = 64;
  KVCache cache(1, context, n_kv, head_dim);
  InputPerturber(cache.k.data(), cache.k.size(), cache.k.size(), 7).Next();
  InputPerturber(cache.v.data(), cache.v.size(), cache.v.size(), 8).Next();
  cache.length = context;
  AttentionScratch scratch(context, DefaultPool().threads());
  const int n = n_heads * head_dim;
  std::vector<float> q = RandomVector(n, 9), out(n), want(n);
  InputPerturber perturb(q.data(), n, 1, 15);
  for (auto _ : state) {
    perturb.Next();
    Attention(q.data(), cache, 0, context - 1, 1, n_heads, out.data(), scratch);
    benchmark::DoNotOptimize(out.data());
  }
  AttentionRef(q.data(), cache, 0, context - 1, 1, n_heads, want.data());
  VerifyAll(state, out.data(), want.data(), n, 1e-5);
  ReportBytes(state, 2.0 * context * n_kv * head_dim * sizeof(float));
}
BENCHMARK(BM_Attention)->Arg(128)->Arg(512)->Arg(2048)->UseRealTime();

// The sampler on a LLaMA-sized vocabulary. After the loop, the last token must be the argmax
// (greedy) or lie within the kept set (top-k / top-p), recomputed independently.
void RunSampler(benchmark::State& state, SamplerConfig config) {
  const int vocab = static_cast<int>(state.range(0));
  std::vector<float> logits = RandomVector(vocab, 10, -10.0f, 10.0f);
  Sampler sampler(vocab, config);
  InputPerturber perturb(logits.data(), vocab, 1, 16, -10.0f, 10.0f);
  int token = -1;
  for (auto _ : state) {
    perturb.Next();
    token = sampler.Sample(logits.data());
    benchmark::DoNotOptimize(token);
  }
  std::vector<int> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  int kept = config.temperature == 0.0f ? 1 : vocab;
  if (config.top_k > 0) kept = std::min(kept, config.top_k);
  if (config.top_p < 1.0f) {
    double total = 0.0, mass = 0.0;
    for (int i = 0; i < kept; ++i)
      total +=
          std::exp((logits[order[i]] - logits[order[0]]) / static_cast<double>(config.temperature));
    int nucleus = 0;
    while (nucleus < kept && mass < config.top_p * total * (1 + 1e-6)) {
      mass += std::exp((logits[order[nucleus]] - logits[order[0]]) /
                       static_cast<double>(config.temperature));
      ++nucleus;
    }
    kept = nucleus;
  }
  if (std::find(order.begin(), order.begin() + kept, token) == order.begin() + kept) {
    state.SkipWithError("sampled token is outside the set the configuration allows");
  }
}
void BM_Sampler_Greedy(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.0f});
}
void BM_Sampler_TopK(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.8f, .top_k = 40, .seed = 1});
}
void BM_Sampler_TopP(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.8f, .top_p = 0.9f, .seed = 1});
}
BENCHMARK(BM_Sampler_Greedy)->Arg(32000);
BENCHMARK(BM_Sampler_TopK)->Arg(32000);
BENCHMARK(BM_Sampler_TopP)->Arg(32000);

// y = W x for a square quantized W on the default thread pool; GB/s counts the weight bytes.
// The kernels quantize x to Q8_0 and the reference does not, hence the 1e-2 normwise tolerance
// (x's rounding gives ~1e-3; a layout or scale mistake gives errors of order one).
template <typename Block>
void RunMatVec(benchmark::State& state, void (*quantize)(const float*, Block*, int),
               void (*matvec)(const Block*, const float*, float*, int, int, BlockQ8_0*),
               void (*matvec_ref)(const Block*, const float*, float*, int, int)) {
  const int N = static_cast<int>(state.range(0)), K = N;
  std::vector<Block> W(static_cast<size_t>(N) * K / kQuantBlock);
  {
    std::vector<float> w_float = RandomVector(static_cast<size_t>(N) * K, 17);
    quantize(w_float.data(), W.data(), N * K);
  }
  std::vector<float> x = RandomVector(K, 18), y(N), want(N);
  std::vector<BlockQ8_0> scratch(K / kQuantBlock);
  InputPerturber perturb(x.data(), K, 1, 19);
  for (auto _ : state) {
    perturb.Next();
    matvec(W.data(), x.data(), y.data(), N, K, scratch.data());
    benchmark::DoNotOptimize(y.data());
  }
  matvec_ref(W.data(), x.data(), want.data(), N, K);
  VerifyAll(state, y.data(), want.data(), N, 1e-2);
  ReportBytes(state, static_cast<double>(W.size()) * sizeof(Block));
}
void BM_MatVecQ8_0(benchmark::State& state) {
  RunMatVec<BlockQ8_0>(state, QuantizeQ8_0, MatVecQ8_0, MatVecQ8_0Ref);
}
void BM_MatVecQ4_0(benchmark::State& state) {
  RunMatVec<BlockQ4_0>(state, QuantizeQ4_0, MatVecQ4_0, MatVecQ4_0Ref);
}
BENCHMARK(BM_MatVecQ8_0)->Arg(4096)->UseRealTime();
BENCHMARK(BM_MatVecQ4_0)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace rlvr
