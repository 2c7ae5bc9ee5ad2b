#include "harness/stats.h"

#include <algorithm>
#include <cmath>

namespace rlvr {

double MedianOf(std::vector<double> values) {
  if (values.empty()) return 0;
  size_t n = values.size();
  std::nth_element(values.begin(), values.begin() + n / 2, values.end());
  double upper = values[n / 2];
  if (n % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + n / 2);
  return 0.5 * (lower + upper);
}

double MannWhitneyTwoSidedP(const std::vector<double>& a, const std::vector<double>& b) {
  const double n1 = double(a.size()), n2 = double(b.size());
  if (a.empty() || b.empty()) return 1;
  // Midranks of the pooled sample; tie groups feed the variance correction.
  std::vector<std::pair<double, int>> pooled;
  for (double x : a) pooled.push_back({x, 0});
  for (double y : b) pooled.push_back({y, 1});
  std::sort(pooled.begin(), pooled.end());
  const double n = n1 + n2;
  double rank_sum_a = 0, tie_term = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    double midrank = (double(i + 1) + double(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second == 0) rank_sum_a += midrank;
    }
    double t = double(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  double u1 = rank_sum_a - n1 * (n1 + 1) / 2;
  double u = std::max(u1, n1 * n2 - u1);
  double mean = n1 * n2 / 2;
  double variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return 1;
  double z = (u - mean - 0.5) / std::sqrt(variance);
  double p = std::erfc(z / std::sqrt(2.0));  // 2 * (1 - Phi(z))
  return std::clamp(p, 0.0, 1.0);
}

double NormalUpperQuantile(double upper_tail) {
  // Bisection on erfc: exact enough (1e-12) and obviously correct.
  double low = -40, high = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (low + high);
    if (0.5 * std::erfc(mid / std::sqrt(2.0)) > upper_tail) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return 0.5 * (low + high);
}

RatioInterval RatioConfidence(const std::vector<double>& baseline,
                              const std::vector<double>& candidate, double confidence) {
  RatioInterval interval;
  std::vector<double> log_base, log_cand;
  for (double x : baseline) {
    if (x > 0) log_base.push_back(std::log(x));
  }
  for (double y : candidate) {
    if (y > 0) log_cand.push_back(std::log(y));
  }
  if (log_base.empty() || log_cand.empty()) return interval;
  std::vector<double> differences;
  differences.reserve(log_base.size() * log_cand.size());
  for (double b : log_base) {
    for (double c : log_cand) differences.push_back(c - b);
  }
  std::sort(differences.begin(), differences.end());
  const double n1 = double(log_base.size()), n2 = double(log_cand.size());
  const size_t m = differences.size();
  interval.estimate = std::exp(MedianOf(differences));
  // k = the number of differences cut off each side: the lower critical value of U.
  double z = NormalUpperQuantile((1 - confidence) / 2);
  double k = std::floor(n1 * n2 / 2 - z * std::sqrt(n1 * n2 * (n1 + n2 + 1) / 12));
  size_t cut = k > 0 ? size_t(k) : 0;
  if (cut >= (m + 1) / 2) cut = (m - 1) / 2;
  interval.low = std::exp(differences[cut]);
  interval.high = std::exp(differences[m - 1 - cut]);
  return interval;
}

}  // namespace rlvr
