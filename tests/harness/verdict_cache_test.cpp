// ReusingJudge (harness/loopbench/verdict_cache.h): an identical evaluation (same target, tree of
// the base commit and canonical patch) is answered from the stored verdict without asking the inner
// judge again, whatever commit carries that tree; another tree, patch or settings tag is judged
// again; the cache survives a new judge on the same file; a reused verdict promotes.
#include <gtest/gtest.h>

#include <fstream>

#include "harness/loopbench/verdict_cache.h"
#include "harness/verify/promote.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// Counts its evaluations; says every candidate is promotable with the fixed files it was given.
class CountingJudge : public CandidateJudge {
 public:
  explicit CountingJudge(const Project& project) : project_(project) {}

  Verdict Evaluate(const Target& target, std::string_view reply,
                   std::string_view base_commit) override {
    ++calls;
    Verdict v;
    v.target = target.name;
    v.promotable = true;
    v.message = "judged call " + std::to_string(calls);
    v.patch = std::string(reply);
    v.changed_files = {"kernel/dot.cpp"};
    v.new_contents = {{"kernel/dot.cpp", "// candidate " + std::to_string(calls) + "\n"}};
    v.head_commit = std::string(base_commit);
    BenchmarkFigure figure;
    figure.name = "BM_Dot/4096";
    figure.primary = true;
    figure.baseline_ns = 100;
    figure.candidate_ns = 50;
    figure.ratio = 0.5;
    figure.candidate_samples_ns = {49, 50, 51};
    v.figures = {figure};
    v.primary_ratio = 0.5;
    return v;
  }
  PromoteResult Promote(const Target& target, const Verdict& verdict,
                        const std::string& trailer) override {
    return PromoteCandidate(project_, target, verdict, project_.root / ".rlvr" / "no-build",
                            trailer);
  }
  const Project& project() const override { return project_; }

  int calls = 0;

 private:
  const Project& project_;
};

class ReusingJudgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = MakeFixtureRepo();
    project_ = LoadProject(repo_.path());
    cache_ = repo_.path().parent_path() / (repo_.path().filename().string() + "-verdicts.json");
  }
  void TearDown() override { fs::remove(cache_); }
  const Target& Dot() const { return project_.GetTarget("dot"); }

  FixtureRepo repo_;
  Project project_;
  fs::path cache_;
};

TEST_F(ReusingJudgeTest, SecondIdenticalCandidateIsNotJudgedAgain) {
  CountingJudge inner(project_);
  ReusingJudge judge(inner, cache_);
  std::string reply = ReadCandidate("speedup.txt");
  Verdict first = judge.Evaluate(Dot(), reply, repo_.Head());
  Verdict second = judge.Evaluate(Dot(), reply, repo_.Head());
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(judge.judged(), 1);
  EXPECT_EQ(judge.reused(), 1);
  EXPECT_EQ(second.message, first.message);
  EXPECT_EQ(second.new_contents, first.new_contents);
  ASSERT_EQ(second.figures.size(), 1u);
  EXPECT_EQ(second.figures[0].candidate_samples_ns, first.figures[0].candidate_samples_ns);
  // The same diff in other words around it is the same candidate.
  Verdict reworded = judge.Evaluate(Dot(), "Here it is, unrolled.\n" + reply, repo_.Head());
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(reworded.message, first.message);
  // Another candidate is judged.
  judge.Evaluate(Dot(), ReadCandidate("slower.txt"), repo_.Head());
  EXPECT_EQ(inner.calls, 2);
  // A reply that does not apply is keyed by its text.
  judge.Evaluate(Dot(), "no patch at all", repo_.Head());
  judge.Evaluate(Dot(), "no patch at all", repo_.Head());
  judge.Evaluate(Dot(), "no patch, at all", repo_.Head());
  EXPECT_EQ(inner.calls, 4);
  EXPECT_EQ(judge.reused(), 3);
}

TEST_F(ReusingJudgeTest, SameTreeUnderAnotherCommitIsReusedAnotherTreeIsNot) {
  CountingJudge inner(project_);
  ReusingJudge judge(inner, cache_);
  std::string reply = ReadCandidate("speedup.txt");
  std::string first_commit = repo_.Head();
  judge.Evaluate(Dot(), reply, first_commit);
  repo_.Git("commit -q --allow-empty -m again");  // a new commit, the same tree
  ASSERT_NE(repo_.Head(), first_commit);
  Verdict reused = judge.Evaluate(Dot(), reply, "");  // empty = HEAD now
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(reused.head_commit, repo_.Head()) << "a reused verdict names the commit asked about";
  std::ofstream(repo_.path() / "NOTES.md") << "another tree\n";
  repo_.Git("add NOTES.md");
  repo_.Git("commit -q -m notes");
  judge.Evaluate(Dot(), reply, repo_.Head());
  EXPECT_EQ(inner.calls, 2);
  EXPECT_EQ(judge.reused(), 1);
}

TEST_F(ReusingJudgeTest, CachePersistsAndSettingsTagSeparates) {
  std::string reply = ReadCandidate("speedup.txt");
  {
    CountingJudge inner(project_);
    ReusingJudge judge(inner, cache_, "sanitizers=0");
    judge.Evaluate(Dot(), reply, repo_.Head());
    EXPECT_EQ(inner.calls, 1);
  }
  ASSERT_TRUE(fs::exists(cache_));
  CountingJudge inner(project_);
  ReusingJudge resumed(inner, cache_, "sanitizers=0");
  EXPECT_EQ(resumed.stored(), 1u);
  Verdict v = resumed.Evaluate(Dot(), reply, repo_.Head());
  EXPECT_EQ(inner.calls, 0);
  EXPECT_EQ(v.message, "judged call 1");
  ReusingJudge other(inner, cache_, "sanitizers=1");
  other.Evaluate(Dot(), reply, repo_.Head());
  EXPECT_EQ(inner.calls, 1);

  std::ofstream(cache_) << "{\"not\": \"a cache\"}";
  EXPECT_THROW(ReusingJudge(inner, cache_), std::runtime_error);
}

TEST_F(ReusingJudgeTest, ReusedVerdictPromotesOnTheCommitAskedAbout) {
  CountingJudge inner(project_);
  ReusingJudge judge(inner, cache_);
  std::string reply = ReadCandidate("speedup.txt");
  judge.Evaluate(Dot(), reply, repo_.Head());
  repo_.Git("commit -q --allow-empty -m again");
  std::string base = repo_.Head();
  Verdict reused = judge.Evaluate(Dot(), reply, base);
  ASSERT_EQ(judge.reused(), 1);
  PromoteResult promoted = judge.Promote(Dot(), reused, "Rlvr-Attempt: 7");
  ASSERT_TRUE(promoted.promoted) << promoted.message;
  EXPECT_EQ(repo_.Head(), promoted.commit);
  EXPECT_EQ(repo_.Git("rev-parse HEAD^"), base + "\n");
  EXPECT_EQ(repo_.Git("show HEAD:kernel/dot.cpp"), "// candidate 1\n");
  EXPECT_NE(repo_.Git("show HEAD --stat").find("baselines/dot.json"), std::string::npos);
}

}  // namespace
}  // namespace rlvr
