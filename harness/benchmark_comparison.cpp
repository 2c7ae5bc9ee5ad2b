#include "harness/benchmark_comparison.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "harness/bench_rule.h"
#include "harness/candidate_run.h"

namespace rlvr {

namespace {

// References may carry run-option suffixes in the binary ("BM_PeakFma/real_time"): match them
// with or without. Google Benchmark's filter is a POSIX extended regex (no \d).
bool IsNamed(const std::string& name, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& wanted) { return BenchmarkNameMatches(name, wanted); });
}

AbBenchmark ToAb(const BenchmarkFigure& f) {
  AbBenchmark b;
  b.name = f.name;
  b.baseline_median_ns = f.baseline_ns;
  b.candidate_median_ns = f.candidate_ns;
  b.ratio = f.ratio;
  b.ci_low = f.ci_low;
  b.ci_high = f.ci_high;
  b.p_value = f.p_value;
  b.candidate_ns = f.candidate_samples_ns;
  return b;
}

}  // namespace

std::string NormalizedBenchmarkName(std::string_view run_name) {
  static const std::regex suffix(R"((/(real_time|process_time|manual_time|threads:[0-9]+))+$)");
  return std::regex_replace(std::string(run_name), suffix, "");
}

bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted) {
  return run_name == wanted || NormalizedBenchmarkName(run_name) == wanted;
}

Comparison CompareBenchmarks(const ComparisonRequest& request) {
  Comparison comparison;
  AbRequest ab;
  ab.baseline_command = {request.baseline_binary.string()};
  ab.candidate_command = {request.candidate_binary.string()};
  ab.settings.filter = FilterWithNames(request.filter, request.extra);
  ab.settings.min_time_seconds = request.min_time_seconds;
  ab.settings.repetitions = request.repetitions;
  ab.rounds = request.rounds;
  // Same cwd, environment and limits for both sides; the candidate is untrusted code.
  ab.options.cwd = request.candidate_binary.parent_path();
  ab.options.limits = CandidateLimits(request.timeout_seconds, false);
  AbResult result = RunInterleaved(ab);
  comparison.seconds = result.seconds;
  if (!result.ok) {
    comparison.message =
        result.failed_side.empty() ? result.message : result.failed_side + ": " + result.message;
    return comparison;
  }
  for (const auto& b : result.benchmarks) {
    BenchmarkFigure figure;
    figure.name = NormalizedBenchmarkName(b.name);
    figure.baseline_ns = b.baseline_median_ns;
    figure.candidate_ns = b.candidate_median_ns;
    figure.ratio = b.ratio;
    figure.ci_low = b.ci_low;
    figure.ci_high = b.ci_high;
    figure.p_value = b.p_value;
    figure.candidate_samples_ns = b.candidate_ns;
    figure.candidate_counters = b.candidate_counters;
    figure.reference = IsNamed(b.name, request.extra);
    comparison.figures.push_back(std::move(figure));
  }
  comparison.ok = true;
  return comparison;
}

std::string AboveTheRoofline(const std::vector<BenchmarkFigure>& figures) {
  double peak = 0;  // the best GFLOPS of a reference (the measured FMA peak, OpenBLAS)
  for (const auto& f : figures) {
    if (!f.reference) continue;
    if (auto it = f.candidate_counters.find("GFLOPS"); it != f.candidate_counters.end())
      peak = std::max(peak, it->second);
  }
  if (peak <= 0) return "";
  for (const auto& f : figures) {
    if (f.reference) continue;
    auto it = f.candidate_counters.find("GFLOPS");
    if (it != f.candidate_counters.end() && it->second > kRooflineMargin * peak) {
      return fmt::format("{} reports {:.0f} GFLOPS, above the measured peak of {:.0f}", f.name,
                         it->second, peak);
    }
  }
  return "";
}

BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup) {
  std::vector<AbBenchmark> benchmarks;
  for (auto& f : figures) {
    f.name = NormalizedBenchmarkName(f.name);
    f.primary = IsNamed(f.name, target.primary);
    benchmarks.push_back(ToAb(f));
  }
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  rule.suspicious_ratio = 1.0 / suspicious_speedup;
  BenchGateDecision gate = DecideBenchGate(benchmarks, target.primary, target.references, rule);
  BenchmarkDecision decision;
  decision.pass = gate.promotable;
  decision.suspicious = gate.suspicious;
  decision.primary_ratio = gate.primary_ratio;
  decision.message = gate.message;
  if (!gate.promotable && gate.reasons.size() > 1) {
    for (size_t i = 1; i < gate.reasons.size(); ++i) decision.message += "; " + gate.reasons[i];
  }
  if (std::string above = AboveTheRoofline(figures); !above.empty()) {
    decision.suspicious = true;
    decision.message += " (suspicious: " + above + ")";
  }
  return decision;
}

}  // namespace rlvr
