// `rlvr check` verifies that a configured differential oracle runs the target's code (issue 25,
// point 3; repo/oracle_reach.h): on the Makefile fixture (tests/fixtures/make_header_repo), its own
// oracle (test/oracle_vsum.c, which calls vsum.h's kernels) tells a mutant of include/vsum.h from
// HEAD; an oracle that never calls them (a script printing its seed) tells none, and check FAILs
// saying so.
#include "harness/repo/oracle_reach.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/repo/check_report.h"
#include "harness/repo/head_build.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::HasSubstr;

// Repeats its output for a seed, but runs nothing of the repository.
const std::vector<std::string> kBlindOracle = {"sh", "-c", "echo vsum seed $0", "{seed}"};

TEST(OracleReach, TheFixturesOracleTellsAMutantFromHeadAndABlindOneDoesNot) {
  FixtureRepo repo = MakeCommandRepo();
  Project project = LoadProject(repo.path());
  CheckReport report;
  HeadBuild head = BuildAndProbe(project, repo.path(), 2, report);
  ASSERT_TRUE(head.built);
  const Target& target = project.GetTarget("vsum");
  ASSERT_TRUE(target.oracle.enabled());

  OracleReach reach = CheckOracleReach(project, target, head.tree, head.build_dir, 2, 60);
  EXPECT_EQ(reach.outcome, OracleReach::Outcome::kNoticed) << reach.message;
  EXPECT_THAT(reach.message, AllOf(HasSubstr("runs the target's code: it told mutant"),
                                   HasSubstr("include/vsum.h:")));
  EXPECT_GE(reach.mutants_compared, 1);

  Target blind = target;
  blind.oracle.command = kBlindOracle;
  OracleReach missed = CheckOracleReach(project, blind, head.tree, head.build_dir, 2, 60);
  EXPECT_EQ(missed.outcome, OracleReach::Outcome::kNotNoticed) << missed.message;
  EXPECT_EQ(missed.mutants_compared, 6);
  EXPECT_THAT(missed.message,
              HasSubstr("the oracle did not notice any of 6 mutant(s) of include/vsum.h: it does "
                        "not seem to run the target's code"));
  // The user's tree is untouched; the candidate worktree has HEAD's text back.
  EXPECT_EQ(repo.Git("status --porcelain"), "");
  EXPECT_EQ(ReadFileText(repo.path() / ".rlvr/worktrees/candidate/include/vsum.h"),
            ReadFileText(repo.path() / "include/vsum.h"));
}

TEST(OracleReach, CheckFailsOnAnOracleThatDoesNotRunTheTargetsCode) {
  FixtureRepo repo = MakeCommandRepo();
  nlohmann::json config = nlohmann::json::parse(ReadFileText(repo.path() / "rlvr.json"));
  config["targets"][0]["oracle"]["command"] = kBlindOracle;
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  repo.Git("commit -q -am blind-oracle");
  RunOptions options;
  options.limits.wall_seconds = 600;
  ProcessResult check = RunProcess({RLVR_BINARY, "check", "-C", repo.path().string()}, options);
  EXPECT_FALSE(check.ok()) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("ok      vsum.oracle: `sh -c echo vsum seed $0 {seed}` runs on "
                                   "HEAD and repeats its output for a seed"));
  EXPECT_THAT(check.out, HasSubstr("FAIL    vsum.oracle: the oracle did not notice any of 6 "
                                   "mutant(s) of include/vsum.h: it does not seem to run the "
                                   "target's code"));
}

}  // namespace
}  // namespace rlvr
