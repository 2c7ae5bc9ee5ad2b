// The local pool executor (`rlvr iterate --jobs N`, harness/executors/local_pool.h): candidates
// judged at once in clones of the repository give the verdicts rlvr evaluate gives, their
// evaluations overlap, cancelled ones never come back, the repository is left clean, and reply
// files are redacted and owner-only. A killed loop's evaluations die with it and its clones go with
// the next loop's Adopt.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness/base/leftover_processes.h"
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

// `rlvr iterate --jobs` killed by SIGKILL: its `rlvr evaluate` children die within seconds (they
// used to build and benchmark beside the restarted loop for a minute), they were told where to
// record their own builds, and the next loop's Adopt removes the clones left in .rlvr/pool/.
TEST(LocalPoolExecutorTest, AKilledLoopsEvaluationsDieAndItsClonesGo) {
  FixtureRepo repo = MakeFixtureRepo();
  fs::path seen = repo.path().parent_path() / (repo.path().filename().string() + ".seen");
  fs::create_directories(seen);
  std::string marker = "301." + std::to_string(getpid());
  fs::path script = seen / "fake-rlvr";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\necho \"$" << kProcessRecordDirVariable << "\" > '"
        << (seen / "record_dir").string() << "'\nexec sleep " << marker << "\n";
  }
  fs::permissions(script, fs::perms::owner_all);
  auto sleepers = [&] {
    int count = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
      std::string cmdline = ReadAll(entry.path() / "cmdline");
      std::string stat = ReadAll(entry.path() / "stat");
      bool zombie = stat.rfind(')') != std::string::npos && stat[stat.rfind(')') + 2] == 'Z';
      if (!zombie && cmdline.rfind("sleep", 0) == 0 && cmdline.find(marker) != std::string::npos)
        ++count;
    }
    return count;
  };
  fs::path records = repo.path() / ".rlvr" / "processes";
  pid_t loop = fork();
  if (loop == 0) {
    RecordProcessGroupsIn(records);
    LocalPoolExecutor executor({.rlvr_binary = script, .parallel = 2});
    executor.Submit({"one", repo.path(), "dot", "reply one", ChecksOnly()});
    executor.Submit({"two", repo.path(), "dot", "reply two", ChecksOnly()});
    pause();
    _exit(0);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sleepers() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(sleepers(), 2);
  EXPECT_EQ(ReadAll(seen / "record_dir"), records.string() + "\n");
  kill(loop, SIGKILL);
  waitpid(loop, nullptr, 0);
  auto killed = std::chrono::steady_clock::now();
  while (sleepers() > 0 && std::chrono::steady_clock::now() - killed < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sleepers(), 0) << "evaluations alive 5 s after the loop's SIGKILL";
  ASSERT_TRUE(fs::exists(repo.path() / ".rlvr" / "pool" / "one"));
  LocalPoolExecutor next({.rlvr_binary = script, .parallel = 1});
  EXPECT_TRUE(next.Adopt(repo.path()).empty());
  EXPECT_TRUE(fs::is_empty(repo.path() / ".rlvr" / "pool"));
  fs::remove_all(seen);
}

}  // namespace
}  // namespace rlvr
