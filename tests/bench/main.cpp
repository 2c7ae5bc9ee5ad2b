// Entry point of rlvr_bench: Google Benchmark with an allocation-counting MemoryManager, and the
// OpenBLAS core type pinned to its AVX-512 kernels so the reference figures are the strongest.
// The caller's state (tests/common/caller_state.h: MXCSR, x87 control word, rounding mode, signal
// mask) is part of every kernel's contract: if the run leaves it changed (a kernel that sets
// flush-to-zero and never restores it runs faster on denormals, and every later benchmark with
// it), the program says what changed and exits with status 1.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/common/alloc_counter.h"
#include "tests/common/caller_state.h"

namespace rlvr {
namespace {

// Reports allocations made during Google Benchmark's memory-measurement run of each benchmark
// (num_allocs; Google Benchmark prints it per iteration). Bytes are not tracked by the counter, so
// max_bytes_used stays 0.
class AllocationMemoryManager : public benchmark::MemoryManager {
 public:
  void Start() override { start_ = AllocationCount(); }
  void Stop(Result& result) override {
    result.num_allocs = static_cast<int64_t>(AllocationCount() - start_);
    result.max_bytes_used = 0;
  }
  // Google Benchmark 1.7.1 still declares the pointer overload pure virtual.
  void Stop(Result* result) override { Stop(*result); }

 private:
  uint64_t start_ = 0;
};

// OpenBLAS picks its kernels when the library loads, before main, from OPENBLAS_CORETYPE. Its
// auto-detection (or an environment that presets Haswell, as some machines do) picks the AVX2
// kernel on AVX-512 CPUs it doesn't know, which would make our comparison flattering. The honest
// reference is the fastest OpenBLAS kernel the CPU runs, so on AVX-512 machines pin SkylakeX and
// restart the process once with it set. RLVR_KEEP_OPENBLAS_CORETYPE=1 keeps the environment's.
void PinOpenBlasCoreType(char** argv) {
  if (std::getenv("RLVR_KEEP_OPENBLAS_CORETYPE") != nullptr) return;
  if (!__builtin_cpu_supports("avx512f")) return;
  const char* current = std::getenv("OPENBLAS_CORETYPE");
  if (current != nullptr && std::strcmp(current, "SkylakeX") == 0) return;
  if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0) return;
  execv("/proc/self/exe", argv);
  std::fprintf(stderr,
               "rlvr_bench: re-exec with OPENBLAS_CORETYPE=SkylakeX failed (%s); "
               "OpenBLAS keeps its auto-detected kernels\n",
               std::strerror(errno));
}

// Benchmarks allocate their inputs (up to hundreds of MB) in each repetition. glibc returns large
// blocks to the kernel on free, so every repetition would fault its pages in again, and first
// touch is slow on virtual machines (~30 us per 4 KiB page here: 0.5 s for one 64 MB matrix).
// Keeping freed memory in the process makes repetitions after the first cost only their timing.
void KeepFreedMemory() {
  mallopt(M_MMAP_MAX, 0);         // large blocks come from the heap, not from their own mmap
  mallopt(M_TRIM_THRESHOLD, -1);  // and the heap is never shrunk
}

}  // namespace
}  // namespace rlvr

int main(int argc, char** argv) {
  rlvr::PinOpenBlasCoreType(argv);
  rlvr::KeepFreedMemory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  static rlvr::AllocationMemoryManager memory_manager;
  benchmark::RegisterMemoryManager(&memory_manager);
  const rlvr::CallerState before = rlvr::CaptureCallerState();
  benchmark::RunSpecifiedBenchmarks();
  const std::string change = rlvr::DescribeCallerStateChange(before, rlvr::CaptureCallerState());
  benchmark::RegisterMemoryManager(nullptr);
  benchmark::Shutdown();
  if (!change.empty()) {
    std::fprintf(stderr, "rlvr_bench: the benchmarks left the caller's state changed: %s\n",
                 change.c_str());
    return 1;
  }
  return 0;
}
