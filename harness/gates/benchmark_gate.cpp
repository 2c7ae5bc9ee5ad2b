// benchmark: HEAD and the candidate side by side in interleaved rounds (benchmark_comparison.h);
// the primary must be significantly and materially faster, nothing significantly slower, and no
// figure beyond what the hardware can do. A suspiciously large speed-up is measured again in
// another regime (fresh inputs on every call) and its tests re-run with fresh seeds.
#include <fmt/format.h>

#include "harness/benchmark_comparison.h"
#include "harness/candidate_run.h"
#include "harness/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckBenchmark(GateContext& c) {
  Verdict& v = c.verdict;
  const EvaluateOptions& opt = c.options;
  if (!opt.benchmark) return Skip("skipped (--no-benchmark): not promotable");
  ComparisonRequest request;
  request.baseline_binary = c.baseline_build / c.project.build.bench_binary;
  request.candidate_binary = c.CandidateBinary(c.project.build.bench_binary);
  request.filter = c.target.benchmarks;
  request.extra = c.target.references;
  if (opt.bench_rounds > 0) request.rounds = opt.bench_rounds;
  request.timeout_seconds = opt.bench_timeout_seconds;
  Comparison comparison = CompareBenchmarks(request);
  if (!comparison.ok) return Fail(comparison.message);
  BenchmarkDecision decision =
      DecideBenchmarks(c.target, comparison.figures, opt.suspicious_speedup);
  v.figures = comparison.figures;
  v.primary_ratio = decision.primary_ratio;
  if (!decision.pass) return Fail(decision.message);
  if (!decision.suspicious) return Pass(decision.message);
  // A too-good result must survive fresh inputs and a measurement in another regime.
  v.suspicious = true;
  const std::filesystem::path test_binary = c.CandidateBinary(c.project.build.test_binary);
  for (int i = 0; i < opt.suspicious_extra_seeds; ++i) {
    uint64_t seed = FreshSeed();
    v.extra_seeds.push_back(seed);
    TestRunResult run =
        RunGoogleTests(test_binary, c.target.tests, seed, opt.test_timeout_seconds, false);
    if (!run.ok)
      return Fail("suspicious speed-up failed re-verification: " + run.message, run.detail);
  }
  Comparison again = CompareBenchmarks(request);
  if (!again.ok) return Fail("suspicious speed-up, second run: " + again.message);
  BenchmarkDecision second = DecideBenchmarks(c.target, again.figures, opt.suspicious_speedup);
  if (!second.pass) return Fail("suspicious speed-up not reproduced: " + second.message);
  return Pass(decision.message + " (suspicious: re-verified with " +
              std::to_string(opt.suspicious_extra_seeds) + " more seeds and a second run)");
}

}  // namespace

extern const Gate kBenchmarkGate{
    "benchmark", "significantly faster than HEAD side by side, nothing slower, nothing impossible",
    CheckBenchmark};

}  // namespace rlvr
