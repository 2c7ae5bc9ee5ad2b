#include "harness/bench/run.h"

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/bench/stats.h"

namespace rlvr {

namespace {

using nlohmann::json;

double NanosecondsPer(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw std::runtime_error(fmt::format("unknown time_unit '{}'", unit));
}

const std::set<std::string>& NonCounterKeys() {
  static const std::set<std::string> keys = {"name",
                                             "family_index",
                                             "per_family_instance_index",
                                             "run_name",
                                             "run_type",
                                             "repetitions",
                                             "repetition_index",
                                             "threads",
                                             "iterations",
                                             "real_time",
                                             "cpu_time",
                                             "time_unit",
                                             "error_occurred",
                                             "error_message",
                                             "aggregate_name",
                                             "aggregate_unit",
                                             "label",
                                             "big_o",
                                             "rms"};
  return keys;
}

std::string Tail(const std::string& text, size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

// Google Benchmark writes NaN and inf as bare words, which JSON does not allow (e.g. the cv
// aggregate of a counter that is always 0 is NaN). Such values become null, which no reader here
// takes for a number.
std::string WithoutNonFiniteNumbers(std::string_view text) {
  static const std::regex non_finite(R"((:\s*)-?(NaN|nan|inf|Inf|INF|Infinity)\b)");
  return std::regex_replace(std::string(text), non_finite, "$1null");
}

// The suffixes Google Benchmark appends for the time a benchmark reports.
constexpr const char* kTimeSuffixes = "(/(real_time|process_time|manual_time))";

}  // namespace

std::string WithoutTimeSuffix(const std::string& name) {
  static const std::regex suffix(std::string(kTimeSuffixes) + "+$");
  return std::regex_replace(name, suffix, "");
}

BenchmarkOutput ParseBenchmarkJson(std::string_view text) {
  BenchmarkOutput output;
  size_t start = text.find('{');
  if (start == std::string_view::npos) {
    output.message = "benchmark printed no JSON";
    return output;
  }
  try {
    json doc = json::parse(WithoutNonFiniteNumbers(text.substr(start)));
    if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
      output.message = "benchmark JSON has no \"benchmarks\" array";
      return output;
    }
    std::vector<std::string> errors;
    for (const auto& run : doc["benchmarks"]) {
      if (run.value("run_type", "iteration") == "aggregate") continue;
      BenchmarkSample sample;
      sample.name = WithoutTimeSuffix(run.at("name").get<std::string>());
      sample.error = run.value("error_occurred", false);
      sample.error_message = run.value("error_message", "");
      if (sample.error) {
        errors.push_back(fmt::format("{}: {}", sample.name, sample.error_message));
      } else {
        double scale = NanosecondsPer(run.value("time_unit", "ns"));
        sample.real_time_ns = run.at("real_time").get<double>() * scale;
        sample.cpu_time_ns = run.at("cpu_time").get<double>() * scale;
        sample.iterations = run.value("iterations", 0.0);
      }
      for (const auto& [key, value] : run.items()) {
        if (value.is_number() && !NonCounterKeys().count(key)) {
          sample.counters[key] = value.get<double>();
        }
      }
      output.benchmarks.push_back(std::move(sample));
    }
    if (!errors.empty()) {
      output.message = fmt::format("benchmark error: {}", fmt::join(errors, "; "));
      return output;
    }
    if (output.benchmarks.empty()) {
      output.message = "no benchmark matched the filter";
      return output;
    }
    output.ok = true;
  } catch (const std::exception& e) {
    output.message = fmt::format("cannot parse benchmark JSON: {}", e.what());
  }
  return output;
}

void KeepFastestRepetition(BenchmarkOutput& output) {
  std::vector<BenchmarkSample> merged;
  std::map<std::string, size_t> position;
  for (auto& sample : output.benchmarks) {
    auto [it, inserted] = position.emplace(sample.name, merged.size());
    if (inserted) {
      merged.push_back(std::move(sample));
      continue;
    }
    BenchmarkSample& kept = merged[it->second];
    kept.real_time_ns = std::min(kept.real_time_ns, sample.real_time_ns);
    kept.cpu_time_ns = std::min(kept.cpu_time_ns, sample.cpu_time_ns);
    kept.iterations = sample.iterations;
    kept.counters = std::move(sample.counters);
  }
  output.benchmarks = std::move(merged);
}

namespace {

// A repository's own benchmark command: run as given; rlvr selects the benchmarks itself.
BenchmarkOutput RunBenchmarkCommandOnce(const std::vector<std::string>& command,
                                        const std::string& filter, const RunOptions& options) {
  ProcessResult process = RunProcess(command, options);
  BenchmarkOutput output = ParseBenchmarkJson(process.out);
  KeepFastestRepetition(output);
  if (!process.ok()) {
    std::string why = output.message.rfind("benchmark error", 0) == 0 ? output.message + "; " : "";
    output.ok = false;
    output.message =
        fmt::format("{}benchmark command {} ({})", why, process.Describe(), Tail(process.err, 400));
    return output;
  }
  if (!output.ok) return output;
  std::regex selected;
  try {
    selected = std::regex(filter);
  } catch (const std::regex_error& e) {
    output.ok = false;
    output.message =
        fmt::format("benchmark filter \"{}\" is not a valid regex: {}", filter, e.what());
    return output;
  }
  std::vector<BenchmarkSample> kept;
  std::string seen;
  for (auto& sample : output.benchmarks) {
    if (std::regex_search(sample.name, selected))
      kept.push_back(std::move(sample));
    else if (seen.size() < 300)
      seen += (seen.empty() ? "" : ", ") + sample.name;
  }
  if (kept.empty()) {
    output.ok = false;
    output.message = fmt::format("no benchmark in the command's output matches \"{}\" (it has: {})",
                                 filter, seen.empty() ? "none" : seen);
  }
  output.benchmarks = std::move(kept);
  return output;
}

}  // namespace

BenchmarkOutput RunBenchmarkOnce(const std::vector<std::string>& command,
                                 const BenchRunSettings& settings, const RunOptions& options) {
  if (!settings.append_flags) {
    // `repetitions` invocations, each benchmark's fastest kept (BenchCommand::repetitions).
    BenchmarkOutput merged;
    for (int i = 0; i < std::max(settings.command_repetitions, 1); ++i) {
      BenchmarkOutput one = RunBenchmarkCommandOnce(command, settings.filter, options);
      if (!one.ok) return one;
      for (auto& sample : one.benchmarks) merged.benchmarks.push_back(std::move(sample));
    }
    KeepFastestRepetition(merged);
    merged.ok = true;
    return merged;
  }
  std::vector<std::string> argv = command;
  argv.push_back("--benchmark_filter=" + settings.filter);
  argv.push_back("--benchmark_format=json");
  argv.push_back(fmt::format("--benchmark_repetitions={}", std::max(settings.repetitions, 1)));
  // Each repetition, not only their mean, is what we read.
  argv.push_back("--benchmark_report_aggregates_only=false");
  argv.push_back("--benchmark_display_aggregates_only=false");
  argv.push_back(fmt::format("--benchmark_min_time={}", settings.min_time_seconds));
  argv.insert(argv.end(), settings.extra_args.begin(), settings.extra_args.end());
  ProcessResult process = RunProcess(argv, options);
  BenchmarkOutput output = ParseBenchmarkJson(process.out);
  KeepFastestRepetition(output);
  if (!process.ok()) {
    // A benchmark error explains more than "exit status 1"; keep both.
    std::string why = output.message.rfind("benchmark error", 0) == 0 ? output.message + "; " : "";
    output.ok = false;
    output.message = fmt::format("{}{} ({})", why, process.Describe(), Tail(process.err, 400));
  }
  return output;
}

std::string FilterWithNames(const std::string& filter, const std::vector<std::string>& names) {
  std::string result = "(" + filter + ")";
  for (const auto& name : names) {
    std::string escaped;
    for (char c : name) {
      if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) escaped += '\\';
      escaped += c;
    }
    result += "|(^" + escaped + kTimeSuffixes + "*$)";
  }
  return result;
}

BenchMetric ParseBenchMetric(std::string_view name) {
  if (name == "real_time") return BenchMetric::kRealTime;
  if (name == "cpu_time") return BenchMetric::kCpuTime;
  throw std::invalid_argument(
      fmt::format("unknown benchmark metric '{}' (real_time or cpu_time)", name));
}

const char* BenchMetricName(BenchMetric metric) {
  return metric == BenchMetric::kCpuTime ? "cpu_time" : "real_time";
}

double MetricOf(const BenchmarkSample& sample, BenchMetric metric) {
  return metric == BenchMetric::kCpuTime ? sample.cpu_time_ns : sample.real_time_ns;
}

void Summarize(AbBenchmark& benchmark) {
  benchmark.baseline_median_ns = MedianOf(benchmark.baseline_ns);
  benchmark.candidate_median_ns = MedianOf(benchmark.candidate_ns);
  benchmark.ratio = benchmark.baseline_median_ns > 0
                        ? benchmark.candidate_median_ns / benchmark.baseline_median_ns
                        : 1;
  RatioInterval interval = RatioConfidence(benchmark.baseline_ns, benchmark.candidate_ns);
  benchmark.ci_low = interval.low;
  benchmark.ci_high = interval.high;
  benchmark.estimate = interval.estimate;
  benchmark.p_value = MannWhitneyTwoSidedP(benchmark.baseline_ns, benchmark.candidate_ns);
}

AbResult RunInterleaved(const AbRequest& request) {
  AbResult result;
  auto start = std::chrono::steady_clock::now();
  auto finish = [&](AbResult& r) -> AbResult& {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  };
  std::map<std::string, size_t> index;  // name -> position in result.benchmarks
  result.max_rounds = request.rounds;
  for (int round = 0; round < request.rounds; ++round) {
    bool candidate_first = round % 2 == 1;
    for (int leg = 0; leg < 2; ++leg) {
      bool candidate = (leg == 0) == candidate_first;
      const char* side = candidate ? "candidate" : "baseline";
      BenchmarkOutput output =
          RunBenchmarkOnce(candidate ? request.candidate_command : request.baseline_command,
                           request.settings, request.options);
      if (request.progress) {
        request.progress(fmt::format("round {}/{} {}{}", round + 1, request.rounds, side,
                                     output.ok ? "" : ": " + output.message));
      }
      if (!output.ok) {
        result.failed_side = side;
        result.message = fmt::format("{} benchmark run failed: {}", side, output.message);
        return finish(result);
      }
      std::set<std::string> seen;
      for (const auto& sample : output.benchmarks) {
        seen.insert(sample.name);
        auto it = index.find(sample.name);
        if (it == index.end()) {
          if (round > 0 || candidate != candidate_first) {
            result.failed_side = side;
            result.message =
                fmt::format("{} has benchmark {} that the other side lacks", side, sample.name);
            return finish(result);
          }
          it = index.emplace(sample.name, result.benchmarks.size()).first;
          result.benchmarks.emplace_back().name = sample.name;
        }
        AbBenchmark& benchmark = result.benchmarks[it->second];
        (candidate ? benchmark.candidate_ns : benchmark.baseline_ns)
            .push_back(MetricOf(sample, request.metric));
        (candidate ? benchmark.candidate_counters : benchmark.baseline_counters) = sample.counters;
        auto& maxima =
            candidate ? benchmark.candidate_counters_max : benchmark.baseline_counters_max;
        for (const auto& [counter, value] : sample.counters) {
          auto [at, inserted] = maxima.emplace(counter, value);
          if (!inserted) at->second = std::max(at->second, value);
        }
      }
      for (const auto& [name, position] : index) {
        if (!seen.count(name)) {
          result.failed_side = side;
          result.message = fmt::format("{} run lacks benchmark {}", side, name);
          return finish(result);
        }
      }
    }
    result.rounds = round + 1;
    if (request.settled) {
      for (auto& benchmark : result.benchmarks) Summarize(benchmark);
      if (request.settled(result.rounds, result.benchmarks)) {
        result.stopped_early = result.rounds < request.rounds;
        break;
      }
    }
  }
  for (auto& benchmark : result.benchmarks) Summarize(benchmark);
  result.ok = request.rounds > 0;
  if (!result.ok) result.message = "no rounds requested";
  return finish(result);
}

}  // namespace rlvr
