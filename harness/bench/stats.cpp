#include "harness/bench/stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

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

double BinomialUpperBound95(int events, int trials) {
  if (events >= trials) return 1;
  auto cdf = [&](double p) {  // P(X <= events) for Binomial(trials, p)
    double sum = 0;
    for (int k = 0; k <= events; ++k) {
      sum +=
          std::exp(std::lgamma(trials + 1.0) - std::lgamma(k + 1.0) -
                   std::lgamma(trials - k + 1.0) + k * std::log(p) + (trials - k) * std::log1p(-p));
    }
    return sum;
  };
  double low = 0, high = 1;
  for (int i = 0; i < 60; ++i) {
    double mid = 0.5 * (low + high);
    (cdf(mid) > 0.05 ? low : high) = mid;
  }
  return high;
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

double NormalUpperTail(double z) {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

namespace {

// P(U >= u) for u = 0..n1*n2, U the Mann-Whitney count of (x < y) pairs of n1 x's and n2 y's
// drawn exchangeably without ties. Recursion on the largest value: a y exceeds all n1 x's
// (probability n2/(n1+n2)), an x exceeds none. Cached: the gate asks for the same sizes often.
const std::vector<double>& MannWhitneyUpperTail(int n1, int n2) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::vector<double>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = cache.try_emplace({n1, n2});
  if (!inserted) return it->second;
  // previous[j] = distribution for (m - 1, j); current[j] = for (m, j).
  std::vector<std::vector<double>> previous(n2 + 1, std::vector<double>{1.0});
  for (int m = 1; m <= n1; ++m) {
    std::vector<std::vector<double>> current(n2 + 1);
    current[0] = {1.0};
    for (int j = 1; j <= n2; ++j) {
      std::vector<double>& d = current[j];
      d.assign(size_t(m) * j + 1, 0.0);
      const double y_largest = double(j) / (m + j);
      for (size_t u = 0; u < current[j - 1].size(); ++u) d[u + m] += y_largest * current[j - 1][u];
      for (size_t u = 0; u < previous[j].size(); ++u) d[u] += (1 - y_largest) * previous[j][u];
    }
    previous = std::move(current);
  }
  std::vector<double>& tail = it->second;
  const std::vector<double>& density = previous[n2];
  tail.assign(density.size() + 1, 0.0);
  for (size_t u = density.size(); u-- > 0;) tail[u] = tail[u + 1] + density[u];
  for (double& p : tail) p = std::min(p, 1.0);
  return tail;
}

}  // namespace

double MannWhitneyOneSidedP(const std::vector<double>& smaller, const std::vector<double>& larger) {
  if (smaller.empty() || larger.empty()) return 1;
  const double n1 = double(smaller.size()), n2 = double(larger.size());
  double u = 0;
  bool ties = false;
  for (double s : smaller) {
    for (double l : larger) {
      if (s < l) {
        u += 1;
      } else if (s == l) {
        u += 0.5;
        ties = true;
      }
    }
  }
  if (!ties && smaller.size() <= 50 && larger.size() <= 50) {
    return MannWhitneyUpperTail(int(n1), int(n2))[size_t(u)];
  }
  std::vector<double> pooled(smaller);
  pooled.insert(pooled.end(), larger.begin(), larger.end());
  std::sort(pooled.begin(), pooled.end());
  const double n = n1 + n2;
  double tie_term = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j] == pooled[i]) ++j;
    double t = double(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  double variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return 1;
  double z = (u - n1 * n2 / 2 - 0.5) / std::sqrt(variance);
  return std::clamp(NormalUpperTail(z), 0.0, 1.0);
}

double SpentAlpha(AlphaSpending spending, double alpha, double t) {
  t = std::clamp(t, 0.0, 1.0);
  if (t <= 0) return 0;
  if (spending == AlphaSpending::kPocock) return alpha * std::log(1 + (std::exp(1.0) - 1) * t);
  return std::min(alpha, 2 * NormalUpperTail(NormalUpperQuantile(alpha / 2) / std::sqrt(t)));
}

std::vector<double> GroupSequentialBounds(const std::vector<double>& fractions, double alpha,
                                          AlphaSpending spending) {
  // S(t) = Z(t) sqrt(t) is Brownian motion under the null. `grid`/`weighted` hold the density of
  // S at the previous look on its continuation region (below the boundary), times trapezoid
  // weights, so the crossing probability of the next look is a sum over the grid.
  constexpr double kLow = -10, kHigh = 10, kStep = 0.01;
  const auto phi = [](double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); };
  std::vector<double> bounds, grid, weighted;
  double previous_t = 0;
  for (size_t k = 0; k < fractions.size(); ++k) {
    const double t = std::clamp(fractions[k], previous_t, 1.0);
    const double spend = SpentAlpha(spending, alpha, t) - SpentAlpha(spending, alpha, previous_t);
    const double delta = t - previous_t;
    double c = 40;  // nothing to spend (or no new information): a boundary never crossed
    if (spend > 0 && delta > 0) {
      if (k == 0) {
        c = NormalUpperQuantile(spend);
      } else {
        const double sd = std::sqrt(delta);
        auto crossing = [&](double z) {
          double sum = 0;
          for (size_t i = 0; i < grid.size(); ++i) {
            sum += weighted[i] * NormalUpperTail((z * std::sqrt(t) - grid[i]) / sd);
          }
          return sum;
        };
        double low = -10, high = 40;
        for (int i = 0; i < 100; ++i) {
          double mid = 0.5 * (low + high);
          (crossing(mid) > spend ? low : high) = mid;
        }
        c = 0.5 * (low + high);
      }
    }
    bounds.push_back(c);
    // The continuation density at this look, on a fresh grid up to the boundary.
    const double upper = std::min(c * std::sqrt(t), kHigh);
    const size_t points = size_t(std::ceil((upper - kLow) / kStep)) + 1;
    const double h = (upper - kLow) / double(points - 1);
    std::vector<double> next_grid(points), next_weighted(points);
    for (size_t i = 0; i < points; ++i) {
      const double s = kLow + h * double(i);
      double density = 0;
      if (grid.empty()) {
        density = phi(s / std::sqrt(t)) / std::sqrt(t);
      } else if (delta > 0) {
        const double sd = std::sqrt(delta);
        for (size_t j = 0; j < grid.size(); ++j) density += weighted[j] * phi((s - grid[j]) / sd);
        density /= sd;
      }
      next_grid[i] = s;
      next_weighted[i] = density * h * (i == 0 || i + 1 == points ? 0.5 : 1.0);
    }
    if (!grid.empty() && delta <= 0) next_weighted = weighted, next_grid = grid;
    grid = std::move(next_grid);
    weighted = std::move(next_weighted);
    previous_t = t;
  }
  return bounds;
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
