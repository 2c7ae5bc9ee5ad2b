#include "harness/bench_rule.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace rlvr {

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Figure(const AbBenchmark& b) {
  return fmt::format("{} {:.3f}x time [{:.3f}, {:.3f}] p={:.2g}", b.name, b.ratio, b.ci_low,
                     b.ci_high, b.p_value);
}

}  // namespace

BenchGateDecision DecideBenchGate(const std::vector<AbBenchmark>& benchmarks,
                                  const std::vector<std::string>& primary,
                                  const std::vector<std::string>& references,
                                  const BenchGateRule& rule) {
  BenchGateDecision decision;
  double log_sum = 0;
  int measured = 0;
  std::vector<std::string> improvements;
  for (const auto& name : primary) {
    auto it = std::find_if(benchmarks.begin(), benchmarks.end(),
                           [&](const AbBenchmark& b) { return b.name == name; });
    if (it == benchmarks.end()) {
      decision.reasons.push_back(fmt::format("primary benchmark {} was not measured", name));
      continue;
    }
    if (it->ratio > 0) {
      log_sum += std::log(it->ratio);
      ++measured;
    }
    if (it->ratio < rule.suspicious_ratio) decision.suspicious = true;
    bool significant = it->p_value < rule.alpha;
    bool material = it->ci_high < 1 && it->ratio <= 1 - rule.min_improvement;
    if (significant && material) {
      improvements.push_back(Figure(*it));
    } else {
      decision.reasons.push_back(
          fmt::format("{}: not {} faster with significance (need p < {} and interval below {:.3f})",
                      Figure(*it), fmt::format("{:.0f}%", rule.min_improvement * 100), rule.alpha,
                      1 - rule.min_improvement));
    }
  }
  if (primary.empty()) decision.reasons.push_back("the target names no primary benchmark");
  for (const auto& b : benchmarks) {
    if (Contains(primary, b.name) || Contains(references, b.name)) continue;
    if (b.p_value < rule.alpha && b.ratio > 1 + rule.max_regression) {
      decision.reasons.push_back(
          fmt::format("{}: regression beyond {:.0f}%", Figure(b), rule.max_regression * 100));
    }
  }
  decision.primary_ratio = measured > 0 ? std::exp(log_sum / measured) : 0;
  decision.promotable = decision.reasons.empty();
  if (decision.promotable) {
    decision.message = fmt::format("faster: {}", fmt::join(improvements, "; "));
  } else {
    decision.message = decision.reasons.front();
  }
  if (decision.suspicious) {
    decision.message += fmt::format(" (suspicious: more than {:.0f}x faster; re-verify)",
                                    1 / rule.suspicious_ratio);
  }
  return decision;
}

}  // namespace rlvr
