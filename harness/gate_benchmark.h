// The benchmark gate's side-by-side comparison: baseline binary vs candidate binary, run in
// interleaved rounds (A B, B A, ...) so drift of the machine hits both alike; per benchmark the
// median time ratio, its 95% CI and the Mann-Whitney U p-value (harness/stats.h); then the
// decision against the target's thresholds.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/config.h"
#include "harness/evaluate.h"

namespace rlvr {

struct ComparisonRequest {
  std::filesystem::path baseline_binary;
  std::filesystem::path candidate_binary;
  std::string filter;              // benchmarks regex of the target
  std::vector<std::string> extra;  // benchmark names outside the filter to include (references)
  int rounds = 10;
  double min_time_seconds = 0.05;  // per benchmark per run
  double timeout_seconds = 900;    // per run
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

// pass: every primary benchmark is faster by at least min_improvement with its CI below 1 and
// p < 0.05, and no gated benchmark is slower by more than max_regression (significantly).
// suspicious: a primary speed-up beyond `suspicious_speedup` x.
BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup);

// Whether a run name ("BM_Gemm/1024/real_time") names the benchmark `wanted` ("BM_Gemm/1024"):
// equal once the suffixes of run options (/real_time, /threads:N, ...) are stripped.
bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted);

}  // namespace rlvr
