// `rlvr calibrate` on a repository measured by its own benchmark command (rlvr.json
// "bench_command"; tests/fixtures/make_header_repo, Makefile-built): the calibration measures the
// command as the gate runs it, bench_command.repetitions invocations per run with each
// benchmark's fastest kept, so a simulated speed-up is found exactly when the gate would find it.
// The command here is a stand-in whose every invocation is, with probability 0.6, slowed by
// interference of a random size (as a program reporting its mean time is on a busy machine): one
// invocation per run cannot show a 10% speed-up, the fastest of six can.
#include <cstdlib>
#include <fstream>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/process.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Prints Google Benchmark JSON for the fixture's three dot benchmarks: 1% noise, and in 60% of
// invocations a slow-down of 1 + Exp(mean 0.5) (the same for every benchmark of the invocation).
constexpr const char* kInterferedBench = R"(import json, random
slow = 1 + random.expovariate(2.0) if random.random() < 0.6 else 1.0
rows = []
for name, ns in [("vs_dot_f32/256", 100.0), ("vs_dot_f32/4096", 1500.0), ("vs_dot_f32/65536", 20000.0)]:
    t = ns * slow * random.lognormvariate(0, 0.01)
    rows.append({"name": name, "run_type": "iteration", "iterations": 100,
                 "real_time": t, "cpu_time": t, "time_unit": "ns"})
print(json.dumps({"benchmarks": rows}))
)";

// The command fixture with its bench_command replaced by kInterferedBench, run `repetitions`
// times per run.
FixtureRepo MakeInterferedCommandRepo(int repetitions) {
  FixtureRepo repo = CopyFixture("make_header_repo", "rlvr-calibrate-command");
  std::filesystem::remove(repo.path() / "rlvr.json.draft");
  nlohmann::json config = nlohmann::json::parse(CommandRepoConfig());
  config["targets"][0]["bench_command"]["command"] = {"python3", "scripts/interfered_bench.py"};
  config["targets"][0]["bench_command"]["repetitions"] = repetitions;
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  std::ofstream(repo.path() / "scripts" / "interfered_bench.py") << kInterferedBench;
  CommitInitial(repo);
  return repo;
}

ProcessResult Calibrate(const FixtureRepo& repo, std::vector<std::string> args) {
  RunOptions options;
  options.cwd = repo.path();
  options.limits.wall_seconds = 600;
  args.insert(args.begin(), {RLVR_BINARY, "calibrate"});
  return RunProcess(args, options);
}

// From the report's resampled section: how many of its trials `row` ("detection power at 10%
// speed-up" or "false-promotion rate") promoted. -1 when the row is missing.
int ResampledPromotions(const std::string& report, const std::string& row) {
  size_t section = report.find("resampled trials");
  if (section == std::string::npos) return -1;
  std::smatch m;
  std::string rest = report.substr(section);
  if (!std::regex_search(rest, m, std::regex(row + R"(: (\d+)/\d+)"))) return -1;
  return std::stoi(m[1]);
}

TEST(CalibrateCommandTest, MeasuresTheBenchCommandAsTheGateRunsIt) {
  // Ten invocations: the fastest of ten is slowed by the interference with chance 0.6^10, so the
  // machine's own load (the whole suite runs beside it) cannot hide the speed-up.
  FixtureRepo repo = MakeInterferedCommandRepo(10);
  ProcessResult r = Calibrate(repo, {"--trials", "2", "--rounds", "6", "--resamples", "100"});
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("each run 10 invocations of the bench_command"));
  EXPECT_THAT(r.out, Not(HasSubstr("repetitions of min_time")));
  EXPECT_THAT(r.out, HasSubstr("run-to-run noise"));
  int detected = ResampledPromotions(r.out, "detection power at 10% speed-up");
  int false_promotions = ResampledPromotions(r.out, "false-promotion rate");
  // One invocation per run detects at most half (the next test); ten, most.
  EXPECT_GE(detected, 70) << r.out;
  EXPECT_GE(false_promotions, 0) << r.out;
  EXPECT_LE(false_promotions, 5) << r.out;
  if (detected >= 80) EXPECT_THAT(r.out, Not(HasSubstr("a 10% speed-up is missed")));
}

// One invocation per run (what the gate measured before bench_command.repetitions): the noise
// hides a 10% speed-up, and the report says so and what to change.
TEST(CalibrateCommandTest, OneInvocationPerRunMissesATenPercentSpeedUpAndSaysWhy) {
  FixtureRepo repo = MakeInterferedCommandRepo(6);
  ProcessResult r = Calibrate(
      repo, {"--trials", "2", "--rounds", "6", "--resamples", "100", "--repetitions", "1"});
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("each run 1 invocation of the bench_command"));
  EXPECT_THAT(r.out, HasSubstr("(--repetitions; the gate uses rlvr.json's 6)"));
  int detected = ResampledPromotions(r.out, "detection power at 10% speed-up");
  EXPECT_GE(detected, 0) << r.out;
  EXPECT_LE(detected, 50) << r.out;
  EXPECT_THAT(r.out, HasSubstr("a 10% speed-up is missed in"));
  EXPECT_THAT(r.out, HasSubstr("raise the target's bench_command \"repetitions\""));
}

TEST(CalibrateCommandTest, RefusesMinTimeForACommandThatTimesItself) {
  FixtureRepo repo = MakeInterferedCommandRepo(2);
  ProcessResult r = Calibrate(repo, {"--trials", "1", "--min-time", "0.01"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("--min-time does not apply"));
}

}  // namespace
}  // namespace rlvr
