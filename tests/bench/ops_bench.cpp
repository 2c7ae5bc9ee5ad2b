// Benchmarks of the LLM-inference ops: softmax, RMSNorm, RoPE, SwiGLU, decode attention over a
// KV cache, the sampler and the Q8_0/Q4_0 matrix-vector products. Each rotates among independent
// input sets (bench_util.h) and checks every set's final output against the reference after the
// timing loop.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>
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

// Softmax is in place, so each call copies the set's logits into its work buffer first; the copy
// (n floats from cache) is part of the measured time.
struct SoftmaxSet {
  std::vector<float> input, work;
  InputPerturber perturb;
  SoftmaxSet(int n, uint64_t seed)
      : input(n), work(n), perturb(input.data(), n, 1, seed ^ 0x1, -10.0f, 10.0f) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) { FillUniform(input.data(), input.size(), seed, -10.0f, 10.0f); }
  void Run() {
    std::memcpy(work.data(), input.data(), input.size() * sizeof(float));
    Softmax(work.data(), static_cast<int>(work.size()));
  }
};

void BM_Softmax(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RotatingSets<SoftmaxSet> sets(state, [&](uint64_t seed) { return SoftmaxSet(n, seed); });
  sets.ForEach([](SoftmaxSet& s) { s.Run(); });
  for (auto _ : state) {
    SoftmaxSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.work.data());
  }
  std::vector<float> want(n);
  sets.All([&](SoftmaxSet& s) {
    SoftmaxRef(s.input.data(), want.data(), n);
    return VerifyAll(state, s.work.data(), want.data(), n, 1e-5);
  });
  ReportBytes(state, 2.0 * n * sizeof(float));
}
BENCHMARK(BM_Softmax)->Arg(32000);

struct RmsNormSet {
  std::vector<float> x, w, out;
  InputPerturber perturb;
  RmsNormSet(int n, uint64_t seed) : x(n), w(n), out(n), perturb(x.data(), n, 1, seed ^ 0x2) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(x.data(), x.size(), seed);
    FillUniform(w.data(), w.size(), ~seed);
  }
  void Run() { RmsNorm(x.data(), w.data(), out.data(), static_cast<int>(x.size())); }
};

void BM_RmsNorm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RotatingSets<RmsNormSet> sets(state, [&](uint64_t seed) { return RmsNormSet(n, seed); });
  sets.ForEach([](RmsNormSet& s) { s.Run(); });
  for (auto _ : state) {
    RmsNormSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.out.data());
  }
  std::vector<float> want(n);
  sets.All([&](RmsNormSet& s) {
    RmsNormRef(s.x.data(), s.w.data(), want.data(), n);
    return VerifyAll(state, s.out.data(), want.data(), n, 1e-5);
  });
  ReportBytes(state, 3.0 * n * sizeof(float));
}
BENCHMARK(BM_RmsNorm)->Arg(768)->Arg(4096);

// The decoder's query rotation: 12 heads of 64 at a mid-context position (1000; a random one in
// the fresh regime), each set with its own cos/sin tables. In place, so each call copies the 768
// input floats into the work buffer first (measured too).
constexpr int kRopeHeads = 12, kRopeHeadDim = 64, kRopePositions = 2048;
struct RopeSet {
  RopeCache cache{kRopeHeadDim, kRopePositions};
  int pos = 1000;
  std::vector<float> input, work;
  InputPerturber perturb;
  explicit RopeSet(uint64_t seed)
      : input(kRopeHeads * kRopeHeadDim),
        work(input.size()),
        perturb(input.data(), input.size(), 1, seed ^ 0x3) {
    FillUniform(input.data(), input.size(), seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(input.data(), input.size(), seed);
    pos = static_cast<int>(SplitMix64(seed) % kRopePositions);
  }
  void Run() {
    std::memcpy(work.data(), input.data(), input.size() * sizeof(float));
    ApplyRope(work.data(), kRopeHeads, kRopeHeadDim, pos, cache);
  }
};

void BM_Rope(benchmark::State& state) {
  RotatingSets<RopeSet> sets(state, [&](uint64_t seed) { return RopeSet(seed); });
  sets.ForEach([](RopeSet& s) { s.Run(); });
  for (auto _ : state) {
    RopeSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.work.data());
  }
  sets.All([&](RopeSet& s) {
    std::vector<float> want = s.input;
    RopeRef(want.data(), kRopeHeads, kRopeHeadDim, s.pos, s.cache.theta);
    return VerifyAll(state, s.work.data(), want.data(), want.size(), 1e-5);
  });
}
BENCHMARK(BM_Rope);

struct SwiGLUSet {
  std::vector<float> gate, up, out;
  InputPerturber perturb;
  SwiGLUSet(int n, uint64_t seed)
      : gate(n), up(n), out(n), perturb(gate.data(), n, 1, seed ^ 0x4, -6.0f, 6.0f) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(gate.data(), gate.size(), seed, -6.0f, 6.0f);
    FillUniform(up.data(), up.size(), ~seed);
  }
  void Run() { SwiGLU(gate.data(), up.data(), out.data(), static_cast<int>(gate.size())); }
};

void BM_SwiGLU(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RotatingSets<SwiGLUSet> sets(state, [&](uint64_t seed) { return SwiGLUSet(n, seed); });
  sets.ForEach([](SwiGLUSet& s) { s.Run(); });
  for (auto _ : state) {
    SwiGLUSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.out.data());
  }
  std::vector<float> want(n);
  sets.All([&](SwiGLUSet& s) {
    SwiGLURef(s.gate.data(), s.up.data(), want.data(), n);
    return VerifyAll(state, s.out.data(), want.data(), n, 1e-5);
  });
  ReportBytes(state, 3.0 * n * sizeof(float));
}
BENCHMARK(BM_SwiGLU)->Arg(2048);

// One decode step (a single query position at the end of the context) of a 12-head model with 4
// KV heads of 64, on the default thread pool; each set has its own KV cache, query, output and
// scratch. GB/s counts the keys and values read.
constexpr int kAttentionHeads = 12, kAttentionKvHeads = 4, kAttentionHeadDim = 64;
struct AttentionSet {
  int context;
  KVCache cache;
  AttentionScratch scratch;
  std::vector<float> q, out;
  InputPerturber perturb;
  AttentionSet(int context, uint64_t seed)
      : context(context),
        cache(1, context, kAttentionKvHeads, kAttentionHeadDim),
        scratch(context, DefaultPool().threads()),
        q(kAttentionHeads * kAttentionHeadDim),
        out(q.size()),
        perturb(q.data(), q.size(), 1, seed ^ 0x5) {
    cache.length = context;
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(cache.k.data(), cache.k.size(), seed);
    FillUniform(cache.v.data(), cache.v.size(), ~seed);
    FillUniform(q.data(), q.size(), seed ^ 0x55);
  }
  void Run() {
    Attention(q.data(), cache, 0, context - 1, 1, kAttentionHeads, out.data(), scratch);
  }
};

void BM_Attention(benchmark::State& state) {
  const int context = static_cast<int>(state.range(0));
  RotatingSets<AttentionSet> sets(state,
                                  [&](uint64_t seed) { return AttentionSet(context, seed); });
  sets.ForEach([](AttentionSet& s) { s.Run(); });
  for (auto _ : state) {
    AttentionSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.out.data());
  }
  std::vector<float> want(kAttentionHeads * kAttentionHeadDim);
  sets.All([&](AttentionSet& s) {
    AttentionRef(s.q.data(), s.cache, 0, context - 1, 1, kAttentionHeads, want.data());
    return VerifyAll(state, s.out.data(), want.data(), want.size(), 1e-5);
  });
  ReportBytes(state, 2.0 * context * kAttentionKvHeads * kAttentionHeadDim * sizeof(float));
}
BENCHMARK(BM_Attention)->Arg(128)->Arg(512)->Arg(2048)->UseRealTime();

// The sampler on a LLaMA-sized vocabulary, one Sampler (and its workspace) per set. After the
// loop, each set's last token must be the argmax (greedy) or lie within the kept set (top-k /
// top-p), recomputed independently.
struct SamplerSet {
  std::vector<float> logits;
  Sampler sampler;
  int token = -1;
  InputPerturber perturb;
  SamplerSet(int vocab, SamplerConfig config, uint64_t seed)
      : logits(vocab),
        sampler(vocab, config),
        perturb(logits.data(), logits.size(), 1, seed ^ 0x6, -10.0f, 10.0f) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) { FillUniform(logits.data(), logits.size(), seed, -10.0f, 10.0f); }
  void Run() { token = sampler.Sample(logits.data()); }
};

// True if `token` is one the configuration allows for `logits`; else reports through
// SkipWithError.
bool VerifySampledToken(benchmark::State& state, const std::vector<float>& logits, int token,
                        const SamplerConfig& config) {
  const int vocab = static_cast<int>(logits.size());
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
    return false;
  }
  return true;
}

void RunSampler(benchmark::State& state, SamplerConfig config) {
  const int vocab = static_cast<int>(state.range(0));
  RotatingSets<SamplerSet> sets(state,
                                [&](uint64_t seed) { return SamplerSet(vocab, config, seed); });
  sets.ForEach([](SamplerSet& s) { s.Run(); });
  for (auto _ : state) {
    SamplerSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(std::as_const(s.token));
  }
  sets.All([&](SamplerSet& s) { return VerifySampledToken(state, s.logits, s.token, config); });
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
// (x's rounding gives ~1e-3; a layout or scale mistake gives errors of order one). Each set's W
// is drawn directly as random blocks (scales in [2^-8, 2^-7), about what quantizing uniform
// [-1, 1) weights gives), which is fast enough to regenerate per iteration in the fresh regime.
void FillRandomBlocks(BlockQ8_0* blocks, size_t count, uint64_t seed) {
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    for (int j = 0; j < kQuantBlock; j += 8) {
      uint64_t bits = SplitMix64(seed);
      for (int i = 0; i < 8; ++i, bits >>= 8) {
        blocks[b].qs[j + i] = static_cast<int8_t>(static_cast<int>(bits & 0xff) % 255 - 127);
      }
    }
  }
}
void FillRandomBlocks(BlockQ4_0* blocks, size_t count, uint64_t seed) {
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    uint64_t low = SplitMix64(seed), high = SplitMix64(seed);
    std::memcpy(blocks[b].qs, &low, 8);
    std::memcpy(blocks[b].qs + 8, &high, 8);
  }
}

template <typename Block>
struct QuantMatVecSet {
  using MatVecFn = void (*)(const Block*, const float*, float*, int, int, BlockQ8_0*);
  int n;
  MatVecFn matvec;
  std::vector<Block> W;
  std::vector<float> x, y;
  std::vector<BlockQ8_0> scratch;
  InputPerturber perturb;
  QuantMatVecSet(int n, MatVecFn matvec, uint64_t seed)
      : n(n),
        matvec(matvec),
        W(static_cast<size_t>(n) * n / kQuantBlock),
        x(n),
        y(n),
        scratch(n / kQuantBlock),
        perturb(x.data(), x.size(), 1, seed ^ 0x7) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillRandomBlocks(W.data(), W.size(), seed);
    FillUniform(x.data(), x.size(), ~seed);
  }
  void Run() { matvec(W.data(), x.data(), y.data(), n, n, scratch.data()); }
};

template <typename Block>
void RunMatVec(benchmark::State& state,
               void (*matvec)(const Block*, const float*, float*, int, int, BlockQ8_0*),
               void (*matvec_ref)(const Block*, const float*, float*, int, int)) {
  const int n = static_cast<int>(state.range(0));
  using Set = QuantMatVecSet<Block>;
  RotatingSets<Set> sets(state, [&](uint64_t seed) { return Set(n, matvec, seed); });
  sets.ForEach([](Set& s) { s.Run(); });
  for (auto _ : state) {
    Set& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.y.data());
  }
  std::vector<float> want(n);
  sets.All([&](Set& s) {
    matvec_ref(s.W.data(), s.x.data(), want.data(), n, n);
    return VerifyAll(state, s.y.data(), want.data(), n, 1e-2);
  });
  ReportBytes(state, static_cast<double>(n) * n / kQuantBlock * sizeof(Block));
}
void BM_MatVecQ8_0(benchmark::State& state) {
  RunMatVec<BlockQ8_0>(state, MatVecQ8_0, MatVecQ8_0Ref);
}
void BM_MatVecQ4_0(benchmark::State& state) {
  RunMatVec<BlockQ4_0>(state, MatVecQ4_0, MatVecQ4_0Ref);
}
BENCHMARK(BM_MatVecQ8_0)->Arg(4096)->UseRealTime();
BENCHMARK(BM_MatVecQ4_0)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace rlvr
