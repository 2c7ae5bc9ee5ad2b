#include "harness/candidate/run.h"

#include <algorithm>
#include <cmath>

#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rlvr {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first failure report of a gtest log: from the first "Failure"/sanitizer line, a few lines.
std::string FirstFailureLines(const std::string& log, int max_lines) {
  std::vector<std::string> lines = Lines(log);
  size_t start = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.find("Failure") != std::string::npos ||
        l.find("ERROR: AddressSanitizer") != std::string::npos ||
        l.find("runtime error:") != std::string::npos ||
        l.find("ERROR: LeakSanitizer") != std::string::npos) {
      start = i;
      break;
    }
  }
  if (start == lines.size())
    start = lines.size() > size_t(max_lines) ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = start; i < lines.size() && i < start + size_t(max_lines); ++i)
    out += lines[i].substr(0, 300) + "\n";
  return out;
}

double ToNanoseconds(double value, const std::string& unit) {
  if (unit == "us") return value * 1e3;
  if (unit == "ms") return value * 1e6;
  if (unit == "s") return value * 1e9;
  return value;
}

}  // namespace

ResourceLimits CandidateLimits(double wall_seconds, bool sanitizer) {
  ResourceLimits limits;
  limits.wall_seconds = wall_seconds;
  limits.cpu_seconds = wall_seconds * 4;  // all threads of a 2+ core machine, with slack
  limits.memory_bytes = sanitizer ? 0 : size_t{6} << 30;
  limits.file_size_bytes = size_t{256} << 20;
  limits.max_processes = 4096;  // per user: stops a fork bomb, not the odd helper
  limits.no_network = true;
  // Writes only in the run's own directory and a private TMPDIR (plus what the caller adds): not
  // in HEAD's build, the ledger, .git or anything else the static checks might have let through.
  limits.confine_writes = true;
  return limits;
}

namespace {

// What every test run of a candidate gets: its limits, the seed (or none: the tests' default),
// no inherited GoogleTest filter, and sanitizer options that stop at the first error.
void SetUpTestRun(RunOptions& options, std::optional<uint64_t> seed, double timeout_seconds,
                  bool sanitizer) {
  options.limits = CandidateLimits(timeout_seconds, sanitizer);
  if (seed)
    options.env["RLVR_TEST_SEED"] = std::to_string(*seed);
  else
    options.unset_env.push_back("RLVR_TEST_SEED");
  options.unset_env.push_back("GTEST_FILTER");
  // A test command that compiles (make check) must not write into the compiler cache: a poisoned
  // entry would change what HEAD's next build links. Confined runs could not write there anyway.
  options.env["CCACHE_DISABLE"] = "1";
  if (sanitizer) {
    options.env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1";
    options.env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1";
  }
}

}  // namespace

TestRunResult RunGoogleTests(const fs::path& binary, const std::string& filter,
                             std::optional<uint64_t> seed, double timeout_seconds, bool sanitizer,
                             const TestOrder& order) {
  TestRunResult result;
  RunOptions options;
  options.cwd = binary.parent_path();
  SetUpTestRun(options, seed, timeout_seconds, sanitizer);
  std::vector<std::string> argv = {binary.string(), "--gtest_filter=" + filter, "--gtest_color=no",
                                   "--gtest_brief=1"};
  std::string order_note;
  if (order.repeat > 1) {
    argv.push_back(fmt::format("--gtest_repeat={}", order.repeat));
    order_note += fmt::format(", {} repetitions", order.repeat);
  }
  if (order.order_seed) {
    // GoogleTest takes seeds in [1, 99999].
    int shuffle_seed = static_cast<int>(*order.order_seed % 99999) + 1;
    argv.push_back("--gtest_shuffle");
    argv.push_back(fmt::format("--gtest_random_seed={}", shuffle_seed));
    order_note += fmt::format(", shuffled with --gtest_random_seed={}", shuffle_seed);
  }
  ProcessResult run = RunProcess(argv, options);
  result.seconds = run.wall_seconds;
  std::string log = run.out + run.err;
  static const std::regex passed_re(R"(\[  PASSED  \] (\d+) test)");
  static const std::regex failed_re(R"(\[  FAILED  \] (\d+) test)");
  static const std::regex failed_name_re(R"(\[  FAILED  \] ([A-Za-z0-9_/.]+))");
  std::smatch m;
  if (std::regex_search(log, m, passed_re)) result.passed = std::stoi(m[1]);
  if (std::regex_search(log, m, failed_re)) result.failed = std::stoi(m[1]);
  std::vector<std::string> failed_names;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), failed_name_re);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    if (std::find(failed_names.begin(), failed_names.end(), name) == failed_names.end())
      failed_names.push_back(name);
  }
  // --gtest_brief prints no failure summary: count the failed test lines instead.
  if (result.failed == 0) result.failed = static_cast<int>(failed_names.size());
  std::string seed_note = seed ? fmt::format(" (RLVR_TEST_SEED={}{})", *seed, order_note)
                               : fmt::format(" (default seed{})", order_note);
  if (!run.ok()) {
    if (run.exit_code == 1 && run.signal == 0 && !run.timed_out && result.failed > 0) {
      std::string names;
      for (size_t i = 0; i < failed_names.size() && i < 5; ++i)
        names += (i ? ", " : "") + failed_names[i];
      result.message = fmt::format("{} of {} tests failed{}: {}", result.failed,
                                   result.failed + result.passed, seed_note, names);
    } else {
      result.message = fmt::format("test binary {}{}", run.Describe(), seed_note);
    }
    result.detail = FirstFailureLines(log, 15);
    return result;
  }
  if (result.passed == 0) {
    result.message = fmt::format("no test matches filter \"{}\"", filter);
    return result;
  }
  result.ok = true;
  result.message = fmt::format("{} tests passed{}", result.passed, seed_note);
  return result;
}

namespace {

// The last `max_lines` lines of a log.
std::string LastLines(const std::string& log, int max_lines) {
  std::vector<std::string> lines = Lines(log);
  size_t start = lines.size() > size_t(max_lines) ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = start; i < lines.size(); ++i) out += lines[i].substr(0, 300) + "\n";
  return out;
}

// ctest's failures: its "The following tests FAILED" list and the output of the first failed
// test (--output-on-failure prints it before the summary), else the last lines.
std::string CtestFailureLines(const std::string& log, int max_lines) {
  std::vector<std::string> lines = Lines(log);
  std::string failed_list, first_output;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("The following tests FAILED") != std::string::npos) {
      for (size_t j = i; j < lines.size() && j < i + 6; ++j) failed_list += lines[j] + "\n";
      break;
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("***Failed") != std::string::npos ||
        lines[i].find("***Exception") != std::string::npos ||
        lines[i].find("***Timeout") != std::string::npos) {
      for (size_t j = i; j < lines.size() && j < i + size_t(max_lines); ++j)
        first_output += lines[j].substr(0, 300) + "\n";
      break;
    }
  }
  if (failed_list.empty() && first_output.empty()) return LastLines(log, max_lines);
  return first_output + failed_list;
}

}  // namespace

TestRunResult RunTestCommand(const TestCommand& test, const fs::path& source_dir,
                             const fs::path& build_dir, std::optional<uint64_t> seed,
                             double timeout_seconds, bool sanitizer) {
  TestRunResult result;
  RunOptions options;
  options.cwd = source_dir;
  SetUpTestRun(options, seed, timeout_seconds, sanitizer);
  options.limits.writable.push_back(build_dir);  // ctest's Testing/, a test's own outputs
  options.env["GTEST_COLOR"] = "no";
  options.env["CLICOLOR"] = "0";
  ProcessResult run = RunProcess(ExpandCommand(test.command, source_dir, build_dir), options);
  result.seconds = run.wall_seconds;
  const std::string log = run.out + run.err;
  if (run.ok()) {
    result.ok = true;
    result.passed = 1;
    result.message = fmt::format("{} passed", test.name);
    return result;
  }
  result.failed = 1;
  result.message = fmt::format("test command \"{}\" failed: {}", test.name, run.Describe());
  if (test.kind == "gtest")
    result.detail = FirstFailureLines(log, 15);
  else if (test.kind == "ctest")
    result.detail = CtestFailureLines(log, 20);
  else
    result.detail = LastLines(log, 20);
  return result;
}

std::vector<BenchEntry> ParseBenchmarkJson(const std::string& json_text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("benchmark output is not JSON: ") + e.what());
  }
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array())
    throw std::runtime_error("benchmark JSON has no \"benchmarks\" array");
  std::vector<BenchEntry> entries;
  for (const auto& b : doc["benchmarks"]) {
    if (b.value("run_type", "iteration") != "iteration") continue;
    BenchEntry e;
    e.name = b.value("run_name", b.value("name", ""));
    std::string unit = b.value("time_unit", "ns");
    e.real_time_ns = ToNanoseconds(b.value("real_time", 0.0), unit);
    e.cpu_time_ns = ToNanoseconds(b.value("cpu_time", 0.0), unit);
    e.iterations = b.value("iterations", int64_t{0});
    e.error = b.value("error_occurred", false);
    e.error_message = b.value("error_message", "");
    if (b.contains("allocs_per_iter") && b["allocs_per_iter"].is_number())
      e.allocs_per_iter = b["allocs_per_iter"].get<double>();
    if (b.contains("allocs_per_iter_loop") && b["allocs_per_iter_loop"].is_number())
      e.loop_allocs_per_iter = b["allocs_per_iter_loop"].get<double>();
    entries.push_back(std::move(e));
  }
  return entries;
}

BenchRunResult RunBenchmarksOnce(const fs::path& binary, const std::string& filter,
                                 double min_time_seconds, double timeout_seconds) {
  BenchRunResult result;
  RunOptions options;
  options.cwd = binary.parent_path();
  options.limits = CandidateLimits(timeout_seconds, false);
  ProcessResult run =
      RunProcess({binary.string(), "--benchmark_filter=" + filter, "--benchmark_format=json",
                  fmt::format("--benchmark_min_time={}", min_time_seconds)},
                 options);
  result.seconds = run.wall_seconds;
  if (!run.ok()) {
    result.message = "benchmark binary " + run.Describe();
    std::string err = run.err.size() > 2000 ? run.err.substr(run.err.size() - 2000) : run.err;
    if (!err.empty()) result.message += ": " + Lines(err).back();
    return result;
  }
  try {
    result.entries = ParseBenchmarkJson(run.out);
  } catch (const std::exception& e) {
    result.message = e.what();
    return result;
  }
  if (result.entries.empty()) {
    result.message = fmt::format("no benchmark matches filter \"{}\"", filter);
    return result;
  }
  result.ok = true;
  return result;
}

std::vector<std::string> AllocationIncreases(const std::vector<BenchEntry>& baseline,
                                             const std::vector<BenchEntry>& candidate) {
  std::map<std::string, const BenchEntry*> base;
  for (const auto& e : baseline) base[e.name] = &e;
  std::vector<std::string> problems;
  for (const auto& e : candidate) {
    const BenchEntry* b = base.count(e.name) ? base[e.name] : nullptr;
    if (e.loop_allocs_per_iter) {
      double reference = b && b->loop_allocs_per_iter ? *b->loop_allocs_per_iter : 0.0;
      if (*e.loop_allocs_per_iter > reference)
        problems.push_back(fmt::format(
            "{}: {:.3g} allocations per iteration inside the timed loop (baseline {:.3g})", e.name,
            *e.loop_allocs_per_iter, reference));
      continue;
    }
    if (!e.allocs_per_iter) continue;
    double reference = b && b->allocs_per_iter ? *b->allocs_per_iter : 0.0;
    if (b && b->allocs_per_iter && MemoryRunLength(*b) == MemoryRunLength(e)) {
      const int64_t length = MemoryRunLength(e);
      const auto count = [&](const BenchEntry& x) {
        return std::llround(*x.allocs_per_iter * double(length));
      };
      if (count(e) > count(*b))
        problems.push_back(fmt::format(
            "{}: {} allocations in Google Benchmark's {}-iteration memory run (baseline {}; "
            "exact counts, set-up included)",
            e.name, count(e), length, count(*b)));
      continue;
    }
    if (*e.allocs_per_iter >= reference + 1.0)
      problems.push_back(fmt::format(
          "{}: {:.2f} allocations per iteration (baseline {:.2f}; approximate: memory runs of "
          "different lengths and no allocs_per_iter_loop counter, so set-up is included)",
          e.name, *e.allocs_per_iter, reference));
  }
  return problems;
}

int64_t MemoryRunLength(const BenchEntry& entry) {
  return std::clamp<int64_t>(entry.iterations, 1, 16);
}

std::vector<std::string> UnequalMemoryRuns(const std::vector<BenchEntry>& baseline,
                                           const std::vector<BenchEntry>& candidate) {
  std::map<std::string, const BenchEntry*> base;
  for (const auto& e : baseline) base[e.name] = &e;
  std::vector<std::string> names;
  for (const auto& e : candidate) {
    if (e.loop_allocs_per_iter || !e.allocs_per_iter || !base.count(e.name)) continue;
    const BenchEntry& b = *base[e.name];
    if (b.allocs_per_iter && MemoryRunLength(b) != MemoryRunLength(e)) names.push_back(e.name);
  }
  return names;
}

uint64_t FreshSeed() {
  std::random_device device;
  uint64_t seed = (uint64_t{device()} << 32) ^ device();
  return seed == 0 ? 1 : seed;
}

}  // namespace rlvr
