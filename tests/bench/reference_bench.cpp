// Reference figures the harness reports next to our kernels: OpenBLAS sgemm (the bar for
// BM_Gemm), the machine's FMA peak and its streaming memory bandwidth, all on every thread.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <sys/mman.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/mat.h"
#include "kernels/reference/gemm_ref.h"
#include "kernels/thread_pool.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/read_bandwidth.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace rlvr {
namespace {

void BM_OpenBlasSgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n);
  FillRandom(A.data(), A.size(), 1);
  FillRandom(B.data(), B.size(), 2);
  InputPerturber perturb(B.data(), B.size(), n);
  for (auto _ : state) {
    perturb.Next();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n,
                0.0f, C.data(), n);
    benchmark::ClobberMemory();
  }
  VerifySampled(
      state, C.data(), C.size(), 512,
      [&](size_t index) { return GemmRefEntry(A.data(), B.data(), n, n, index / n, index % n); },
      1e-4);
  ReportFlops(state, 2.0 * n * n * n);
  state.SetLabel(std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "auto");
}
BENCHMARK(BM_OpenBlasSgemm)->Arg(256)->Arg(512)->Arg(768)->Arg(1024)->UseRealTime();

// Independent FMA chains per thread: enough to cover FMA latency x the number of FMA pipes.
constexpr int kFmaChains = 12;
constexpr int kFmaSteps = 1 << 16;
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX2__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 1;
#endif

void FmaTask(void* ctx, int task) {
  float* sinks = static_cast<float*>(ctx);
#if defined(__AVX512F__)
  __m512 acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = _mm512_set1_ps(float(i + task));
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
  for (int s = 0; s < kFmaSteps; ++s) {
#pragma GCC unroll 12
    for (int i = 0; i < kFmaChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  }
  __m512 total = acc[0];
  for (int i = 1; i < kFmaChains; ++i) total = _mm512_add_ps(total, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  sinks[task] = lanes[0];
#elif defined(__AVX2__)
  __m256 acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = _mm256_set1_ps(float(i + task));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  for (int s = 0; s < kFmaSteps; ++s) {
    for (int i = 0; i < kFmaChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  __m256 total = acc[0];
  for (int i = 1; i < kFmaChains; ++i) total = _mm256_add_ps(total, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  sinks[task] = lanes[0];
#else
  float acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = float(i + task);
  for (int s = 0; s < kFmaSteps; ++s) {
    for (int i = 0; i < kFmaChains; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  }
  float total = 0.0f;
  for (float a : acc) total += a;
  sinks[task] = total;
#endif
}

void BM_PeakFma(benchmark::State& state) {
  ThreadPool& pool = DefaultPool();
  std::vector<float> sinks(pool.threads());
  for (auto _ : state) {
    pool.Run(pool.threads(), FmaTask, sinks.data());
    benchmark::DoNotOptimize(sinks.data());
  }
  ReportFlops(state, 2.0 * kLanes * kFmaChains * double(kFmaSteps) * pool.threads());
  state.SetLabel(std::to_string(pool.threads()) + " threads");
}
BENCHMARK(BM_PeakFma)->UseRealTime();

// Reads a 256 MiB buffer (far beyond any cache) on every thread: the roofline of memory-bound
// kernels (see read_bandwidth.h; the decode benchmarks' bw_share divides by the same read).
void BM_MemBandwidth(benchmark::State& state) {
  ReadStream stream(size_t{256} << 20, DefaultPool());
  double sum = 0.0;
  for (auto _ : state) {
    sum = stream.ReadOnce();
    benchmark::DoNotOptimize(sum);
  }
  if (sum != static_cast<double>(stream.bytes() / sizeof(float)))
    state.SkipWithError("stream sum is wrong");
  ReportBytes(state, static_cast<double>(stream.bytes()));
  state.counters["threads"] = DefaultPool().threads();
}
BENCHMARK(BM_MemBandwidth)->UseRealTime();

}  // namespace
}  // namespace rlvr
