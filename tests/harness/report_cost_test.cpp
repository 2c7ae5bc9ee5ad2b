// Cost in `rlvr report`: the arithmetic of report/cost.h (cost per promotion, per 1% of primary
// speed-up, "(estimated)", "no price set"), and the report's totals, last run, per-model and
// per-run tables over a ledger written through the loop's writer, rendered in Markdown and HTML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "harness/ledger/ledger.h"
#include "harness/report/cost.h"
#include "harness/report/data.h"
#include "harness/report/html.h"
#include "harness/report/markdown.h"
#include "harness/report/summary.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(ReportCostTally, SpeedupOfAPromotionIsOneOverTheRatioMinusOne) {
  EXPECT_DOUBLE_EQ(SpeedupPercent(0.8), 25.0);
  EXPECT_DOUBLE_EQ(SpeedupPercent(0.5), 100.0);
  EXPECT_DOUBLE_EQ(SpeedupPercent(std::nullopt), 0.0);
  EXPECT_DOUBLE_EQ(SpeedupPercent(0.0), 0.0);
}

TEST(ReportCostTally, PerPromotionAndPerPercent) {
  CostTally tally;
  EXPECT_EQ(CostText(tally), "no price set");
  tally.Add(3.0, false, "failed", std::nullopt);
  EXPECT_EQ(CostText(tally), "$3.00, no promotion yet");
  tally.Add(std::nullopt, false, "promoted", 0.8);  // +25%, booked no request of its own
  tally.Add(1.0, false, "promoted", 0.5);           // +100%
  EXPECT_DOUBLE_EQ(tally.dollars, 4.0);
  EXPECT_EQ(tally.promotions, 2);
  EXPECT_DOUBLE_EQ(tally.speedup_percent, 125.0);
  EXPECT_DOUBLE_EQ(*tally.PerPromotion(), 2.0);
  EXPECT_DOUBLE_EQ(*tally.PerSpeedupPercent(), 0.032);
  EXPECT_EQ(CostText(tally), "$4.00, $2.00 per promotion, $0.0320 per 1% primary speed-up");
  tally.Add(0.5, true, "error", std::nullopt);
  EXPECT_EQ(CostAmountText(tally), "$4.50 (estimated)");
}

TEST(ReportCostTally, UnpricedPromotionsHaveNoCostPerPromotion) {
  CostTally tally;
  tally.Add(std::nullopt, false, "promoted", 0.5);
  EXPECT_FALSE(tally.PerPromotion().has_value());
  EXPECT_FALSE(tally.PerSpeedupPercent().has_value());
  EXPECT_EQ(CostText(tally), "no price set");
}

TEST(ReportCostTally, DollarsFormat) {
  EXPECT_EQ(FormatDollars(0.01234), "$0.0123");
  EXPECT_EQ(FormatDollars(12.345), "$12.35");
  EXPECT_EQ(FormatDollars(1234.4), "$1234");
}

class ReportCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_report_cost_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.ledger_path = dir_ / "ledger.sqlite";
    options_.baselines_dir = dir_ / "baselines";
    options_.config_path = dir_ / "rlvr.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One row; `tokens` > 0 marks the row that booked its request.
  static AttemptRecord Row(int64_t run, const std::string& model, const std::string& verdict,
                           int64_t tokens, std::optional<double> cost,
                           std::optional<double> ratio = std::nullopt) {
    AttemptRecord a;
    a.run_id = run;
    a.target = "gemm";
    a.model = model;
    a.verdict = verdict;
    a.prompt_tokens = tokens;
    a.cost = cost;
    a.primary_ratio = ratio;
    return a;
  }

  fs::path dir_;
  ReportOptions options_;
};

// Run 1 (greedy): model "cheap" $0.50 + $0.25, one promotion at ratio 0.8 (+25%).
// Run 2 (best-of-n): model "dear" $3 (estimated) with two candidates, one promoted at ratio 0.5
// (+100%), and a failed request of "dear".
TEST_F(ReportCostTest, TotalsLastRunModelsAndRuns) {
  {
    Ledger ledger(options_.ledger_path);
    int64_t greedy = ledger.BeginRun("cheap", "e", "{}", 1);
    ledger.AddAttempt(Row(greedy, "cheap", "failed", 100, 0.5));
    int64_t p1 = ledger.AddAttempt(Row(greedy, "cheap", "passed", 50, 0.25, 0.8));
    ledger.MarkPromoted(p1, "c1");
    ledger.FinishRun(greedy, "max-iterations");
    int64_t best = ledger.BeginRun("dear", "e", "{}", 1, "best-of-n");
    AttemptRecord first = Row(best, "dear", "passed", 1000, 3.0, 0.5);
    first.cost_estimated = true;
    ledger.MarkPromoted(ledger.AddAttempt(first), "c2");
    ledger.AddAttempt(Row(best, "dear", "passed", 0, std::nullopt, 0.9));  // same request
    AttemptRecord llm_error = Row(best, "dear", "error", 0, std::nullopt);
    llm_error.failed_gate = "llm";
    ledger.AddAttempt(llm_error);
    ledger.FinishRun(best, "max-cost");
  }
  ReportData data = LoadReportData(options_);
  EXPECT_DOUBLE_EQ(data.totals.cost.dollars, 3.75);
  EXPECT_TRUE(data.totals.cost.estimated);
  EXPECT_EQ(data.totals.cost.promotions, 2);
  EXPECT_DOUBLE_EQ(data.totals.cost.speedup_percent, 125.0);
  EXPECT_DOUBLE_EQ(*data.totals.cost.PerPromotion(), 1.875);
  EXPECT_DOUBLE_EQ(*data.totals.cost.PerSpeedupPercent(), 0.03);

  ASSERT_TRUE(data.last_run.has_value());
  EXPECT_EQ(data.last_run->strategy, "best-of-n");
  EXPECT_DOUBLE_EQ(data.last_run->tally.cost.dollars, 3.0);

  ASSERT_EQ(data.models.size(), 2u);
  const ModelSummary& cheap = data.models[0];
  EXPECT_EQ(cheap.model, "cheap");
  EXPECT_EQ(cheap.requests, 2);
  EXPECT_EQ(cheap.tally.attempts, 2);
  EXPECT_EQ(cheap.tally.promoted, 1);
  EXPECT_EQ(cheap.tally.tokens, 150);
  EXPECT_DOUBLE_EQ(cheap.tally.cost.dollars, 0.75);
  EXPECT_DOUBLE_EQ(cheap.tally.cost.speedup_percent, 25.0);
  const ModelSummary& dear = data.models[1];
  EXPECT_EQ(dear.model, "dear");
  EXPECT_EQ(dear.requests, 2);  // the priced request and the failed one
  EXPECT_EQ(dear.tally.attempts, 3);
  EXPECT_EQ(dear.tally.passed + dear.tally.promoted, 2);
  EXPECT_DOUBLE_EQ(*dear.tally.cost.PerPromotion(), 3.0);

  ASSERT_EQ(data.runs.size(), 2u);
  EXPECT_EQ(data.runs[0].strategy, "greedy");
  EXPECT_EQ(data.runs[0].tally.attempts, 2);
  EXPECT_DOUBLE_EQ(data.runs[0].tally.cost.dollars, 0.75);
  EXPECT_EQ(data.runs[1].strategy, "best-of-n");
  EXPECT_EQ(data.runs[1].tally.promoted, 1);
  EXPECT_DOUBLE_EQ(data.runs[1].tally.cost.speedup_percent, 100.0);
  EXPECT_EQ(data.runs[1].stop_reason, "max-cost");

  std::string summary = SummaryParagraph(data);
  EXPECT_THAT(summary, HasSubstr("strategy best-of-n; cost $3.00 (estimated), $3.00 per "
                                 "promotion, $0.0300 per 1% primary speed-up"));
  EXPECT_THAT(summary, HasSubstr("cost $3.75 (estimated), $1.88 per promotion, $0.0300 per 1% "
                                 "primary speed-up"));

  std::string markdown = RenderMarkdown(data, MarkdownOptions{});
  EXPECT_THAT(markdown, HasSubstr("| cheap | 2 | 2 | 1 | 1 | +25.0% | 150 | $0.7500 | $0.7500 |"));
  EXPECT_THAT(markdown,
              HasSubstr("| dear | 2 | 3 | 2 | 1 | +100.0% | 1.0k | $3.00 (estimated) | $3.00 |"));
  EXPECT_THAT(markdown, HasSubstr("| best-of-n | dear | 3 | 1 | +100.0% | $3.00 (estimated) | "
                                  "max-cost |"));
  std::string html = RenderHtml(data);
  EXPECT_THAT(html, HasSubstr("id=\"cost\""));
  EXPECT_THAT(html, HasSubstr("<td>best-of-n</td>"));
  EXPECT_THAT(html, HasSubstr("$3.00 (estimated)"));
}

TEST_F(ReportCostTest, UnpricedLedgerSaysNoPriceSet) {
  {
    Ledger ledger(options_.ledger_path);
    int64_t run = ledger.BeginRun("m", "e", "{}", 1);
    ledger.MarkPromoted(ledger.AddAttempt(Row(run, "m", "passed", 10, std::nullopt, 0.8)), "c");
  }
  ReportData data = LoadReportData(options_);
  EXPECT_FALSE(data.totals.cost.any_priced);
  EXPECT_THAT(SummaryParagraph(data), HasSubstr("cost no price set"));
  EXPECT_THAT(RenderMarkdown(data, MarkdownOptions{}), HasSubstr("| no price set | — |"));
}

}  // namespace
}  // namespace rlvr
