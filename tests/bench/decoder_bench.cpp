// End-to-end decode benchmarks: the toy LM forward and one decode step of the MVP and ~85M
// LLaMA-style decoders on seeded random weights, the latter also with its weights stored as
// F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K (BM_Decode85MStored/<type>; "12x768" is the same 12
// layers of dim 768 with a 4096-token untied head, so the layers dominate), and the prefill of a
// 128-token prompt per type (BM_Prefill85MStored/<type>: tokens/s of prompt). Decode of one token
// is memory-bound (every weight is read once per token), so besides tokens/s (items_per_second)
// each reports the weight bytes streamed per second ("GB/s") and that rate as a share of the
// read bandwidth measured in the same process by the same threads ("bw_share", read_bandwidth.h).
// After timing, the last logits are checked against a fresh recomputation.
//
// The weights are the model and stay put; what a kernel could remember is the token stream. So
// no token sequence is ever replayed: the toy LM rotates among kInputSets models (each with its
// own logits buffer) fed random tokens, and the decoder draws a new random token sequence every
// time it rewinds to the start of its window. In the fresh regime (RLVR_BENCH_FRESH=1, see
// bench_util.h) each rewind also draws a new context prefix and prefills it, timer paused.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/decoder.h"
#include "kernels/stored_weights.h"
#include "kernels/toy_lm.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/read_bandwidth.h"

namespace rlvr {
namespace {

// Tokens decoded from a context position before the cache is rewound to it, so the context
// stays within [position, position + kDecodeWindow).
constexpr int kDecodeWindow = 64;

constexpr uint64_t kWeightSeed = 0x85eed;

void ReportDecodeCounters(benchmark::State& state, double bytes_per_token) {
  state.SetItemsProcessed(state.iterations());
  ReportBytes(state, bytes_per_token);
  // Of the read bandwidth measured in this process by the same threads (read_bandwidth.h).
  state.counters["bw_share"] = benchmark::Counter(bytes_per_token / MeasuredReadBandwidth(),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// A cheap random token stream (sampling is not what is measured).
int RandomToken(uint64_t& stream, int vocab) {
  return static_cast<int>(SplitMix64(stream) % static_cast<uint64_t>(vocab));
}

constexpr uint64_t kTokenSeed = 0x70c3e5;

bool AllFinite(const float* x, int n) {
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
  }
  return true;
}

// Built once per process: Google Benchmark calls a benchmark function several times.
const ModelWeights& CachedWeights(const ModelConfig& config) {
  static const ModelWeights mvp = RandomWeights(MvpConfig(), kWeightSeed);
  if (config == MvpConfig()) return mvp;
  static const ModelWeights big = RandomWeights(Config85M(), kWeightSeed + 1);
  return big;
}

const ToyLmWeights& CachedToyLmWeights() {
  static const ToyLmWeights weights = RandomToyLmWeights(32000, 256, kWeightSeed + 2);
  return weights;
}

// One model (and logits buffer) per set; every use draws a new random token.
struct ToyLmSet {
  ToyLm lm;
  int vocab;
  uint64_t stream;
  int token = 0;
  const float* logits = nullptr;
  ToyLmSet(const ToyLmWeights& w, uint64_t seed) : lm(w), vocab(w.vocab), stream(seed) {
    Perturb();
  }
  void Perturb() { token = RandomToken(stream, vocab); }
  void Refill(uint64_t seed) { token = RandomToken(seed, vocab); }
  void Run() { logits = lm.Forward(token); }
};

void BM_ToyLmForward(benchmark::State& state) {
  const ToyLmWeights& w = CachedToyLmWeights();
  RotatingSets<ToyLmSet> sets(state, [&](uint64_t seed) { return ToyLmSet(w, seed); });
  sets.ForEach([](ToyLmSet& s) { s.Run(); });
  for (auto _ : state) {
    ToyLmSet& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(std::as_const(s.logits));
  }
  bool ok = sets.All([&](ToyLmSet& s) {
    const float* e = w.embed.data() + static_cast<size_t>(s.token) * w.dim;
    return VerifySampled(
        state, s.logits, w.vocab, 64,
        [&](size_t v) {
          double sum = 0.0;
          for (int k = 0; k < w.dim; ++k) sum += static_cast<double>(e[k]) * w.head[v * w.dim + k];
          return sum;
        },
        1e-4);
  });
  if (!ok) return;
  ReportDecodeCounters(state, (static_cast<double>(w.vocab) + 1) * w.dim * sizeof(float));
}
BENCHMARK(BM_ToyLmForward)->UseRealTime();

// One decode step at context positions [start, start + kDecodeWindow), start = state.range(0),
// on weights `w` (bytes_per_token: what a step streams, for the bandwidth counters).
template <typename Weights>
void DecodeBenchmark(benchmark::State& state, const ModelConfig& config, const Weights& w,
                     double bytes_per_token) {
  const int vocab = config.vocab;
  const int start = static_cast<int>(state.range(0));
  if (start + kDecodeWindow > config.max_positions) {
    state.SkipWithError("context position plus window exceeds max_positions");
    return;
  }
  // tokens[p] is the token at cache position p, so the final context can be recomputed.
  uint64_t stream = kTokenSeed;
  std::vector<int> tokens(config.max_positions);
  auto draw = [&](int from, int to) {
    for (int p = from; p < to; ++p) tokens[p] = RandomToken(stream, vocab);
  };
  draw(0, start + kDecodeWindow);
  Decoder decoder(w);
  if (start > 0) decoder.Prefill(std::span<const int>(tokens.data(), start));
  const bool fresh_inputs = FreshInputsRequested();
  const float* logits = nullptr;
  for (auto _ : state) {
    if (decoder.position() == start + kDecodeWindow) {
      if (fresh_inputs) {
        state.PauseTiming();
        draw(0, start + kDecodeWindow);
        decoder.Reset();
        if (start > 0) decoder.Prefill(std::span<const int>(tokens.data(), start));
        state.ResumeTiming();
      } else {
        decoder.Truncate(start);
        draw(start, start + kDecodeWindow);  // 64 tokens: negligible next to one step
      }
    }
    logits = decoder.Step(tokens[decoder.position()]);
    benchmark::DoNotOptimize(logits);
  }
  if (logits == nullptr) return;
  if (!AllFinite(logits, vocab)) {
    state.SkipWithError("decode produced non-finite logits");
    return;
  }
  // A fresh decoder prefilling the same context must give the same next-token logits (up to the
  // rounding differences of matrix-matrix vs matrix-vector products).
  const std::vector<float> got(logits, logits + vocab);
  Decoder fresh(w);
  const float* want = fresh.Prefill(std::span<const int>(tokens.data(), decoder.position()));
  if (!VerifyAll(state, got.data(), want, vocab, 1e-3)) return;
  ReportDecodeCounters(state, bytes_per_token);
  state.SetLabel("context " + std::to_string(start) + "-" +
                 std::to_string(start + kDecodeWindow - 1));
}

void BM_DecodeMvp(benchmark::State& state) {
  const ModelWeights& w = CachedWeights(MvpConfig());
  DecodeBenchmark(state, MvpConfig(), w, w.BytesReadPerToken());
}
BENCHMARK(BM_DecodeMvp)->Arg(0)->Arg(256)->Arg(960)->UseRealTime();

void BM_Decode85M(benchmark::State& state) {
  const ModelWeights& w = CachedWeights(Config85M());
  DecodeBenchmark(state, Config85M(), w, w.BytesReadPerToken());
}
BENCHMARK(BM_Decode85M)->Arg(0)->Arg(512)->UseRealTime();

// The 85M model with every matrix in `type` (K-quants by the covering quantizers: the fast ones;
// speed does not depend on which). Built once per process and type.
const StoredWeights& CachedStoredWeights(StoredType type) {
  static std::vector<std::pair<StoredType, StoredWeights>> cache;
  for (const auto& [t, w] : cache) {
    if (t == type) return w;
  }
  cache.emplace_back(type, ConvertWeights(CachedWeights(Config85M()), type, true));
  return cache.back().second;
}

// The 12x768 variant: Config85M's layers with a 4096-token untied head.
ModelConfig Config12x768() {
  ModelConfig c = Config85M();
  c.vocab = 4096;
  c.tie_embeddings = false;
  return c;
}

const StoredWeights& CachedStored12x768(StoredType type) {
  static const ModelWeights floats = RandomWeights(Config12x768(), kWeightSeed + 3);
  static std::vector<std::pair<StoredType, StoredWeights>> cache;
  for (const auto& [t, w] : cache) {
    if (t == type) return w;
  }
  cache.emplace_back(type, ConvertWeights(floats, type, true));
  return cache.back().second;
}

constexpr StoredType kBenchTypes[] = {StoredType::kF32,  StoredType::kF16,  StoredType::kBF16,
                                      StoredType::kQ8_0, StoredType::kQ4_0, StoredType::kQ4_K,
                                      StoredType::kQ6_K};

// Decode at context 0-63, as stored.
void BM_Decode85MStored(benchmark::State& state, StoredType type) {
  const StoredWeights& w = CachedStoredWeights(type);
  DecodeBenchmark(state, w.config, w, w.BytesReadPerToken());
}

void BM_Decode12x768Stored(benchmark::State& state, StoredType type) {
  const StoredWeights& w = CachedStored12x768(type);
  DecodeBenchmark(state, w.config, w, w.BytesReadPerToken());
}

// Prefill of a fresh 128-token prompt (a new random prompt per iteration), as stored. Reports
// prompt tokens per second; the logits are checked against token-by-token decoding (see below).
void BM_Prefill85MStored(benchmark::State& state, StoredType type) {
  const StoredWeights& w = CachedStoredWeights(type);
  constexpr int kPrompt = 128;
  uint64_t stream = kTokenSeed + 7;
  std::vector<int> tokens(kPrompt);
  Decoder decoder(w);
  const float* logits = nullptr;
  for (auto _ : state) {
    state.PauseTiming();
    for (int& t : tokens) t = RandomToken(stream, w.config.vocab);
    decoder.Reset();
    state.ResumeTiming();
    logits = decoder.Prefill(tokens);
    benchmark::DoNotOptimize(logits);
  }
  if (logits == nullptr) return;
  const std::vector<float> got(logits, logits + w.config.vocab);
  // The first repetition of each type checks the prompt's logits against stepping every token
  // (128 decode steps: seconds for F32, longer than the timed prefills together). Later ones
  // check them against a fresh decoder's prefill of all but the last token then one decode step:
  // the batched products of the last row against the one-row kernels, at the cost of one prefill.
  static std::vector<StoredType> stepped_types;
  Decoder checker(w);
  const float* want = nullptr;
  if (std::find(stepped_types.begin(), stepped_types.end(), type) == stepped_types.end()) {
    for (int t : tokens) want = checker.Step(t);
    stepped_types.push_back(type);
  } else {
    checker.Prefill(std::span<const int>(tokens.data(), kPrompt - 1));
    want = checker.Step(tokens[kPrompt - 1]);
  }
  if (!VerifyAll(state, got.data(), want, w.config.vocab, 1e-3)) return;
  state.SetItemsProcessed(state.iterations() * kPrompt);
}

[[maybe_unused]] const bool kStoredBenchmarks = [] {
  for (StoredType type : kBenchTypes) {
    const std::string name = StoredTypeName(type);
    benchmark::RegisterBenchmark(("BM_Decode85MStored/" + name).c_str(), BM_Decode85MStored, type)
        ->Arg(0)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_Decode12x768Stored/" + name).c_str(), BM_Decode12x768Stored,
                                 type)
        ->Arg(0)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_Prefill85MStored/" + name).c_str(), BM_Prefill85MStored, type)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace rlvr
