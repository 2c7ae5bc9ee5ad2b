// Helpers every benchmark in tests/bench uses so its figures can be trusted:
//
//   1. Throughput counters: ReportFlops / ReportBytes add "GFLOPS" and "GB/s" rates computed from
//      the work of ONE iteration. Kernels that run on the thread pool must also call
//      ->UseRealTime() on the benchmark, or the rate is taken over the main thread's CPU time.
//   2. Defeating result caches: an InputPerturber rewrites a few input elements each iteration
//      (O(burst) work, negligible next to the kernel), so a kernel that remembers its last output
//      instead of computing returns stale numbers.
//   3. Allocations: main.cpp registers a MemoryManager, so every benchmark reports allocs_per_iter,
//      but Google Benchmark measures that over a whole extra run INCLUDING the benchmark's set-up.
//      LoopAllocations counts only the timed loop and reports counters["allocs_per_iter_loop"].
//   4. Verification: after the timing loop, VerifyAll / VerifySampled compare the kernel's output
//      on the FINAL inputs against the reference and call state.SkipWithError() on mismatch, so a
//      kernel that skips work fails loudly instead of looking fast.
//
// Typical use:
//
//   static void BM_Foo(benchmark::State& state) {
//     ... set up inputs x, output y, want ...
//     InputPerturber perturb(x.data(), x.size(), /*burst=*/1);
//     LoopAllocations allocations(state);
//     for (auto _ : state) {
//       perturb.Next();
//       Foo(x.data(), y.data(), n);
//     }
//     allocations.Report();
//     FooRef(x.data(), want.data(), n);
//     VerifyAll(state, y.data(), want.data(), y.size(), 1e-5);
//     ReportFlops(state, 2.0 * n);
//   }
//   BENCHMARK(BM_Foo)->Arg(1024)->UseRealTime();
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "kernels/reference/gemm_ref.h"
#include "kernels/splitmix64.h"
#include "tests/common/alloc_counter.h"

namespace rlvr {

// counters["GFLOPS"]: flops_per_iteration * iterations / elapsed, in 1e9 per second.
inline void ReportFlops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOPS"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// counters["GB/s"]: bytes_per_iteration * iterations / elapsed, in 1e9 bytes per second.
inline void ReportBytes(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Counts heap allocations from construction to Report(), which sets
// counters["allocs_per_iter_loop"] = allocations / iterations. Construct it right before the timed
// loop and call Report() right after it.
class LoopAllocations {
 public:
  explicit LoopAllocations(benchmark::State& state) : state_(state) {}
  void Report() {
    double count = static_cast<double>(scope_.count());
    double iterations = state_.iterations() > 0 ? static_cast<double>(state_.iterations()) : 1.0;
    state_.counters["allocs_per_iter_loop"] = count / iterations;
  }

 private:
  benchmark::State& state_;
  AllocationScope scope_;
};

// Rewrites `burst` consecutive elements of data[0, n) with fresh values in [lo, hi) on each
// Next(), walking through the buffer (wrapping at n). Choose burst so every output depends on a
// perturbed element: e.g. a full row of B (burst = N) for C = A*B, or burst = 1 on the vector of a
// matrix-vector product. Values stay in the range of the original data, so results stay
// comparable.
class InputPerturber {
 public:
  InputPerturber(float* data, size_t n, size_t burst = 1, uint64_t seed = 0x243f6a8885a308d3ULL,
                 float lo = -1.0f, float hi = 1.0f)
      : data_(data), n_(n), burst_(burst < n ? burst : n), rng_(seed), lo_(lo), hi_(hi) {}

  void Next() {
    for (size_t i = 0; i < burst_; ++i) {
      float unit = static_cast<float>(SplitMix64(rng_) >> 40) * (1.0f / 16777216.0f);
      data_[position_] = lo_ + (hi_ - lo_) * unit;
      if (++position_ == n_) position_ = 0;
    }
  }

 private:
  float* data_;
  size_t n_;
  size_t burst_;
  uint64_t rng_;
  float lo_, hi_;
  size_t position_ = 0;
};

// Compares got[0, n) with want[0, n) by MaxRelativeError (normwise: max abs error over max
// |want|). Returns true if within tolerance; else reports the error through SkipWithError and
// returns false.
inline bool VerifyAll(benchmark::State& state, const float* got, const float* want, size_t n,
                      double tolerance) {
  double error = MaxRelativeError(got, want, n);
  if (error <= tolerance) return true;
  char message[160];
  std::snprintf(message, sizeof message,
                "output differs from reference: max relative error %.3g > tolerance %.3g", error,
                tolerance);
  state.SkipWithError(message);
  return false;
}

// Spot-checks a large output: compares got[index] with reference_at(index) (a double) for
// `samples` random indices in [0, n) plus the first and last. Error metric as VerifyAll,
// normalised by the largest |reference| sampled. reference_at: callable size_t -> double.
// The indices are drawn afresh on every call, so a kernel cannot compute just the entries it
// knows will be checked.
template <typename ReferenceAt>
bool VerifySampled(benchmark::State& state, const float* got, size_t n, size_t samples,
                   ReferenceAt reference_at, double tolerance,
                   uint64_t seed = std::random_device{}()) {
  if (n == 0) return true;
  double max_error = 0.0;
  double max_want = 0.0;
  bool finite = true;
  auto check = [&](size_t index) {
    double want = reference_at(index);
    double value = got[index];
    if (value != value || value - value != 0.0) finite = false;  // NaN or inf
    double error = value > want ? value - want : want - value;
    if (error > max_error) max_error = error;
    if ((want < 0 ? -want : want) > max_want) max_want = want < 0 ? -want : want;
  };
  check(0);
  check(n - 1);
  for (size_t s = 0; s < samples; ++s) check(SplitMix64(seed) % n);
  double error = max_want > 0.0 ? max_error / max_want : max_error;
  if (finite && error <= tolerance) return true;
  char message[160];
  std::snprintf(message, sizeof message,
                "sampled output differs from reference: max relative error %.3g > tolerance %.3g%s",
                error, tolerance, finite ? "" : " (non-finite output)");
  state.SkipWithError(message);
  return false;
}

}  // namespace rlvr
