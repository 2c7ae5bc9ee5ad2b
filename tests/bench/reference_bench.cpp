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

struct StreamProblem {
  const float* data;
  size_t count;
  int parts;
  double* sums;
};

void StreamTask(void* ctx, int task) {
  const StreamProblem& p = *static_cast<const StreamProblem*>(ctx);
  size_t begin = p.count * task / p.parts, end = p.count * (task + 1) / p.parts;
  begin &= ~size_t{63};
  end = task + 1 == p.parts ? p.count : end & ~size_t{63};
#if defined(__AVX512F__)
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  size_t i = begin;
  for (; i + 64 <= end; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p.data + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p.data + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p.data + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p.data + i + 48));
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  double sum = 0.0;
  for (float lane : lanes) sum += lane;
#else
  float partial[16] = {};
  size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    for (int j = 0; j < 16; ++j) partial[j] += p.data[i + j];
  }
  double sum = 0.0;
  for (float v : partial) sum += v;
#endif
  for (; i < end; ++i) sum += p.data[i];
  p.sums[task] = sum;
}

// Reads a 256 MiB buffer (far beyond any cache) on every thread.
void BM_MemBandwidth(benchmark::State& state) {
  constexpr size_t kBytes = size_t{256} << 20;
  const size_t count = kBytes / sizeof(float);
  // 2 MiB-aligned and backed by huge pages where the kernel allows: touching 256 MiB page by
  // page costs over a second on a virtual machine, and every benchmark run pays it.
  constexpr size_t kHugePage = size_t{2} << 20;
  float* data = static_cast<float*>(std::aligned_alloc(kHugePage, kBytes));
  if (data == nullptr) {
    state.SkipWithError("cannot allocate the 256 MiB buffer");
    return;
  }
  madvise(data, kBytes, MADV_HUGEPAGE);  // advice only: without huge pages it is just slower
  for (size_t i = 0; i < count; ++i) data[i] = 1.0f;
  ThreadPool& pool = DefaultPool();
  std::vector<double> sums(pool.threads());
  StreamProblem problem{data, count, pool.threads(), sums.data()};
  for (auto _ : state) {
    pool.Run(problem.parts, StreamTask, &problem);
    benchmark::DoNotOptimize(sums.data());
  }
  double total = 0.0;
  for (double s : sums) total += s;
  if (total != static_cast<double>(count)) state.SkipWithError("stream sum is wrong");
  std::free(data);
  ReportBytes(state, static_cast<double>(kBytes));
}
BENCHMARK(BM_MemBandwidth)->UseRealTime();

}  // namespace
}  // namespace rlvr
