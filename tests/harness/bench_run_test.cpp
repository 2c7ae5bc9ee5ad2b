// Benchmark runs: Google Benchmark JSON parsing (units, counters, errors), single runs of the fake
// benchmark binary in tests/fixtures/bench_fake, and the interleaved A/B runner.
#include "harness/bench/run.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFakeBench = RLVR_FIXTURES_DIR "/bench_fake/fake_bench.py";

TEST(BenchRunTest, ParsesTimesUnitsAndCounters) {
  BenchmarkOutput out = ParseBenchmarkJson(R"(stray line
    {"context": {}, "benchmarks": [
      {"name": "BM_A", "run_type": "iteration", "iterations": 10, "real_time": 2.5,
       "cpu_time": 2.0, "time_unit": "us", "GFLOPS": 7, "bytes_allocated_per_iter": 0},
      {"name": "BM_A_mean", "run_type": "aggregate", "aggregate_name": "mean",
       "real_time": 99, "cpu_time": 99, "time_unit": "ns"},
      {"name": "BM_B", "iterations": 5, "real_time": 3, "cpu_time": 3, "time_unit": "ms"}]})");
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 2u);
  EXPECT_EQ(out.benchmarks[0].name, "BM_A");
  EXPECT_DOUBLE_EQ(out.benchmarks[0].real_time_ns, 2500);
  EXPECT_DOUBLE_EQ(out.benchmarks[0].cpu_time_ns, 2000);
  EXPECT_EQ(out.benchmarks[0].counters.at("GFLOPS"), 7);
  EXPECT_EQ(out.benchmarks[0].counters.count("bytes_allocated_per_iter"), 1u);
  EXPECT_EQ(out.benchmarks[0].counters.count("iterations"), 0u);
  EXPECT_DOUBLE_EQ(out.benchmarks[1].real_time_ns, 3e6);
}

TEST(BenchRunTest, BenchmarkErrorIsAFailureWithItsMessage) {
  BenchmarkOutput out = ParseBenchmarkJson(R"({"benchmarks": [
      {"name": "BM_A", "real_time": 1, "cpu_time": 1, "time_unit": "ns"},
      {"name": "BM_B", "error_occurred": true, "error_message": "wrong result at 3"}]})");
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.message, HasSubstr("BM_B: wrong result at 3"));
}

TEST(BenchRunTest, BadJsonIsAClearFailure) {
  EXPECT_THAT(ParseBenchmarkJson("").message, HasSubstr("no JSON"));
  EXPECT_THAT(ParseBenchmarkJson("{\"benchmarks\": [").message, HasSubstr("cannot parse"));
  EXPECT_THAT(ParseBenchmarkJson("{\"x\": 1}").message, HasSubstr("no \"benchmarks\""));
  EXPECT_THAT(ParseBenchmarkJson("{\"benchmarks\": []}").message, HasSubstr("no benchmark"));
  EXPECT_THAT(ParseBenchmarkJson(
                  R"({"benchmarks":[{"name":"A","real_time":1,"cpu_time":1,"time_unit":"h"}]})")
                  .message,
              HasSubstr("time_unit"));
}

TEST(BenchRunTest, RepetitionsCollapseToTheFastestTimes) {
  BenchmarkOutput out = ParseBenchmarkJson(R"({"benchmarks": [
    {"name": "BM_A", "run_type": "iteration", "real_time": 30, "cpu_time": 20, "time_unit": "ns",
     "iterations": 10, "GFLOPS": 1},
    {"name": "BM_B", "run_type": "iteration", "real_time": 7, "cpu_time": 7, "time_unit": "ns"},
    {"name": "BM_A", "run_type": "iteration", "real_time": 25, "cpu_time": 24, "time_unit": "ns",
     "iterations": 12, "GFLOPS": 2},
    {"name": "BM_A", "run_type": "aggregate", "aggregate_name": "mean", "real_time": 1,
     "cpu_time": 1, "time_unit": "ns"}]})");
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 4u - 1);  // the aggregate is skipped when parsing
  KeepFastestRepetition(out);
  ASSERT_EQ(out.benchmarks.size(), 2u);
  EXPECT_EQ(out.benchmarks[0].name, "BM_A");
  EXPECT_EQ(out.benchmarks[0].real_time_ns, 25);  // each time its own fastest
  EXPECT_EQ(out.benchmarks[0].cpu_time_ns, 20);
  EXPECT_EQ(out.benchmarks[0].counters.at("GFLOPS"), 2);  // the last repetition's counters
  EXPECT_EQ(out.benchmarks[1].name, "BM_B");
  EXPECT_EQ(out.benchmarks[1].real_time_ns, 7);
}

TEST(BenchRunTest, NonFiniteValuesGoogleBenchmarkWritesAreTolerated) {
  // The cv aggregate of an always-zero counter is NaN, written bare (not valid JSON).
  BenchmarkOutput out = ParseBenchmarkJson(R"({"benchmarks": [
    {"name": "BM_A", "run_type": "iteration", "real_time": 30, "cpu_time": 20, "time_unit": "ns",
     "allocs": 0, "ratio": -inf, "note": "NaN stays text"},
    {"name": "BM_A_cv", "run_type": "aggregate", "real_time": 0.1, "cpu_time": 0.1,
     "time_unit": "ns", "allocs": NaN}]})");
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 1u);
  EXPECT_EQ(out.benchmarks[0].counters.at("allocs"), 0);
  EXPECT_EQ(out.benchmarks[0].counters.count("ratio"), 0u);
}

TEST(BenchRunTest, ARunOfManyRepetitionsGivesOneSamplePerBenchmark) {
  BenchRunSettings settings;
  settings.repetitions = 7;
  RunOptions options;
  options.env["FAKE_BENCH_NOISE"] = "0.3";
  BenchmarkOutput out = RunBenchmarkOnce({kFakeBench}, settings, options);
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 3u);  // the fake printed 21 rows
  EXPECT_EQ(out.benchmarks[0].name, "BM_Fast");
  EXPECT_EQ(out.benchmarks[1].name, "BM_Slow/64");
  EXPECT_EQ(out.benchmarks[2].name, "BM_Ref");
}

TEST(BenchRunTest, FilterWithNamesEscapes) {
  const std::string suffix = "(/(real_time|process_time|manual_time))*$)";
  EXPECT_EQ(FilterWithNames("^BM_X", {"BM_Ref/1024", "a.b"}),
            "(^BM_X)|(^BM_Ref/1024" + suffix + "|(^a\\.b" + suffix);
  std::regex filter(FilterWithNames("^BM_X", {"BM_Ref/1024"}));
  EXPECT_TRUE(std::regex_search("BM_Ref/1024/real_time", filter));
  EXPECT_FALSE(std::regex_search("BM_Ref/10240", filter));
}

TEST(BenchRunTest, NamesLoseTheirTimeSuffixButKeepThreads) {
  EXPECT_EQ(WithoutTimeSuffix("BM_Gemm/1024/real_time"), "BM_Gemm/1024");
  EXPECT_EQ(WithoutTimeSuffix("BM_A/process_time/real_time"), "BM_A");
  EXPECT_EQ(WithoutTimeSuffix("BM_A/threads:2"), "BM_A/threads:2");
  EXPECT_EQ(WithoutTimeSuffix("BM_real_time"), "BM_real_time");
  BenchmarkOutput out = ParseBenchmarkJson(R"({"benchmarks": [
    {"name": "BM_Gemm/1024/real_time", "run_type": "iteration", "real_time": 3, "cpu_time": 2,
     "time_unit": "ns"}]})");
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.benchmarks[0].name, "BM_Gemm/1024");
}

TEST(BenchRunTest, RunsTheBinaryWithGoogleBenchmarkFlags) {
  auto log = std::filesystem::temp_directory_path() /
             ("rlvr_bench_args_" + std::to_string(getpid()) + ".log");
  RunOptions options;
  options.env["FAKE_BENCH_ARGS_LOG"] = log.string();
  BenchRunSettings settings;
  settings.filter = "^BM_Slow";
  settings.min_time_seconds = 0.01;
  BenchmarkOutput out = RunBenchmarkOnce({kFakeBench}, settings, options);
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 1u);
  EXPECT_EQ(out.benchmarks[0].name, "BM_Slow/64");
  EXPECT_NEAR(out.benchmarks[0].real_time_ns, 50000, 50000 * 0.2);  // reported in us
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("--benchmark_filter=^BM_Slow --benchmark_format=json "
                                    "--benchmark_repetitions=10 "
                                    "--benchmark_report_aggregates_only=false "
                                    "--benchmark_display_aggregates_only=false "
                                    "--benchmark_min_time=0.01"));
  std::filesystem::remove(log);
}

TEST(BenchRunTest, VerificationErrorSurfaces) {
  RunOptions options;
  options.env["FAKE_BENCH_ERROR"] = "BM_Fast";
  BenchmarkOutput out = RunBenchmarkOnce({kFakeBench}, {}, options);
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.message, HasSubstr("BM_Fast: output mismatch"));
}

TEST(BenchRunTest, CrashSurfaces) {
  RunOptions options;
  options.env["FAKE_BENCH_CRASH"] = "1";
  BenchmarkOutput out = RunBenchmarkOnce({kFakeBench}, {}, options);
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.message, HasSubstr("killed by signal SIGSEGV"));
}

TEST(BenchRunTest, InterleavedRunsAlternateAndMeasureTheDifference) {
  auto log = std::filesystem::temp_directory_path() /
             ("rlvr_bench_ab_" + std::to_string(getpid()) + ".log");
  AbRequest request;
  request.baseline_command = {"env", "FAKE_BENCH_SIDE=A", kFakeBench};
  request.candidate_command = {"env", "FAKE_BENCH_SIDE=B", "FAKE_BENCH_SCALE=BM_Fast=0.5",
                               kFakeBench};
  request.rounds = 6;
  request.settings.min_time_seconds = 0.01;
  request.options.env["FAKE_BENCH_ARGS_LOG"] = log.string();
  AbResult result = RunInterleaved(request);
  ASSERT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.rounds, 6);
  ASSERT_EQ(result.benchmarks.size(), 3u);
  const AbBenchmark& fast = result.benchmarks[0];
  EXPECT_EQ(fast.name, "BM_Fast");
  EXPECT_EQ(fast.baseline_ns.size(), 6u);
  EXPECT_EQ(fast.candidate_ns.size(), 6u);
  EXPECT_NEAR(fast.ratio, 0.5, 0.05);
  EXPECT_LT(fast.ci_high, 0.6);
  EXPECT_LT(fast.p_value, 0.01);
  EXPECT_EQ(fast.candidate_counters.at("items_per_second"), 1e9);
  const AbBenchmark& slow = result.benchmarks[1];
  EXPECT_NEAR(slow.ratio, 1, 0.05);
  // (Whether its interval covers 1 is random; the fake's noise is unseeded.)
  EXPECT_LT(slow.ci_low, slow.ci_high);
  EXPECT_GT(slow.p_value, 1e-4);

  std::ifstream in(log);
  std::vector<char> sides;
  for (std::string line; std::getline(in, line);) sides.push_back(line[0]);
  EXPECT_THAT(sides, ElementsAre('A', 'B', 'B', 'A', 'A', 'B', 'B', 'A', 'A', 'B', 'B', 'A'));
  std::filesystem::remove(log);
}

TEST(BenchRunTest, InterleavedStopsAtAFailingCandidate) {
  AbRequest request;
  request.baseline_command = {kFakeBench};
  request.candidate_command = {"env", "FAKE_BENCH_ERROR=BM_Ref", kFakeBench};
  request.rounds = 5;
  AbResult result = RunInterleaved(request);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.failed_side, "candidate");
  EXPECT_THAT(result.message, HasSubstr("BM_Ref: output mismatch"));
  EXPECT_EQ(result.rounds, 0);
}

TEST(BenchRunTest, InterleavedFailsWhenABenchmarkIsMissing) {
  AbRequest request;
  request.baseline_command = {kFakeBench};
  request.candidate_command = {"env", "FAKE_BENCH_DROP=BM_Ref", kFakeBench};
  request.rounds = 2;
  AbResult result = RunInterleaved(request);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.failed_side, "candidate");
  EXPECT_THAT(result.message, HasSubstr("BM_Ref"));
}

}  // namespace
}  // namespace rlvr
