// The target schedule (loop/target_schedule.h) and the roofline headroom it is fed
// (bench/roofline.h): headroom gets the rounds, targets at their roofline or failing in a row are
// rested and said so, promotions raise a target's share, one target is strict turns.
#include "harness/loop/target_schedule.h"

#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/bench/roofline.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;

std::map<std::string, int> Picks(TargetSchedule& schedule, int n) {
  std::map<std::string, int> picks;
  for (int i = 0; i < n; ++i) {
    std::optional<std::string> next = schedule.Next();
    if (!next) break;
    ++picks[*next];
  }
  return picks;
}

TEST(TargetSchedule, HeadroomGetsAtLeastTwiceTheRounds) {
  TargetScheduleSettings settings;
  settings.rest_at_fraction = 0.99;  // near the roof, but not rested
  TargetSchedule schedule({"roofed", "open"}, {0.95, 0.3}, settings);
  std::map<std::string, int> picks = Picks(schedule, 60);
  EXPECT_GE(picks["open"], 2 * picks["roofed"]);
  EXPECT_GT(picks["roofed"], 0);  // never starved while not rested
}

TEST(TargetSchedule, FailingRoundsAlikeKeepTheShares) {
  TargetScheduleSettings settings;
  settings.rest_at_fraction = 0.99;
  settings.rest_after_failures = 1000;
  TargetSchedule schedule({"roofed", "open"}, {0.95, 0.3}, settings);
  std::map<std::string, int> picks;
  for (int i = 0; i < 60; ++i) {
    std::string next = *schedule.Next();
    ++picks[next];
    schedule.Record(next, RoundOutcome{}, std::nullopt);
  }
  EXPECT_GE(picks["open"], 2 * picks["roofed"]);
}

TEST(TargetSchedule, AtTheRooflineIsRestedFromTheStart) {
  TargetSchedule schedule({"gemm", "softmax"}, {0.93, 0.27}, TargetScheduleSettings{});
  std::map<std::string, int> picks = Picks(schedule, 20);
  EXPECT_EQ(picks["gemm"], 0);
  EXPECT_EQ(picks["softmax"], 20);
  EXPECT_TRUE(schedule.Rested("gemm"));
  ASSERT_EQ(schedule.RestNotices().size(), 1u);
  EXPECT_THAT(schedule.RestNotices()[0], HasSubstr("gemm rested: at 93% of its roofline"));
}

TEST(TargetSchedule, RoundsWithoutAPromotionRestATargetThenAllRestedEnds) {
  TargetScheduleSettings settings;
  settings.rest_after_failures = 3;
  TargetSchedule schedule({"a", "b"}, {std::nullopt, std::nullopt}, settings);
  for (int i = 0; i < 20; ++i) {
    std::optional<std::string> next = schedule.Next();
    if (!next) break;
    schedule.Record(*next, RoundOutcome{}, std::nullopt);
  }
  EXPECT_FALSE(schedule.Next().has_value());
  EXPECT_EQ(schedule.Rounds("a"), 3);
  EXPECT_EQ(schedule.Rounds("b"), 3);
  ASSERT_EQ(schedule.RestNotices().size(), 2u);
  EXPECT_THAT(schedule.RestNotices()[0], HasSubstr("3 rounds in a row without a promotion"));
}

TEST(TargetSchedule, APromotionRaisesTheShareAndResetsTheCount) {
  TargetScheduleSettings settings;
  settings.rest_after_failures = 4;
  TargetSchedule schedule({"a", "b"}, {0.5, 0.5}, settings);
  std::map<std::string, int> picks;
  for (int i = 0; i < 40; ++i) {
    std::optional<std::string> next = schedule.Next();
    if (!next) break;
    ++picks[*next];
    RoundOutcome outcome;
    outcome.promoted = *next == "a";
    outcome.speedup = 0.1;
    schedule.Record(*next, outcome, std::nullopt);
  }
  EXPECT_FALSE(schedule.Rested("a"));
  EXPECT_TRUE(schedule.Rested("b"));
  EXPECT_GT(picks["a"], 2 * picks["b"]);
}

TEST(TargetSchedule, OneTargetIsStrictTurnsUntilRested) {
  TargetScheduleSettings settings;
  settings.rest_after_failures = 5;
  TargetSchedule schedule({"only"}, {std::nullopt}, settings);
  int rounds = 0;
  while (std::optional<std::string> next = schedule.Next()) {
    EXPECT_EQ(*next, "only");
    schedule.Record(*next, RoundOutcome{}, std::nullopt);
    ++rounds;
  }
  EXPECT_EQ(rounds, 5);
}

nlohmann::json ReadBaseline(const std::string& name) {
  std::ifstream in(std::string(RLVR_SOURCE_DIR) + "/baselines/" + name + ".json");
  return nlohmann::json::parse(in);
}

TEST(Roofline, RealBaselinesAgainstTheirReferences) {
  nlohmann::json gemm = ReadBaseline("gemm");
  std::vector<BenchmarkHeadroom> h = Headroom(gemm, {"BM_Gemm/1024"});
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].counter, "GFLOPS");
  double peak = 0;
  std::string best;
  for (auto& [name, entry] : gemm["references"].items()) {
    if (entry["counters"].contains("GFLOPS") && entry["counters"]["GFLOPS"].get<double>() > peak) {
      peak = entry["counters"]["GFLOPS"].get<double>();
      best = name;
    }
  }
  EXPECT_EQ(h[0].reference, best);
  EXPECT_DOUBLE_EQ(h[0].fraction,
                   gemm["benchmarks"]["BM_Gemm/1024"]["counters"]["GFLOPS"].get<double>() / peak);
  nlohmann::json softmax = ReadBaseline("softmax");
  h = Headroom(softmax, {"BM_Softmax/32000"});
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].counter, "GB/s");
  EXPECT_EQ(h[0].reference, "BM_MemBandwidth");
  EXPECT_GT(h[0].fraction, 0);
  EXPECT_THAT(DescribeHeadroom(h[0]), HasSubstr("of BM_MemBandwidth"));
}

TEST(Roofline, SyntheticShapes) {
  nlohmann::json none = {{"benchmarks", {{"BM_X", {{"counters", {{"GB/s", 10}}}}}}},
                         {"references", nlohmann::json::object()}};
  EXPECT_TRUE(Headroom(none, {"BM_X"}).empty());
  EXPECT_FALSE(RooflineFraction(Headroom(none, {"BM_X"})).has_value());
  nlohmann::json unshared = {
      {"benchmarks", {{"BM_X", {{"counters", {{"items/s", 10}, {"allocs_per_iter", 1}}}}}}},
      {"references", {{"BM_Peak", {{"counters", {{"GFLOPS", 100}, {"allocs_per_iter", 1}}}}}}}};
  EXPECT_TRUE(Headroom(unshared, {"BM_X"}).empty());
  nlohmann::json two = {
      {"benchmarks",
       {{"BM_A", {{"counters", {{"GB/s", 20}}}}}, {"BM_B", {{"counters", {{"GB/s", 50}}}}}}},
      {"references",
       {{"BM_Slow", {{"counters", {{"GB/s", 60}}}}},
        {"BM_Fast", {{"counters", {{"GB/s", 100}}}}}}}};
  std::vector<BenchmarkHeadroom> h = Headroom(two, {"BM_A", "BM_B", "BM_Missing"});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].reference, "BM_Fast");
  EXPECT_DOUBLE_EQ(h[0].fraction, 0.2);
  EXPECT_DOUBLE_EQ(*RooflineFraction(h), 0.2);  // the one with most headroom
}

}  // namespace
}  // namespace rlvr
