// Benchmarks of training (kernels/backward.h, kernels/trainer.h): the two backward products of a
// linear layer at the training step's shapes, and one whole training step (forward, backward,
// Adam) of a small byte-level decoder, in tokens per second. Each rotates among independent
// input sets (bench_util.h) and verifies every set's last output against the double references
// of kernels/reference/train_ref.h.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "kernels/backward.h"
#include "kernels/reference/train_ref.h"
#include "kernels/trainer.h"
#include "kernels/weights.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

// Normwise relative tolerance of a float sum over up to ~1000 terms (as gemm_bench.cpp).
constexpr double kProductTolerance = 1e-4;

// dx[M,K] = dy[M,N] * W[N,K] (zeroed first: the backward adds). Perturb: a row of W, on which
// every entry of dx depends.
struct LinearBackwardInputSet {
  int M, N, K;
  std::vector<float> dy, W, dx;
  InputPerturber perturb;
  LinearBackwardInputSet(int M, int N, int K, uint64_t seed)
      : M(M),
        N(N),
        K(K),
        dy(size_t(M) * N),
        W(size_t(N) * K),
        dx(size_t(M) * K),
        perturb(W.data(), W.size(), K, seed ^ 0xb) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(dy.data(), dy.size(), seed);
    FillUniform(W.data(), W.size(), ~seed);
  }
  void Run() {
    std::fill(dx.begin(), dx.end(), 0.0f);
    LinearBackwardInput(dy.data(), W.data(), dx.data(), M, N, K);
  }
};

void BM_LinearBackwardInput(benchmark::State& state) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)),
            K = static_cast<int>(state.range(2));
  RotatingSets<LinearBackwardInputSet> sets(
      state, [&](uint64_t seed) { return LinearBackwardInputSet(M, N, K, seed); });
  sets.ForEach([](LinearBackwardInputSet& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    sets.Next().Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  const bool ok = sets.All([&](LinearBackwardInputSet& s) {
    return VerifySampled(
        state, s.dx.data(), s.dx.size(), 512,
        [&](size_t index) {
          const size_t i = index / K, k = index % K;
          double sum = 0.0;
          for (int n = 0; n < N; ++n) sum += double(s.dy[i * N + n]) * s.W[size_t(n) * K + k];
          return sum;
        },
        kProductTolerance);
  });
  if (ok) ReportFlops(state, 2.0 * M * N * K);
}
BENCHMARK(BM_LinearBackwardInput)
    ->Args({256, 128, 384})
    ->Args({256, 384, 128})
    ->Args({256, 256, 128})
    ->UseRealTime();

// dW[N,K] = dy[M,N]^T * x[M,K] (zeroed first). Perturb: a row of dy, on which every entry of dW
// depends.
struct LinearBackwardWeightSet {
  int M, N, K;
  std::vector<float> dy, x, dW, scratch;
  InputPerturber perturb;
  LinearBackwardWeightSet(int M, int N, int K, uint64_t seed)
      : M(M),
        N(N),
        K(K),
        dy(size_t(M) * N),
        x(size_t(M) * K),
        dW(size_t(N) * K),
        scratch(size_t(M) * N),
        perturb(dy.data(), dy.size(), N, seed ^ 0xb) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(dy.data(), dy.size(), seed);
    FillUniform(x.data(), x.size(), ~seed);
  }
  void Run() {
    std::fill(dW.begin(), dW.end(), 0.0f);
    LinearBackwardWeight(dy.data(), x.data(), dW.data(), M, N, K, scratch.data());
  }
};

void BM_LinearBackwardWeight(benchmark::State& state) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)),
            K = static_cast<int>(state.range(2));
  RotatingSets<LinearBackwardWeightSet> sets(
      state, [&](uint64_t seed) { return LinearBackwardWeightSet(M, N, K, seed); });
  sets.ForEach([](LinearBackwardWeightSet& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    sets.Next().Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  const bool ok = sets.All([&](LinearBackwardWeightSet& s) {
    return VerifySampled(
        state, s.dW.data(), s.dW.size(), 512,
        [&](size_t index) {
          const size_t n = index / K, k = index % K;
          double sum = 0.0;
          for (int m = 0; m < M; ++m)
            sum += double(s.dy[size_t(m) * N + n]) * s.x[size_t(m) * K + k];
          return sum;
        },
        kProductTolerance);
  });
  if (ok) ReportFlops(state, 2.0 * M * N * K);
}
BENCHMARK(BM_LinearBackwardWeight)
    ->Args({256, 128, 384})
    ->Args({256, 384, 128})
    ->Args({256, 256, 128})
    ->UseRealTime();

// --- One training step ---------------------------------------------------------------------------

// A small byte-level decoder: 2 layers, dim 128, GQA 4:2, SwiGLU 384, ~0.46M parameters.
ModelConfig TrainBenchConfig() {
  ModelConfig c;
  c.vocab = 256;
  c.dim = 128;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 32;
  c.ffn_dim = 384;
  c.max_positions = 256;
  return c;
}
constexpr int kTrainBatch = 4;

// Forward + backward + Adam flops of one step (2 per multiply-add): 6 per parameter of every
// matrix product per token, plus attention's QK^T and PV (forward 2 * 2 * T^2 / 2 * q_dim per
// sequence and layer, backward twice that).
double TrainStepFlops(const ModelConfig& c, int batch, int seq_len) {
  const double tokens = double(batch) * seq_len;
  const double matrices = double(c.n_layers) * (2.0 * c.q_dim() * c.dim + 2.0 * c.kv_dim() * c.dim +
                                                3.0 * c.ffn_dim * c.dim) +
                          double(c.vocab) * c.dim;
  const double attention = 6.0 * c.n_layers * batch * double(seq_len) * seq_len * c.q_dim();
  return 6.0 * matrices * tokens + attention;
}

// Own weights, trainer and tokens per set. Each step changes the weights, so no two calls see
// the same inputs; Perturb also rewrites one sequence of the batch. The weights before the
// latest step are kept (copied with the timer paused) so that step can be verified.
struct TrainStepSet {
  int seq_len;
  std::unique_ptr<ModelWeights> weights;
  std::unique_ptr<ModelWeights> before;
  std::unique_ptr<Trainer> trainer;
  std::vector<int> tokens;
  uint64_t stream;
  float loss = 0.0f;
  TrainStepSet(int seq_len, uint64_t seed)
      : seq_len(seq_len),
        weights(std::make_unique<ModelWeights>(RandomWeights(TrainBenchConfig(), seed, 0.05f))),
        before(std::make_unique<ModelWeights>(*weights)),
        tokens(size_t(kTrainBatch) * (seq_len + 1)),
        stream(seed ^ 0x70c3e5) {
    AdamConfig adam;
    adam.lr = 1e-3f;
    trainer = std::make_unique<Trainer>(*weights, kTrainBatch, seq_len, adam);
    Refill(seed);
  }
  void Perturb() {
    const size_t row = SplitMix64(stream) % kTrainBatch;
    for (int t = 0; t <= seq_len; ++t) tokens[row * (seq_len + 1) + t] = SplitMix64(stream) % 256;
  }
  void Refill(uint64_t seed) {
    for (int& t : tokens) t = static_cast<int>(SplitMix64(seed) % 256);
  }
  // Keeps the weights the next Run starts from; allocates nothing (same shapes).
  void Remember() {
    auto copy = [](const std::vector<float>& from, std::vector<float>& to) {
      std::copy(from.begin(), from.end(), to.begin());
    };
    copy(weights->embed_tokens, before->embed_tokens);
    copy(weights->final_norm, before->final_norm);
    copy(weights->lm_head, before->lm_head);
    for (size_t l = 0; l < weights->layers.size(); ++l) {
      const LayerWeights& a = weights->layers[l];
      LayerWeights& b = before->layers[l];
      for (auto [from, to] : {std::pair{&a.input_norm, &b.input_norm},
                              {&a.q_proj, &b.q_proj},
                              {&a.k_proj, &b.k_proj},
                              {&a.v_proj, &b.v_proj},
                              {&a.o_proj, &b.o_proj},
                              {&a.post_norm, &b.post_norm},
                              {&a.gate_proj, &b.gate_proj},
                              {&a.up_proj, &b.up_proj},
                              {&a.down_proj, &b.down_proj}}) {
        copy(*from, *to);
      }
    }
  }
  void Run() { loss = trainer->Step(tokens); }
};

// The last step of a set: its loss and gradients against the double reference on the weights it
// started from, and the weights moved (Adam's first-step size bounds each move by about lr).
bool VerifyTrainStep(benchmark::State& state, TrainStepSet& s) {
  ModelWeights grads;
  const double loss = TrainingLossRef(*s.before, s.tokens, kTrainBatch, s.seq_len, &grads);
  if (!(std::fabs(s.loss - loss) <= 1e-4 * loss)) {
    state.SkipWithError("training step loss differs from the double reference");
    return false;
  }
  const ModelWeights& got = s.trainer->gradients();
  if (!VerifyAll(state, got.embed_tokens.data(), grads.embed_tokens.data(),
                 grads.embed_tokens.size(), 1e-3) ||
      !VerifyAll(state, got.lm_head.data(), grads.lm_head.data(), grads.lm_head.size(), 1e-3) ||
      !VerifyAll(state, got.final_norm.data(), grads.final_norm.data(), grads.final_norm.size(),
                 1e-3)) {
    return false;
  }
  for (size_t l = 0; l < got.layers.size(); ++l) {
    const LayerWeights& a = got.layers[l];
    const LayerWeights& b = grads.layers[l];
    for (auto [x, y] : {std::pair{&a.input_norm, &b.input_norm},
                        {&a.q_proj, &b.q_proj},
                        {&a.k_proj, &b.k_proj},
                        {&a.v_proj, &b.v_proj},
                        {&a.o_proj, &b.o_proj},
                        {&a.post_norm, &b.post_norm},
                        {&a.gate_proj, &b.gate_proj},
                        {&a.up_proj, &b.up_proj},
                        {&a.down_proj, &b.down_proj}}) {
      if (!VerifyAll(state, x->data(), y->data(), y->size(), 1e-3)) return false;
    }
  }
  // The update was applied: the head moved, by no more than a few lr.
  double moved = 0.0;
  for (size_t i = 0; i < s.weights->lm_head.size(); ++i) {
    moved = std::max(moved, double(std::fabs(s.weights->lm_head[i] - s.before->lm_head[i])));
  }
  if (!(moved > 0.0 && moved < 1e-2)) {
    state.SkipWithError("the Adam update was not applied as expected");
    return false;
  }
  return true;
}

void BM_TrainStep(benchmark::State& state) {
  const int seq_len = static_cast<int>(state.range(0));
  RotatingSets<TrainStepSet> sets(state,
                                  [&](uint64_t seed) { return TrainStepSet(seq_len, seed); });
  sets.ForEach([](TrainStepSet& s) {
    s.Remember();
    s.Run();
  });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    TrainStepSet& s = sets.Next();
    state.PauseTiming();
    s.Remember();
    state.ResumeTiming();
    s.Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  if (!sets.All([&](TrainStepSet& s) { return VerifyTrainStep(state, s); })) return;
  const double tokens = double(kTrainBatch) * seq_len;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * tokens));
  state.counters["tokens/s"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  ReportFlops(state, TrainStepFlops(TrainBenchConfig(), kTrainBatch, seq_len));
  state.SetLabel("batch 4, 2 layers, dim 128");
}
BENCHMARK(BM_TrainStep)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rlvr
