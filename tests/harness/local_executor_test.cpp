// The local executor (harness/executors/local.h) in-process, with the caller's Evaluator: its
// verdict JSON is the evaluator's verdict, requests are judged one per Collect, in order, and
// misuse is refused. Candidates stopped by the scope gate keep it quick (no build). The child
// process mode is exercised against the Slurm executor in slurm_executor_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/config.h"
#include "harness/executors/local.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;

TEST(LocalExecutorTest, InProcessVerdictsOnePerCollect) {
  FixtureRepo repo = MakeFixtureRepo();
  Project project = LoadProject(repo.path());
  Evaluator evaluator(project);
  LocalExecutor executor({.evaluator = &evaluator});
  EXPECT_EQ(executor.name(), "local");
  executor.Submit({"first", repo.path(), "dot", ReadCandidate("edits_test.txt"), {}});
  executor.Submit({"second", repo.path(), "no-such-target", ReadCandidate("edits_test.txt"), {}});
  EXPECT_THROW(executor.Submit({"first", repo.path(), "dot", "", {}}), ExecutorError);
  EXPECT_THROW(executor.Submit({"a/b", repo.path(), "dot", "", {}}), ExecutorError);
  ASSERT_EQ(executor.InFlight().size(), 2u);
  EXPECT_EQ(executor.Adopt(repo.path()).size(), 0u);

  std::vector<EvaluationOutcome> first = executor.Collect(0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].key, "first");
  ASSERT_TRUE(first[0].has_verdict) << first[0].error;
  EXPECT_EQ(first[0].verdict().failed_gate, "scope");
  EXPECT_EQ(first[0].verdict_json.value("failed_gate", ""), "scope");
  EXPECT_EQ(first[0].job_id, "local");
  EXPECT_EQ(first[0].tries, 1);
  ASSERT_EQ(executor.InFlight().size(), 1u);

  // A target the project lacks is a harness problem: no verdict, never a failed gate.
  std::vector<EvaluationOutcome> second = executor.Collect(0);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(second[0].has_verdict);
  EXPECT_THAT(second[0].error, HasSubstr("no-such-target"));
  EXPECT_TRUE(executor.InFlight().empty());
  EXPECT_TRUE(executor.Collect(0).empty());
}

TEST(LocalExecutorTest, InProcessRefusesAnotherRepository) {
  FixtureRepo repo = MakeFixtureRepo();
  FixtureRepo other = MakeFixtureRepo();
  Project project = LoadProject(repo.path());
  Evaluator evaluator(project);
  LocalExecutor executor({.evaluator = &evaluator});
  executor.Submit({"elsewhere", other.path(), "dot", ReadCandidate("edits_test.txt"), {}});
  executor.Submit({"dropped", repo.path(), "dot", ReadCandidate("edits_test.txt"), {}});
  executor.Cancel("dropped");
  std::vector<EvaluationOutcome> outcomes = CollectAll(executor, 60);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].key, "elsewhere");
  EXPECT_FALSE(outcomes[0].has_verdict);
  EXPECT_THAT(outcomes[0].error, HasSubstr(other.path().string()));
}

TEST(LocalExecutorTest, NeedsAnEvaluatorOrABinary) {
  EXPECT_THROW(LocalExecutor({}), ExecutorError);
}

}  // namespace
}  // namespace rlvr
