// Statistics of the benchmark gate: medians, the two-sided Mann-Whitney U p-value (normal
// approximation with tie and continuity correction, as scipy.stats.mannwhitneyu computes it and
// Google Benchmark's compare.py uses it), and a distribution-free 95% confidence interval of the
// candidate/baseline time ratio.
#pragma once

#include <utility>
#include <vector>

namespace rlvr {

// Median of the values; 0 for none.
double MedianOf(std::vector<double> values);

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

}  // namespace rlvr
