// Benchmarks of kernels/gemm.h: square GEMM, Linear at decoder sizes, MatVec. Each perturbs an
// input every iteration and verifies its final output against kernels/reference/gemm_ref.h.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/gemm.h"
#include "kernels/mat.h"
#include "kernels/reference/gemm_ref.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

// Normwise relative tolerance: float accumulation over K <= 4096 terms stays near sqrt(K) * eps
// (~1e-5); a kernel that skips or corrupts work is off by O(1).
constexpr double kTolerance = 1e-4;

void BM_Gemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n);
  FillRandom(A.data(), A.size(), 1);
  FillRandom(B.data(), B.size(), 2);
  Gemm(A.data(), B.data(), C.data(), n, n, n);  // warm-up: packing buffers, pool threads
  // A full row of B per iteration: every entry of C depends on it.
  InputPerturber perturb(B.data(), B.size(), n);
  LoopAllocations allocations(state);
  for (auto _ : state) {
    perturb.Next();
    Gemm(A.data(), B.data(), C.data(), n, n, n);
    benchmark::ClobberMemory();
  }
  allocations.Report();
  VerifySampled(
      state, C.data(), C.size(), 512,
      [&](size_t index) { return GemmRefEntry(A.data(), B.data(), n, n, index / n, index % n); },
      kTolerance);
  ReportFlops(state, 2.0 * n * n * n);
}
BENCHMARK(BM_Gemm)->Arg(256)->Arg(512)->Arg(768)->Arg(1024)->UseRealTime();

// Args: M (tokens), N (out features), K (in features).
void BM_Linear(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const int k = static_cast<int>(state.range(2));
  std::vector<float> x(size_t(m) * k), W(size_t(n) * k), y(size_t(m) * n);
  FillRandom(x.data(), x.size(), 3);
  FillRandom(W.data(), W.size(), 4);
  Linear(x.data(), W.data(), y.data(), m, n, k);
  // One column of W^T (a row of W) feeds one output column; one element of x feeds one output
  // row. Perturb a whole row of x so at least one output row always changes, and a row of W.
  InputPerturber perturb_x(x.data(), x.size(), k);
  InputPerturber perturb_w(W.data(), W.size(), k, 7);
  LoopAllocations allocations(state);
  for (auto _ : state) {
    perturb_x.Next();
    perturb_w.Next();
    Linear(x.data(), W.data(), y.data(), m, n, k);
    benchmark::ClobberMemory();
  }
  allocations.Report();
  VerifySampled(
      state, y.data(), y.size(), 512,
      [&](size_t index) {
        const float* row = x.data() + (index / n) * k;
        const float* weights = W.data() + (index % n) * k;
        double sum = 0.0;
        for (int i = 0; i < k; ++i) sum += double(row[i]) * double(weights[i]);
        return sum;
      },
      kTolerance);
  ReportFlops(state, 2.0 * m * n * k);
  ReportBytes(state, sizeof(float) * (double(n) * k + double(m) * k + double(m) * n));
}
BENCHMARK(BM_Linear)
    ->Args({1, 2048, 768})
    ->Args({1, 768, 2048})
    ->Args({32, 2048, 768})
    ->Args({32, 768, 2048})
    ->UseRealTime();

void BM_MatVec(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> W(size_t(n) * n), x(n), y(n), want(n);
  FillRandom(W.data(), W.size(), 5);
  FillRandom(x.data(), x.size(), 6);
  MatVec(W.data(), x.data(), y.data(), n, n);
  InputPerturber perturb(x.data(), x.size(), 1);  // every output reads every x
  LoopAllocations allocations(state);
  for (auto _ : state) {
    perturb.Next();
    MatVec(W.data(), x.data(), y.data(), n, n);
    benchmark::ClobberMemory();
  }
  allocations.Report();
  MatVecRef(W.data(), x.data(), want.data(), n, n);
  VerifyAll(state, y.data(), want.data(), y.size(), kTolerance);
  ReportFlops(state, 2.0 * n * n);
  ReportBytes(state, sizeof(float) * (double(n) * n + 2.0 * n));
}
BENCHMARK(BM_MatVec)->Arg(1024)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace rlvr
