// Recovery of a promotion cut short between its commit and the ledger update (loop/reconcile.h):
// the commit is found by its trailer, the ledger row is marked promoted, and working files the
// killed checkout left at the parent's content are brought up to the commit, never the user's
// edits.
#include "harness/loop/reconcile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness/report/data.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = MakeFixtureRepo();
    ledger_ = std::make_unique<Ledger>(Ledger::DefaultPath(repo_.path()));
    run_ = ledger_->BeginRun("model", "endpoint", "{}", 1);
    kernel_ = repo_.path() / "kernel" / "dot.cpp";
    before_ = ReadFile(kernel_);
  }

  int64_t AddPassed(const std::string& target) {
    AttemptRecord a;
    a.run_id = run_;
    a.target = target;
    a.round = 1;
    a.candidate = 1;
    a.verdict = "passed";
    return ledger_->AddAttempt(a);
  }

  // The promotion commit a killed loop made: the kernel edited, the trailer at the end; then the
  // working file and index put back to the parent's content, as if the checkout never ran.
  std::string CommitPromotion(const std::string& target, int64_t attempt_id) {
    WriteFile(kernel_, before_ + "// promoted edit\n");
    repo_.Git("add kernel/dot.cpp");
    repo_.Git("commit -q -m " + fixture_detail::ShellQuote(target + ": BM_Dot -20.0% (rlvr)\n\n" +
                                                           AttemptTrailer(attempt_id)));
    std::string sha = repo_.Head();
    repo_.Git("restore --source=HEAD~1 --staged --worktree kernel/dot.cpp");
    return sha;
  }

  FixtureRepo repo_;
  std::unique_ptr<Ledger> ledger_;
  int64_t run_ = 0;
  fs::path kernel_;
  std::string before_;
};

TEST_F(ReconcileTest, MarksTheAttemptPromotedAndChecksOutTheStaleFile) {
  int64_t id = AddPassed("dot");
  std::string sha = CommitPromotion("dot", id);
  ASSERT_EQ(ReadFile(kernel_), before_);

  std::vector<std::string> repairs = ReconcilePromotions(repo_.path(), *ledger_);

  ASSERT_EQ(repairs.size(), 2u);
  EXPECT_THAT(repairs[0], HasSubstr("attempt " + std::to_string(id)));
  EXPECT_THAT(repairs[1], HasSubstr("kernel/dot.cpp"));
  std::optional<AttemptRecord> attempt = ledger_->FindAttempt(id);
  ASSERT_TRUE(attempt.has_value());
  EXPECT_EQ(attempt->verdict, "promoted");
  EXPECT_EQ(attempt->promoted_commit.value_or(""), sha);
  EXPECT_EQ(ReadFile(kernel_), before_ + "// promoted edit\n");
  EXPECT_EQ(repo_.Git("status --porcelain --untracked-files=no"), "");

  // Running it again finds nothing left to do.
  EXPECT_TRUE(ReconcilePromotions(repo_.path(), *ledger_).empty());
}

TEST_F(ReconcileTest, ReadOnlyCommandsSeeThePromotionBeforeItIsRecorded) {
  int64_t id = AddPassed("dot");
  std::string sha = CommitPromotion("dot", id);
  std::vector<AttemptCommit> pending = UnrecordedPromotions(repo_.path(), *ledger_);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempt_id, id);
  EXPECT_EQ(pending[0].commit, sha);
  // Reading changed nothing: the row is still 'passed' until a loop records it.
  EXPECT_EQ(ledger_->FindAttempt(id)->verdict, "passed");

  // rlvr status says it as git has it.
  ledger_.reset();
  std::string out = fixture_detail::RunShell(std::string(RLVR_BINARY) + " status -C " +
                                             fixture_detail::ShellQuote(repo_.path().string()));
  EXPECT_THAT(out, HasSubstr("promoted as " + sha.substr(0, 12) +
                             ", not yet in the ledger: attempt " + std::to_string(id)));
  EXPECT_THAT(out, HasSubstr("dot 1.1 promoted"));
  // So does the report.
  ReportOptions options;
  options.ledger_path = Ledger::DefaultPath(repo_.path());
  options.config_path = repo_.path() / "rlvr.json";
  options.baselines_dir = repo_.path() / "baselines";
  ReportData data = LoadReportData(options);
  EXPECT_EQ(data.totals.promoted, 1);
  EXPECT_EQ(data.totals.passed, 0);

  ledger_ = std::make_unique<Ledger>(Ledger::DefaultPath(repo_.path()));
  ReconcilePromotions(repo_.path(), *ledger_);
  EXPECT_TRUE(UnrecordedPromotions(repo_.path(), *ledger_).empty());
}

TEST_F(ReconcileTest, LeavesAFileTheUserEditedSinceAlone) {
  int64_t id = AddPassed("dot");
  CommitPromotion("dot", id);
  WriteFile(kernel_, before_ + "// the user's own edit\n");

  std::vector<std::string> repairs = ReconcilePromotions(repo_.path(), *ledger_);

  ASSERT_EQ(repairs.size(), 1u);  // the ledger row only
  EXPECT_EQ(ledger_->FindAttempt(id)->verdict, "promoted");
  EXPECT_EQ(ReadFile(kernel_), before_ + "// the user's own edit\n");
}

TEST_F(ReconcileTest, IgnoresATrailerThatNamesAnotherTargetsAttempt) {
  // A recreated ledger can hold an unrelated attempt under the same id.
  int64_t id = AddPassed("softmax");
  CommitPromotion("dot", id);

  EXPECT_TRUE(ReconcilePromotions(repo_.path(), *ledger_).empty());
  EXPECT_EQ(ledger_->FindAttempt(id)->verdict, "passed");
}

TEST_F(ReconcileTest, CommitsWithoutTrailerAreNotTouched) {
  int64_t id = AddPassed("dot");
  WriteFile(kernel_, before_ + "// a hand-made commit\n");
  repo_.Git("commit -q -am 'dot: by hand'");

  EXPECT_TRUE(ReconcilePromotions(repo_.path(), *ledger_).empty());
  EXPECT_EQ(ledger_->FindAttempt(id)->verdict, "passed");
}

}  // namespace
}  // namespace rlvr
