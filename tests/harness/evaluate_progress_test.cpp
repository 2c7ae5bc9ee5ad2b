// Progress of long evaluations without --verbose (verify/progress.h): the reporter's lines and
// heartbeats, and `rlvr evaluate` on the command fixture (tests/fixtures/make_header_repo) whose
// test command is made slow, with the heartbeat interval set to 1 s: its stderr shows each long
// gate's steps and repeated heartbeats with growing elapsed times, and --json stdout stays JSON;
// and the settings of `rlvr iterate`, whose evaluations print heartbeats only.
#include <chrono>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/process.h"
#include "harness/loop/settings.h"
#include "harness/verify/progress.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// The reporter's lines, collected from its ticker thread and the caller's.
struct Lines {
  std::mutex mu;
  std::vector<std::string> lines;
  ProgressReporter::Sink Sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(line);
    };
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return lines;
  }
};

TEST(ProgressReporterTest, AnnouncesStepsAndRepeatsTheStageWhileItRuns) {
  Lines out;
  ProgressSettings settings;
  settings.heartbeat_seconds = 0.2;
  {
    ProgressReporter progress(settings, out.Sink());
    progress.Stage("build", "building HEAD (the baseline)");
    std::this_thread::sleep_for(700ms);
    progress.Detail("round 3/10 candidate");  // not announced, shown by the next heartbeat
    std::this_thread::sleep_for(450ms);
    progress.Idle();
    size_t at_idle = out.Get().size();
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(out.Get().size(), at_idle) << "no heartbeat while idle";
  }
  std::vector<std::string> lines = out.Get();
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "rlvr: build: building HEAD (the baseline) ...");
  EXPECT_THAT(lines[1], HasSubstr("rlvr: build: building HEAD (the baseline), 0 s"));
  EXPECT_THAT(lines.back(), HasSubstr("rlvr: build: round 3/10 candidate, 1 s"));
  // One heartbeat per interval at most: about 1.15 s / 0.2 s of them, never a burst.
  EXPECT_LE(lines.size(), 8u);
}

TEST(ProgressReporterTest, HeartbeatsOnlyNameTheLabelAndStayUnderOnePerInterval) {
  Lines out;
  ProgressSettings settings;
  settings.heartbeat_seconds = 0.3;
  settings.announce_steps = false;
  settings.label = std::make_shared<ProgressLabel>();
  settings.label->Set("evaluating vsum 3.1");
  {
    ProgressReporter progress(settings, out.Sink());
    progress.Stage("tests", "running test_vsum");
    progress.Step("running test_vsum with RLVR_TEST_SEED=7");
    EXPECT_TRUE(out.Get().empty()) << "steps are not announced";
    std::this_thread::sleep_for(1000ms);
  }
  std::vector<std::string> lines = out.Get();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_LE(lines.size(), 3u);
  for (const auto& line : lines)
    EXPECT_THAT(line, HasSubstr("rlvr: evaluating vsum 3.1: tests: running test_vsum with "
                                "RLVR_TEST_SEED=7, "));
}

TEST(ProgressReporterTest, ZeroSecondsMeansNoLines) {
  Lines out;
  ProgressSettings settings;
  settings.heartbeat_seconds = 0;
  {
    ProgressReporter progress(settings, out.Sink());
    progress.Stage("build", "building");
    progress.Step("linking");
  }
  EXPECT_TRUE(out.Get().empty());
}

TEST(ProgressReporterTest, ElapsedTimesReadNaturally) {
  EXPECT_EQ(DescribeElapsed(0.4), "0 s");
  EXPECT_EQ(DescribeElapsed(59.4), "59 s");
  EXPECT_EQ(DescribeElapsed(100), "1 min 40 s");
  EXPECT_EQ(DescribeElapsed(2 * 3600 + 5 * 60 + 3), "2 h 5 min");
}

// The elapsed seconds of every heartbeat of `stage` in `err` ("rlvr: tests: ..., 3 s").
std::vector<int> HeartbeatSeconds(const std::string& err, const std::string& stage) {
  std::vector<int> seconds;
  std::regex line("rlvr: " + stage + R"(: [^\n]*, (?:(\d+) min )?(\d+) s\n)");
  for (std::sregex_iterator it(err.begin(), err.end(), line), end; it != end; ++it) {
    int minutes = (*it)[1].matched ? std::stoi((*it)[1]) : 0;
    seconds.push_back(60 * minutes + std::stoi((*it)[2]));
  }
  return seconds;
}

TEST(EvaluateProgressTest, ASlowGateShowsHeartbeatsWithoutVerboseAndJsonStaysPure) {
  FixtureRepo repo = CopyFixture("make_header_repo", "rlvr-progress");
  std::filesystem::remove(repo.path() / "rlvr.json.draft");
  nlohmann::json config = nlohmann::json::parse(CommandRepoConfig());
  // A test program that takes 3 s a run (the tests gate runs it twice).
  config["targets"][0]["test_commands"] = {
      {{"name", "slow_test"},
       {"command", {"sh", "-c", "sleep 3 && exec \"$0\"", "{build_dir}/test_vsum"}}}};
  config["targets"][0].erase("oracle");
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  CommitInitial(repo);
  const std::filesystem::path reply = repo.path().string() + "-reply.txt";
  std::ofstream(reply)
      << "A change.\n\n```diff\n--- a/include/vsum.h\n+++ b/include/vsum.h\n@@\n static inline "
         "void vs_axpy_f32(float a, const float *x, float *y, size_t n) {\n-  size_t i;\n+  "
         "size_t i = 0;\n```\n";
  RunOptions options;
  options.cwd = repo.path();
  options.limits.wall_seconds = 600;
  ProcessResult r =
      RunProcess({RLVR_BINARY, "evaluate", reply.string(), "--target", "vsum", "--json",
                  "--no-sanitizers", "--no-benchmark", "--progress-seconds", "1"},
                 options);
  ASSERT_NE(r.exit_code, 2) << r.Describe() << "\n" << r.err;
  nlohmann::json verdict;
  ASSERT_NO_THROW(verdict = nlohmann::json::parse(r.out)) << r.out;
  EXPECT_EQ(verdict["gates"][4]["name"], "tests");
  EXPECT_EQ(verdict["gates"][4]["status"], "pass") << verdict.dump(2);
  EXPECT_THAT(r.out, Not(HasSubstr("rlvr: ")));
  // Each long step as it starts, without -v.
  EXPECT_THAT(r.err, HasSubstr("rlvr: build: building HEAD (the baseline) with the build command"));
  EXPECT_THAT(r.err, HasSubstr("rlvr: build: building the candidate with the build command"));
  EXPECT_THAT(r.err, HasSubstr("rlvr: tests: running slow_test ..."));
  EXPECT_THAT(r.err, Not(HasSubstr("[rlvr evaluate]")));  // -v's lines stay -v's
  // Heartbeats while the slow tests run, their elapsed time growing.
  std::vector<int> beats = HeartbeatSeconds(r.err, "tests");
  ASSERT_GE(beats.size(), 3u) << r.err;
  EXPECT_TRUE(std::is_sorted(beats.begin(), beats.end())) << r.err;
  EXPECT_GE(beats.back(), beats.front() + 2) << r.err;

  // --progress-seconds 0: no progress lines at all.
  ProcessResult quiet =
      RunProcess({RLVR_BINARY, "evaluate", reply.string(), "--target", "vsum", "--json",
                  "--no-sanitizers", "--no-benchmark", "--progress-seconds", "0"},
                 options);
  ASSERT_NE(quiet.exit_code, 2) << quiet.err;
  EXPECT_THAT(quiet.err, Not(HasSubstr("rlvr: tests:")));
  std::filesystem::remove(reply);
}

// `rlvr iterate` judges candidate after candidate: its evaluations print heartbeats only (at most
// one per 30 s each), named by the label the loop sets to the attempt it judges.
TEST(IterateProgressTest, TheLoopsEvaluationsPrintHeartbeatsOnlyNamedByTheAttempt) {
  FixtureRepo repo = MakeFixtureRepo();
  IterateSettings settings = ResolveIterateSettings(repo.path(), IterateFlags{});
  EXPECT_FALSE(settings.evaluation.progress.announce_steps);
  EXPECT_EQ(settings.evaluation.progress.heartbeat_seconds, 30);
  ASSERT_NE(settings.loop.evaluation_label, nullptr);
  EXPECT_EQ(settings.evaluation.progress.label, settings.loop.evaluation_label);
}

}  // namespace
}  // namespace rlvr
