// The benchmark gate's side-by-side comparison: baseline binary vs candidate binary through the
// interleaved A/B runner (bench_run.h: ABBA rounds, medians, ratio CI, Mann-Whitney p) and the
// gate decision (bench_gate.h), adapted to the evaluator: benchmark names are normalised
// ("BM_Gemm/1024/real_time" -> "BM_Gemm/1024", as rlvr.json and baselines name them) and the
// results become the verdict's figures.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/bench_run.h"
#include "harness/config.h"
#include "harness/evaluate.h"

namespace rlvr {

struct ComparisonRequest {
  std::filesystem::path baseline_binary;
  std::filesystem::path candidate_binary;
  std::string filter;              // benchmarks regex of the target
  std::vector<std::string> extra;  // benchmark names outside the filter to include (references)
  int rounds = kBenchRounds;
  double min_time_seconds = kBenchMinTimeSeconds;  // per benchmark per repetition
  int repetitions = kBenchRepetitions;             // per run; the fastest is kept
  double timeout_seconds = 900;                    // per run
};

struct Comparison {
  bool ok = false;      // both binaries ran and every benchmark produced samples
  std::string message;  // why not ok
  std::vector<BenchmarkFigure> figures;
  double seconds = 0;
};

Comparison CompareBenchmarks(const ComparisonRequest& request);

struct BenchmarkDecision {
  bool pass = false;
  bool suspicious = false;
  double primary_ratio = 0;  // geometric mean of the primary benchmarks' ratios
  std::string message;
};

// How far above the best reference's GFLOPS a kernel may report before it is suspicious (the
// peak is measured on the same run, so only noise separates an honest kernel from it).
inline constexpr double kRooflineMargin = 1.10;

// "<benchmark> reports N GFLOPS, above the measured peak of M" for the first non-reference
// figure whose candidate GFLOPS counter exceeds kRooflineMargin x the best reference's; empty if
// none does or no reference reports GFLOPS. (Bandwidth is not checked: data that stays in cache
// legitimately beats the memory-bandwidth reference.)
std::string AboveTheRoofline(const std::vector<BenchmarkFigure>& figures);

// DecideBenchGate (bench_gate.h) on the figures with the target's thresholds; marks the primary
// figures. suspicious: a primary speed-up beyond `suspicious_speedup` x, or a benchmark above the
// roofline (AboveTheRoofline).
BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup);

// The benchmark name without the suffixes Google Benchmark appends for run options
// ("/real_time", "/process_time", "/manual_time", "/threads:N").
std::string NormalizedBenchmarkName(std::string_view run_name);

// Whether a run name ("BM_Gemm/1024/real_time") names the benchmark `wanted` ("BM_Gemm/1024").
bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted);

}  // namespace rlvr
