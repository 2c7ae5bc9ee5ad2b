#include "harness/bench/roofline.h"

#include <algorithm>

#include <fmt/format.h>

namespace rlvr {
namespace {

using nlohmann::json;

// Counters that measure throughput: not the allocation counts the runner adds.
bool IsThroughput(const std::string& counter) {
  return counter.rfind("alloc", 0) != 0 && counter != "max_bytes_used";
}

double Number(const json& value) {
  return value.is_number() ? value.get<double>() : 0;
}

}  // namespace

std::vector<BenchmarkHeadroom> Headroom(const json& baseline,
                                        const std::vector<std::string>& primary) {
  std::vector<BenchmarkHeadroom> out;
  if (!baseline.is_object()) return out;
  const json& benchmarks = baseline.contains("benchmarks") ? baseline["benchmarks"] : json();
  const json& references = baseline.contains("references") ? baseline["references"] : json();
  if (!benchmarks.is_object() || !references.is_object()) return out;
  for (const std::string& name : primary) {
    if (!benchmarks.contains(name) || !benchmarks[name].contains("counters")) continue;
    const json& counters = benchmarks[name]["counters"];
    if (!counters.is_object()) continue;
    // The first throughput counter (in name order) some reference also reports; the reference
    // with the highest value of it is the roof.
    std::optional<BenchmarkHeadroom> best;
    for (auto& [counter, value] : counters.items()) {
      if (best || !IsThroughput(counter) || Number(value) <= 0) continue;
      for (auto& [reference, entry] : references.items()) {
        if (!entry.is_object() || !entry.contains("counters")) continue;
        const json& ref_counters = entry["counters"];
        if (!ref_counters.is_object() || !ref_counters.contains(counter)) continue;
        double peak = Number(ref_counters[counter]);
        if (peak <= 0 || (best && peak <= best->peak)) continue;
        best =
            BenchmarkHeadroom{name, counter, reference, Number(value), peak, Number(value) / peak};
      }
    }
    if (best) out.push_back(*best);
  }
  return out;
}

std::optional<double> RooflineFraction(const std::vector<BenchmarkHeadroom>& headroom) {
  std::optional<double> least;
  for (const BenchmarkHeadroom& h : headroom)
    least = std::min(least.value_or(h.fraction), h.fraction);
  return least;
}

std::string DescribeHeadroom(const BenchmarkHeadroom& h) {
  return fmt::format("{}: {:.3g} {}, {:.0f}% of {} ({:.3g} {})", h.benchmark, h.value, h.counter,
                     100 * h.fraction, h.reference, h.peak, h.counter);
}

}  // namespace rlvr
