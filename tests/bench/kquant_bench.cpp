// Benchmarks of the K-quant matrix-vector products (kernels/kquant.h): y = W x for a square
// Q4_K / Q6_K W on the default thread pool. Each rotates among independent input sets
// (bench_util.h), counts the timed loop's allocations and checks every set's final output
// against the dequantize-then-dot reference after timing. GB/s counts the weight bytes: compare
// with BM_MemBandwidth, the machine's read bandwidth (the roofline of a memory-bound product).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/kquant.h"
#include "kernels/reference/kquant_ref.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

// W drawn directly as random blocks (every code and packed scale; fp16 scales in [2^-8, 2^-7),
// about what quantizing weights of magnitude ~1 gives), fast enough to regenerate per iteration
// in the fresh regime.
void FillRandomBytes(uint8_t* bytes, size_t n, uint64_t& seed) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t bits = SplitMix64(seed);
    std::memcpy(bytes + i, &bits, 8);
  }
  for (; i < n; ++i) bytes[i] = static_cast<uint8_t>(SplitMix64(seed));
}

uint16_t RandomScale(uint64_t& seed) {
  return static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
}

void FillRandomBlocks(BlockQ4_K* blocks, size_t count, uint64_t seed) {
  FillRandomBytes(reinterpret_cast<uint8_t*>(blocks), count * sizeof(BlockQ4_K), seed);
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = RandomScale(seed);
    blocks[b].dmin = RandomScale(seed);
  }
}

void FillRandomBlocks(BlockQ6_K* blocks, size_t count, uint64_t seed) {
  FillRandomBytes(reinterpret_cast<uint8_t*>(blocks), count * sizeof(BlockQ6_K), seed);
  for (size_t b = 0; b < count; ++b) blocks[b].d = RandomScale(seed);
}

template <typename Block>
struct KQuantMatVecSet {
  using MatVecFn = void (*)(const Block*, const float*, float*, int, int);
  int n;
  MatVecFn matvec;
  std::vector<Block> W;
  std::vector<float> x, y;
  InputPerturber perturb;
  KQuantMatVecSet(int n, MatVecFn matvec, uint64_t seed)
      : n(n),
        matvec(matvec),
        W(static_cast<size_t>(n) * n / kSuperBlock),
        x(n),
        y(n),
        perturb(x.data(), x.size(), 1, seed ^ 0x7) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillRandomBlocks(W.data(), W.size(), seed);
    FillUniform(x.data(), x.size(), ~seed);
  }
  void Run() { matvec(W.data(), x.data(), y.data(), n, n); }
};

// tolerance: the contract's relative error of the product (1% Q4_K, 0.5% Q6_K), normwise.
template <typename Block>
void RunMatVec(benchmark::State& state,
               void (*matvec)(const Block*, const float*, float*, int, int),
               void (*matvec_ref)(const Block*, const float*, float*, int, int), double tolerance) {
  const int n = static_cast<int>(state.range(0));
  using Set = KQuantMatVecSet<Block>;
  RotatingSets<Set> sets(state, [&](uint64_t seed) { return Set(n, matvec, seed); });
  sets.ForEach([](Set& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    Set& s = sets.Next();
    s.Run();
    benchmark::DoNotOptimize(s.y.data());
  }
  allocations.Report();
  std::vector<float> want(n);
  sets.All([&](Set& s) {
    matvec_ref(s.W.data(), s.x.data(), want.data(), n, n);
    return VerifyAll(state, s.y.data(), want.data(), n, tolerance);
  });
  ReportBytes(state, static_cast<double>(n) * n / kSuperBlock * sizeof(Block));
}

void BM_MatVecQ4_K(benchmark::State& state) {
  RunMatVec<BlockQ4_K>(state, MatVecQ4_K, MatVecQ4_KRef, 1e-2);
}
void BM_MatVecQ6_K(benchmark::State& state) {
  RunMatVec<BlockQ6_K>(state, MatVecQ6_K, MatVecQ6_KRef, 5e-3);
}
BENCHMARK(BM_MatVecQ4_K)->Arg(4096)->UseRealTime();
BENCHMARK(BM_MatVecQ6_K)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace rlvr
