// `rlvr baseline` and `rlvr calibrate` end to end, on a throw-away repository holding the fake
// benchmark's rlvr.json and using the fake benchmark binary (--bench), so nothing is built.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/process.h"
#include "harness/bench/baseline.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
namespace fs = std::filesystem;

const std::string kFakeBench = RLVR_FIXTURES_DIR "/bench_fake/fake_bench.py";

class BenchCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = fs::temp_directory_path() / ("rlvr_bench_commands_" + std::to_string(getpid()));
    fs::remove_all(repo_);
    fs::create_directories(repo_);
    fs::copy_file(RLVR_FIXTURES_DIR "/bench_fake/rlvr.json", repo_ / "rlvr.json");
    options_.cwd = repo_;
    options_.env = {{"GIT_AUTHOR_NAME", "t"},
                    {"GIT_AUTHOR_EMAIL", "t@example.com"},
                    {"GIT_COMMITTER_NAME", "t"},
                    {"GIT_COMMITTER_EMAIL", "t@example.com"}};
    Git({"init", "-q"});
    Git({"add", "rlvr.json"});
    Git({"commit", "-q", "-m", "init"});
  }
  void TearDown() override { fs::remove_all(repo_); }

  ProcessResult Git(std::vector<std::string> args) {
    args.insert(args.begin(), "git");
    ProcessResult r = RunProcess(args, options_);
    EXPECT_TRUE(r.ok()) << r.Describe() << r.err;
    return r;
  }
  ProcessResult Rlvr(std::vector<std::string> args) {
    args.insert(args.begin(), RLVR_BINARY);
    return RunProcess(args, options_);
  }

  fs::path repo_;
  RunOptions options_;
};

TEST_F(BenchCommandsTest, BaselineWritesAndOptionallyCommits) {
  ProcessResult r =
      Rlvr({"baseline", "--bench", kFakeBench, "--rounds", "3", "--min-time", "0.01"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_THAT(r.out, HasSubstr("BM_Fast"));
  EXPECT_THAT(r.out, HasSubstr("wrote baselines/fake.json"));
  Baseline b = ReadBaselineFile(repo_ / "baselines" / "fake.json");
  EXPECT_EQ(b.target, "fake");
  EXPECT_EQ(b.commit.size(), 40u);
  EXPECT_EQ(b.benchmarks.at("BM_Fast").samples_ns.size(), 3u);
  EXPECT_EQ(b.references.count("BM_Ref"), 1u);
  EXPECT_THAT(b.recorded_at, MatchesRegex("....-..-..T..:..:..Z"));
  // Not committed without --commit.
  EXPECT_THAT(Git({"status", "--porcelain"}).out, HasSubstr("baselines/"));

  std::ofstream(repo_ / "unrelated.txt") << "x";
  Git({"add", "unrelated.txt"});
  r = Rlvr({"baseline", "--bench", kFakeBench, "--rounds", "2", "--min-time", "0.01", "--commit"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_EQ(Git({"show", "--name-only", "--format=", "HEAD"}).out, "baselines/fake.json\n");
  EXPECT_THAT(Git({"status", "--porcelain"}).out, HasSubstr("A  unrelated.txt"));
}

TEST_F(BenchCommandsTest, BaselineReportsBadInputClearly) {
  ProcessResult r = Rlvr({"baseline", "--bench", kFakeBench, "--target", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nope"));
  r = Rlvr({"baseline", "--bench", "/nonexistent/bench"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("does not exist"));
  options_.env["FAKE_BENCH_ERROR"] = "BM_Fast";
  r = Rlvr({"baseline", "--bench", kFakeBench, "--rounds", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("BM_Fast: output mismatch"));
  EXPECT_FALSE(fs::exists(repo_ / "baselines" / "fake.json"));
}

// "<label>: K/N" -> K, from the `nth` line holding the label.
int CountAfter(const std::string& text, const std::string& label, int nth) {
  size_t at = 0;
  for (int i = 0; i <= nth; ++i) {
    at = text.find(label, i == 0 ? 0 : at + 1);
    if (at == std::string::npos) return -1;
  }
  return std::stoi(text.substr(at + label.size()));
}

TEST_F(BenchCommandsTest, CalibratePrintsBothRates) {
  options_.env["FAKE_BENCH_NOISE"] = "0.01";
  ProcessResult r = Rlvr({"calibrate", "--bench", kFakeBench, "--trials", "1", "--rounds", "6",
                          "--min-time", "0.01", "--resamples", "300"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_THAT(r.out, HasSubstr("false-promotion rate: 0/1"));
  EXPECT_THAT(r.out, HasSubstr("detection power at 10% speed-up: 1/1"));
  // With 1% noise: resampled A/A promotes rarely (alpha/2 = 0.5% expected), 10% always passes.
  int false_promotions = CountAfter(r.out, "false-promotion rate: ", 1);
  EXPECT_GE(false_promotions, 0) << r.out;
  EXPECT_LE(false_promotions, 9) << r.out;
  EXPECT_GE(CountAfter(r.out, "detection power at 10% speed-up: ", 1), 290) << r.out;
  EXPECT_THAT(r.out, HasSubstr("/300"));
  // The sequential gate's speed and its other errors, for each simulated candidate.
  EXPECT_THAT(r.out, HasSubstr("detection power at 5% speed-up: "));
  EXPECT_THAT(
      r.out,
      HasSubstr("missed 0/1 (0 refused for a regression of a gated benchmark, 0 not shown faster"));
  EXPECT_THAT(r.out, HasSubstr("a 2x slower candidate: promoted 0/1; median 2 rounds"));
  EXPECT_THAT(r.out, HasSubstr("s per verdict"));
}

TEST_F(BenchCommandsTest, CalibrateNamesBenchmarksAsTheConfigDoes) {
  // Google Benchmark appends "/real_time" to benchmarks that use real time; rlvr.json does not.
  options_.env["FAKE_BENCH_NOISE"] = "0.01";
  options_.env["FAKE_BENCH_SUFFIX"] = "/real_time";
  ProcessResult r = Rlvr(
      {"calibrate", "--bench", kFakeBench, "--trials", "1", "--rounds", "6", "--resamples", "0"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_THAT(r.out, HasSubstr("detection power at 10% speed-up: 1/1"));
}

TEST_F(BenchCommandsTest, CalibrateRefusesATargetWhosePrimaryIsNotMeasured) {
  options_.env["FAKE_BENCH_DROP"] = "BM_Fast";
  ProcessResult r = Rlvr({"calibrate", "--bench", kFakeBench, "--trials", "1", "--rounds", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("primary benchmark BM_Fast of target fake was not measured"));
}

TEST_F(BenchCommandsTest, CalibrateRejectsBadSettings) {
  ProcessResult r = Rlvr({"calibrate", "--bench", kFakeBench, "--rounds", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--rounds >= 2"));
  r = Rlvr({"calibrate", "--bench", kFakeBench, "--speedup", "2"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace rlvr
