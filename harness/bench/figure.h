// One benchmark of the benchmark gate's side-by-side comparison, as verdicts, the ledger and
// reports carry it: times, ratio, interval and p-value, and the candidate's samples and counters.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rlvr {

// One benchmark of the side-by-side comparison. ratio = candidate/baseline median time (<1 is
// faster); ci_* the 95% confidence interval of that ratio; p_value of Mann-Whitney U.
struct BenchmarkFigure {
  std::string name;
  double baseline_ns = 0;
  double candidate_ns = 0;
  double ratio = 1;
  double ci_low = 1;
  double ci_high = 1;
  double p_value = 1;
  bool primary = false;
  bool reference = false;  // a reference benchmark (reported, not gated)
  std::vector<double> candidate_samples_ns;
  std::map<std::string, double> candidate_counters;  // of the candidate's last run (GFLOPS, ...)
  double estimate = 1;  // Hodges-Lehmann estimate of the ratio (the interval's point estimate)
};

}  // namespace rlvr
