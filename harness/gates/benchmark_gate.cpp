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
  const std::string& bench_binary = c.project.build.bench_binary;
  ComparisonRequest request =
      GateComparison(c.target, c.baseline_build / bench_binary, c.CandidateBinary(bench_binary));
  if (c.target.UsesBenchCommand()) {
    // The repository's own benchmark command, each side's expanded for its tree and build dir.
    // Both run in the candidate's tree: the scripts a command names are not editable, so they are
    // HEAD's there too.
    const auto& command = c.target.bench_command.command;
    request.baseline_command = ExpandCommand(command, c.baseline_tree, c.baseline_build);
    request.candidate_command = ExpandCommand(command, c.worktree, c.candidate_build);
    request.cwd = c.worktree;
  }
  if (opt.bench_rounds > 0) request.rounds = opt.bench_rounds;  // the maximum
  request.timeout_seconds = opt.bench_timeout_seconds;
  Comparison comparison = CompareBenchmarks(request);
  if (!comparison.ok) return Fail(comparison.message);
  // Physics first (nothing beyond the measured roofline), then the sequential timing verdict.
  BenchmarkDecision decision = DecideBenchmarks(c.target, comparison, opt.suspicious_speedup);
  v.figures = comparison.figures;
  v.primary_ratio = decision.primary_ratio;
  if (!decision.pass) return Fail(decision.message);
  if (!decision.suspicious) return Pass(decision.message);
  // A too-good result must survive fresh test seeds and a measurement in another regime: fresh
  // inputs on every call, in shuffled order, so nothing a kernel remembers can help it.
  v.suspicious = true;
  const std::filesystem::path test_binary = c.CandidateBinary(c.project.build.test_binary);
  for (int i = 0; i < opt.suspicious_extra_seeds; ++i) {
    uint64_t seed = FreshSeed();
    v.extra_seeds.push_back(seed);
    std::vector<TestRunResult> runs;
    if (c.target.UsesGoogleTest()) {
      runs.push_back(
          RunGoogleTests(test_binary, c.target.tests, seed, opt.test_timeout_seconds, false));
    } else {
      for (const auto& test : c.target.test_commands)
        runs.push_back(RunTestCommand(test, c.worktree, c.candidate_build, seed,
                                      opt.test_timeout_seconds, false));
    }
    for (const auto& run : runs) {
      if (!run.ok)
        return Fail("suspicious speed-up failed re-verification: " + run.message, run.detail);
    }
  }
  Comparison again = CompareBenchmarks(FreshRegime(request));
  if (!again.ok) return Fail("suspicious speed-up, fresh-input run: " + again.message);
  BenchmarkDecision second = DecideBenchmarks(c.target, again, opt.suspicious_speedup);
  if (!second.pass)
    return Fail("suspicious speed-up not reproduced with fresh inputs in shuffled order: " +
                second.message);
  return Pass(decision.message + " (suspicious: re-verified with " +
              std::to_string(opt.suspicious_extra_seeds) +
              " more seeds and a run with fresh inputs on every call, shuffled)");
}

}  // namespace

extern const Gate kBenchmarkGate{
    "benchmark", "significantly faster than HEAD side by side, nothing slower, nothing impossible",
    CheckBenchmark};

}  // namespace rlvr
