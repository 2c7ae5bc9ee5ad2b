#include "harness/bench/comparison.h"

#include <algorithm>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "harness/bench/rule.h"
#include "harness/candidate/run.h"

namespace rlvr {

namespace {

// References may carry run-option suffixes in the binary ("BM_PeakFma/real_time"): match them
// with or without. Google Benchmark's filter is a POSIX extended regex (no \d).
bool IsNamed(const std::string& name, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& wanted) { return BenchmarkNameMatches(name, wanted); });
}

AbBenchmark ToAb(const BenchmarkFigure& f) {
  AbBenchmark b;
  b.name = f.name;
  b.baseline_median_ns = f.baseline_ns;
  b.candidate_median_ns = f.candidate_ns;
  b.ratio = f.ratio;
  b.ci_low = f.ci_low;
  b.ci_high = f.ci_high;
  b.p_value = f.p_value;
  b.candidate_ns = f.candidate_samples_ns;
  return b;
}

// Why a run of the A/B runner failed, naming the side whose run it was.
std::string FailureOf(const AbResult& result) {
  return result.failed_side.empty() ? result.message : result.failed_side + ": " + result.message;
}

// The benchmarks under the names rlvr.json uses (no time-mode suffix), as the rules want them.
std::vector<AbBenchmark> WithNormalizedNames(std::vector<AbBenchmark> benchmarks) {
  for (auto& b : benchmarks) b.name = NormalizedBenchmarkName(b.name);
  return benchmarks;
}

// `benchmarks` with the samples and counters of `more` (some of them measured on) appended and
// summarised again.
std::vector<AbBenchmark> WithMoreRounds(std::vector<AbBenchmark> benchmarks,
                                        const std::vector<AbBenchmark>& more) {
  for (const auto& extra : more) {
    auto it = std::find_if(benchmarks.begin(), benchmarks.end(),
                           [&](const AbBenchmark& b) { return b.name == extra.name; });
    if (it == benchmarks.end()) continue;
    it->baseline_ns.insert(it->baseline_ns.end(), extra.baseline_ns.begin(),
                           extra.baseline_ns.end());
    it->candidate_ns.insert(it->candidate_ns.end(), extra.candidate_ns.begin(),
                            extra.candidate_ns.end());
    for (const auto& [counter, value] : extra.baseline_counters_max)
      it->baseline_counters_max[counter] = std::max(it->baseline_counters_max[counter], value);
    for (const auto& [counter, value] : extra.candidate_counters_max)
      it->candidate_counters_max[counter] = std::max(it->candidate_counters_max[counter], value);
    it->candidate_counters = extra.candidate_counters;
    Summarize(*it);
  }
  return benchmarks;
}

}  // namespace

std::string NormalizedBenchmarkName(std::string_view run_name) {
  static const std::regex suffix(R"((/(real_time|process_time|manual_time|threads:[0-9]+))+$)");
  return std::regex_replace(std::string(run_name), suffix, "");
}

bool BenchmarkNameMatches(std::string_view run_name, std::string_view wanted) {
  return run_name == wanted || NormalizedBenchmarkName(run_name) == wanted;
}

Comparison CompareBenchmarks(const ComparisonRequest& request) {
  Comparison comparison;
  AbRequest ab;
  ab.baseline_command = {request.baseline_binary.string()};
  ab.candidate_command = {request.candidate_binary.string()};
  if (!request.baseline_command.empty() || !request.candidate_command.empty()) {
    ab.baseline_command = request.baseline_command;
    ab.candidate_command = request.candidate_command;
    ab.settings.append_flags = false;
  }
  const bool extra_once = request.extra_once && !request.extra.empty();
  ab.settings.filter =
      FilterWithNames(request.filter, extra_once ? std::vector<std::string>{} : request.extra);
  ab.settings.min_time_seconds = request.min_time_seconds;
  ab.settings.repetitions = request.repetitions;
  ab.settings.command_repetitions = request.command_repetitions;
  if (request.random_interleaving) {
    ab.settings.extra_args.push_back("--benchmark_enable_random_interleaving=true");
  }
  ab.rounds = request.rounds;
  ab.progress = request.progress;
  // Same cwd, environment and limits for both sides; the candidate is untrusted code.
  ab.options.cwd = request.cwd.empty() ? request.candidate_binary.parent_path() : request.cwd;
  ab.options.env = request.env;
  ab.options.limits = CandidateLimits(request.timeout_seconds, false);
  SequentialDesign design = MakeSequentialDesign(request.rounds, request.rule.alpha);
  BenchGateRule rule = request.rule;
  rule.suspicious_ratio = 0;  // DecideBenchmarks judges suspicion with the caller's threshold
  std::optional<SequentialDecision> held;  // a promotion held back at a look
  if (!request.primary.empty()) {
    ab.settled = [&](int rounds, const std::vector<AbBenchmark>& benchmarks) {
      SequentialDecision decision = DecideSequential(
          design, rounds, WithNormalizedNames(benchmarks), request.primary, request.extra, rule);
      if (decision.settled) comparison.sequential = decision.decision;
      if (!decision.settled && !decision.held_back.empty()) held = decision;
      return decision.settled || held.has_value();
    };
  }
  AbResult once;  // the references' own round (extra_once)
  if (extra_once) {
    AbRequest references = ab;
    references.settings.filter = FilterWithNames("^$", request.extra);
    references.rounds = 2;  // ABBA: each side twice, the peak is the best of two runs
    references.settled = nullptr;
    once = RunInterleaved(references);
    if (!once.ok) {
      comparison.seconds = once.seconds;
      comparison.message = "references: " + FailureOf(once);
      return comparison;
    }
  }
  AbResult result = RunInterleaved(ab);
  if (extra_once) {
    // The references' figures join the comparison's (unless the filter measured them anyway).
    for (auto& b : once.benchmarks) {
      bool measured = std::any_of(result.benchmarks.begin(), result.benchmarks.end(),
                                  [&](const AbBenchmark& r) { return r.name == b.name; });
      if (!measured) result.benchmarks.push_back(std::move(b));
    }
    result.seconds += once.seconds;
  }
  comparison.seconds = result.seconds;
  comparison.rounds = result.rounds;
  comparison.max_rounds = result.max_rounds;
  if (!result.ok) {
    comparison.message = FailureOf(result);
    return comparison;
  }
  if (held) {
    // The held-back benchmarks alone, on until DecideHeldBack settles (at the latest at the last
    // round); their samples join those of the look.
    AbRequest rest = ab;
    rest.settings.filter = FilterWithNames("^$", held->held_back);
    rest.rounds = result.max_rounds - result.rounds;
    rest.settled = [&](int more_rounds, const std::vector<AbBenchmark>& more) {
      SequentialDecision decision =
          DecideHeldBack(design, result.rounds + more_rounds, *held,
                         WithNormalizedNames(WithMoreRounds(result.benchmarks, more)),
                         request.primary, request.extra, rule);
      if (decision.settled) comparison.sequential = decision.decision;
      return decision.settled;
    };
    AbResult more = RunInterleaved(rest);
    comparison.seconds += more.seconds;
    comparison.held_back_seconds = more.seconds;
    if (!more.ok) {
      comparison.message = "held-back benchmarks measured on: " + FailureOf(more);
      return comparison;
    }
    result.benchmarks = WithMoreRounds(std::move(result.benchmarks), more.benchmarks);
    comparison.held_back = held->held_back;
    comparison.held_back_rounds = result.rounds + more.rounds;
  }
  for (const auto& b : result.benchmarks) {
    BenchmarkFigure figure;
    figure.name = NormalizedBenchmarkName(b.name);
    figure.baseline_ns = b.baseline_median_ns;
    figure.candidate_ns = b.candidate_median_ns;
    figure.ratio = b.ratio;
    figure.ci_low = b.ci_low;
    figure.ci_high = b.ci_high;
    figure.estimate = b.estimate;
    figure.p_value = b.p_value;
    figure.candidate_samples_ns = b.candidate_ns;
    figure.candidate_counters = b.candidate_counters;
    figure.reference = IsNamed(b.name, request.extra);
    comparison.counters.push_back({figure.name, b.baseline_counters_max, b.candidate_counters_max});
    comparison.figures.push_back(std::move(figure));
  }
  comparison.ok = true;
  return comparison;
}

ComparisonRequest GateComparison(const Target& target, const std::filesystem::path& baseline_binary,
                                 const std::filesystem::path& candidate_binary) {
  ComparisonRequest request;
  request.baseline_binary = baseline_binary;
  request.candidate_binary = candidate_binary;
  request.filter = target.benchmarks;
  request.extra = target.references;
  request.extra_once = true;
  request.primary = target.primary;
  request.rule.min_improvement = target.min_improvement;
  request.rule.max_regression = target.max_regression;
  request.command_repetitions = target.bench_command.repetitions;
  return request;
}

// The benchmarks' switch for regenerating every input on every iteration (tests/bench).
constexpr const char* kFreshInputsVariable = "RLVR_BENCH_FRESH";

ComparisonRequest FreshRegime(ComparisonRequest request) {
  request.env.insert_or_assign(kFreshInputsVariable, std::string(1, '1'));
  request.random_interleaving = true;
  return request;
}

namespace {

struct CounterCheck {
  bool exceeded = false;
  std::string message;
};

// `counter` of every gated benchmark (its candidate's best run) against the best reference (its
// best baseline run) times margin. `limit` names what the references measure ("peak").
CounterCheck CheckCounter(const Target& target, const std::vector<CounterMaxima>& counters,
                          const std::string& counter, const char* limit) {
  double peak = 0;
  std::string peak_name;
  for (const auto& c : counters) {
    if (!IsNamed(c.name, target.references)) continue;
    auto it = c.baseline.find(counter);
    if (it != c.baseline.end() && it->second > peak) {
      peak = it->second;
      peak_name = c.name;
    }
  }
  if (peak <= 0)
    return {false, fmt::format("roofline not checked: no reference reports {}", counter)};
  const double margin = target.roofline.margin;
  double highest = 0;
  std::string highest_name;
  int beyond = 0;
  for (const auto& c : counters) {
    if (IsNamed(c.name, target.references)) continue;
    auto it = c.candidate.find(counter);
    if (it == c.candidate.end()) continue;
    if (it->second > margin * peak) ++beyond;
    if (highest_name.empty() || it->second > highest) {
      highest = it->second;
      highest_name = c.name;
    }
  }
  if (highest_name.empty()) {
    return {false, fmt::format("roofline: no gated benchmark reports {}", counter)};
  }
  std::string source = fmt::format("{}, best run of HEAD's binary in this comparison", peak_name);
  if (beyond > 0) {
    std::string more =
        beyond > 1 ? fmt::format(" ({} more benchmarks beyond {:.2f}x)", beyond - 1, margin) : "";
    return {true, fmt::format("{} reports {:.0f} {}, {:.1f}x the measured {} of {:.0f} {} ({}): "
                              "beyond what this machine can do{}",
                              highest_name, highest, counter, highest / peak, limit, peak, counter,
                              source, more)};
  }
  return {false,
          fmt::format("roofline: {} at {:.2f}x the measured {} of {:.0f} {} ({}; limit "
                      "{:.2f}x)",
                      highest_name, highest / peak, limit, peak, counter, peak_name, margin)};
}

// Counters taken from the figures alone: the candidate's last run, for both sides.
std::vector<CounterMaxima> CountersOfFigures(const std::vector<BenchmarkFigure>& figures) {
  std::vector<CounterMaxima> counters;
  for (const auto& f : figures) {
    counters.push_back(
        {NormalizedBenchmarkName(f.name), f.candidate_counters, f.candidate_counters});
  }
  return counters;
}

BenchmarkDecision Decide(const Target& target, std::vector<BenchmarkFigure>& figures,
                         const std::vector<CounterMaxima>& counters,
                         const std::optional<BenchGateDecision>& sequential,
                         double suspicious_speedup) {
  std::vector<AbBenchmark> benchmarks;
  for (auto& f : figures) {
    f.name = NormalizedBenchmarkName(f.name);
    f.primary = IsNamed(f.name, target.primary);
    benchmarks.push_back(ToAb(f));
  }
  BenchmarkDecision decision;
  RooflineCheck roofline = CheckRoofline(target, counters);
  decision.roofline = roofline.message;
  BenchGateRule rule;
  rule.min_improvement = target.min_improvement;
  rule.max_regression = target.max_regression;
  rule.suspicious_ratio = 1.0 / suspicious_speedup;
  BenchGateDecision gate = DecideBenchGate(benchmarks, target.primary, target.references, rule);
  if (sequential) {
    // The verdict reached while measuring; suspicion is judged here with the caller's threshold.
    bool suspicious = gate.suspicious;
    gate = *sequential;
    gate.suspicious = suspicious;
    if (suspicious) {
      gate.message +=
          fmt::format(" (suspicious: more than {:.0f}x faster; re-verify)", suspicious_speedup);
    }
  }
  decision.suspicious = gate.suspicious;
  decision.primary_ratio = gate.primary_ratio;
  if (roofline.exceeded) {
    // Physics first: no timing statistics can make an impossible figure true.
    decision.beyond_roofline = true;
    decision.message = roofline.message;
    return decision;
  }
  decision.pass = gate.promotable;
  decision.message = gate.message;
  decision.regressed = gate.regressed;
  if (!sequential && !gate.promotable && gate.reasons.size() > 1) {
    for (size_t i = 1; i < gate.reasons.size(); ++i) decision.message += "; " + gate.reasons[i];
  }
  decision.message += "; " + roofline.message;
  return decision;
}

}  // namespace

RooflineCheck CheckRoofline(const Target& target, const std::vector<CounterMaxima>& counters) {
  if (target.roofline.bound == "none") {
    return {false, "roofline not checked: the target declares bound \"none\""};
  }
  std::vector<std::string> notes;
  for (const auto& [counter, limit] : std::vector<std::pair<std::string, const char*>>{
           {"GFLOPS", "peak"}, {"GB/s", "bandwidth"}}) {
    if (counter == "GB/s" && target.roofline.bound != "memory") continue;
    CounterCheck check = CheckCounter(target, counters, counter, limit);
    if (check.exceeded) return {true, check.message};
    notes.push_back(check.message);
  }
  return {false, fmt::format("{}", fmt::join(notes, "; "))};
}

BenchmarkDecision DecideBenchmarks(const Target& target, Comparison& comparison,
                                   double suspicious_speedup) {
  return Decide(target, comparison.figures, comparison.counters, comparison.sequential,
                suspicious_speedup);
}

BenchmarkDecision DecideBenchmarks(const Target& target, std::vector<BenchmarkFigure>& figures,
                                   double suspicious_speedup) {
  return Decide(target, figures, CountersOfFigures(figures), std::nullopt, suspicious_speedup);
}

}  // namespace rlvr
