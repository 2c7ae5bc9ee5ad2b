// End-to-end tests of the evaluator on the fixture repository (tests/fixtures/tiny_repo) with
// the sample candidates of tests/fixtures/candidates: each verdict and its failed gate, promotion
// in one commit, refusals, and the rlvr CLI. One fixture repo and one Evaluator serve the whole
// suite, so the three builds (candidate, baseline, sanitizer) happen once.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class EvaluateIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new FixtureRepo(MakeFixtureRepo());
    project_ = new Project(LoadProject(repo_->path()));
    EvaluateOptions options;
    options.test_timeout_seconds = 10;  // the hanging candidate costs this much
    options.verbose = true;
    evaluator_ = new Evaluator(*project_, options);
    // The allocating candidate passes tests and sanitizers, so it warms all three build dirs:
    // every test below then sees incremental builds, whichever of them runs (or runs alone).
    allocates_ = new Verdict(
        evaluator_->Evaluate(project_->GetTarget("dot"), ReadCandidate("allocates.txt")));
  }
  static void TearDownTestSuite() {
    delete allocates_;
    delete evaluator_;
    delete project_;
    delete repo_;
  }

  static Verdict Evaluate(const std::string& candidate) {
    const std::string head = repo_->Head();
    Verdict v = evaluator_->Evaluate(project_->GetTarget("dot"), ReadCandidate(candidate));
    std::fprintf(stderr, "%s", v.Render().c_str());
    // Evaluation never touches the user's branch or working tree.
    EXPECT_EQ(repo_->Head(), head);
    EXPECT_EQ(repo_->Git("status --porcelain"), "");
    return v;
  }

  static void ExpectRejectedAt(const Verdict& v, const std::string& gate, const std::string& text) {
    EXPECT_FALSE(v.promotable);
    EXPECT_EQ(v.failed_gate, gate);
    const GateResult* g = v.FindGate(gate);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->status, GateStatus::kFail);
    EXPECT_THAT(g->message + "\n" + g->detail, HasSubstr(text));
    ASSERT_EQ(v.gates.size(), std::size(kGateOrder));
    // Every gate after the failed one is skipped.
    bool after = false;
    for (const auto& other : v.gates) {
      if (after) {
        EXPECT_EQ(other.status, GateStatus::kSkipped) << other.name;
      }
      after = after || other.name == gate;
    }
  }

  static FixtureRepo* repo_;
  static Project* project_;
  static Evaluator* evaluator_;
  static Verdict* allocates_;
};

FixtureRepo* EvaluateIntegrationTest::repo_ = nullptr;
Project* EvaluateIntegrationTest::project_ = nullptr;
Evaluator* EvaluateIntegrationTest::evaluator_ = nullptr;
Verdict* EvaluateIntegrationTest::allocates_ = nullptr;

TEST_F(EvaluateIntegrationTest, EditingATestFailsScope) {
  ExpectRejectedAt(Evaluate("edits_test.txt"), "scope", "tests/dot_test.cpp");
}

TEST_F(EvaluateIntegrationTest, GarbageReplyFailsApply) {
  Verdict v = evaluator_->Evaluate(project_->GetTarget("dot"), "I could not find a speed-up.");
  ExpectRejectedAt(v, "apply", "");
}

TEST_F(EvaluateIntegrationTest, TamperingFailsTheSymbolCheck) {
  Verdict v = Evaluate("tamper.txt");
  ExpectRejectedAt(v, "build", "symbol check");
  EXPECT_THAT(v.FindGate("build")->detail, HasSubstr("clock_gettime"));
  EXPECT_THAT(v.FindGate("build")->detail, HasSubstr("operator new"));
}

TEST_F(EvaluateIntegrationTest, WrongResultFailsTests) {
  Verdict v = Evaluate("wrong_result.txt");
  ExpectRejectedAt(v, "tests", "DotTest.SmallExact");
  EXPECT_NE(v.seed, 0u);
}

TEST_F(EvaluateIntegrationTest, CrashFailsTestsWithTheSignal) {
  ExpectRejectedAt(Evaluate("crashes.txt"), "tests", "SIGSEGV");
}

TEST_F(EvaluateIntegrationTest, HangFailsTestsWithATimeout) {
  ExpectRejectedAt(Evaluate("hangs.txt"), "tests", "timed out");
}

TEST_F(EvaluateIntegrationTest, HotPathAllocationFailsAllocations) {
  ExpectRejectedAt(*allocates_, "allocations", "AllocDotTest");
}

// The memo lives in function-local statics: the object audit names them before anything runs.
TEST_F(EvaluateIntegrationTest, CachingResultsFailsTheObjectAudit) {
  Verdict v = Evaluate("caches.txt");
  ExpectRejectedAt(v, "build", "object audit");
  EXPECT_THAT(v.FindGate("build")->detail, HasSubstr("writable static storage"));
  EXPECT_THAT(v.FindGate("build")->detail, HasSubstr("last_result"));
}

TEST_F(EvaluateIntegrationTest, SlowerCandidateFailsTheBenchmark) {
  Verdict v = Evaluate("slower.txt");
  // Sequential: a candidate slower in every run is rejected after the first rounds.
  ExpectRejectedAt(v, "benchmark", "slower than every baseline run");
  EXPECT_THAT(v.FindGate("benchmark")->message, HasSubstr("decided after"));
  EXPECT_THAT(v.FindGate("benchmark")->message, Not(HasSubstr("after 20 of 20")));
  EXPECT_GT(v.primary_ratio, 1.1);
}

// A real regression of a gated benchmark (BM_Dot/256, about 1.5x slower) while the primary
// improves: measured again with both sides re-laid-out, it reproduces, so it refuses the
// candidate (a layout accident would not survive both re-layouts).
TEST_F(EvaluateIntegrationTest, RegressionThatSurvivesOtherLayoutsRefuses) {
  Verdict v = Evaluate("regresses_short.txt");
  ExpectRejectedAt(v, "benchmark", "BM_Dot/256");
  const GateResult* bench = v.FindGate("benchmark");
  // About 1.5x: on a busy machine it can measure over 1.5x in every run, which the sequential
  // rule refuses early under its own words; either way the regression is the reason.
  EXPECT_THAT(bench->message, ::testing::AnyOf(HasSubstr("regression beyond 5%"),
                                               HasSubstr("slower than every baseline run")));
  EXPECT_THAT(bench->message, HasSubstr("under 3 other code layouts: BM_Dot/256"));
  EXPECT_THAT(bench->detail, HasSubstr("in layout 2 (HEAD kernel/dot.cpp +"));
  EXPECT_LT(v.primary_ratio, 0.9);
}

// A speed-up below 3x min_improvement must also hold under another code layout. With
// min_improvement raised to 25% the real 2x speed-up counts as small (1 - 3 x 0.25 = 0.25), so it
// is measured again with both sides re-laid-out, and holds.
TEST_F(EvaluateIntegrationTest, SmallSpeedupIsConfirmedUnderAnotherLayout) {
  Target demanding = project_->GetTarget("dot");
  demanding.min_improvement = 0.25;
  Verdict v = evaluator_->Evaluate(demanding, ReadCandidate("speedup.txt"));
  ASSERT_TRUE(v.promotable) << v.Render();
  const GateResult* bench = v.FindGate("benchmark");
  EXPECT_THAT(bench->message, HasSubstr("confirmed under another code layout: BM_Dot/4096"));
  EXPECT_THAT(bench->message, HasSubstr("in layout 1 (HEAD kernel/dot.cpp +"));
  EXPECT_EQ(repo_->Git("status --porcelain"), "");
}

// Last: it moves the branch.
TEST_F(EvaluateIntegrationTest, SpeedupIsPromotedInOneCommitWithItsBaseline) {
  const std::string head = repo_->Head();
  Verdict v = Evaluate("speedup.txt");
  ASSERT_TRUE(v.promotable) << v.Render();
  EXPECT_TRUE(v.failed_gate.empty());
  EXPECT_LT(v.primary_ratio, 0.77);  // > 30% faster
  for (const auto& gate : v.gates) EXPECT_EQ(gate.status, GateStatus::kPass) << gate.name;
  EXPECT_THAT(v.patch, HasSubstr("+++ b/kernel/dot.cpp"));
  // Apply-to-verdict time of a one-file change, benchmark excluded (builds warmed in set-up).
  double without_benchmark = v.seconds - v.FindGate("benchmark")->seconds;
  std::fprintf(stderr, "apply-to-verdict without benchmark: %.1f s\n", without_benchmark);
  EXPECT_LT(without_benchmark, 60);

  const Target& dot = project_->GetTarget("dot");
  // Uncommitted changes in a file involved: refused, branch unchanged.
  { std::ofstream(repo_->path() / "kernel/dot.cpp", std::ios::app) << "// local edit\n"; }
  PromoteResult dirty = evaluator_->Promote(dot, v);
  EXPECT_FALSE(dirty.promoted);
  EXPECT_THAT(dirty.message, HasSubstr("uncommitted changes in kernel/dot.cpp"));
  EXPECT_EQ(repo_->Head(), head);
  repo_->Git("checkout -- kernel/dot.cpp");

  PromoteResult promoted = evaluator_->Promote(dot, v);
  ASSERT_TRUE(promoted.promoted) << promoted.message;
  EXPECT_EQ(repo_->Head(), promoted.commit);
  EXPECT_EQ(repo_->Git("rev-parse HEAD~1"), head + "\n");
  EXPECT_EQ(repo_->Git("show --name-only --format= HEAD"), "baselines/dot.json\nkernel/dot.cpp\n");
  std::string subject = repo_->Git("log -1 --format=%s");
  EXPECT_THAT(subject, HasSubstr("dot: BM_Dot/4096 -"));
  EXPECT_THAT(subject, HasSubstr("(rlvr)"));
  EXPECT_EQ(repo_->Git("status --porcelain"), "");  // working tree and index follow
  nlohmann::json baseline = nlohmann::json::parse(repo_->Git("show HEAD:baselines/dot.json"));
  EXPECT_EQ(baseline["target"], "dot");
  EXPECT_EQ(baseline["commit"], head);
  EXPECT_GT(baseline["benchmarks"]["BM_Dot/4096"]["median_ns"].get<double>(), 0);
  EXPECT_THAT(repo_->Git("show HEAD:kernel/dot.cpp"), HasSubstr("acc[8]"));

  // The same verdict again: HEAD moved since it was made.
  PromoteResult stale = evaluator_->Promote(dot, v);
  EXPECT_FALSE(stale.promoted);
  EXPECT_THAT(stale.message, HasSubstr("HEAD moved"));
  EXPECT_EQ(repo_->Head(), promoted.commit);
}

// The command line, on a second fixture repo (the CLI makes its own .rlvr/ there).
TEST(EvaluateCliTest, TargetsAndARejectedCandidate) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string dir = fixture_detail::ShellQuote(repo.path().string());
  std::string binary = fixture_detail::ShellQuote(RLVR_BINARY);
  EXPECT_THAT(fixture_detail::RunShell(binary + " targets -C " + dir),
              HasSubstr("dot     kernel/dot.cpp  BM_Dot/4096"));
  std::string candidate = (fs::path(RLVR_FIXTURES_DIR) / "candidates" / "edits_test.txt").string();
  std::string command = binary + " evaluate " + fixture_detail::ShellQuote(candidate) +
                        " --target dot --json -C " + dir + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  nlohmann::json verdict = nlohmann::json::parse(out);
  EXPECT_EQ(verdict["failed_gate"], "scope");
  EXPECT_EQ(verdict["promotable"], false);
  // An unknown target is a usage error (exit 2) naming the known ones.
  command = binary + " evaluate " + fixture_detail::ShellQuote(candidate) + " --target nope -C " +
            dir + " 2>&1";
  pipe = popen(command.c_str(), "r");
  out.clear();
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_THAT(out, HasSubstr("known targets: dot"));
}

}  // namespace
}  // namespace rlvr
