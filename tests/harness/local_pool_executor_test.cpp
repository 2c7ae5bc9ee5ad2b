// The local pool executor (`rlvr iterate --jobs N`, harness/executors/local_pool.h): candidates
// judged at once in clones of the repository give the verdicts rlvr evaluate gives, their
// evaluations overlap, cancelled ones never come back, the repository is left clean, and reply
// files are redacted and owner-only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/base/secrets.h"
#include "harness/executors/local_pool.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

EvaluationSettings ChecksOnly() {
  EvaluationSettings settings;
  settings.sanitizers = false;
  settings.benchmark = false;
  settings.test_timeout_seconds = 60;
  return settings;
}

TEST(LocalPoolExecutorTest, CandidatesOverlapAndKeepTheirVerdicts) {
  FixtureRepo repo = MakeFixtureRepo();
  LocalPoolExecutor executor({.rlvr_binary = RLVR_BINARY, .parallel = 3});
  const std::map<std::string, std::string> expected = {
      {"speedup", ""}, {"crashes", "tests"}, {"wrong_result", "tests"}};
  auto start = std::chrono::steady_clock::now();
  for (const auto& [name, gate] : expected)
    executor.Submit({name, repo.path(), "dot", ReadCandidate(name + ".txt"), ChecksOnly()});
  EXPECT_THROW(
      executor.Submit({"crashes", repo.path(), "dot", ReadCandidate("crashes.txt"), ChecksOnly()}),
      ExecutorError);
  EXPECT_EQ(executor.InFlight().size(), 3u);
  std::vector<EvaluationOutcome> outcomes = CollectAll(executor, 600);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(outcomes.size(), 3u);
  double summed = 0;
  for (const EvaluationOutcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.has_verdict) << outcome.key << ": " << outcome.error;
    EXPECT_EQ(outcome.verdict().failed_gate, expected.at(outcome.key)) << outcome.key;
    EXPECT_EQ(outcome.verdict().head_commit, repo.Head());
    EXPECT_FALSE(outcome.verdict().promotable);  // no benchmark stage, no promotion
    EXPECT_EQ(outcome.job_id, "local");
    summed += outcome.run_seconds;
  }
  // Three evaluations ran at once: together they took longer than the whole wait.
  EXPECT_GT(summed, wall);
  EXPECT_TRUE(executor.InFlight().empty());
  EXPECT_TRUE(!fs::exists(repo.path() / ".rlvr" / "pool") ||
              fs::is_empty(repo.path() / ".rlvr" / "pool"));
  EXPECT_EQ(repo.Git("status --porcelain --untracked-files=no"), "");
}

TEST(LocalPoolExecutorTest, CancelledEvaluationsNeverComeBack) {
  FixtureRepo repo = MakeFixtureRepo();
  LocalPoolExecutor executor({.rlvr_binary = RLVR_BINARY, .parallel = 1});
  executor.Submit({"first", repo.path(), "dot", ReadCandidate("crashes.txt"), ChecksOnly()});
  executor.Submit({"second", repo.path(), "dot", ReadCandidate("speedup.txt"), ChecksOnly()});
  executor.Submit({"third", repo.path(), "dot", ReadCandidate("edits_test.txt"), ChecksOnly()});
  executor.Cancel("second");  // still waiting: never started
  std::vector<EvaluationOutcome> outcomes = CollectAll(executor, 600);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].key, "first");
  EXPECT_EQ(outcomes[1].key, "third");
  EXPECT_EQ(outcomes[1].verdict().failed_gate, "scope");
  executor.Submit({"fourth", repo.path(), "dot", ReadCandidate("crashes.txt"), ChecksOnly()});
  executor.CancelAll();  // Ctrl-C: running or not, nothing is returned
  EXPECT_TRUE(executor.InFlight().empty());
  EXPECT_TRUE(executor.Collect(0).empty());
  EXPECT_TRUE(executor.Adopt(repo.path()).empty());  // nothing outlives the process
}

// A reply quoting a key reaches the evaluation's reply file redacted and owner-only (it used to be
// written verbatim, mode 0644). The "rlvr" here is a script that keeps a copy of the reply file it
// is given and its mode: what rlvr evaluate would read.
TEST(LocalPoolExecutorTest, ReplyFileIsRedactedAndOwnerOnly) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string secret = "sk-pool-SECRET-" + std::to_string(getpid());
  RegisterSecret(secret);
  fs::path seen = repo.path().parent_path() / (repo.path().filename().string() + ".seen");
  fs::create_directories(seen);
  fs::path script = seen / "fake-rlvr";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nstat -c %a \"$2\" > '" << (seen / "mode").string() << "'\ncat \"$2\" > '"
        << (seen / "reply").string() << "'\nexit 2\n";
  }
  fs::permissions(script, fs::perms::owner_all);
  LocalPoolExecutor executor({.rlvr_binary = script, .parallel = 1});
  executor.Submit({"quotes_key", repo.path(), "dot", "my key: " + secret + "\n", ChecksOnly()});
  std::vector<EvaluationOutcome> outcomes = CollectAll(executor, 120);
  std::string mode = ReadAll(seen / "mode");
  std::string reply = ReadAll(seen / "reply");
  fs::remove_all(seen);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].has_verdict);  // the script gives none
  EXPECT_EQ(reply, "my key: [redacted]\n");
  EXPECT_EQ(mode, "600\n");
}

}  // namespace
}  // namespace rlvr
