// Statistics of the benchmark gate: medians, the two-sided Mann-Whitney U p-value (normal
// approximation with tie and continuity correction, as scipy.stats.mannwhitneyu computes it and
// Google Benchmark's compare.py uses it), its exact one-sided form for small samples, a
// distribution-free 95% confidence interval of the candidate/baseline time ratio, the
// group-sequential (Lan-DeMets alpha-spending) boundaries that let the gate stop early, and the
// upper bound of an error rate that calibration reports.
#pragma once

#include <utility>
#include <vector>

namespace rlvr {

// Median of the values; 0 for none.
double MedianOf(std::vector<double> values);

// Exact (Clopper-Pearson) one-sided 95% upper bound of a rate after `events` of `trials`
// (0 <= events <= trials, trials >= 1): the p with P(X <= events) = 0.05 for X ~ Binomial(trials,
// p); 1 when events == trials.
double BinomialUpperBound95(int events, int trials);

// Two-sided p-value of the Mann-Whitney U test of `a` against `b`: U = max(U1, U2),
// z = (U - n1 n2 / 2 - 0.5) / sigma with the tie-corrected sigma, p = 2 (1 - Phi(z)), at most 1.
// 1 when either side is empty or every value is equal (no evidence of a difference).
double MannWhitneyTwoSidedP(const std::vector<double>& a, const std::vector<double>& b);

// The confidence interval of candidate/baseline, with its point estimate.
struct RatioInterval {
  double estimate = 1;  // Hodges-Lehmann: exp(median of log(c_j) - log(b_i) over all pairs)
  double low = 1;
  double high = 1;
};

// Hodges-Lehmann interval on log-times (the Moses/Bauer interval): the order statistics of all
// n1*n2 pairwise differences log(c_j) - log(b_i) that the Mann-Whitney test at the same level
// cannot reject, exponentiated. Why this one: it is distribution-free (benchmark times are skewed
// and have outliers), deterministic (no resampling seed), it is the interval dual to the p-value
// above so the two never disagree wildly, and logs make it a ratio (scale-invariant). It assumes
// a shift in log-time, i.e. a multiplicative speed-up, which is what an optimisation is.
// `confidence` is two-sided, e.g. 0.95. Non-positive samples are ignored.
RatioInterval RatioConfidence(const std::vector<double>& baseline,
                              const std::vector<double>& candidate, double confidence = 0.95);

// Standard normal upper quantile: z with P(Z > z) = upper_tail (e.g. 0.025 -> 1.96).
double NormalUpperQuantile(double upper_tail);

// P(Z > z) for a standard normal Z.
double NormalUpperTail(double z);

// One-sided Mann-Whitney p-value for "values of `smaller` tend to be smaller than those of
// `larger`": P(U >= u) under exchangeability, where u counts the pairs (s, l) with s < l (ties
// count 1/2). Exact (the permutation distribution of U) when there are no ties and both sides
// have at most 50 values: the normal approximation is far too conservative for a handful of
// rounds (6 vs 6 fully separated: exact 0.0011, normal 0.0026), and early stopping needs it to
// be right. Otherwise the normal approximation with tie and continuity correction. 1 when a side
// is empty.
double MannWhitneyOneSidedP(const std::vector<double>& smaller, const std::vector<double>& larger);

// Group-sequential design (Lan and DeMets 1983): the one-sided type I error `alpha` is spent over
// the looks as a function of the information fraction t in (0, 1] (here rounds done / maximum).
enum class AlphaSpending {
  kPocock,         // alpha * ln(1 + (e - 1) t): spends early, so clear effects stop early
  kOBrienFleming,  // 2 (1 - Phi(z_{alpha/2} / sqrt(t))): spends almost nothing early
};
double SpentAlpha(AlphaSpending spending, double alpha, double t);

// Upper z boundaries c_1..c_K, one per look at increasing information fractions (the last
// usually 1), such that a statistic that behaves like Brownian motion under the null (a
// standardised rank statistic on growing samples does) first crosses c_k at look k with
// probability SpentAlpha(t_k) - SpentAlpha(t_{k-1}). Computed by the recursive numerical
// integration of Armitage, McPherson and Rowe; no lower (binding) boundary, so any futility rule
// only lowers the error. The nominal one-sided level of look k is NormalUpperTail(c_k).
std::vector<double> GroupSequentialBounds(const std::vector<double>& fractions, double alpha,
                                          AlphaSpending spending);

}  // namespace rlvr
