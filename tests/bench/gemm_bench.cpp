// Benchmarks of kernels/gemm.h: square GEMM, Linear at decoder sizes, MatVec. Each rotates among
// independent input sets (bench_util.h) and verifies every set's final output against
// kernels/reference/gemm_ref.h.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/gemm.h"
#include "kernels/reference/gemm_ref.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

// Normwise relative tolerance: float accumulation over K <= 4096 terms stays near sqrt(K) * eps
// (~1e-5); a kernel that skips or corrupts work is off by O(1).
constexpr double kTolerance = 1e-4;

// One output of Linear or MatVec for sampled verification: a dot product in double.
double DotInDouble(const float* a, const float* b, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += double(a[i]) * double(b[i]);
  return sum;
}

// C = A*B for square n. Perturb: a full row of B, on which every entry of C depends.
struct GemmSet {
  int n;
  std::vector<float> A, B, C;
  InputPerturber perturb;
  GemmSet(int n, uint64_t seed)
      : n(n),
        A(size_t(n) * n),
        B(size_t(n) * n),
        C(size_t(n) * n),
        perturb(B.data(), B.size(), n, seed ^ 0xb) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(A.data(), A.size(), seed);
    FillUniform(B.data(), B.size(), ~seed);
  }
  void Run() { Gemm(A.data(), B.data(), C.data(), n, n, n); }
};

void BM_Gemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RotatingSets<GemmSet> sets(state, KeepAcrossCalls{{n}},
                             [&](uint64_t seed) { return GemmSet(n, seed); });
  sets.WarmUp([](GemmSet& s) { s.Run(); });  // warm-up: packing buffers, pool threads
  LoopAllocations allocations(state);
  for (auto _ : state) {
    sets.Next().Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  sets.All([&](GemmSet& s) {
    return VerifySampled(
        state, s.C.data(), s.C.size(), 512,
        [&](size_t index) {
          return GemmRefEntry(s.A.data(), s.B.data(), n, n, index / n, index % n);
        },
        kTolerance);
  });
  ReportFlops(state, 2.0 * n * n * n);
}
BENCHMARK(BM_Gemm)->Arg(256)->Arg(512)->Arg(768)->Arg(1024)->UseRealTime();

// y = x*W^T. One element of x feeds one output row and one row of W one output column, so each
// use perturbs a whole row of x (at least one output row changes) and a row of W.
struct LinearSet {
  int m, n, k;
  std::vector<float> x, W, y;
  InputPerturber perturb_x, perturb_w;
  LinearSet(int m, int n, int k, uint64_t seed)
      : m(m),
        n(n),
        k(k),
        x(size_t(m) * k),
        W(size_t(n) * k),
        y(size_t(m) * n),
        perturb_x(x.data(), x.size(), k, seed ^ 0x1),
        perturb_w(W.data(), W.size(), k, seed ^ 0x2) {
    Refill(seed);
  }
  void Perturb() {
    perturb_x.Next();
    perturb_w.Next();
  }
  void Refill(uint64_t seed) {
    FillUniform(x.data(), x.size(), seed);
    FillUniform(W.data(), W.size(), ~seed);
  }
  void Run() { Linear(x.data(), W.data(), y.data(), m, n, k); }
};

// Args: M (tokens), N (out features), K (in features).
void BM_Linear(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const int k = static_cast<int>(state.range(2));
  RotatingSets<LinearSet> sets(state, KeepAcrossCalls{{m, n, k}},
                               [&](uint64_t seed) { return LinearSet(m, n, k, seed); });
  sets.WarmUp([](LinearSet& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    sets.Next().Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  sets.All([&](LinearSet& s) {
    return VerifySampled(
        state, s.y.data(), s.y.size(), 512,
        [&](size_t index) {
          return DotInDouble(s.x.data() + (index / n) * k, s.W.data() + (index % n) * k, k);
        },
        kTolerance);
  });
  ReportFlops(state, 2.0 * m * n * k);
  ReportBytes(state, sizeof(float) * (double(n) * k + double(m) * k + double(m) * n));
}
BENCHMARK(BM_Linear)
    ->Args({1, 2048, 768})
    ->Args({1, 768, 2048})
    ->Args({32, 2048, 768})
    ->Args({32, 768, 2048})
    ->UseRealTime();

// y = W*x, square. Perturb: one element of x, which every output reads.
struct MatVecSet {
  int n;
  std::vector<float> W, x, y;
  InputPerturber perturb;
  MatVecSet(int n, uint64_t seed)
      : n(n), W(size_t(n) * n), x(n), y(n), perturb(x.data(), x.size(), 1, seed ^ 0x3) {
    Refill(seed);
  }
  void Perturb() { perturb.Next(); }
  void Refill(uint64_t seed) {
    FillUniform(W.data(), W.size(), seed);
    FillUniform(x.data(), x.size(), ~seed);
  }
  void Run() { MatVec(W.data(), x.data(), y.data(), n, n); }
};

void BM_MatVec(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RotatingSets<MatVecSet> sets(state, KeepAcrossCalls{{n}},
                               [&](uint64_t seed) { return MatVecSet(n, seed); });
  sets.WarmUp([](MatVecSet& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    sets.Next().Run();
    benchmark::ClobberMemory();
  }
  allocations.Report();
  // Sampled like GEMM's output: a full double reference of every set after every call was 60%
  // of BM_MatVec/4096's wall time (Google Benchmark calls it twice per repetition).
  sets.All([&](MatVecSet& s) {
    return VerifySampled(
        state, s.y.data(), s.y.size(), 512,
        [&](size_t row) { return DotInDouble(s.W.data() + row * n, s.x.data(), n); }, kTolerance);
  });
  ReportFlops(state, 2.0 * n * n);
  ReportBytes(state, sizeof(float) * (double(n) * n + 2.0 * n));
}
BENCHMARK(BM_MatVec)->Arg(1024)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace rlvr
