#include "harness/verify/verdict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/bench/comparison.h"
#include "harness/verify/promote.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;

Verdict SampleVerdict() {
  Verdict v;
  v.target = "dot";
  v.promotable = false;
  v.failed_gate = "tests";
  v.message = "tests gate failed: 1 of 4 tests failed";
  v.gates = {{"scope", GateStatus::kPass, 0.01, "1 file(s), all editable", ""},
             {"tests", GateStatus::kFail, 0.5, "1 of 4 tests failed", "dot_test.cpp:12: Failure"},
             {"benchmark", GateStatus::kSkipped, 0, "not run", ""}};
  v.figures = {
      {"BM_Dot/4096", 1000, 800, 0.8, 0.75, 0.85, 0.001, true, false, {790, 800, 810}, {}}};
  v.primary_ratio = 0.8;
  v.patch = "--- a/x\n+++ b/x\n";
  v.changed_files = {"kernel/dot.cpp"};
  v.new_contents = {{"kernel/dot.cpp", "float Dot();\n"}};
  v.head_commit = std::string(40, 'a');
  v.seconds = 12.5;
  v.seed = 1234;
  return v;
}

TEST(VerdictTest, JsonRoundTrip) {
  Verdict v = SampleVerdict();
  nlohmann::json json = v.ToJson();
  EXPECT_EQ(json["failed_gate"], "tests");
  EXPECT_EQ(json["gates"][1]["status"], "fail");
  EXPECT_EQ(json["figures"]["benchmarks"][0]["name"], "BM_Dot/4096");
  Verdict back = VerdictFromJson(json);
  EXPECT_EQ(back.ToJson(), json);
  EXPECT_EQ(back.new_contents, v.new_contents);
  // A passed verdict has a null failed_gate, as the ledger expects.
  v.failed_gate.clear();
  EXPECT_TRUE(v.ToJson()["failed_gate"].is_null());
}

TEST(VerdictTest, RenderShowsGatesFiguresAndDetail) {
  std::string text = SampleVerdict().Render();
  EXPECT_THAT(text, HasSubstr("dot: REJECTED"));
  EXPECT_THAT(text, HasSubstr("tests        fail"));
  EXPECT_THAT(text, HasSubstr("| dot_test.cpp:12: Failure"));
  EXPECT_THAT(text, HasSubstr("BM_Dot/4096"));
  EXPECT_THAT(text, HasSubstr("-20.0%"));
  EXPECT_THAT(text, HasSubstr("RLVR_TEST_SEED=1234"));
}

TEST(VerdictTest, PromotionMessageCarriesFigures) {
  Target t;
  t.name = "dot";
  std::string message = PromotionMessage(t, SampleVerdict());
  EXPECT_THAT(message.substr(0, message.find('\n')),
              HasSubstr("dot: BM_Dot/4096 -20.0% time [CI -25.0%, -15.0%], p=0.001 (rlvr)"));
}

TEST(BenchmarkDecisionTest, NamesMatchWithRunSuffixes) {
  EXPECT_TRUE(BenchmarkNameMatches("BM_Gemm/1024/real_time", "BM_Gemm/1024"));
  EXPECT_TRUE(BenchmarkNameMatches("BM_Rope", "BM_Rope"));
  EXPECT_EQ(NormalizedBenchmarkName("BM_PeakFma/real_time"), "BM_PeakFma");
  EXPECT_EQ(NormalizedBenchmarkName("BM_X/8/threads:2/real_time"), "BM_X/8");
  EXPECT_FALSE(BenchmarkNameMatches("BM_Gemm/1024/real_time", "BM_Gemm/102"));
  EXPECT_FALSE(BenchmarkNameMatches("BM_Gemm/512", "BM_Gemm/1024"));
}

TEST(BenchmarkDecisionTest, ThresholdsAndSuspicion) {
  Target t;
  t.primary = {"BM_A/1"};
  t.min_improvement = 0.03;
  t.max_regression = 0.05;
  auto figure = [](const char* name, double ratio, double low, double high, double p) {
    BenchmarkFigure f;
    f.name = name;
    f.ratio = ratio;
    f.ci_low = low;
    f.ci_high = high;
    f.p_value = p;
    return f;
  };
  std::vector<BenchmarkFigure> faster = {figure("BM_A/1/real_time", 0.8, 0.75, 0.85, 0.001),
                                         figure("BM_B/1", 1.01, 0.98, 1.04, 0.4)};
  BenchmarkDecision d = DecideBenchmarks(t, faster, 10);
  EXPECT_TRUE(d.pass) << d.message;
  EXPECT_FALSE(d.suspicious);
  EXPECT_TRUE(faster[0].primary);
  EXPECT_NEAR(d.primary_ratio, 0.8, 1e-12);

  std::vector<BenchmarkFigure> noise = {figure("BM_A/1", 0.98, 0.9, 1.05, 0.3)};
  EXPECT_FALSE(DecideBenchmarks(t, noise, 10).pass);

  std::vector<BenchmarkFigure> regressed = {figure("BM_A/1", 0.8, 0.75, 0.85, 0.001),
                                            figure("BM_B/1", 1.2, 1.1, 1.3, 0.001)};
  BenchmarkDecision r = DecideBenchmarks(t, regressed, 10);
  EXPECT_FALSE(r.pass);
  EXPECT_THAT(r.message, HasSubstr("BM_B/1"));
  EXPECT_THAT(r.message, HasSubstr("regression beyond 5%"));

  std::vector<BenchmarkFigure> too_good = {figure("BM_A/1", 0.05, 0.04, 0.06, 0.001)};
  BenchmarkDecision s = DecideBenchmarks(t, too_good, 10);
  EXPECT_TRUE(s.pass);
  EXPECT_TRUE(s.suspicious);

  std::vector<BenchmarkFigure> missing = {figure("BM_B/1", 0.5, 0.4, 0.6, 0.001)};
  EXPECT_THAT(DecideBenchmarks(t, missing, 10).message, HasSubstr("BM_A/1 was not measured"));
}

// Physics first: a figure beyond the measured peak fails the gate, whatever its timing says.
TEST(BenchmarkDecisionTest, AKernelAboveTheMeasuredPeakFails) {
  auto figure = [](const std::string& name, double gflops, bool reference) {
    BenchmarkFigure f;
    f.name = name;
    f.ratio = 0.5;
    f.ci_low = 0.45;
    f.ci_high = 0.55;
    f.p_value = 0.001;
    f.reference = reference;
    f.candidate_counters["GFLOPS"] = gflops;
    return f;
  };
  Target t;
  t.name = "gemm";
  t.primary = {"BM_Gemm/1024"};
  t.references = {"BM_PeakFma", "BM_OpenBlasSgemm/1024"};
  std::vector<BenchmarkFigure> honest = {figure("BM_Gemm/1024", 380, false),
                                         figure("BM_PeakFma", 413, true),
                                         figure("BM_OpenBlasSgemm/1024", 321, true)};
  BenchmarkDecision ok = DecideBenchmarks(t, honest, 10);
  EXPECT_TRUE(ok.pass) << ok.message;
  EXPECT_FALSE(ok.suspicious) << ok.message;

  std::vector<BenchmarkFigure> impossible = honest;
  impossible[0].candidate_counters["GFLOPS"] = 900;
  BenchmarkDecision flagged = DecideBenchmarks(t, impossible, 10);
  EXPECT_FALSE(flagged.pass);
  EXPECT_TRUE(flagged.beyond_roofline);
  EXPECT_THAT(flagged.message,
              HasSubstr("BM_Gemm/1024 reports 900 GFLOPS, 2.2x the measured peak of 413 GFLOPS"));

  // No reference reports GFLOPS: nothing to compare with, and the message says so.
  std::vector<BenchmarkFigure> alone = {figure("BM_Gemm/1024", 900, false)};
  BenchmarkDecision unchecked = DecideBenchmarks(t, alone, 10);
  EXPECT_FALSE(unchecked.beyond_roofline);
  EXPECT_THAT(unchecked.message, HasSubstr("roofline not checked"));
}

}  // namespace
}  // namespace rlvr
