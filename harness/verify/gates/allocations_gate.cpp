// allocations: the target's allocation tests pass, and no benchmark allocates inside its timed
// loop more than HEAD does (exact counts where the benchmark counts its loop itself).
#include <algorithm>

#include <fmt/format.h>

#include "harness/bench/run.h"
#include "harness/candidate/run.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckAllocations(GateContext& c) {
  const BuildConfig& build = c.project.build;
  const EvaluateOptions& opt = c.options;
  if (c.target.UsesBenchCommand()) {
    // A benchmark command's output is not read for allocation counters; only alloc_tests count.
    if (c.target.alloc_tests.empty())
      return Skip(
          "not checked: no allocation tests or counters (rlvr.json gives no \"alloc_tests\", and "
          "a bench_command's output is not checked for allocations)");
    TestRunResult alloc = RunGoogleTests(c.CandidateBinary(build.test_binary), c.target.alloc_tests,
                                         std::nullopt, opt.test_timeout_seconds, false);
    if (!alloc.ok) return Fail("allocation tests: " + alloc.message, alloc.detail);
    return Pass(fmt::format(
        "{} allocation tests passed; benchmark loop allocations not checked (bench_command)",
        alloc.passed));
  }
  std::string summary = "no allocation tests configured (rlvr.json \"alloc_tests\")";
  if (!c.target.alloc_tests.empty()) {
    TestRunResult alloc = RunGoogleTests(c.CandidateBinary(build.test_binary), c.target.alloc_tests,
                                         std::nullopt, opt.test_timeout_seconds, false);
    if (!alloc.ok) return Fail("allocation tests: " + alloc.message, alloc.detail);
    summary = fmt::format("{} allocation tests passed", alloc.passed);
  }
  BenchRunResult candidate = RunBenchmarksOnce(
      c.CandidateBinary(build.bench_binary), c.target.benchmarks, 0.01, opt.bench_timeout_seconds);
  if (!candidate.ok) return Fail("candidate benchmarks: " + candidate.message);
  BenchRunResult base = RunBenchmarksOnce(c.baseline_build / build.bench_binary,
                                          c.target.benchmarks, 0.01, opt.bench_timeout_seconds);
  if (!base.ok) return Fail("baseline benchmarks: " + base.message);
  // Slow benchmarks run fewer than 16 iterations, so the two sides' memory runs may differ in
  // length (MemoryRunLength); run those again long enough for 16 on both sides, so their counts
  // compare exactly.
  std::vector<std::string> unequal = UnequalMemoryRuns(base.entries, candidate.entries);
  if (!unequal.empty()) {
    double longest_ns = 0;
    for (const auto* entries : {&base.entries, &candidate.entries})
      for (const auto& e : *entries)
        if (std::find(unequal.begin(), unequal.end(), e.name) != unequal.end())
          longest_ns = std::max(longest_ns, e.real_time_ns);
    const double min_time = std::clamp(24 * longest_ns * 1e-9, 0.01, 10.0);
    const std::string filter = FilterWithNames("^$", unequal);
    BenchRunResult again_candidate = RunBenchmarksOnce(c.CandidateBinary(build.bench_binary),
                                                       filter, min_time, opt.bench_timeout_seconds);
    if (!again_candidate.ok) return Fail("candidate benchmarks: " + again_candidate.message);
    BenchRunResult again_base = RunBenchmarksOnce(c.baseline_build / build.bench_binary, filter,
                                                  min_time, opt.bench_timeout_seconds);
    if (!again_base.ok) return Fail("baseline benchmarks: " + again_base.message);
    auto replace = [](std::vector<BenchEntry>& entries, const std::vector<BenchEntry>& longer) {
      for (auto& e : entries)
        for (const auto& l : longer)
          if (l.name == e.name) e = l;
    };
    replace(candidate.entries, again_candidate.entries);
    replace(base.entries, again_base.entries);
  }
  int exact = 0, approximate = 0;
  const std::vector<std::string> still_unequal = UnequalMemoryRuns(base.entries, candidate.entries);
  for (const auto& entry : candidate.entries) {
    if (entry.loop_allocs_per_iter)
      ++exact;
    else if (entry.allocs_per_iter && std::find(still_unequal.begin(), still_unequal.end(),
                                                entry.name) == still_unequal.end())
      ++exact;
    else if (entry.allocs_per_iter)
      ++approximate;
  }
  std::vector<std::string> increases = AllocationIncreases(base.entries, candidate.entries);
  if (!increases.empty())
    return Fail("allocates in the benchmark loop: " + increases.front(),
                JoinNames(increases, "\n"));
  if (exact + approximate == 0 && c.target.alloc_tests.empty())
    return Skip(
        "not checked: no allocation tests or counters (rlvr.json gives no \"alloc_tests\" and "
        "the benchmarks report no allocation counters)");
  if (exact + approximate == 0)
    summary += "; benchmarks report no allocation counters (not checked)";
  else
    summary += fmt::format(
        "; no new allocations per benchmark iteration ({} counted exactly (timed-loop counters "
        "or equal-length memory runs), {} approximately)",
        exact, approximate);
  return Pass(summary);
}

}  // namespace

extern const Gate kAllocationsGate{
    "allocations", "no allocation in the hot path: allocation tests and benchmark loop counts",
    CheckAllocations};

}  // namespace rlvr
