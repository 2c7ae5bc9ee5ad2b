// Running the candidate's binaries for the gates: GoogleTest runs (tests, sanitizers,
// allocations) and quick Google Benchmark runs read as JSON (allocation counters), each a child
// process in its own group under limits, so a crash, hang or fork bomb is a described failure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/base/process.h"

namespace rlvr {

// Limits for untrusted candidate code: no network, bounded time, memory, files, processes, and
// writes only beneath the run's cwd and a private TMPDIR (add trees to `writable`).
// Sanitizer builds reserve terabytes of address space, so they get no memory limit.
ResourceLimits CandidateLimits(double wall_seconds, bool sanitizer);

struct TestRunResult {
  bool ok = false;
  int passed = 0;
  int failed = 0;
  double seconds = 0;
  std::string message;  // "12 tests passed", "2 of 12 tests failed: DotTest.Foo, ...", "crashed"
  std::string detail;   // first lines of the first failure / crash output
};

// How the tests run: `order_seed` shuffles them (--gtest_shuffle --gtest_random_seed) and
// `repeat` runs the whole selection that many times in one process, so a kernel whose results
// depend on call order or on earlier calls shows it.
struct TestOrder {
  int repeat = 1;
  std::optional<uint64_t> order_seed;  // nullopt: declaration order
};

// Runs `binary --gtest_filter=filter`; seed sets RLVR_TEST_SEED (nullopt: unset = fixed default
// seed). Zero matching tests is a failure: a filter that selects nothing proves nothing.
TestRunResult RunGoogleTests(const std::filesystem::path& binary, const std::string& filter,
                             std::optional<uint64_t> seed, double timeout_seconds, bool sanitizer,
                             const TestOrder& order = {});

// Runs one of a target's test commands (rlvr.json "test_commands"): `test.command` with
// {build_dir} and {source_dir} substituted, in source_dir, under candidate limits; exit status 0
// passes. `seed` sets RLVR_TEST_SEED (nullopt: unset), which programs may read or ignore. On
// failure, `message` names the command and how it ended, and `detail` is an excerpt of its output
// chosen by test.kind: the gtest failure lines, ctest's failed tests, or the output's last lines.
TestRunResult RunTestCommand(const TestCommand& test, const std::filesystem::path& source_dir,
                             const std::filesystem::path& build_dir, std::optional<uint64_t> seed,
                             double timeout_seconds, bool sanitizer);

// One benchmark of a Google Benchmark JSON report (iteration runs only; aggregates skipped).
struct BenchEntry {
  std::string name;
  double real_time_ns = 0;
  double cpu_time_ns = 0;
  int64_t iterations = 0;
  bool error = false;
  std::string error_message;
  std::optional<double> allocs_per_iter;  // present when a MemoryManager is registered
  // The benchmark's own count of allocations inside its timed loop, per iteration (counter
  // "allocs_per_iter_loop", see tests/bench/bench_util.h): exact, unlike allocs_per_iter, which
  // Google Benchmark measures over a separate run including the benchmark's set-up.
  std::optional<double> loop_allocs_per_iter;
};

// Parses --benchmark_format=json output. Throws std::runtime_error on malformed input.
std::vector<BenchEntry> ParseBenchmarkJson(const std::string& json_text);

struct BenchRunResult {
  bool ok = false;
  double seconds = 0;
  std::string message;
  std::vector<BenchEntry> entries;
};

// One quick pass of every benchmark matching `filter` (short min time), as JSON.
BenchRunResult RunBenchmarksOnce(const std::filesystem::path& binary, const std::string& filter,
                                 double min_time_seconds, double timeout_seconds);

// Google Benchmark (1.7) measures allocations in a separate run of min(16, iterations)
// iterations, set-up included, and reports allocs_per_iter = allocations / that length. So
// allocs_per_iter x MemoryRunLength is the exact integer count of one fixed-length run.
int64_t MemoryRunLength(const BenchEntry& entry);

// Benchmarks that allocate more than the baseline, one message each. Where a benchmark counts its
// timed loop itself (loop_allocs_per_iter), any allocation there beyond the baseline's fails.
// Otherwise, when both memory runs have the same length (MemoryRunLength), the exact allocation
// counts of those runs are compared: any increase fails (the set-up is HEAD's on both sides, so
// the difference is the kernel's). Only when the lengths differ is the comparison approximate (an
// increase of at least one allocation per iteration), and the message says so; the allocations
// gate first re-runs such benchmarks long enough to make the lengths equal.
std::vector<std::string> AllocationIncreases(const std::vector<BenchEntry>& baseline,
                                             const std::vector<BenchEntry>& candidate);

// The benchmarks compared only approximately by AllocationIncreases (no loop counter, memory runs
// of different lengths), by name.
std::vector<std::string> UnequalMemoryRuns(const std::vector<BenchEntry>& baseline,
                                           const std::vector<BenchEntry>& candidate);

// Fresh random seed (never 0) for RLVR_TEST_SEED.
uint64_t FreshSeed();

}  // namespace rlvr
