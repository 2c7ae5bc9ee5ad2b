// Helpers every benchmark in tests/bench uses so its figures can be trusted:
//
//   1. Throughput counters: ReportFlops / ReportBytes add "GFLOPS" and "GB/s" rates computed from
//      the work of ONE iteration. Kernels that run on the thread pool must also call
//      ->UseRealTime() on the benchmark, or the rate is taken over the main thread's CPU time.
//   2. Nothing to reuse between calls. A benchmark keeps kInputSets (4) fully independent input
//      sets, each in its own buffers (inputs AND outputs) and filled from its own seed, and
//      RotatingSets hands them out in turn, so consecutive timed calls share neither pointers
//      nor contents. Two regimes:
//        - default: before each use the set is also perturbed (Set::Perturb, e.g. one row of B
//          for GEMM: O(row) work, negligible next to the kernel). A kernel that memoises by
//          pointer or by content, or updates its previous result incrementally, never sees the
//          inputs it saw last and gains nothing.
//        - fresh, RLVR_BENCH_FRESH=1: before each use ALL inputs of the set are regenerated with
//          new random values (Set::Refill(seed)), with the timer paused (state.PauseTiming /
//          ResumeTiming), so a kernel that remembers anything at all gains nothing. Slower in
//          wall time (refilling large inputs can cost more than the kernel); the harness uses it
//          to re-verify a suspiciously fast candidate. Pausing and resuming the timer costs a few
//          microseconds, part of which lands in the measured time, and the set just written is
//          warm in cache: figures of kernels under ~10 us are inflated, so compare fresh figures
//          with fresh figures only.
//   3. Allocations: main.cpp registers a MemoryManager, so every benchmark reports allocs_per_iter,
//      but Google Benchmark measures that over a whole extra run INCLUDING the benchmark's set-up.
//      LoopAllocations counts only the timed loop and reports counters["allocs_per_iter_loop"].
//      Set::Perturb and Set::Refill must not allocate.
//   4. Verification: after the timing loop, VerifyAll / VerifySampled compare the output of EVERY
//      set (from its last call) against the reference on that set's final inputs and call
//      state.SkipWithError() on mismatch, so a kernel that skips work fails loudly instead of
//      looking fast. Every set is run once before the loop, so even a set the loop never
//      reached has an output to check.
//   5. Set-up paid once per process. Google Benchmark calls a benchmark function again for every
//      repetition and every iteration-count estimate, and the gate runs 10 repetitions per
//      process: building and warming 4 sets of large inputs cost far more than the timed loop
//      (BM_Gemm/1024: ~85 ms of set-up around 15 ms of timing; BM_MatVec/4096 refilled 256 MB per
//      call), about 80% of a GEMM round. A benchmark that passes KeepAcrossCalls{shape} gets the
//      sets of its previous call back when the shape is the same (one process-wide slot: memory
//      stays one benchmark's), perturbed on as before, with their outputs from that call, and
//      WarmUp runs only on fresh sets. A kernel sees nothing it would not see in one longer loop.
//      Such a Set must own everything it points to (no reference to a local of the call).
//
// Typical use:
//
//   struct FooSet {
//     std::vector<float> x, y;
//     InputPerturber perturb;
//     FooSet(int n, uint64_t seed) : x(n), y(n), perturb(x.data(), n, 1, seed + 1) { Refill(seed);
//     } void Perturb() { perturb.Next(); } void Refill(uint64_t seed) { FillUniform(x.data(),
//     x.size(), seed); } void Run() { Foo(x.data(), y.data(), x.size()); }
//   };
//   static void BM_Foo(benchmark::State& state) {
//     RotatingSets<FooSet> sets(state, [&](uint64_t seed) { return FooSet(n, seed); });
//     sets.ForEach([](FooSet& s) { s.Run(); });  // warm-up; every set has an output
//     LoopAllocations allocations(state);
//     for (auto _ : state) sets.Next().Run();
//     allocations.Report();
//     sets.ForEach([&](FooSet& s) { ... FooRef(s.x) ...; VerifyAll(state, s.y.data(), ...); });
//     ReportFlops(state, 2.0 * n);
//   }
//   BENCHMARK(BM_Foo)->Arg(1024)->UseRealTime();
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

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

// Fills data[0, n) with values uniform in [lo, hi) from a SplitMix64 stream seeded with `seed`
// (the generator InputPerturber and FillRandom use). Allocates nothing.
inline void FillUniform(float* data, size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  uint64_t state = seed;
  const float scale = (hi - lo) * (1.0f / 16777216.0f);
  for (size_t i = 0; i < n; ++i) data[i] = lo + scale * static_cast<float>(SplitMix64(state) >> 40);
}

// Sets a benchmark rotates through (see 2. above): enough that no kernel-side cache of "the last
// call" or "the last few calls" ever hits, few enough that the sets' memory stays modest.
constexpr int kInputSets = 4;

// True when the environment selects the fresh regime: RLVR_BENCH_FRESH=1.
inline bool FreshInputsRequested() {
  const char* value = std::getenv("RLVR_BENCH_FRESH");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

// A seed for set `set` of a benchmark whose inputs are named by `base`: distinct sets and
// distinct bases give unrelated SplitMix64 streams.
inline uint64_t SetSeed(uint64_t base, int set) {
  uint64_t state = base * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(set) + 1;
  return SplitMix64(state);
}

// The shape of a benchmark's inputs (its arguments) under which its sets may be kept for its next
// call (see 5. above).
struct KeepAcrossCalls {
  std::vector<int64_t> shape;
};

// The one process-wide slot of kept sets: whose they are (the benchmark's call site, i.e. the type
// of its make function, its shape and regime) and the sets themselves.
struct KeptSetsSlot {
  std::type_index site = typeid(void);
  std::vector<int64_t> shape;
  bool fresh = false;
  std::shared_ptr<void> storage;

  static KeptSetsSlot& Get() {
    static KeptSetsSlot slot;
    return slot;
  }
};

// kInputSets independent input sets of type Set, handed out in turn by Next(). Set must provide
//   void Perturb();              // rewrite a few inputs so every output changes; no allocation
//   void Refill(uint64_t seed);  // regenerate ALL inputs from `seed`; no allocation
// make(seed) builds one set, filled from `seed`. In the fresh regime (RLVR_BENCH_FRESH=1) Next()
// refills the set with a new seed with the timer paused; otherwise it perturbs it.
template <typename Set>
class RotatingSets {
 public:
  // New sets for this call.
  template <typename Make>
  RotatingSets(benchmark::State& state, Make make, uint64_t base_seed = 1)
      : state_(state), fresh_(FreshInputsRequested()) {
    storage_ = Build(make, base_seed);
  }

  // The sets of this benchmark's previous call in this process if it had the same shape (and
  // regime), else new ones kept for the next call.
  template <typename Make>
  RotatingSets(benchmark::State& state, KeepAcrossCalls keep, Make make, uint64_t base_seed = 1)
      : state_(state), fresh_(FreshInputsRequested()) {
    KeptSetsSlot& slot = KeptSetsSlot::Get();
    const std::type_index site = typeid(Make);
    if (slot.storage && slot.site == site && slot.shape == keep.shape && slot.fresh == fresh_) {
      storage_ = std::static_pointer_cast<Storage>(slot.storage);
      reused_ = true;
      return;
    }
    slot.storage.reset();  // free the previous benchmark's sets before building these
    storage_ = Build(make, base_seed);
    slot.site = site;
    slot.shape = std::move(keep.shape);
    slot.fresh = fresh_;
    slot.storage = storage_;
  }

  // The set for this iteration, already perturbed (or, fresh, regenerated).
  Set& Next() {
    Set& set = storage_->sets[storage_->next];
    if (++storage_->next == storage_->sets.size()) storage_->next = 0;
    if (fresh_) {
      state_.PauseTiming();
      set.Refill(SplitMix64(storage_->fresh_seed));
      state_.ResumeTiming();
    } else {
      set.Perturb();
    }
    return set;
  }

  // Calls f(set) on every set, in order: for warm-up calls and for verification.
  template <typename F>
  void ForEach(F f) {
    for (Set& set : storage_->sets) f(set);
  }

  // The warm-up before the timed loop: f(set) on every set, unless the sets come from a previous
  // call (they have outputs, and buffers, pool threads and caches are warm from its loop).
  template <typename F>
  void WarmUp(F f) {
    if (!reused_) ForEach(f);
  }

  // Verification helper: true if check(set) holds for every set; stops at the first failure
  // (which has already reported itself through SkipWithError).
  template <typename Check>
  bool All(Check check) {
    for (Set& set : storage_->sets) {
      if (!check(set)) return false;
    }
    return true;
  }

  bool fresh() const { return fresh_; }

 private:
  struct Storage {
    std::vector<Set> sets;
    size_t next = 0;
    uint64_t fresh_seed = 0;
  };

  template <typename Make>
  static std::shared_ptr<Storage> Build(Make& make, uint64_t base_seed) {
    auto storage = std::make_shared<Storage>();
    storage->fresh_seed = SetSeed(base_seed, -1);
    storage->sets.reserve(kInputSets);
    for (int i = 0; i < kInputSets; ++i) storage->sets.push_back(make(SetSeed(base_seed, i)));
    return storage;
  }

  benchmark::State& state_;
  bool fresh_;
  bool reused_ = false;
  std::shared_ptr<Storage> storage_;
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
