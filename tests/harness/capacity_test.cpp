// NodeCapacity, TimeBreakdown and CapacityLines (report/capacity.h): per-node throughput and
// queue time from ledger rows, a split evaluation's time divided between its two nodes.
#include "harness/report/capacity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;

AttemptRecord Row(const std::string& node, double queued, double run, const std::string& gates) {
  AttemptRecord a;
  a.node = node;
  a.queued_seconds = queued;
  a.run_seconds = run;
  a.gates_json = gates;
  return a;
}

const char* kChecksGates =
    R"([{"name":"build","seconds":1.5},{"name":"tests","seconds":2},{"name":"allocations","seconds":0.5},{"name":"benchmark","seconds":0}])";
const char* kSplitGates =
    R"([{"name":"build","seconds":2},{"name":"tests","seconds":3},{"name":"benchmark","seconds":30}])";

TEST(CapacityTest, SplitEvaluationsDivideTheirTimeBetweenTheirNodes) {
  std::vector<AttemptRecord> rows = {Row("n1", 2, 4, kChecksGates), Row("n1", 4, 6, kChecksGates),
                                     Row("n2,n3", 6, 40, kSplitGates), AttemptRecord{}};
  std::vector<NodeFigures> nodes = NodeCapacity(rows);
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].node, "n1");
  EXPECT_EQ(nodes[0].checks_jobs, 2);
  EXPECT_DOUBLE_EQ(nodes[0].run_seconds, 10);
  EXPECT_DOUBLE_EQ(nodes[0].PerHour(), 720);  // two jobs in ten seconds
  EXPECT_DOUBLE_EQ(nodes[0].queued_seconds / nodes[0].queued_count, 3);
  EXPECT_EQ(nodes[1].node, "n2");
  EXPECT_EQ(nodes[1].checks_jobs, 1);
  EXPECT_DOUBLE_EQ(nodes[1].run_seconds, 10);  // 40 s minus the benchmark gate's 30
  EXPECT_EQ(nodes[2].node, "n3");
  EXPECT_EQ(nodes[2].benchmark_jobs, 1);
  EXPECT_EQ(nodes[2].checks_jobs, 0);
  EXPECT_DOUBLE_EQ(nodes[2].run_seconds, 30);
  std::vector<std::string> lines = CapacityLines(nodes);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("n1: 2 checks job(s), 0 benchmark job(s), 10 s running, 720 per "
                                  "hour, mean queue 3.0 s"));
  EXPECT_THAT(lines[2], HasSubstr("n3: 0 checks job(s), 1 benchmark job(s)"));
}

TEST(CapacityTest, TimeBreakdownNamesQueueBuildTestsAndBenchmark) {
  EXPECT_EQ(TimeBreakdown(Row("n2,n3", 6, 40, kSplitGates)),
            "queue 6.0 s, build 2.0 s, tests 3.0 s, benchmark 30.0 s");
  EXPECT_EQ(TimeBreakdown(Row("n1", 2, 4, kChecksGates)), "queue 2.0 s, build 1.5 s, tests 2.5 s");
  EXPECT_EQ(TimeBreakdown(AttemptRecord{}), "");  // never judged
}

TEST(CapacityTest, NoNodeYetIsSaid) {
  EXPECT_EQ(CapacityLines(NodeCapacity({AttemptRecord{}})),
            std::vector<std::string>{"nodes: no judged attempt names one yet"});
}

}  // namespace
}  // namespace rlvr
