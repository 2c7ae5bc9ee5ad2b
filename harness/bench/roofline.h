// How far a target is from its roofline: each primary benchmark's throughput counter (GFLOPS,
// GB/s, ...) against the highest value of the same counter among the target's reference
// benchmarks in its baseline (BM_PeakFma, BM_MemBandwidth, OpenBLAS), which the benchmark runner
// measures on the same machine. The loop shows it in the prompt and schedules targets by it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlvr {

struct BenchmarkHeadroom {
  std::string benchmark;  // a primary benchmark
  std::string counter;    // the counter it shares with the reference, e.g. "GFLOPS"
  std::string reference;  // the reference benchmark with the highest value of it
  double value = 0;       // the benchmark's counter
  double peak = 0;        // the reference's
  double fraction = 0;    // value / peak
};

// For each primary benchmark of `baseline` (baselines/<target>.json: "benchmarks" and
// "references" maps, each entry with "counters"), the counter it shares with a reference and the
// fraction of that reference's value reached. Benchmarks sharing no counter with any reference
// (or absent) are left out; allocation counters never count.
std::vector<BenchmarkHeadroom> Headroom(const nlohmann::json& baseline,
                                        const std::vector<std::string>& primary);

// The target's fraction of its roofline: the smallest among its primary benchmarks (the one with
// most headroom); nothing when none could be computed.
std::optional<double> RooflineFraction(const std::vector<BenchmarkHeadroom>& headroom);

// "BM_Softmax/32000: 16.9 GB/s, 27% of BM_MemBandwidth (63.8 GB/s)".
std::string DescribeHeadroom(const BenchmarkHeadroom& headroom);

}  // namespace rlvr
