#include "harness/bench/rule.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/bench/stats.h"

namespace rlvr {

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Figure(const AbBenchmark& b) {
  return fmt::format("{} {:.3f}x time [{:.3f}, {:.3f}] p={:.2g}", b.name, b.ratio, b.ci_low,
                     b.ci_high, b.p_value);
}

std::string RegressionReason(const AbBenchmark& b, const BenchGateRule& rule) {
  return fmt::format("{}: regression beyond {:.0f}% (Holm-corrected)", Figure(b),
                     rule.max_regression * 100);
}

bool Gated(const std::string& name, const std::vector<std::string>& primary,
           const std::vector<std::string>& references, const BenchGateRule& rule) {
  return !Contains(primary, name) && !Contains(references, name) &&
         !Contains(rule.regression_exempt, name);
}

}  // namespace

std::vector<const AbBenchmark*> GatedRegressions(const std::vector<AbBenchmark>& benchmarks,
                                                 const std::vector<std::string>& primary,
                                                 const std::vector<std::string>& references,
                                                 const BenchGateRule& rule, double level) {
  std::vector<const AbBenchmark*> gated;
  for (const auto& b : benchmarks) {
    if (Gated(b.name, primary, references, rule)) gated.push_back(&b);
  }
  std::stable_sort(gated.begin(), gated.end(), [](const AbBenchmark* a, const AbBenchmark* b) {
    return a->p_value < b->p_value;
  });
  std::vector<const AbBenchmark*> regressed;
  const size_t m = gated.size();
  for (size_t k = 0; k < m; ++k) {
    if (gated[k]->p_value >= level / double(m - k)) break;  // step-down: stop at the first kept
    if (gated[k]->ratio > 1 + rule.max_regression) regressed.push_back(gated[k]);
  }
  return regressed;
}

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
  for (const AbBenchmark* b : GatedRegressions(benchmarks, primary, references, rule, rule.alpha)) {
    decision.reasons.push_back(RegressionReason(*b, rule));
    decision.regressed.push_back(b->name);
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

bool RegressionDismissedByLayout(double estimate, double ci_high, const BenchGateRule& rule) {
  return WithinEarlyPromotionGuard(estimate, ci_high, rule);
}

bool SpeedupHoldsUnderLayout(double ratio, double ci_high, const BenchGateRule& rule) {
  return ci_high < 1 && ratio <= 1 - rule.min_improvement / 2;
}

SequentialDesign MakeSequentialDesign(int max_rounds, double alpha) {
  SequentialDesign design;
  design.max_rounds = std::max(max_rounds, 1);
  if (design.max_rounds > 8) {
    for (double look = 6; look < design.max_rounds - 2; look = look < 10 ? 10 : look * 1.5) {
      design.looks.push_back(int(look));
    }
  }
  design.looks.push_back(design.max_rounds);
  std::vector<double> fractions;
  for (int look : design.looks) fractions.push_back(double(look) / design.max_rounds);
  for (double bound : GroupSequentialBounds(fractions, alpha / 2, AlphaSpending::kPocock)) {
    design.promotion_level.push_back(NormalUpperTail(bound));
  }
  return design;
}

namespace {

const AbBenchmark* Find(const std::vector<AbBenchmark>& benchmarks, const std::string& name) {
  auto it = std::find_if(benchmarks.begin(), benchmarks.end(),
                         [&](const AbBenchmark& b) { return b.name == name; });
  return it == benchmarks.end() ? nullptr : &*it;
}

bool GrosslySlower(const AbBenchmark& b, double factor) {
  if (b.baseline_ns.empty() || b.candidate_ns.empty()) return false;
  return *std::min_element(b.candidate_ns.begin(), b.candidate_ns.end()) >=
         factor * *std::max_element(b.baseline_ns.begin(), b.baseline_ns.end());
}

std::vector<double> Scaled(std::vector<double> values, double factor) {
  for (double& v : values) v *= factor;
  return values;
}

// Settles `result` one way: a refusal's message is its reasons; either way it ends with when it
// was decided (`after`) and, for a suspicious speed-up, that it must be re-verified.
SequentialDecision& Settle(SequentialDecision& result, bool promotable, const std::string& after,
                           const BenchGateRule& rule) {
  BenchGateDecision& decision = result.decision;
  result.settled = true;
  decision.promotable = promotable;
  if (!promotable) decision.message = fmt::format("{}", fmt::join(decision.reasons, "; "));
  decision.message += "; " + after;
  if (decision.suspicious) {
    decision.message += fmt::format(" (suspicious: more than {:.0f}x faster; re-verify)",
                                    1 / rule.suspicious_ratio);
  }
  return result;
}

}  // namespace

bool WithinEarlyPromotionGuard(double estimate, double ci_high, const BenchGateRule& rule) {
  return estimate <= 1 + rule.max_regression && ci_high <= 1 + 2 * rule.max_regression;
}

SequentialDecision DecideSequential(const SequentialDesign& design, int round,
                                    const std::vector<AbBenchmark>& benchmarks,
                                    const std::vector<std::string>& primary,
                                    const std::vector<std::string>& references,
                                    const BenchGateRule& rule) {
  SequentialDecision result;
  result.round = round;
  result.max_rounds = design.max_rounds;
  BenchGateDecision& decision = result.decision;
  const std::string after = fmt::format("decided after {} of {} rounds", round, design.max_rounds);
  auto settle = [&](bool promotable) { return Settle(result, promotable, after, rule); };

  // Primary ratio and suspicion, whatever happens next.
  double log_sum = 0;
  int measured = 0;
  for (const auto& name : primary) {
    const AbBenchmark* b = Find(benchmarks, name);
    if (b == nullptr) {
      decision.reasons.push_back(fmt::format("primary benchmark {} was not measured", name));
      continue;
    }
    if (b->ratio > 0) {
      log_sum += std::log(b->ratio);
      ++measured;
    }
    if (b->ratio < rule.suspicious_ratio) decision.suspicious = true;
  }
  decision.primary_ratio = measured > 0 ? std::exp(log_sum / measured) : 0;
  if (primary.empty()) decision.reasons.push_back("the target names no primary benchmark");
  if (!decision.reasons.empty()) return settle(false);

  // Clear slowdowns, before the rank tests can resolve anything. Only gated benchmarks slowed
  // (not a primary) count as regressed: code layout alone was seen to slow a 12-byte hash 1.8x,
  // so the caller may re-measure them under other layouts before believing it.
  if (round >= 2) {
    bool primary_slower = false;
    for (const auto& b : benchmarks) {
      if (Contains(references, b.name) || Contains(rule.regression_exempt, b.name) ||
          !GrosslySlower(b, design.gross_slowdown))
        continue;
      decision.reasons.push_back(
          fmt::format("{}: every candidate run at least {:.1f}x slower than every baseline run",
                      Figure(b), design.gross_slowdown));
      if (Contains(primary, b.name)) {
        primary_slower = true;
      } else {
        decision.regressed.push_back(b.name);
      }
    }
    if (primary_slower) decision.regressed.clear();  // refused for the primary whatever they are
    if (!decision.reasons.empty()) return settle(false);
  }

  auto look = std::find(design.looks.begin(), design.looks.end(), round);
  if (look == design.looks.end()) return result;  // not a look: measure on
  const size_t k = size_t(look - design.looks.begin());
  const bool last = k + 1 == design.looks.size();
  const double level = design.promotion_level[k];

  for (const AbBenchmark* b : GatedRegressions(benchmarks, primary, references, rule, rule.alpha)) {
    decision.reasons.push_back(RegressionReason(*b, rule));
    decision.regressed.push_back(b->name);
  }
  if (!decision.reasons.empty()) return settle(false);

  std::vector<std::string> improvements, short_of, hopeless;
  for (const auto& name : primary) {
    const AbBenchmark& b = *Find(benchmarks, name);
    double p = MannWhitneyOneSidedP(b.candidate_ns, b.baseline_ns);
    // Materiality on the Hodges-Lehmann estimate: the point estimate dual to the interval and the
    // test, and far steadier than the ratio of medians (power for a true 5% speed-up at 3% noise,
    // 20 rounds: 97% against 96%, tests/harness/sequential_test.cpp).
    bool material = b.ci_high < 1 && b.estimate <= 1 - rule.min_improvement;
    std::string figure =
        fmt::format("{} (estimate {:.3f}, one-sided p={:.2g})", Figure(b), b.estimate, p);
    if (p <= level && material) {
      improvements.push_back(figure);
      continue;
    }
    short_of.push_back(
        fmt::format("{}: not {:.0f}% faster with significance (need one-sided p <= {:.2g}, "
                    "interval below 1 and estimate <= {:.3f})",
                    figure, rule.min_improvement * 100, level, 1 - rule.min_improvement));
    // Futility: is even a material speed-up (time x (1 - min_improvement)) clearly ruled out?
    double futile =
        MannWhitneyOneSidedP(Scaled(b.baseline_ns, 1 - rule.min_improvement), b.candidate_ns);
    if (futile < design.futility_level) {
      hopeless.push_back(fmt::format("{}: clearly not {:.0f}% faster (p={:.2g} for that speed-up)",
                                     Figure(b), rule.min_improvement * 100, futile));
    }
  }
  if (!hopeless.empty()) {
    decision.reasons = hopeless;
    return settle(false);
  }
  if (short_of.empty()) {
    std::vector<std::string> slower;
    for (const auto& b : benchmarks) {
      if (!Gated(b.name, primary, references, rule)) continue;
      if (!WithinEarlyPromotionGuard(b.estimate, b.ci_high, rule)) slower.push_back(b.name);
    }
    if (slower.empty() || last) {
      decision.message = fmt::format("faster: {}", fmt::join(improvements, "; "));
      return settle(true);
    }
    // Promotable at this look once the held-back benchmarks are cleared (DecideHeldBack).
    decision.promotable = true;
    decision.message = fmt::format("faster: {}", fmt::join(improvements, "; "));
    result.held_back = std::move(slower);
    return result;
  }
  if (!last) return result;  // not settled either way: measure on
  decision.reasons = short_of;
  return settle(false);
}

SequentialDecision DecideHeldBack(const SequentialDesign& design, int rounds,
                                  const SequentialDecision& at_look,
                                  const std::vector<AbBenchmark>& benchmarks,
                                  const std::vector<std::string>& primary,
                                  const std::vector<std::string>& references,
                                  const BenchGateRule& rule) {
  SequentialDecision result = at_look;
  result.settled = false;
  const bool last = rounds >= design.max_rounds;
  if (!last && std::find(design.looks.begin(), design.looks.end(), rounds) == design.looks.end())
    return result;  // not a look: measure on
  BenchGateDecision& decision = result.decision;
  for (const AbBenchmark* b : GatedRegressions(benchmarks, primary, references, rule, rule.alpha)) {
    decision.reasons.push_back(RegressionReason(*b, rule));
    decision.regressed.push_back(b->name);
  }
  // At the last round, a held-back benchmark whose whole interval lies beyond max_regression is a
  // suspected regression even when not significant at the design's level: under load a real
  // 1.38x regression read +30% [+8%, +39%], p = 0.047, and "no regression" promoted it. Named in
  // `regressed`, it is re-measured under other code layouts like any suspect.
  if (last) {
    for (const auto& b : benchmarks) {
      if (!Contains(at_look.held_back, b.name) || Contains(decision.regressed, b.name) ||
          b.ci_low <= 1 + rule.max_regression)
        continue;
      decision.reasons.push_back(fmt::format(
          "{}: regression beyond {:.0f}% by its whole 95% interval at the last round (not "
          "significant at the design's level: a suspected regression)",
          Figure(b), rule.max_regression * 100));
      decision.regressed.push_back(b.name);
    }
  }
  if (decision.reasons.empty() && !last) {
    for (const auto& b : benchmarks) {
      if (Contains(at_look.held_back, b.name) &&
          !WithinEarlyPromotionGuard(b.estimate, b.ci_high, rule))
        return result;  // still not clear: measure on
    }
  }
  const bool promotable = decision.reasons.empty();
  return Settle(result, promotable,
                fmt::format("decided after {} of {} rounds ({} measured alone to {} rounds{})",
                            at_look.round, at_look.max_rounds, fmt::join(at_look.held_back, ", "),
                            rounds, promotable ? ", no regression" : ""),
                rule);
}

}  // namespace rlvr
