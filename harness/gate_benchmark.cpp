#include "harness/gate_benchmark.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <regex>

#include <fmt/format.h>

#include "harness/gates.h"
#include "harness/stats.h"

namespace rlvr {

namespace {

std::string EscapeRegex(const std::string& name) {
  std::string escaped;
  for (char c : name) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

// Google Benchmark's filter is a POSIX extended regex: no \d.
constexpr const char* kRunSuffixes = "(/(real_time|process_time|manual_time|threads:[0-9]+))*";

std::string FilterWithExtras(const ComparisonRequest& request) {
  std::string filter = request.filter;
  for (const auto& name : request.extra)
    filter = fmt::format("({})|(^{}{}$)", filter, EscapeRegex(name), kRunSuffixes);
  return filter;
}

bool IsNamed(const BenchmarkFigure& figure, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (BenchmarkNameMatches(figure.name, name)) return true;
  }
  return false;
}

}  // namespace

bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted) {
  // Strip the suffixes Google Benchmark appends for run options, then compare.
  static const std::regex suffix(R"((/(real_time|process_time|manual_time|threads:[0-9]+))+$)");
  if (run_name == wanted) return true;
  std::string stripped = std::regex_replace(std::string(run_name), suffix, "");
  return stripped == wanted;
}

Comparison CompareBenchmarks(const ComparisonRequest& request) {
  Comparison comparison;
  std::string filter = FilterWithExtras(request);
  std::map<std::string, std::vector<double>> base_samples, cand_samples;
  std::vector<std::string> order;
  for (int round = 0; round < request.rounds; ++round) {
    // Alternate which binary goes first, so warm-up and drift favour neither.
    bool candidate_first = round % 2 == 1;
    for (int leg = 0; leg < 2; ++leg) {
      bool candidate = (leg == 0) == candidate_first;
      BenchRunResult run =
          RunBenchmarksOnce(candidate ? request.candidate_binary : request.baseline_binary, filter,
                            request.min_time_seconds, request.timeout_seconds);
      comparison.seconds += run.seconds;
      if (!run.ok) {
        comparison.message =
            fmt::format("{} {}", candidate ? "candidate" : "baseline", run.message);
        return comparison;
      }
      for (const auto& entry : run.entries) {
        if (entry.error) {
          comparison.message =
              fmt::format("{} benchmark {} reported an error: {}",
                          candidate ? "candidate" : "baseline", entry.name, entry.error_message);
          return comparison;
        }
        auto& samples = candidate ? cand_samples : base_samples;
        if (!base_samples.count(entry.name) && !cand_samples.count(entry.name))
          order.push_back(entry.name);
        samples[entry.name].push_back(entry.real_time_ns);
      }
    }
  }
  for (const auto& name : order) {
    const auto& a = base_samples[name];
    const auto& b = cand_samples[name];
    if (a.empty() || b.empty()) {
      comparison.message = fmt::format("benchmark {} exists in only one binary", name);
      return comparison;
    }
    BenchmarkFigure figure;
    figure.name = name;
    figure.baseline_ns = MedianOf(a);
    figure.candidate_ns = MedianOf(b);
    figure.ratio = figure.baseline_ns > 0 ? figure.candidate_ns / figure.baseline_ns : 1;
    RatioInterval interval = RatioConfidence(a, b, 0.95);
    figure.ci_low = interval.low;
    figure.ci_high = interval.high;
    figure.p_value = MannWhitneyTwoSidedP(a, b);
    figure.candidate_samples_ns = b;
    figure.reference =
        std::find(request.extra.begin(), request.extra.end(), name) != request.extra.end();
    comparison.figures.push_back(std::move(figure));
  }
  comparison.ok = true;
  return comparison;
}

BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup) {
  BenchmarkDecision decision;
  double log_sum = 0;
  int primaries = 0;
  std::vector<std::string> problems;
  for (const auto& name : target.primary) {
    auto it = std::find_if(figures.begin(), figures.end(), [&](const BenchmarkFigure& f) {
      return BenchmarkNameMatches(f.name, name);
    });
    if (it == figures.end()) {
      problems.push_back(fmt::format("primary benchmark {} did not run", name));
      continue;
    }
    it->primary = true;
    log_sum += std::log(it->ratio);
    ++primaries;
    double speedup = 1 - it->ratio;
    if (it->ratio < 1.0 / suspicious_speedup) decision.suspicious = true;
    if (speedup < target.min_improvement || it->ci_high >= 1.0 || it->p_value >= 0.05) {
      problems.push_back(fmt::format(
          "{} not faster enough: {:+.1f}% time [CI {:+.1f}%, {:+.1f}%], p={:.3f} (need <= "
          "-{:.1f}%, significant)",
          name, (it->ratio - 1) * 100, (it->ci_low - 1) * 100, (it->ci_high - 1) * 100, it->p_value,
          target.min_improvement * 100));
    }
  }
  for (const auto& f : figures) {
    if (f.reference) continue;
    if (f.ratio > 1 + target.max_regression && f.ci_low > 1 && f.p_value < 0.05) {
      problems.push_back(
          fmt::format("{} regressed: {:+.1f}% time [CI {:+.1f}%, {:+.1f}%], p={:.3f}", f.name,
                      (f.ratio - 1) * 100, (f.ci_low - 1) * 100, (f.ci_high - 1) * 100, f.p_value));
    }
  }
  decision.primary_ratio = primaries ? std::exp(log_sum / primaries) : 0;
  decision.pass = problems.empty();
  if (decision.pass) {
    const auto& first = *std::find_if(figures.begin(), figures.end(),
                                      [](const BenchmarkFigure& f) { return f.primary; });
    decision.message = fmt::format("{} {:+.1f}% time [CI {:+.1f}%, {:+.1f}%], p={:.3g}", first.name,
                                   (first.ratio - 1) * 100, (first.ci_low - 1) * 100,
                                   (first.ci_high - 1) * 100, first.p_value);
  } else {
    decision.message = problems.front();
    for (size_t i = 1; i < problems.size(); ++i) decision.message += "; " + problems[i];
  }
  return decision;
}

}  // namespace rlvr
