// Running Google Benchmark binaries: one run (JSON output parsed into per-benchmark times,
// counters and errors), and the interleaved A/B runner that alternates a baseline and a candidate
// binary for several rounds, each run a separate limited process with the same cwd and
// environment, and summarises every benchmark (medians, ratio, confidence interval, p-value).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/base/process.h"

namespace rlvr {

// One benchmark of one run. Times are in nanoseconds whatever the binary's time_unit.
struct BenchmarkSample {
  std::string name;
  double real_time_ns = 0;
  double cpu_time_ns = 0;
  double iterations = 0;
  std::map<std::string, double> counters;  // user counters (GFLOPS, allocation stats, ...)
  bool error = false;                      // error_occurred, e.g. SkipWithError on bad output
  std::string error_message;
};

struct BenchmarkOutput {
  bool ok = false;      // the binary ran, its JSON parsed, and no benchmark reported an error
  std::string message;  // why not: "BM_X: output mismatch ...", "killed by signal SIGSEGV", ...
  std::vector<BenchmarkSample> benchmarks;  // in output order; aggregates skipped
};

// "BM_Gemm/1024/real_time" -> "BM_Gemm/1024": the name rlvr.json and baselines use. Only the
// time-mode suffixes go ("/threads:N" stays: it tells benchmarks apart).
std::string WithoutTimeSuffix(const std::string& name);

// Parses --benchmark_format=json output; sample names are WithoutTimeSuffix. Leading non-JSON text
// (a stray print) is skipped.
BenchmarkOutput ParseBenchmarkJson(std::string_view text);

// The benchmark gate's measurement defaults, shared by evaluate, iterate and calibrate so that
// calibration measures the gate users get. Each run of a binary times every benchmark
// kBenchRepetitions times (kBenchMinTimeSeconds each) and keeps the fastest: on a shared
// virtual machine, interference (other processes, steal time) only ever adds time, and the
// fastest of a few repetitions is far steadier from run to run than their mean. Then
// kBenchRounds interleaved A/B rounds give the samples the statistics compare.
inline constexpr int kBenchRounds = 20;
inline constexpr int kBenchRepetitions = 10;
inline constexpr double kBenchMinTimeSeconds = 0.005;

struct BenchRunSettings {
  std::string filter = ".";                        // --benchmark_filter regex
  double min_time_seconds = kBenchMinTimeSeconds;  // --benchmark_min_time per repetition
  int repetitions = kBenchRepetitions;             // --benchmark_repetitions; fastest is kept
  std::vector<std::string> extra_args;
  // false: the command is a repository's own benchmark command (rlvr.json "bench_command"), run
  // exactly as given, `command_repetitions` invocations per run (each benchmark's fastest kept):
  // no flag is appended (min_time, repetitions and extra_args are unused), and the samples whose
  // names `filter` finds (std::regex_search, as --benchmark_filter does) are kept from its Google
  // Benchmark JSON.
  bool append_flags = true;
  int command_repetitions = 1;  // the target's bench_command.repetitions
};

// Merges the repetitions of each benchmark into one sample: the fastest real and CPU times
// (each on its own), the counters of the last repetition; order of first appearance.
void KeepFastestRepetition(BenchmarkOutput& output);

// Runs `command` (the binary, possibly behind a wrapper) once with the settings' flags appended
// (or, with append_flags false, `command_repetitions` times as it is, keeping the samples `filter`
// selects); one sample per benchmark (KeepFastestRepetition). Selecting nothing is a failure.
BenchmarkOutput RunBenchmarkOnce(const std::vector<std::string>& command,
                                 const BenchRunSettings& settings, const RunOptions& options);

// A regex matching `filter` or exactly one of `names`, with any time-mode suffix (so references
// outside the target's filter run too).
std::string FilterWithNames(const std::string& filter, const std::vector<std::string>& names);

// Which time of a sample is compared.
enum class BenchMetric { kRealTime, kCpuTime };
BenchMetric ParseBenchMetric(std::string_view name);  // "real_time" | "cpu_time"; throws otherwise
const char* BenchMetricName(BenchMetric metric);
double MetricOf(const BenchmarkSample& sample, BenchMetric metric);

// One benchmark compared across the A/B runs. ratio = candidate/baseline median (<1 = faster).
struct AbBenchmark {
  std::string name;
  std::vector<double> baseline_ns;
  std::vector<double> candidate_ns;
  double baseline_median_ns = 0;
  double candidate_median_ns = 0;
  double ratio = 1;
  double ci_low = 1;  // 95% interval of the ratio (Hodges-Lehmann on log-times, see bench/stats.h)
  double ci_high = 1;
  double estimate = 1;  // the Hodges-Lehmann estimate of the ratio (the interval's point estimate)
  double p_value = 1;   // two-sided Mann-Whitney U
  std::map<std::string, double> baseline_counters;   // of the last run
  std::map<std::string, double> candidate_counters;  // of the last run
  // Each counter's largest value over all runs of that side: a kernel that is only sometimes
  // impossibly fast (GFLOPS above the machine's peak) is still impossible, and a reference's
  // best run is the best estimate of what the machine can do.
  std::map<std::string, double> baseline_counters_max;
  std::map<std::string, double> candidate_counters_max;
};

// Fills medians, ratio, interval and p-value from the samples.
void Summarize(AbBenchmark& benchmark);

struct AbRequest {
  std::vector<std::string> baseline_command;  // argv prefix: binary (or wrapper + binary)
  std::vector<std::string> candidate_command;
  BenchRunSettings settings;
  int rounds = kBenchRounds;
  RunOptions options;  // cwd, env and limits: identical for both sides
  BenchMetric metric = BenchMetric::kRealTime;
  std::function<void(const std::string&)> progress;  // optional, one line per run
  // Optional: called after every completed round with every benchmark Summarized on the samples
  // so far; returning true ends the comparison there (a settled sequential verdict, see
  // bench/rule.h). `rounds` is then the maximum.
  std::function<bool(int rounds_done, const std::vector<AbBenchmark>& benchmarks)> settled;
};

struct AbResult {
  bool ok = false;
  std::string failed_side;  // "baseline" | "candidate" when a run failed
  std::string message;
  std::vector<AbBenchmark> benchmarks;  // in the baseline's output order
  int rounds = 0;                       // rounds completed
  int max_rounds = 0;                   // rounds requested
  bool stopped_early = false;           // `settled` ended it before max_rounds
  double seconds = 0;
};

// Runs the two commands in ABBA order (round r: A then B for even r, B then A for odd r), so a
// drifting machine (turbo, thermal, other load) favours neither side. Stops at the first failed
// run, or when `settled` says so. A benchmark the baseline has but the candidate lacks (or vice
// versa) is a failure.
AbResult RunInterleaved(const AbRequest& request);

}  // namespace rlvr
