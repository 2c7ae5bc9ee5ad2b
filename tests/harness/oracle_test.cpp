// The differential oracle's comparison and runs (verify/oracle.h), with shell one-liners as
// oracles.
#include "harness/verify/oracle.h"

#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(OracleCompareTest, ExactComparisonNamesTheFirstDifference) {
  EXPECT_EQ(CompareOracleOutputs("1 2 3\n4 5\n", "1  2 3\n4 5", 0), "");
  EXPECT_EQ(CompareOracleOutputs("1 2 3\n4 5\n", "1 2 3\n4 6\n", 0),
            "line 2, value 2: HEAD printed 5, the candidate 6");
  EXPECT_THAT(CompareOracleOutputs("1 2\n", "1 2 3\n", 0),
              HasSubstr("HEAD printed 2 values, the candidate 3"));
  // Exact means exact: rounding differences count.
  EXPECT_NE(CompareOracleOutputs("0.1000001", "0.1", 0), "");
}

TEST(OracleCompareTest, ToleranceIsRelativeAndOnlyForNumbers) {
  EXPECT_EQ(CompareOracleOutputs("100.0 x 1e-30", "100.001 x 1.000001e-30", 1e-4), "");
  EXPECT_THAT(CompareOracleOutputs("100.0", "100.1", 1e-4), HasSubstr("relative tolerance"));
  EXPECT_NE(CompareOracleOutputs("abc", "abd", 0.5), "");
  EXPECT_EQ(CompareOracleOutputs("nan inf -inf", "nan inf -inf", 1e-3), "");
  EXPECT_NE(CompareOracleOutputs("nan", "1", 1e-3), "");
  EXPECT_NE(CompareOracleOutputs("inf", "1e308", 1e-3), "");
  // A number is a whole token: "12abc" is text.
  EXPECT_NE(CompareOracleOutputs("12abc", "12.0000001abc", 1e-3), "");
}

class OracleRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rlvr-oracle-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    for (const char* side : {"head", "candidate"}) {
      fs::create_directories(dir_ / side / "build");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes {side}/build/out.sh printing `text` with the seed substituted for SEED.
  void Program(const char* side, const std::string& script) {
    std::ofstream(dir_ / side / "build" / "oracle.sh") << script;
  }

  OracleRun Run(int seeds) {
    OracleConfig oracle;
    oracle.command = {"sh", "{build_dir}/oracle.sh", "{seed}"};
    oracle.seeds = seeds;
    return RunDifferentialOracle(oracle, dir_ / "head", dir_ / "head" / "build", dir_ / "candidate",
                                 dir_ / "candidate" / "build", 100, 10);
  }

  fs::path dir_;
};

TEST_F(OracleRunTest, SameOutputsForEverySeedAgree) {
  const char* script = "echo \"$1 $RLVR_ORACLE_SEED $(($1 * 3))\"\n";
  Program("head", script);
  Program("candidate", script);
  OracleRun run = Run(3);
  EXPECT_TRUE(run.ok) << run.message;
  EXPECT_EQ(run.seeds_compared, 3);
  EXPECT_THAT(run.message, HasSubstr("agreed with HEAD on 3 seed(s) (100..102, exactly)"));
}

TEST_F(OracleRunTest, ADifferenceForOneSeedFailsNamingTheSeed) {
  Program("head", "echo \"$1 $(($1 * 3))\"\n");
  Program("candidate",
          "if [ \"$1\" = 101 ]; then echo \"$1 0\"; else echo \"$1 $(($1 * 3))\"; fi\n");
  OracleRun run = Run(3);
  EXPECT_FALSE(run.ok);
  EXPECT_EQ(run.seeds_compared, 1);
  EXPECT_THAT(run.message, HasSubstr("differ from HEAD's for seed 101"));
  EXPECT_THAT(run.message, HasSubstr("HEAD printed 303, the candidate 0"));
}

TEST_F(OracleRunTest, AFailingRunFailsOnEitherSide) {
  Program("head", "echo 1\n");
  Program("candidate", "echo 1; exit 3\n");
  OracleRun candidate_fails = Run(1);
  EXPECT_FALSE(candidate_fails.ok);
  EXPECT_THAT(candidate_fails.message, HasSubstr("fails on the candidate's build"));
  Program("head", "exit 2\n");
  OracleRun head_fails = Run(1);
  EXPECT_FALSE(head_fails.ok);
  EXPECT_THAT(head_fails.message, HasSubstr("fails on HEAD's build"));
}

}  // namespace
}  // namespace rlvr
