// Rendering of the report: SVG chart builders, the HTML page and the Markdown summary, including
// that hostile ledger text (script and onerror payloads) only ever appears escaped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <regex>

#include "harness/report/data.h"
#include "harness/report/html.h"
#include "harness/report/markdown.h"
#include "harness/report/summary.h"
#include "harness/report/svg.h"
#include "tests/harness/report_fixture.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(ReportSvg, NiceTicksCoverTheMaximumWithRoundSteps) {
  EXPECT_EQ(NiceTicks(9.5, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(NiceTicks(420, 5), (std::vector<double>{0, 100, 200, 300, 400, 500}));
  std::vector<double> ticks = NiceTicks(0, 5);  // degenerate input still gives an axis
  EXPECT_GE(ticks.size(), 2u);
}

TEST(ReportSvg, LineChartDrawsPointsReferencesAndEscapesLabels) {
  LineChartSpec spec;
  spec.title = "gemm <b>";
  spec.y_unit = "GFLOPS";
  spec.x_labels = {"base", "#1", "#2", "#3"};
  spec.values = {200, 230, std::nan(""), 260};
  spec.point_notes = {"", "+15%", "", "+30%"};
  spec.references = {{"OpenBLAS <x>", 400}, {"peak", 512}};
  std::string svg = LineChartSvg(spec);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(Count(svg, "<circle"), 3u);  // the unknown point is a gap
  EXPECT_EQ(Count(svg, "class=\"reference\""), 2u);
  EXPECT_THAT(svg, HasSubstr("OpenBLAS &lt;x&gt;"));
  EXPECT_THAT(svg, HasSubstr("gemm &lt;b&gt;"));
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
  // The series path has two pieces around the gap.
  std::smatch match;
  ASSERT_TRUE(std::regex_search(svg, match, std::regex("class=\"series\" d=\"([^\"]*)\"")));
  EXPECT_EQ(Count(match[1], "M"), 2u);
}

TEST(ReportSvg, StackedBarsHaveOneRectPerNonZeroSegment) {
  StackedBarSpec spec;
  spec.series = {"promoted", "build"};
  spec.colors = {"#0f0", "#f00"};
  spec.x_labels = {"a", "b", "c"};
  spec.counts = {{1, 2}, {0, 5}, {0, 0}};
  std::string svg = StackedBarSvg(spec);
  EXPECT_EQ(Count(svg, "<rect"), 3u);
  EXPECT_EQ(Count(svg, "class=\"bar\""), 3u);
}

class ReportRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_report_render_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.ledger_path = dir_ / "ledger.sqlite";
    options_.baselines_dir = dir_ / "baselines";
    options_.config_path = dir_ / "rlvr.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  ReportData Fixture(int attempts) {
    FixtureLedgerOptions fixture;
    fixture.attempts = attempts;
    WriteFixtureLedger(options_.ledger_path, fixture);
    WriteFixtureBaselines(options_.baselines_dir, fixture.targets);
    WriteFixtureConfig(options_.config_path, fixture.targets);
    return LoadReportData(options_);
  }

  fs::path dir_;
  ReportOptions options_;
};

TEST_F(ReportRenderTest, HtmlHasChartsTablesAndNoLiveHostileMarkup) {
  ReportData data = Fixture(700);
  std::string html = RenderHtml(data);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // Two targets + the attempts chart, each drawn for wide and narrow screens.
  EXPECT_EQ(Count(html, "<svg"), 6u);
  EXPECT_THAT(html, HasSubstr("BM_OpenBlasSgemm/1024"));
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy"));
  // Only the page's own script, and no raw payload anywhere.
  EXPECT_EQ(Count(html, "<script"), 1u);
  EXPECT_EQ(Count(html, "<img"), 0u);
  EXPECT_THAT(html, Not(HasSubstr("PWNED'</script>")));
  EXPECT_THAT(html, HasSubstr("&lt;/script&gt;&lt;script&gt;document.title=&#39;PWNED&#39;"));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror="));
  // No external resources.
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
}

TEST_F(ReportRenderTest, ThousandsOfAttemptsStayAggregated) {
  options_.recent_rows = 200;
  ReportData data = Fixture(5000);
  std::string html = RenderHtml(data);
  EXPECT_THAT(html, HasSubstr("4800 older ones are counted above but not listed"));
  EXPECT_LT(html.size(), 2u * 1024 * 1024);
  EXPECT_LE(Count(html, "class=\"bar\""), 2u * 48);
}

TEST_F(ReportRenderTest, MarkdownSummarisesAndEscapes) {
  ReportData data = Fixture(700);
  std::string markdown = RenderMarkdown(data);
  EXPECT_EQ(markdown.rfind("# rlvr report", 0), 0u);
  EXPECT_THAT(markdown, HasSubstr("## Most common failure reasons"));
  EXPECT_THAT(markdown, HasSubstr("| build |"));
  EXPECT_THAT(markdown, HasSubstr("```diff"));
  // Outside code blocks no raw tag survives; inside, a diff is shown verbatim as code.
  std::string outside;
  bool in_code = false;
  for (size_t start = 0; start < markdown.size();) {
    size_t end = markdown.find('\n', start);
    std::string line = markdown.substr(start, end - start);
    if (line.rfind("```", 0) == 0) in_code = !in_code;
    if (!in_code) outside += line + "\n";
    start = end == std::string::npos ? markdown.size() : end + 1;
  }
  EXPECT_THAT(outside, Not(HasSubstr("<script")));
  EXPECT_THAT(outside, Not(HasSubstr("<img")));
  EXPECT_THAT(outside, HasSubstr("&lt;img src=x onerror="));
}

TEST_F(ReportRenderTest, SummaryNamesCountsPromotionsAndSpeedups) {
  ReportData data = Fixture(600);
  std::string summary = SummaryParagraph(data);
  EXPECT_THAT(summary, HasSubstr("Last run (#3"));
  EXPECT_THAT(summary, HasSubstr("600 attempts"));
  EXPECT_THAT(summary, HasSubstr("gemm BM_Gemm/1024 +"));
  EXPECT_THAT(summary, HasSubstr("since its first baseline"));
}

TEST_F(ReportRenderTest, EmptyLedgerSaysSo) {
  ReportData missing = LoadReportData(options_);
  EXPECT_THAT(SummaryParagraph(missing), HasSubstr("Nothing to report yet: there is no ledger"));
  std::string html = RenderHtml(missing);
  EXPECT_THAT(html, HasSubstr("Nothing to report yet"));
  EXPECT_EQ(Count(html, "<svg"), 0u);
  WriteEmptyLedger(options_.ledger_path);
  ReportData empty = LoadReportData(options_);
  EXPECT_THAT(RenderMarkdown(empty), HasSubstr("has no attempts"));
}

}  // namespace
}  // namespace rlvr
