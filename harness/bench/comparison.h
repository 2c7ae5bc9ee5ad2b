// The benchmark gate's side-by-side comparison: baseline binary vs candidate binary through the
// interleaved A/B runner (bench/run.h: ABBA rounds, medians, ratio CI, Mann-Whitney p) and the
// gate decision (bench/rule.h) with the physics (roofline) check, adapted to the evaluator:
// benchmark names are normalised
// ("BM_Gemm/1024/real_time" -> "BM_Gemm/1024", as rlvr.json and baselines name them) and the
// results become the verdict's figures.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/base/config.h"
#include "harness/bench/figure.h"
#include "harness/bench/rule.h"
#include "harness/bench/run.h"

namespace rlvr {

struct ComparisonRequest {
  std::filesystem::path baseline_binary;
  std::filesystem::path candidate_binary;
  // A repository's own benchmark commands (rlvr.json "bench_command", expanded for each side):
  // when set, they replace the binaries and are run as they are, `command_repetitions`
  // invocations per run, with no Google Benchmark flag appended (min_time_seconds, repetitions
  // and random_interleaving are unused); rlvr selects the benchmarks matching `filter` and
  // `extra` from their JSON itself.
  std::vector<std::string> baseline_command;
  std::vector<std::string> candidate_command;
  std::filesystem::path cwd;       // both sides' working dir; empty: the candidate binary's dir
  std::string filter;              // benchmarks regex of the target
  std::vector<std::string> extra;  // benchmark names outside the filter to include (references)
  // Measure `extra` in two rounds of their own before the comparison instead of in every round.
  // The references are there for the roofline's peak (the best of their runs): running them in
  // every round (a 10 ms bandwidth stream, 10 repetitions) made softmax's rounds 4x longer and
  // cost power on the kernel's timing (rlvr calibrate --null-patches: a true 5% speed-up promoted
  // 15/20 against 19/20 without them).
  bool extra_once = false;
  int rounds = kBenchRounds;
  double min_time_seconds = kBenchMinTimeSeconds;  // per benchmark per repetition
  int repetitions = kBenchRepetitions;             // per run; the fastest is kept
  int command_repetitions = 1;   // invocations of a command per run (bench_command.repetitions)
  double timeout_seconds = 900;  // per run
  // Set for both sides' processes on top of the usual environment (e.g. RLVR_BENCH_FRESH=1).
  std::map<std::string, std::string> env;
  // Each run times its benchmarks and repetitions in a shuffled order
  // (--benchmark_enable_random_interleaving=true), so no benchmark always follows the same one.
  bool random_interleaving = false;
  // The sequential gate (bench/rule.h, DecideSequential): when `primary` is not empty the
  // comparison stops as soon as the verdict is settled, and `rounds` is the maximum. A promotion
  // held back at a look by gated benchmarks not yet clear of a regression stops the comparison
  // too; those benchmarks alone are then measured on until DecideHeldBack settles it.
  // Empty: all `rounds` are run and DecideBenchmarks applies the fixed-budget rule.
  std::vector<std::string> primary;
  BenchGateRule rule;  // alpha, min_improvement, max_regression of the target
  // Optional: told what each run is ("round 3/20 candidate: ..."), for progress lines.
  std::function<void(const std::string&)> progress;
};

// A benchmark's counters over the whole comparison, for the roofline check.
struct CounterMaxima {
  std::string name;                         // normalised, as in the figures
  std::map<std::string, double> baseline;   // each counter's largest value over the baseline runs
  std::map<std::string, double> candidate;  // ... over the candidate runs
};

struct Comparison {
  bool ok = false;      // both binaries ran and every benchmark produced samples
  std::string message;  // why not ok
  std::vector<BenchmarkFigure> figures;
  std::vector<CounterMaxima> counters;  // one per figure, same order
  int rounds = 0;      // rounds measured ("decided after `rounds` of `max_rounds` rounds")
  int max_rounds = 0;  // rounds allowed
  // The sequential gate's verdict at the round it settled (requests with a primary).
  std::optional<BenchGateDecision> sequential;
  // The gated benchmarks that held back a promotion at `rounds` and were then measured alone
  // (DecideHeldBack): to which round, and the seconds that took.
  std::vector<std::string> held_back;
  int held_back_rounds = 0;
  double held_back_seconds = 0;
  double seconds = 0;
};

Comparison CompareBenchmarks(const ComparisonRequest& request);

// The benchmark gate's comparison of a target: its benchmarks and references, decided
// sequentially with its thresholds (primary, min_improvement, max_regression; alpha 0.01).
// The caller sets rounds (the maximum) and timeout_seconds if it wants other than the defaults.
ComparisonRequest GateComparison(const Target& target, const std::filesystem::path& baseline_binary,
                                 const std::filesystem::path& candidate_binary);

// The re-verification regime of a suspiciously fast candidate: the same comparison, but every
// benchmark iteration regenerates its inputs outside the timed region (RLVR_BENCH_FRESH=1, see
// tests/bench) and benchmarks run in shuffled order. A kernel that is fast only because its inputs
// stay in cache, or because it recognises repeated inputs, or because of what ran before it, loses
// its advantage here; an honest one keeps it.
ComparisonRequest FreshRegime(ComparisonRequest request);

// The physics check: does a gated (non-reference) benchmark report more than the machine can do?
struct RooflineCheck {
  bool exceeded = false;  // some gated benchmark is beyond the roofline: the gate fails
  // exceeded: "BM_Gemm/256 reports 1406 GFLOPS, 6.1x the measured peak of 231 GFLOPS
  // (BM_PeakFma, ...): beyond what this machine can do". Otherwise what was (not) checked:
  // "roofline: BM_Gemm/1024 at 0.93x the measured peak ...", "roofline not checked: no reference
  // reports GFLOPS", "roofline not checked: the target declares bound \"none\"".
  std::string message;
};

// Per target.roofline: "compute" compares every gated benchmark's GFLOPS counter with the best
// GFLOPS of the target's references times margin; "memory" also compares GB/s with the references'
// best GB/s times margin; "none" checks nothing (and says so). The candidate's figure is its
// largest over all its runs; the peak is the references' largest over the BASELINE's runs: HEAD's
// binary is trusted code, while the candidate's binary could misreport its own references along
// with its kernel (e.g. a tampered clock). Never silent: a counter no reference reports is named
// as not checked.
RooflineCheck CheckRoofline(const Target& target, const std::vector<CounterMaxima>& counters);

struct BenchmarkDecision {
  bool pass = false;
  bool suspicious = false;       // a primary speed-up beyond suspicious_speedup: re-verify
  bool beyond_roofline = false;  // failed the physics check (pass is false)
  double primary_ratio = 0;      // geometric mean of the primary benchmarks' ratios
  std::string message;
  std::string roofline;  // CheckRoofline's message, also part of `message`
  // Gated benchmarks refused for a regression (BenchGateDecision::regressed), when that is why
  // the gate fails.
  std::vector<std::string> regressed;
};

// The benchmark gate's verdict on a comparison: a benchmark beyond the roofline fails outright
// (with CheckRoofline's message); otherwise the sequential verdict of the comparison decides (or,
// for a comparison run without a primary, DecideBenchGate with the target's thresholds), and the
// roofline note is appended to the message. Marks the primary
// figures. suspicious: a primary speed-up beyond `suspicious_speedup` x (re-verify it with
// FreshRegime before believing it).
BenchmarkDecision DecideBenchmarks(const Target& target, Comparison& comparison,
                                   double suspicious_speedup);

// The same from figures alone (a caller without the comparison's per-run counters): the roofline
// is checked on the figures' candidate counters (their last run) for kernels and references alike.
BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup);

// The benchmark name without the suffixes Google Benchmark appends for run options
// ("/real_time", "/process_time", "/manual_time", "/threads:N").
std::string NormalizedBenchmarkName(std::string_view run_name);

// Whether a run name ("BM_Gemm/1024/real_time") names the benchmark `wanted` ("BM_Gemm/1024").
bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted);

}  // namespace rlvr
