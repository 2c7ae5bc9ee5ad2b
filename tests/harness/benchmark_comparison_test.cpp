// The benchmark gate's adapter: the roofline (physics) check, the decision on a comparison, and
// the fresh re-verification regime, on synthetic counters and on the fake benchmark binary.
#include "harness/bench/comparison.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kFakeBench = RLVR_FIXTURES_DIR "/bench_fake/fake_bench.py";

Target GemmTarget() {
  Target t;
  t.name = "gemm";
  t.primary = {"BM_Gemm/1024"};
  t.references = {"BM_PeakFma", "BM_OpenBlasSgemm/1024"};
  return t;
}

CounterMaxima Counters(const std::string& name, std::map<std::string, double> baseline,
                       std::map<std::string, double> candidate) {
  return {name, std::move(baseline), std::move(candidate)};
}

TEST(BenchRooflineTest, AComputeKernelAboveTheMeasuredPeakFails) {
  Target t = GemmTarget();
  std::vector<CounterMaxima> honest = {
      Counters("BM_Gemm/1024", {{"GFLOPS", 300}}, {{"GFLOPS", 380}}),
      Counters("BM_Gemm/256", {{"GFLOPS", 200}}, {{"GFLOPS", 210}}),
      Counters("BM_PeakFma", {{"GFLOPS", 413}}, {{"GFLOPS", 405}}),
      Counters("BM_OpenBlasSgemm/1024", {{"GFLOPS", 321}}, {{"GFLOPS", 318}})};
  RooflineCheck ok = CheckRoofline(t, honest);
  EXPECT_FALSE(ok.exceeded) << ok.message;
  EXPECT_THAT(ok.message, HasSubstr("roofline: BM_Gemm/1024 at 0.92x the measured peak of 413"));

  std::vector<CounterMaxima> impossible = honest;
  impossible[1].candidate["GFLOPS"] = 1406;
  impossible[2].baseline["GFLOPS"] = 231;
  impossible[3].baseline["GFLOPS"] = 200;
  RooflineCheck bad = CheckRoofline(t, impossible);
  EXPECT_TRUE(bad.exceeded);
  EXPECT_THAT(bad.message, HasSubstr("BM_Gemm/256 reports 1406 GFLOPS, 6.1x the measured peak of "
                                     "231 GFLOPS (BM_PeakFma"));
  EXPECT_THAT(bad.message, HasSubstr("beyond what this machine can do"));
  // BM_Gemm/1024 at 380 is beyond 1.1 x 231 too.
  EXPECT_THAT(bad.message, HasSubstr("1 more benchmarks beyond 1.10x"));

  // Within the margin is noise, not physics.
  impossible[1].candidate["GFLOPS"] = 1.09 * 413;
  impossible[0].candidate["GFLOPS"] = 400;
  impossible[2].baseline["GFLOPS"] = 413;
  EXPECT_FALSE(CheckRoofline(t, impossible).exceeded);
  t.roofline.margin = 1.05;
  EXPECT_TRUE(CheckRoofline(t, impossible).exceeded);
}

TEST(BenchRooflineTest, ThePeakComesFromHeadsBinaryNotTheCandidates) {
  // A candidate whose binary inflates every figure (a tampered clock) inflates its own
  // references too; HEAD's references still say what the machine can do.
  Target t = GemmTarget();
  std::vector<CounterMaxima> tampered = {
      Counters("BM_Gemm/1024", {{"GFLOPS", 300}}, {{"GFLOPS", 1200}}),
      Counters("BM_PeakFma", {{"GFLOPS", 413}}, {{"GFLOPS", 1600}})};
  RooflineCheck check = CheckRoofline(t, tampered);
  EXPECT_TRUE(check.exceeded);
  EXPECT_THAT(check.message, HasSubstr("2.9x the measured peak of 413 GFLOPS"));
}

TEST(BenchRooflineTest, MemoryBoundAlsoChecksBandwidthAndNoneSaysSo) {
  Target t;
  t.name = "softmax";
  t.primary = {"BM_Softmax/32000"};
  t.references = {"BM_MemBandwidth"};
  std::vector<CounterMaxima> counters = {
      Counters("BM_Softmax/32000", {{"GB/s", 40}}, {{"GB/s", 300}}),
      Counters("BM_MemBandwidth", {{"GB/s", 71}}, {{"GB/s", 70}})};
  // compute: no reference reports GFLOPS, and bandwidth is not this bound's business.
  RooflineCheck compute = CheckRoofline(t, counters);
  EXPECT_FALSE(compute.exceeded);
  EXPECT_EQ(compute.message, "roofline not checked: no reference reports GFLOPS");

  t.roofline.bound = "memory";
  RooflineCheck memory = CheckRoofline(t, counters);
  EXPECT_TRUE(memory.exceeded);
  EXPECT_THAT(memory.message, HasSubstr("BM_Softmax/32000 reports 300 GB/s, 4.2x the measured "
                                        "bandwidth of 71 GB/s (BM_MemBandwidth"));
  counters[0].candidate["GB/s"] = 60;
  RooflineCheck within = CheckRoofline(t, counters);
  EXPECT_FALSE(within.exceeded);
  EXPECT_THAT(within.message, HasSubstr("roofline not checked: no reference reports GFLOPS"));
  EXPECT_THAT(within.message, HasSubstr("roofline: BM_Softmax/32000 at 0.85x the measured "
                                        "bandwidth of 71 GB/s"));

  t.roofline.bound = "none";
  counters[0].candidate["GB/s"] = 3000;
  RooflineCheck none = CheckRoofline(t, counters);
  EXPECT_FALSE(none.exceeded);
  EXPECT_THAT(none.message, HasSubstr("roofline not checked"));
  EXPECT_THAT(none.message, HasSubstr("\"none\""));
}

BenchmarkFigure Figure(const std::string& name, double ratio, bool reference, double gflops) {
  BenchmarkFigure f;
  f.name = name;
  f.ratio = ratio;
  f.ci_low = ratio * 0.95;
  f.ci_high = ratio * 1.05;
  f.p_value = ratio == 1 ? 0.5 : 0.001;
  f.reference = reference;
  f.candidate_counters["GFLOPS"] = gflops;
  return f;
}

TEST(BenchRooflineTest, BeyondTheRooflineFailsTheGateOutrightWhateverTheTimes) {
  Target t = GemmTarget();
  Comparison comparison;
  comparison.figures = {Figure("BM_Gemm/1024", 0.2, false, 1406),
                        Figure("BM_PeakFma", 1, true, 231)};
  comparison.counters = {Counters("BM_Gemm/1024", {{"GFLOPS", 280}}, {{"GFLOPS", 1406}}),
                         Counters("BM_PeakFma", {{"GFLOPS", 231}}, {{"GFLOPS", 231}})};
  BenchmarkDecision d = DecideBenchmarks(t, comparison, 10);
  EXPECT_FALSE(d.pass);
  EXPECT_TRUE(d.beyond_roofline);
  EXPECT_THAT(d.message, HasSubstr("BM_Gemm/1024 reports 1406 GFLOPS, 6.1x the measured peak"));
  EXPECT_TRUE(comparison.figures[0].primary);

  // An honest 2x speed-up passes, and the message says what the roofline check found.
  comparison.figures[0] = Figure("BM_Gemm/1024", 0.5, false, 200);
  comparison.counters[0].candidate["GFLOPS"] = 210;
  BenchmarkDecision honest = DecideBenchmarks(t, comparison, 10);
  EXPECT_TRUE(honest.pass) << honest.message;
  EXPECT_FALSE(honest.beyond_roofline);
  EXPECT_THAT(honest.message, HasSubstr("faster: BM_Gemm/1024"));
  EXPECT_THAT(honest.message, HasSubstr("roofline: BM_Gemm/1024 at 0.91x"));

  // No reference with GFLOPS: not a silent skip.
  Comparison alone;
  alone.figures = {Figure("BM_Gemm/1024", 0.5, false, 900)};
  alone.counters = {Counters("BM_Gemm/1024", {{"GFLOPS", 450}}, {{"GFLOPS", 900}})};
  BenchmarkDecision unchecked = DecideBenchmarks(t, alone, 10);
  EXPECT_TRUE(unchecked.pass) << unchecked.message;
  EXPECT_THAT(unchecked.message, HasSubstr("roofline not checked: no reference reports GFLOPS"));
}

TEST(BenchRooflineTest, FiguresAloneUseTheirLastRunCounters) {
  Target t = GemmTarget();
  std::vector<BenchmarkFigure> figures = {Figure("BM_Gemm/1024/real_time", 0.5, false, 900),
                                          Figure("BM_PeakFma", 1, true, 413)};
  BenchmarkDecision d = DecideBenchmarks(t, figures, 10);
  EXPECT_FALSE(d.pass);
  EXPECT_THAT(d.message, HasSubstr("BM_Gemm/1024 reports 900 GFLOPS, 2.2x the measured peak of "
                                   "413 GFLOPS"));
  figures[0].candidate_counters["GFLOPS"] = 380;
  EXPECT_TRUE(DecideBenchmarks(t, figures, 10).pass);
}

// A wrapper around the fake benchmark: logs RLVR_BENCH_FRESH and the arguments, and on its
// second run reports BM_Slow/64 at 999 GFLOPS (the fake's reference BM_Ref reports 100).
class FakeCandidate {
 public:
  FakeCandidate() {
    dir_ = std::filesystem::temp_directory_path() /
           ("rlvr_comparison_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    binary_ = dir_ / "candidate_bench";
    std::ofstream script(binary_);
    script << "#!/bin/sh\n"
           << "n=$(cat '" << (dir_ / "count").string() << "' 2>/dev/null || echo 0)\n"
           << "echo $((n + 1)) > '" << (dir_ / "count").string() << "'\n"
           << "echo \"${RLVR_BENCH_FRESH:-unset} $*\" >> '" << log().string() << "'\n"
           << "if [ \"$n\" = 1 ]; then\n"
           << "  '" << kFakeBench << "' \"$@\" | sed 's/\"GFLOPS\": 12.5/\"GFLOPS\": 999.0/'\n"
           << "  exit 0\n"
           << "fi\n"
           << "exec '" << kFakeBench << "' \"$@\"\n";
    script.close();
    std::filesystem::permissions(binary_, std::filesystem::perms::owner_all);
  }
  ~FakeCandidate() { std::filesystem::remove_all(dir_); }
  const std::filesystem::path& binary() const { return binary_; }
  std::filesystem::path log() const { return dir_ / "log"; }
  std::vector<std::string> Lines() const {
    std::ifstream in(log());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::filesystem::path dir_, binary_;
};

Target FakeTarget() {
  Target t;
  t.name = "fake";
  t.primary = {"BM_Fast"};
  t.references = {"BM_Ref"};
  return t;
}

TEST(BenchRooflineTest, OneImpossibleRunAmongHonestOnesFailsTheComparison) {
  FakeCandidate candidate;
  ComparisonRequest request;
  request.baseline_binary = kFakeBench;
  request.candidate_binary = candidate.binary();
  request.filter = "^BM_(Fast|Slow)";
  request.extra = {"BM_Ref"};
  request.rounds = 3;
  request.min_time_seconds = 0.01;
  request.repetitions = 2;
  Comparison comparison = CompareBenchmarks(request);
  ASSERT_TRUE(comparison.ok) << comparison.message;
  ASSERT_EQ(comparison.counters.size(), comparison.figures.size());
  for (size_t i = 0; i < comparison.figures.size(); ++i) {
    const BenchmarkFigure& f = comparison.figures[i];
    EXPECT_EQ(comparison.counters[i].name, f.name);
    if (f.name != "BM_Slow/64") continue;
    EXPECT_EQ(f.candidate_counters.at("GFLOPS"), 12.5);  // the last run was honest
    EXPECT_EQ(comparison.counters[i].candidate.at("GFLOPS"), 999);
    EXPECT_EQ(comparison.counters[i].baseline.at("GFLOPS"), 12.5);
  }
  BenchmarkDecision d = DecideBenchmarks(FakeTarget(), comparison, 10);
  EXPECT_FALSE(d.pass);
  EXPECT_TRUE(d.beyond_roofline);
  EXPECT_THAT(d.message, HasSubstr("BM_Slow/64 reports 999 GFLOPS, 10.0x the measured peak of "
                                   "100 GFLOPS (BM_Ref"));
  // The plain regime: no fresh inputs, no shuffling.
  for (const auto& line : candidate.Lines()) {
    EXPECT_EQ(line.rfind("unset ", 0), 0u) << line;
    EXPECT_THAT(line, Not(HasSubstr("random_interleaving")));
  }
}

TEST(BenchRooflineTest, FreshRegimeRegeneratesInputsAndShufflesTheOrder) {
  ComparisonRequest plain;
  plain.rounds = 7;
  plain.env["OTHER"] = "kept";
  ComparisonRequest fresh = FreshRegime(plain);
  EXPECT_EQ(fresh.env.at("RLVR_BENCH_FRESH"), "1");
  EXPECT_EQ(fresh.env.at("OTHER"), "kept");
  EXPECT_TRUE(fresh.random_interleaving);
  EXPECT_EQ(fresh.rounds, 7);
  EXPECT_FALSE(plain.random_interleaving);

  FakeCandidate candidate;
  fresh.baseline_binary = candidate.binary();  // both sides log what they were given
  fresh.candidate_binary = candidate.binary();
  fresh.filter = "^BM_Fast$";
  fresh.rounds = 2;
  fresh.min_time_seconds = 0.01;
  fresh.repetitions = 2;
  Comparison comparison = CompareBenchmarks(fresh);
  ASSERT_TRUE(comparison.ok) << comparison.message;
  std::vector<std::string> lines = candidate.Lines();
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) {
    EXPECT_EQ(line.rfind("1 ", 0), 0u) << line;
    EXPECT_THAT(line, HasSubstr("--benchmark_enable_random_interleaving=true"));
  }
}

}  // namespace
}  // namespace rlvr
