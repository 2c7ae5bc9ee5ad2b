// LoadReportData against generated ledgers: totals, promotions history arithmetic, --since,
// baselines and references, and clear errors for ledgers it must not read.
#include "harness/report/data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>

#include "harness/ledger/ledger.h"
#include "tests/harness/report_fixture.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ReportDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_report_data_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.ledger_path = dir_ / "ledger.sqlite";
    options_.baselines_dir = dir_ / "baselines";
    options_.config_path = dir_ / "rlvr.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  const TargetReport& Target(const ReportData& data, const std::string& name) {
    for (const TargetReport& target : data.targets) {
      if (target.name == name) return target;
    }
    throw std::runtime_error("no target " + name);
  }

  fs::path dir_;
  ReportOptions options_;
};

TEST_F(ReportDataTest, TotalsMatchWhatWasWritten) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 1500;
  FixtureLedger written = WriteFixtureLedger(options_.ledger_path, fixture);
  ReportData data = LoadReportData(options_);
  EXPECT_EQ(data.ledger_state, ReportData::LedgerState::kOk);
  EXPECT_EQ(data.totals.attempts, 1500);
  EXPECT_EQ(data.totals.promoted, written.by_verdict["promoted"]);
  EXPECT_EQ(data.totals.errors, written.by_verdict["error"]);
  EXPECT_EQ(data.totals.by_category, written.by_category);
  EXPECT_EQ(data.totals.tokens, written.tokens);
  EXPECT_EQ(data.first_attempt_at, written.created_at.front());
  EXPECT_EQ(data.last_attempt_at, written.created_at.back());
  int bucketed = 0;
  for (const TimeBucket& bucket : data.buckets) {
    for (const auto& [category, count] : bucket.by_category) bucketed += count;
  }
  EXPECT_EQ(bucketed, 1500);
  EXPECT_LE(data.buckets.size(), 48u);
  ASSERT_TRUE(data.last_run.has_value());
  EXPECT_EQ(data.last_run->id, written.last_run_id);
  EXPECT_EQ(data.last_run->tally.attempts, written.last_run_attempts);
}

TEST_F(ReportDataTest, HistoryChainsPromotionRatiosFromTheFirstBaseline) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 400;
  FixtureLedger written = WriteFixtureLedger(options_.ledger_path, fixture);
  WriteFixtureConfig(options_.config_path, fixture.targets);
  ReportData data = LoadReportData(options_);
  for (const std::string& name : fixture.targets) {
    const TargetReport& target = Target(data, name);
    const auto& expected = written.promotions[name];
    ASSERT_EQ(target.promotions.size(), expected.size()) << name;
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(target.primary, FixturePrimary(name));
    EXPECT_DOUBLE_EQ(target.first_baseline_ns, written.first_baseline_ns[name]);
    double product = 1;
    int64_t previous_id = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      product *= expected[i].ratio;
      EXPECT_EQ(target.promotions[i].attempt_id, expected[i].attempt_id);
      EXPECT_NEAR(target.promotions[i].speedup, 1 / product, 1e-9);
      EXPECT_NEAR(target.promotions[i].primary_ns, written.first_baseline_ns[name] * product, 1e-3);
      EXPECT_FALSE(target.promotions[i].patch.empty());
      EXPECT_EQ(target.promotions[i].commit.size(), 40u);
      EXPECT_EQ(target.promotions[i].figures.size(), 2u);
      EXPECT_GT(target.promotions[i].attempts, 0);
      EXPECT_GT(target.promotions[i].attempt_id, previous_id);
      previous_id = target.promotions[i].attempt_id;
    }
  }
  // Each attempt of a target before its last promotion is charged to exactly one promotion.
  const TargetReport& gemm = Target(data, "gemm");
  int charged = 0;
  for (const Promotion& promotion : gemm.promotions) charged += promotion.attempts;
  EXPECT_LE(charged, gemm.window.attempts);
  EXPECT_GT(charged, gemm.window.attempts / 2);
}

TEST_F(ReportDataTest, ReferencesBecomeChartLinesOnlyInASharedUnit) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 200;
  WriteFixtureLedger(options_.ledger_path, fixture);
  WriteFixtureBaselines(options_.baselines_dir, fixture.targets);
  WriteFixtureConfig(options_.config_path, fixture.targets);
  ReportData data = LoadReportData(options_);
  const TargetReport& gemm = Target(data, "gemm");
  EXPECT_TRUE(gemm.has_baseline);
  EXPECT_EQ(gemm.chart_counter, "GFLOPS");
  EXPECT_EQ(gemm.references.size(), 2u);
  EXPECT_DOUBLE_EQ(gemm.baseline_primary_ns, 8.0e6);
  const TargetReport& softmax = Target(data, "softmax");
  EXPECT_TRUE(softmax.has_baseline);
  EXPECT_EQ(softmax.chart_counter, "");  // GB/s is not a unit of the primary benchmark
  ASSERT_EQ(softmax.references.size(), 1u);
  EXPECT_EQ(softmax.references[0].name, "BM_MemBandwidth");
}

TEST_F(ReportDataTest, SinceAndTargetFilterAttempts) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 900;
  FixtureLedger written = WriteFixtureLedger(options_.ledger_path, fixture);
  options_.since = written.created_at[600];
  int expected = 0;
  for (const std::string& at : written.created_at) expected += at >= options_.since;
  ReportData data = LoadReportData(options_);
  EXPECT_EQ(data.totals.attempts, expected);
  EXPECT_LT(expected, 900);
  EXPECT_GE(data.first_attempt_at, options_.since);

  options_.since.clear();
  options_.target = "softmax";
  ReportData softmax = LoadReportData(options_);
  ASSERT_EQ(softmax.targets.size(), 1u);
  EXPECT_EQ(softmax.targets[0].name, "softmax");
  EXPECT_LT(softmax.totals.attempts, 900);
  EXPECT_GT(softmax.totals.attempts, 0);
  for (const AttemptRow& row : softmax.recent) EXPECT_EQ(row.target, "softmax");
}

TEST_F(ReportDataTest, ListsOnlyTheMostRecentRowsAndCountsTheRest) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 500;
  WriteFixtureLedger(options_.ledger_path, fixture);
  options_.recent_rows = 50;
  ReportData data = LoadReportData(options_);
  ASSERT_EQ(data.recent.size(), 50u);
  EXPECT_EQ(data.hidden_attempts, 450);
  EXPECT_EQ(data.recent.front().id, 500);  // most recent first
  EXPECT_GE(data.recent.front().created_at, data.recent.back().created_at);
}

TEST_F(ReportDataTest, FailureReasonsGroupMessagesWithNumbersMasked) {
  FixtureLedgerOptions fixture;
  fixture.attempts = 1000;
  FixtureLedger written = WriteFixtureLedger(options_.ledger_path, fixture);
  ReportData data = LoadReportData(options_);
  ASSERT_FALSE(data.failures.empty());
  EXPECT_LE(data.failures.size(), 10u);
  // The commonest failure in the fixture: an undeclared name at varying lines of gemm.cpp.
  EXPECT_EQ(data.failures[0].category, "build");
  EXPECT_THAT(data.failures[0].pattern, HasSubstr("kernels/gemm.cpp:#:#: error: 'vpack'"));
  EXPECT_GT(data.failures[0].count, 100);
  EXPECT_LT(data.failures[0].count, written.by_category["build"]);
  for (size_t i = 1; i < data.failures.size(); ++i) {
    EXPECT_GE(data.failures[i - 1].count, data.failures[i].count);
    EXPECT_FALSE(data.failures[i].example_message.empty());
    EXPECT_FALSE(data.failures[i].example_reply.empty());
  }
}

TEST_F(ReportDataTest, MissingAndEmptyLedgersAreNotErrors) {
  ReportData missing = LoadReportData(options_);
  EXPECT_EQ(missing.ledger_state, ReportData::LedgerState::kMissing);
  EXPECT_EQ(missing.totals.attempts, 0);
  WriteEmptyLedger(options_.ledger_path);
  ReportData empty = LoadReportData(options_);
  EXPECT_EQ(empty.ledger_state, ReportData::LedgerState::kEmpty);
  EXPECT_TRUE(empty.buckets.empty());
  EXPECT_TRUE(empty.failures.empty());
}

TEST_F(ReportDataTest, OtherSchemaVersionsGetAClearMessage) {
  WriteLedgerWithVersion(options_.ledger_path, "4");
  try {
    LoadReportData(options_);
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has schema version 4; this rlvr reads versions 1 to 3"));
    EXPECT_THAT(e.what(), HasSubstr(options_.ledger_path.string()));
  }
  WriteLedgerWithoutMeta(options_.ledger_path);
  try {
    LoadReportData(options_);
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no schema version"));
    EXPECT_THAT(e.what(), HasSubstr("this rlvr reads versions 1 to 3"));
  }
}

TEST_F(ReportDataTest, NonSqliteFileIsAnErrorNotACrash) {
  std::ofstream(options_.ledger_path) << "this is not a database, just text that is long enough "
                                         "to have a header and more and more bytes here.\n";
  EXPECT_THROW(LoadReportData(options_), ReportError);
}

TEST_F(ReportDataTest, BadBaselineIsReportedNotFatal) {
  fs::create_directories(options_.baselines_dir);
  std::ofstream(options_.baselines_dir / "gemm.json") << "{ not json";
  std::ofstream(options_.baselines_dir / "rope.json") << R"({"version": 9})";
  ReportData data = LoadReportData(options_);
  ASSERT_EQ(data.targets.size(), 2u);
  EXPECT_FALSE(Target(data, "gemm").has_baseline);
  EXPECT_THAT(Target(data, "gemm").baseline_problem, HasSubstr("not valid JSON"));
  EXPECT_THAT(Target(data, "rope").baseline_problem, HasSubstr("format version 9"));
}

// The "when" of a promotion is its commit's time, not the arrival of the reply it came from.
TEST_F(ReportDataTest, PromotionTimeIsTheCommitTime) {
  std::string git = "cd '" + dir_.string() +
                    "' && git -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false ";
  ASSERT_EQ(std::system(("export GIT_COMMITTER_DATE='2030-01-02T03:04:05Z'; " + git +
                         "init -q -b main && " + git + "commit -q --allow-empty -m promoted")
                            .c_str()),
            0);
  std::string sha;
  {
    FILE* pipe = popen(("git -C '" + dir_.string() + "' rev-parse HEAD").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buffer[64] = {0};
    ASSERT_NE(fgets(buffer, sizeof buffer, pipe), nullptr);
    pclose(pipe);
    sha = std::string(buffer, 40);
  }
  Ledger ledger(options_.ledger_path);
  int64_t run = ledger.BeginRun("model-x", "http://127.0.0.1:1/v1", "{}", 1);
  AttemptRecord promoted;
  promoted.run_id = run;
  promoted.target = "gemm";
  promoted.verdict = "passed";
  promoted.created_at = "2026-11-23T16:00:00Z";  // when the reply arrived
  promoted.primary_ratio = 0.8;
  ledger.MarkPromoted(ledger.AddAttempt(promoted), sha);
  AttemptRecord unknown = promoted;  // a commit this repository does not have keeps the row's time
  unknown.created_at = "2026-11-23T17:00:00Z";
  ledger.MarkPromoted(ledger.AddAttempt(unknown), "0123456789012345678901234567890123456789");

  ReportData data = LoadReportData(options_);
  ASSERT_EQ(data.targets.size(), 1u);
  ASSERT_EQ(data.targets[0].promotions.size(), 2u);
  EXPECT_EQ(data.targets[0].promotions[0].commit, sha);
  EXPECT_EQ(data.targets[0].promotions[0].created_at, "2030-01-02T03:04:05Z");
  EXPECT_EQ(data.targets[0].promotions[1].created_at, "2026-11-23T17:00:00Z");
}

}  // namespace
}  // namespace rlvr

namespace rlvr {
namespace {

// The report reads what the loop's ledger writer (harness/ledger/ledger.h) writes, including while
// the writer still holds the file open.
TEST_F(ReportDataTest, ReadsALedgerWrittenByTheLoop) {
  Ledger ledger(options_.ledger_path);
  int64_t run = ledger.BeginRun("model-x", "http://127.0.0.1:1/v1", "{}", 1);
  AttemptRecord failed;
  failed.run_id = run;
  failed.target = "gemm";
  failed.verdict = "failed";
  failed.failed_gate = "build";
  failed.message = "kernels/gemm.cpp:3:1: error: <script>x</script>";
  failed.reply = "reply";
  failed.prompt_tokens = 100;
  failed.completion_tokens = 20;
  ledger.AddAttempt(failed);
  AttemptRecord good;
  good.run_id = run;
  good.target = "gemm";
  good.verdict = "passed";
  good.patch = "--- a/x\n+++ b/x\n";
  good.figures_json =
      R"({"metric":"real_time","benchmarks":[{"name":"BM_Gemm/1024","baseline_ns":2e6,)"
      R"("candidate_ns":1.5e6,"ratio":0.75,"ci_low":0.74,"ci_high":0.76,"p_value":0.001}]})";
  good.primary_ratio = 0.75;
  int64_t id = ledger.AddAttempt(good);
  ledger.MarkPromoted(id, "abcdef0123456789abcdef0123456789abcdef01");

  ReportData data = LoadReportData(options_);
  EXPECT_EQ(data.totals.attempts, 2);
  EXPECT_EQ(data.totals.promoted, 1);
  EXPECT_EQ(data.totals.by_category.at("build"), 1);
  EXPECT_EQ(data.totals.tokens, 120);
  ASSERT_EQ(data.targets.size(), 1u);
  ASSERT_EQ(data.targets[0].promotions.size(), 1u);
  EXPECT_EQ(data.targets[0].primary, "BM_Gemm/1024");
  EXPECT_NEAR(data.targets[0].promotions[0].speedup, 1 / 0.75, 1e-9);
  EXPECT_EQ(data.targets[0].promotions[0].commit, "abcdef0123456789abcdef0123456789abcdef01");
  ASSERT_TRUE(data.last_run.has_value());
  EXPECT_EQ(data.last_run->id, run);
}

}  // namespace
}  // namespace rlvr
