// The statistical promotion rule of the benchmark gate, on an A/B comparison (see bench/run.h): is
// the candidate significantly and materially faster on every primary benchmark, without a
// significant regression elsewhere? Also flags implausible speed-ups for re-verification. Two
// forms: the fixed-budget rule on a finished comparison (DecideBenchGate), and the
// group-sequential rule (DecideSequential) that looks at the samples after some rounds and stops
// as soon as the verdict is settled at the same error rates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/bench/run.h"

namespace rlvr {

struct BenchGateRule {
  double min_improvement = 0.03;  // primary must be at least this much faster
  double max_regression = 0.05;   // no gated benchmark may be this much slower
  double alpha = 0.01;            // two-sided Mann-Whitney level (one tail: 0.5%)
  double suspicious_ratio = 0.1;  // a primary ratio below this (>10x faster) is suspicious
  // Gated benchmarks not judged for regression: their suspected regression was measured again
  // under other code layouts and did not reproduce (benchmark gate, bench/relayout.h).
  std::vector<std::string> regression_exempt;
};

struct BenchGateDecision {
  bool promotable = false;
  bool suspicious = false;           // re-verify on fresh inputs before believing it
  double primary_ratio = 0;          // geometric mean of the primary ratios; 0 if none measured
  std::string message;               // one line: the deciding figure or the first reason to refuse
  std::vector<std::string> reasons;  // every reason to refuse
  // The gated benchmarks refused for a regression (significant and beyond max_regression), so a
  // caller can measure them again before believing it.
  std::vector<std::string> regressed;
};

// The gated benchmarks (neither primary, nor reference, nor exempt) that regress: slower than
// 1 + max_regression by the ratio of medians, and significantly so after Holm's step-down
// correction for the number m of gated benchmarks (the k-th smallest two-sided p is compared with
// level / (m - k + 1)). Why Holm: a target with 30 small benchmarks would otherwise see a
// regression "significant at 1%" by chance in a quarter of A/A comparisons; Holm keeps the chance
// of any false regression at `level` whatever m is, and is uniformly more powerful than
// Bonferroni.
std::vector<const AbBenchmark*> GatedRegressions(const std::vector<AbBenchmark>& benchmarks,
                                                 const std::vector<std::string>& primary,
                                                 const std::vector<std::string>& references,
                                                 const BenchGateRule& rule, double level);

// The rule, per benchmark b with ratio r = candidate/baseline median, 95% interval [lo, hi] and
// two-sided Mann-Whitney p:
//   primary b improves   iff p < alpha  and  hi < 1  and  r <= 1 - min_improvement
//   gated b regresses    iff Holm-corrected p < alpha  and  r > 1 + max_regression
//                        (GatedRegressions; exempt benchmarks are not judged)
// promotable iff every primary improves and no non-primary, non-reference benchmark regresses.
// Why: an A/A run can only promote when noise is significant in the faster direction, which
// happens with probability alpha/2 (one tail), and the material-size condition cuts it further;
// alpha = 0.01 keeps false promotions well under 1% (measured 0.1% with 20 rounds, while 0.02
// measured 1.1% on a noisier run). Requiring the whole interval below
// 1 - min_improvement instead was measured (rlvr calibrate, this 2-core machine under load) to
// lose most of the power for a true 10% speed-up at affordable round counts.
BenchGateDecision DecideBenchGate(const std::vector<AbBenchmark>& benchmarks,
                                  const std::vector<std::string>& primary,
                                  const std::vector<std::string>& references,
                                  const BenchGateRule& rule);

// The sequential rule's early-promotion guard on a gated benchmark (DecideSequential): estimate
// within 1 + max_regression and interval within 1 + 2 max_regression.
bool WithinEarlyPromotionGuard(double estimate, double ci_high, const BenchGateRule& rule);

// The benchmark gate's tests of one re-measurement under another code layout (bench/relayout.h),
// also used by `rlvr calibrate --null-patches` to estimate their effect. How many other layouts a
// suspected regression is measured under before it refuses.
inline constexpr int kRegressionRelayouts = 3;
// A suspected regression is layout noise when a re-laid-out measurement passes the early-promotion
// guard (dismissing needs evidence of no material regression: a measurement too noisy to tell
// keeps the suspicion). Why not "the whole interval within max_regression": tiny benchmarks (a
// 12-byte hash, a few ns) are too noisy for that, and a null patch that a layout slowed by 31%
// measured 1.022x [0.920, 1.061] under another layout and was still refused.
bool RegressionDismissedByLayout(double estimate, double ci_high, const BenchGateRule& rule);
// A small speed-up holds when the interval is below 1 and the ratio at least half of
// min_improvement faster.
bool SpeedupHoldsUnderLayout(double ratio, double ci_high, const BenchGateRule& rule);

// The group-sequential design: when to look and at which level. Promotion is tested only at
// `looks` (rounds done), each at its nominal one-sided level from Lan-DeMets Pocock-type spending
// of alpha/2 over the information fraction rounds/max_rounds, so the chance that an A/A
// comparison crosses at ANY look is alpha/2, as with one look at the fixed budget. Why Pocock and
// these looks: a rank test on n runs per side cannot reach a one-sided p below 1/C(2n, n)
// (n = 4: 1/70 = 0.014 > alpha/2), so no distribution-free rule can promote before 5 rounds; the
// first look is at 6 (6 vs 6 fully separated: exact p = 0.0011), and Pocock spending gives it
// enough level (0.0021) to promote a clear speed-up there, where O'Brien-Fleming would not
// before round 14. Early rejection needs no spending: stopping to reject can only lower the
// false-promotion rate (it costs power only, and was measured not to cost it, see
// tests/harness/sequential_test.cpp).
struct SequentialDesign {
  int max_rounds = kBenchRounds;
  std::vector<int> looks;               // increasing; the last is max_rounds
  std::vector<double> promotion_level;  // nominal one-sided level per look
  // A primary clearly not materially faster: one-sided p of "candidate slower than
  // (1 - min_improvement) x baseline" below this at a look rejects.
  double futility_level = 0.01;
  // After round 2 or later: every candidate run at least this many times slower than every
  // baseline run, on a primary or gated benchmark, rejects (before a rank test can say anything:
  // a 9x slower candidate needs no 20 rounds). 1.5x is far beyond run-to-run noise here (3%).
  double gross_slowdown = 1.5;
};

// Looks after rounds 6, 10, 15, then every 1.5x, and at max_rounds (a look within 2 rounds of it
// is dropped); a single look at max_rounds when max_rounds <= 8. `alpha` is two-sided, as in
// BenchGateRule (one tail, alpha/2, is spent on promotion).
SequentialDesign MakeSequentialDesign(int max_rounds, double alpha);

struct SequentialDecision {
  bool settled = false;        // stop measuring; decision.promotable says which way
  BenchGateDecision decision;  // the verdict (meaningful when settled)
  int round = 0;               // rounds done when decided
  int max_rounds = 0;
  // Not settled only because these gated benchmarks are not yet clear of a regression (the
  // early-promotion guard below), while every primary already improves at this look's level:
  // decision holds that promotion (promotable, its message). A caller may measure just these on
  // and decide with DecideHeldBack instead of measuring everything on.
  std::vector<std::string> held_back;
};

// The sequential rule after `round` completed rounds (every benchmark holds `round` samples per
// side). Rejects (settled) when
//   - a primary benchmark was not measured or the target names none;
//   - round >= 2 and a primary or gated benchmark's every candidate run is gross_slowdown x
//     slower than its every baseline run (gated ones, when no primary is, named in `regressed`);
//   - at a look: a gated benchmark regresses as in DecideBenchGate (p < alpha and ratio >
//     1 + max_regression), or a primary is clearly not materially faster (futility_level);
//   - at the last look: anything short of promotion.
// Promotes (settled) at look k iff every primary has exact one-sided Mann-Whitney p <=
// promotion_level[k], interval high end < 1 and Hodges-Lehmann estimate <= 1 - min_improvement
// (DecideBenchGate's conditions at the look's level, with the estimate of the ratio that goes with
// the interval instead of the ratio of medians, which needs no samples but is noisier), no gated
// benchmark regresses, and, before the last look, every gated benchmark's estimate is within
// 1 + max_regression and its interval within 1 + 2 max_regression (an early promotion must not
// outrun the regression check's power: with these, an 8% regression of a gated benchmark at 3%
// noise slips through 5% of the time, against 0.4% for the fixed 20 rounds; the benchmarks that
// fail it are named in held_back). Otherwise not settled: measure more. The message ends "decided
// after N of M rounds".
SequentialDecision DecideSequential(const SequentialDesign& design, int round,
                                    const std::vector<AbBenchmark>& benchmarks,
                                    const std::vector<std::string>& primary,
                                    const std::vector<std::string>& references,
                                    const BenchGateRule& rule);

// Decides a promotion held back at a look (SequentialDecision::held_back) while only the
// held-back benchmarks are measured on: `rounds` is how many samples per side they now hold (the
// others keep those of the look). At the design's later looks it refuses if a gated benchmark
// regresses (GatedRegressions; `regressed` names them) and promotes once every held-back benchmark
// is within the guard (WithinEarlyPromotionGuard); at max_rounds, anything but a regression
// promotes, as at the last look. Not settled in between. Why this is sound: the primary's
// promotion was decided at its look's level, and the held-back benchmarks are judged exactly as
// the sequential rule would judge them. Why it is fast: a clear speed-up no longer waits measuring
// everything while small benchmarks that code layout moves are cleared; for GEMM the held-back
// ones (small Linear and MatVec) cost a fraction of a round.
SequentialDecision DecideHeldBack(const SequentialDesign& design, int rounds,
                                  const SequentialDecision& at_look,
                                  const std::vector<AbBenchmark>& benchmarks,
                                  const std::vector<std::string>& primary,
                                  const std::vector<std::string>& references,
                                  const BenchGateRule& rule);

}  // namespace rlvr
