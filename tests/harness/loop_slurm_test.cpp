// `rlvr iterate --executor slurm` end to end against a real single-node cluster
// (tests/slurm/start_cluster.sh, as for SlurmExecutorTest; needs root and the Debian packages
// slurm-wlm and munge) and the scripted endpoint, on copies of the fixture repository:
//   - a round of 4 candidates judged as 4 parallel jobs, one of them cancelled with scancel while
//     it runs (retried, recorded as an infrastructure event, never as a failed candidate), and
//     the verdicts equal to those `rlvr iterate --executor local` gives the same 4 candidates;
//   - with the benchmark stage (jobs --exclusive on the "bench" partition, one at a time): the
//     loop SIGKILLed mid-round and restarted: the jobs are adopted, every verdict is recorded in
//     the killed run's rows, the speed-up is promoted, no job is left in the queue;
//   - Ctrl-C cancels the round's jobs and says so.
// The other rounds are checks only (--no-benchmark), to keep the suite short on a 2-core machine.
//
// One process runs the whole suite (ctest entry LoopSlurmTest.All), so the cluster starts once. If
// it cannot start, every test fails with the daemons' own log lines: this suite does not skip.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/process.h"
#include "harness/ledger/ledger.h"
#include "tests/fake_endpoint/fake_endpoint.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Candidate(const std::string& name) {
  return ReadAll(fs::path(RLVR_FIXTURES_DIR) / "candidates" / name);
}

// Starts RLVR_BINARY with `args` in its own process group, stdout+stderr to `log`.
pid_t StartRlvr(const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("OPENAI_API_KEY", "sk-test", 1);
    std::vector<char*> argv;
    std::string binary = RLVR_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// (verdict, failed gate) of every attempt of the last run, by candidate number.
std::map<int, std::pair<std::string, std::string>> VerdictsByCandidate(const fs::path& root,
                                                                       int64_t run) {
  Ledger ledger(Ledger::DefaultPath(root));
  std::map<int, std::pair<std::string, std::string>> out;
  for (const AttemptRecord& a : ledger.RunAttempts(run))
    out[a.candidate] = {a.verdict, a.failed_gate.value_or("")};
  return out;
}

class LoopSlurmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-loop-slurm-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      start_error_ = new std::string("mkdtemp failed");
      return;
    }
    cluster_dir_ = new fs::path(pattern);
    if (geteuid() != 0) {
      start_error_ = new std::string(
          "the single-node Slurm cluster needs root (slurmd starts jobs as their submitter)");
      return;
    }
    RunOptions run;
    run.limits.wall_seconds = 90;
    run.limits.memory_bytes = 0;
    run.limits.file_size_bytes = 0;
    // One node: the tests below count on one exclusive benchmark node making the second wait.
    run.env["RLVR_SLURM_NODES"] = "1";
    ProcessResult started = RunProcess(
        {std::string(RLVR_SOURCE_DIR) + "/tests/slurm/start_cluster.sh", cluster_dir_->string()},
        run);
    if (!started.ok()) {
      start_error_ = new std::string("the Slurm cluster did not start (" + started.Describe() +
                                     "):\n" + started.out + started.err);
      return;
    }
    // rlvr iterate (a child of this process) and its sbatch/squeue/scancel find the cluster here.
    setenv("SLURM_CONF", (*cluster_dir_ / "etc" / "slurm.conf").c_str(), 1);
  }

  static void TearDownTestSuite() {
    if (cluster_dir_ == nullptr) return;
    if (start_error_ == nullptr) {
      std::string left = ActiveJobs();
      if (!left.empty()) ADD_FAILURE() << "jobs left in the queue:\n" << left;
    }
    ProcessResult stopped = RunProcess(
        {std::string(RLVR_SOURCE_DIR) + "/tests/slurm/stop_cluster.sh", cluster_dir_->string()});
    EXPECT_TRUE(stopped.ok()) << stopped.Describe() << "\n" << stopped.err;
    if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) {
      std::error_code ignored;
      fs::remove_all(*cluster_dir_, ignored);
    } else {
      std::fprintf(stderr, "the cluster's configuration and logs are kept in %s\n",
                   cluster_dir_->c_str());
    }
    unsetenv("SLURM_CONF");
    delete cluster_dir_;
    delete start_error_;
    cluster_dir_ = nullptr;
    start_error_ = nullptr;
  }

  void SetUp() override {
    if (start_error_ != nullptr) FAIL() << *start_error_;
  }

  static ProcessResult Slurm(const std::vector<std::string>& argv) {
    RunOptions run;
    run.env = {{"SLURM_CONF", (*cluster_dir_ / "etc" / "slurm.conf").string()}};
    run.limits.wall_seconds = 60;
    return RunProcess(argv, run);
  }

  // The jobs still pending or running ("id name state"), one line each; empty when none.
  static std::string ActiveJobs() {
    ProcessResult queue = Slurm({"squeue", "-h", "-o", "%i %j %T"});
    if (!queue.ok()) return "squeue " + queue.Describe() + ": " + queue.err;
    return queue.out;
  }

  // Job id -> name of the jobs RUNNING now.
  static std::map<std::string, std::string> RunningJobs() {
    std::map<std::string, std::string> running;
    ProcessResult queue = Slurm({"squeue", "-h", "-t", "RUNNING", "-o", "%i %j"});
    std::istringstream in(queue.out);
    for (std::string id, name; in >> id >> name;) running[id] = name;
    return running;
  }

  // How many jobs are pending or running.
  static size_t QueuedOrRunning() {
    std::string jobs = ActiveJobs();
    return static_cast<size_t>(std::count(jobs.begin(), jobs.end(), '\n'));
  }

  // Waits up to `seconds` until at least `count` jobs run; returns them.
  static std::map<std::string, std::string> WaitForRunningJobs(size_t count, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::map<std::string, std::string> running;
    while (std::chrono::steady_clock::now() < deadline) {
      running = RunningJobs();
      if (running.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return running;
  }

  static bool QueueEmptyWithin(double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    do {
      if (ActiveJobs().empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static std::vector<std::string> IterateArgs(const FixtureRepo& repo, const FakeEndpoint& endpoint,
                                              const std::string& executor, int candidates,
                                              bool benchmark = false) {
    std::vector<std::string> args = {"iterate",
                                     "-C",
                                     repo.path(),
                                     "--base-url",
                                     endpoint.base_url(),
                                     "--model",
                                     "fake-model",
                                     "--executor",
                                     executor,
                                     "--partition",
                                     "checks",
                                     "--candidates-per-round",
                                     std::to_string(candidates),
                                     "--max-jobs",
                                     "4",
                                     "--max-repairs",
                                     "0",
                                     "--max-iterations",
                                     "1",
                                     "--no-sanitizers",
                                     "--no-benchmark",
                                     "--retries",
                                     "0"};
    if (benchmark) {
      args.erase(std::find(args.begin(), args.end(), "--no-benchmark"));
      args.insert(args.end(), {"--bench-partition", "bench"});
    }
    return args;
  }

  static fs::path* cluster_dir_;
  static std::string* start_error_;
};

fs::path* LoopSlurmTest::cluster_dir_ = nullptr;
std::string* LoopSlurmTest::start_error_ = nullptr;

const std::vector<std::string> kFour = {"speedup.txt", "crashes.txt", "edits_test.txt",
                                        "wrong_result.txt"};

json FourReplies() {
  json contents = json::array();
  for (const std::string& c : kFour) contents.push_back(Candidate(c));
  return json::array({{{"contents", contents}}});
}

TEST_F(LoopSlurmTest, RoundOfFourInParallelWithACancelledJobGivesTheLocalVerdicts) {
  FixtureRepo repo = MakeFixtureRepo();
  FakeEndpoint endpoint(FourReplies());
  endpoint.Start();
  fs::path log = repo.path().parent_path() / (repo.path().filename().string() + ".slurm.log");
  auto started = std::chrono::steady_clock::now();
  pid_t pid = StartRlvr(IterateArgs(repo, endpoint, "slurm", 4), log);

  // All four are submitted at once (the single node runs as many as it has CPUs for, two on the
  // CI machine, the others wait in Slurm's queue, not in rlvr); one running job is cancelled by
  // "someone else".
  std::map<std::string, std::string> running = WaitForRunningJobs(2, 60);
  EXPECT_EQ(QueuedOrRunning(), 4u) << ActiveJobs() << ReadAll(log);
  ASSERT_GE(running.size(), 2u) << ActiveJobs() << ReadAll(log);
  auto [cancelled_job, cancelled_name] = *running.begin();
  ASSERT_TRUE(Slurm({"scancel", cancelled_job}).ok());

  int status = Wait(pid);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string out = ReadAll(log);
  std::fprintf(stderr, "4 candidates on the cluster (checks only) in %.1f s\n", seconds);
  ASSERT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("4 candidate(s) submitted to the slurm executor")) << out;
  EXPECT_THAT(out, HasSubstr("infrastructure event(s): job " + cancelled_job + " CANCELLED"))
      << out;
  EXPECT_TRUE(QueueEmptyWithin(10)) << ActiveJobs();

  Ledger ledger(Ledger::DefaultPath(repo.path()));
  int64_t run = ledger.LastRun()->id;
  std::vector<AttemptRecord> attempts = ledger.RunAttempts(run);
  ASSERT_EQ(attempts.size(), 4u) << out;
  int retried = 0;
  for (const AttemptRecord& a : attempts) {
    EXPECT_NE(a.verdict, "error") << a.candidate << ": " << a.message;  // every one judged
    ASSERT_TRUE(a.job_id.has_value()) << a.candidate;
    EXPECT_NE(*a.job_id, "local");
    EXPECT_FALSE(a.node.value_or("").empty());
    EXPECT_GT(a.run_seconds.value_or(0), 0);
    EXPECT_GE(a.queued_seconds.value_or(-1), 0);
    if ("rlvr-a" + std::to_string(a.id) == cancelled_name) {
      ++retried;
      EXPECT_EQ(a.tries, 2);
      EXPECT_NE(*a.job_id, cancelled_job);
      EXPECT_THAT(a.infrastructure_events, HasSubstr("job " + cancelled_job + " CANCELLED"));
    } else {
      EXPECT_EQ(a.tries, 1);
      EXPECT_EQ(a.infrastructure_events, "");
    }
  }
  EXPECT_EQ(retried, 1) << "the cancelled job " << cancelled_name << " is not among the rows";
  EXPECT_FALSE(fs::exists(repo.path() / ".rlvr" / "jobs") &&
               !fs::is_empty(repo.path() / ".rlvr" / "jobs"))
      << "job folders left behind";
  std::map<int, std::pair<std::string, std::string>> slurm = VerdictsByCandidate(repo.path(), run);

  // The same four candidates judged by this machine, one after the other.
  FixtureRepo local_repo = MakeFixtureRepo();
  FakeEndpoint local_endpoint(FourReplies());
  local_endpoint.Start();
  fs::path local_log = repo.path().parent_path() / "local.log";
  ASSERT_EQ(Wait(StartRlvr(IterateArgs(local_repo, local_endpoint, "local", 4), local_log)), 0)
      << ReadAll(local_log);
  Ledger local_ledger(Ledger::DefaultPath(local_repo.path()));
  std::map<int, std::pair<std::string, std::string>> local =
      VerdictsByCandidate(local_repo.path(), local_ledger.LastRun()->id);
  EXPECT_EQ(slurm, local) << out << "\n---- local ----\n" << ReadAll(local_log);
  // The candidates really differ, so the comparison means something.
  ASSERT_EQ(local.size(), 4u);
  EXPECT_EQ(local[2].second, "tests");  // crashes
  EXPECT_EQ(local[3].second, "scope");  // edits the tests
  EXPECT_EQ(local[4].second, "tests");  // wrong result
  EXPECT_EQ(local[1].second, "");       // speedup: every check passed (no benchmark stage)
  for (const AttemptRecord& a : local_ledger.RunAttempts(local_ledger.LastRun()->id))
    EXPECT_EQ(a.job_id.value_or(""), "local") << "judged in the loop's own process";
  fs::remove(log);
  fs::remove(local_log);
}

// With the benchmark stage on: each evaluation's checks run in a shared job, and only the passing
// candidate's benchmark stage takes the node --exclusive in a second job. The loop is killed while
// both checks jobs run; the restarted loop adopts both, records both verdicts in the killed run's
// rows, measures the speed-up in its benchmark stage and promotes it (its base is still HEAD).
TEST_F(LoopSlurmTest, KilledMidRoundRestartsAdoptsTheJobsAndLosesNoVerdict) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string initial = repo.Head();
  json contents = json::array({Candidate("crashes.txt"), Candidate("speedup.txt")});
  FakeEndpoint endpoint(json::array({{{"contents", contents}},
                                     // the restarted loop's own round: the model is unusable
                                     {{"status", 401}, {"error", "Incorrect API key provided"}}}));
  endpoint.Start();
  fs::path log = repo.path().parent_path() / (repo.path().filename().string() + ".killed.log");
  std::vector<std::string> args = IterateArgs(repo, endpoint, "slurm", 2, /*benchmark=*/true);
  pid_t pid = StartRlvr(args, log);
  // Split stages: both candidates' checks jobs share the node (only a benchmark stage is
  // exclusive, SlurmExecutorTest.SplitStages...); the loop is killed while they run.
  std::map<std::string, std::string> running = WaitForRunningJobs(2, 60);
  ASSERT_EQ(running.size(), 2u) << ActiveJobs() << ReadAll(log);
  EXPECT_EQ(QueuedOrRunning(), 2u) << ActiveJobs();
  std::string queue = ActiveJobs();
  kill(-pid, SIGKILL);  // the loop and anything of its group; the jobs belong to slurmd
  EXPECT_EQ(Wait(pid), 128 + SIGKILL);
  std::vector<std::string> job_ids;
  {
    std::istringstream in(queue);
    for (std::string line; std::getline(in, line);)
      job_ids.push_back(line.substr(0, line.find(' ')));
  }
  ASSERT_EQ(job_ids.size(), 2u) << queue;
  {
    Ledger ledger(Ledger::DefaultPath(repo.path()));
    std::vector<AttemptRecord> killed = ledger.RunAttempts(ledger.LastRun()->id);
    ASSERT_EQ(killed.size(), 2u);
    for (const AttemptRecord& a : killed) EXPECT_THAT(a.message, HasSubstr("not judged"));
  }

  fs::path restarted_log = repo.path().parent_path() / "restarted.log";
  int status = Wait(StartRlvr(args, restarted_log));
  std::string out = ReadAll(restarted_log);
  EXPECT_EQ(status, 1) << out;  // it stopped on the endpoint's 401, after the adopted verdicts
  EXPECT_THAT(out, HasSubstr("adopted 2 evaluation(s) a killed loop left")) << out;
  for (const std::string& job : job_ids) EXPECT_THAT(out, HasSubstr("(job " + job + ")")) << out;
  EXPECT_TRUE(QueueEmptyWithin(10)) << ActiveJobs();

  Ledger ledger(Ledger::DefaultPath(repo.path()));
  std::vector<AttemptRecord> first_run = ledger.RunAttempts(1);
  ASSERT_EQ(first_run.size(), 2u);
  for (const AttemptRecord& a : first_run) {
    ASSERT_TRUE(a.job_id.has_value()) << a.message;
    EXPECT_THAT(a.message, ::testing::Not(HasSubstr("not judged")));
  }
  // The failing candidate's checks job, adopted, not submitted again.
  EXPECT_THAT(job_ids, ::testing::Contains(*first_run[0].job_id));
  EXPECT_EQ(first_run[0].tries, 1);
  // The speed-up's adopted checks job passed, then its benchmark stage ran as a job of its own.
  EXPECT_THAT(job_ids, ::testing::Not(::testing::Contains(*first_run[1].job_id)));
  EXPECT_EQ(first_run[1].tries, 2);
  EXPECT_EQ(first_run[0].verdict, "failed");
  EXPECT_EQ(first_run[0].failed_gate.value_or(""), "tests");
  EXPECT_EQ(first_run[1].verdict, "promoted") << first_run[1].message << "\n" << out;
  EXPECT_LT(first_run[1].primary_ratio.value_or(9), 1.0);
  EXPECT_EQ(first_run[1].promoted_commit.value_or(""), repo.Head());
  EXPECT_EQ(repo.Git("rev-list --count HEAD"), "2\n");
  EXPECT_THAT(repo.Git("log -1 --format=%B"),
              HasSubstr("Rlvr-Attempt: " + std::to_string(first_run[1].id)));
  EXPECT_THAT(repo.Git("show HEAD --stat"), HasSubstr("baselines/dot.json"));
  EXPECT_NE(repo.Head(), initial);
  EXPECT_TRUE(!fs::exists(repo.path() / ".rlvr" / "jobs") ||
              fs::is_empty(repo.path() / ".rlvr" / "jobs"));
  fs::remove(log);
  fs::remove(restarted_log);
}

TEST_F(LoopSlurmTest, CtrlCCancelsTheRoundsJobs) {
  FixtureRepo repo = MakeFixtureRepo();
  json contents = json::array({Candidate("speedup.txt"), Candidate("slower.txt")});
  FakeEndpoint endpoint(json::array({{{"contents", contents}}}));
  endpoint.Start();
  fs::path log = repo.path().parent_path() / (repo.path().filename().string() + ".int.log");
  pid_t pid = StartRlvr(IterateArgs(repo, endpoint, "slurm", 2), log);
  ASSERT_EQ(WaitForRunningJobs(2, 60).size(), 2u) << ActiveJobs() << ReadAll(log);
  kill(pid, SIGINT);
  EXPECT_EQ(Wait(pid), 128 + SIGINT);  // stopped by a signal, not a spent budget
  std::string out = ReadAll(log);
  EXPECT_THAT(out, HasSubstr("stop requested: cancelling the slurm evaluations")) << out;
  EXPECT_THAT(out, HasSubstr("cancelled 2 slurm evaluation(s) in flight")) << out;
  EXPECT_TRUE(QueueEmptyWithin(15)) << ActiveJobs();
  Ledger ledger(Ledger::DefaultPath(repo.path()));
  for (const AttemptRecord& a : ledger.RunAttempts(ledger.LastRun()->id)) {
    EXPECT_EQ(a.verdict, "error");
    EXPECT_THAT(a.message, HasSubstr("not judged"));
  }
  EXPECT_EQ(ledger.LastRun()->stop_reason.value_or(""), "stop signal");
  fs::remove(log);
}

TEST_F(LoopSlurmTest, NoJobLeftBehind) {
  EXPECT_EQ(ActiveJobs(), "");
}

}  // namespace
}  // namespace rlvr
