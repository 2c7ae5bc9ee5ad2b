// `rlvr report` end to end through the built binary: a 5000-attempt ledger in a few seconds,
// empty and missing ledgers (exit 0, says so), old ledgers and bad options (clear messages).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/harness/report_fixture.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Outcome {
  int status = -1;
  std::string output;  // stdout and stderr
  double seconds = 0;
};

Outcome RunRlvr(const std::string& arguments) {
  std::string command = std::string("'") + RLVR_BINARY + "' " + arguments + " 2>&1";
  auto start = std::chrono::steady_clock::now();
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return outcome;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, n);
  int status = pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ReportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = fs::temp_directory_path() /
            ("rlvr_report_cmd_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(repo_);
    fs::create_directories(repo_ / ".git");  // enough for the repository root search
  }
  void TearDown() override { fs::remove_all(repo_); }

  std::string Quoted(const fs::path& path) { return "'" + path.string() + "'"; }

  fs::path repo_;
};

TEST_F(ReportCommandTest, FiveThousandAttemptsInAFewSeconds) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 5000;
  WriteFixtureLedger(repo_ / ".rlvr" / "ledger.sqlite", fixture);
  WriteFixtureBaselines(repo_ / "baselines", fixture.targets);
  WriteFixtureConfig(repo_ / "rlvr.json", fixture.targets);
  Outcome outcome = RunRlvr("report -C " + Quoted(repo_));
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_LT(outcome.seconds, 5.0);
  std::printf("rlvr report over 5000 attempts took %.2f s\n", outcome.seconds);
  EXPECT_THAT(outcome.output, HasSubstr((repo_ / "rlvr-report" / "index.html").string()));
  EXPECT_THAT(outcome.output, HasSubstr((repo_ / "rlvr-report" / "report.md").string()));
  EXPECT_THAT(outcome.output, HasSubstr("5000 attempts"));
  std::string html = Slurp(repo_ / "rlvr-report" / "index.html");
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(Slurp(repo_ / "rlvr-report" / "report.md"), HasSubstr("# rlvr report"));
}

TEST_F(ReportCommandTest, OptionsSelectTargetWindowAndOutput) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 300;
  FixtureLedger written = WriteFixtureLedger(repo_ / "elsewhere.sqlite", fixture);
  fs::path out = repo_ / "out dir";
  Outcome outcome =
      RunRlvr("report -C " + Quoted(repo_) + " --ledger " + Quoted(repo_ / "elsewhere.sqlite") +
              " --out " + Quoted(out) + " --target gemm --since " + written.created_at[150]);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("Since " + written.created_at[150] + " for target gemm"));
  std::string markdown = Slurp(out / "report.md");
  EXPECT_THAT(markdown, HasSubstr("### gemm"));
  EXPECT_THAT(markdown, ::testing::Not(HasSubstr("### softmax")));
}

TEST_F(ReportCommandTest, MissingOrEmptyLedgerSaysSoAndStillWritesAPage) {
  Outcome missing = RunRlvr("report -C " + Quoted(repo_));
  ASSERT_EQ(missing.status, 0) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("Nothing to report yet: there is no ledger"));
  EXPECT_THAT(Slurp(repo_ / "rlvr-report" / "index.html"), HasSubstr("Nothing to report yet"));

  WriteEmptyLedger(repo_ / ".rlvr" / "ledger.sqlite");
  Outcome empty = RunRlvr("report -C " + Quoted(repo_));
  ASSERT_EQ(empty.status, 0) << empty.output;
  EXPECT_THAT(empty.output, HasSubstr("has no attempts"));
}

TEST_F(ReportCommandTest, OldLedgerAndBadOptionsGetClearMessages) {
  WriteLedgerWithVersion(repo_ / ".rlvr" / "ledger.sqlite", "0");
  Outcome old = RunRlvr("report -C " + Quoted(repo_));
  EXPECT_NE(old.status, 0);
  EXPECT_THAT(old.output, HasSubstr("has schema version 0; this rlvr reads versions 1 to 3"));
  EXPECT_FALSE(fs::exists(repo_ / "rlvr-report" / "index.html"));

  Outcome since = RunRlvr("report -C " + Quoted(repo_) + " --since yesterday");
  EXPECT_NE(since.status, 0);
  EXPECT_THAT(since.output, HasSubstr("--since 'yesterday' is neither"));

  fs::path outside = repo_.parent_path() / (repo_.filename().string() + "_norepo");
  fs::create_directories(outside);
  Outcome no_repo = RunRlvr("report -C " + Quoted(outside));
  EXPECT_NE(no_repo.status, 0);
  EXPECT_THAT(no_repo.output, HasSubstr("not inside a git repository"));
  fs::remove_all(outside);
}

// How often `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// report, evaluate and targets each print a failure's message once (main prints it).
TEST_F(ReportCommandTest, ErrorsArePrintedOnce) {
  Outcome since = RunRlvr("report -C " + Quoted(repo_) + " --since yesterday");
  EXPECT_NE(since.status, 0);
  EXPECT_EQ(Count(since.output, "--since 'yesterday' is neither"), 1) << since.output;

  fs::path outside = repo_.parent_path() / (repo_.filename().string() + "_norepo");
  fs::create_directories(outside);
  for (const char* command : {"report", "targets", "evaluate --target dot /dev/null"}) {
    Outcome no_repo = RunRlvr(std::string(command) + " -C " + Quoted(outside));
    EXPECT_EQ(no_repo.status, 2) << command;
    EXPECT_EQ(Count(no_repo.output, "not inside a git repository"), 1) << command << ":\n"
                                                                       << no_repo.output;
  }
  fs::remove_all(outside);
}

}  // namespace
}  // namespace rlvr
