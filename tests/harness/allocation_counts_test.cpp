// The allocations gate's comparison of benchmark allocation counts: exact for timed-loop counters
// and for Google Benchmark memory runs of equal length, approximate (and said so) only otherwise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/candidate/run.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;

BenchEntry Entry(const std::string& name, int64_t iterations, double allocs_per_iter) {
  BenchEntry e;
  e.name = name;
  e.iterations = iterations;
  e.allocs_per_iter = allocs_per_iter;
  return e;
}

TEST(AllocationCountsTest, MemoryRunLengthIsGoogleBenchmarksMinOf16AndIterations) {
  EXPECT_EQ(MemoryRunLength(Entry("a", 2210319, 0)), 16);
  EXPECT_EQ(MemoryRunLength(Entry("a", 8, 0)), 8);
  EXPECT_EQ(MemoryRunLength(Entry("a", 0, 0)), 1);
}

TEST(AllocationCountsTest, EqualLengthRunsCompareExactCounts) {
  // 3 set-up allocations over 16 iterations on both sides: nothing new.
  std::vector<BenchEntry> base = {Entry("BM_G/512", 5000, 3.0 / 16)};
  EXPECT_TRUE(AllocationIncreases(base, {Entry("BM_G/512", 90000, 3.0 / 16)}).empty());
  // One allocation more in the whole run (a kernel allocating once) is caught, although it is far
  // below one per iteration.
  auto problems = AllocationIncreases(base, {Entry("BM_G/512", 7000, 4.0 / 16)});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("4 allocations in Google Benchmark's 16-iteration memory run "
                                     "(baseline 3; exact counts"));
  EXPECT_TRUE(UnequalMemoryRuns(base, {Entry("BM_G/512", 7000, 4.0 / 16)}).empty());
}

TEST(AllocationCountsTest, RunsOfDifferentLengthsAreNamedAndOnlyApproximate) {
  // The flaky case: the same 3 set-up allocations over 8 and over 2 iterations read as
  // 0.375 and 1.5 per iteration. The gate re-runs such benchmarks; these two are named for it.
  std::vector<BenchEntry> base = {Entry("BM_G/1024", 8, 3.0 / 8)};
  std::vector<BenchEntry> candidate = {Entry("BM_G/1024", 2, 3.0 / 2)};
  EXPECT_EQ(UnequalMemoryRuns(base, candidate), std::vector<std::string>{"BM_G/1024"});
  auto problems = AllocationIncreases(base, candidate);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("approximate: memory runs of different lengths"));
  // Once both ran 16 iterations, the counts are equal and nothing is reported.
  EXPECT_TRUE(
      AllocationIncreases({Entry("BM_G/1024", 20, 3.0 / 16)}, {Entry("BM_G/1024", 17, 3.0 / 16)})
          .empty());
}

TEST(AllocationCountsTest, TimedLoopCountersWinOverMemoryRuns) {
  BenchEntry base = Entry("BM_S", 100, 5.0 / 16);
  base.loop_allocs_per_iter = 0;
  BenchEntry candidate = Entry("BM_S", 100, 9.0 / 16);  // more set-up: not the loop's business
  candidate.loop_allocs_per_iter = 0;
  EXPECT_TRUE(AllocationIncreases({base}, {candidate}).empty());
  candidate.loop_allocs_per_iter = 1;
  auto problems = AllocationIncreases({base}, {candidate});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("inside the timed loop"));
  EXPECT_TRUE(UnequalMemoryRuns({base}, {candidate}).empty());
}

}  // namespace
}  // namespace rlvr
