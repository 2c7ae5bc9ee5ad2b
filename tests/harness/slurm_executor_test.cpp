// The Slurm executor against a real single-node cluster (tests/slurm/start_cluster.sh: munged,
// slurmctld and slurmd on 127.0.0.1, everything under a temporary folder; needs root and the
// Debian packages slurm-wlm and munge from cmake/setup.sh). Candidates of the fixture repository
// are judged as parallel batch jobs and their failed gates compared with the local executor's;
// a job cancelled by someone else mid-run is retried; a job Slurm requeues itself is a try of the
// same job id, seen also by an executor that was not running at the time, and counts against
// max_tries; a job Slurm could not launch is a try lost to the cluster; a second executor adopts
// the jobs of one that went away; warm trees unused for a week are emptied; Ctrl-C's CancelAll
// leaves no job. If the cluster cannot start, every test fails with the daemons' own log lines:
// this suite does not skip.
//
// Two processes run the suite (ctest entries SlurmExecutorTest.Jobs and .LostNodes), so the
// cluster starts twice, not once per test; each test still stands alone.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/executors/local.h"
#include "harness/executors/slurm.h"
#include "harness/executors/slurm_warm_tree.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

EvaluationSettings QuickSettings() {
  EvaluationSettings settings;
  settings.sanitizers = false;  // the suite's time budget; the gate order is the same
  settings.benchmark = false;
  settings.test_timeout_seconds = 60;
  return settings;
}

class SlurmExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-slurm-XXXXXX").string();
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
    run.limits.memory_bytes = 0;  // the daemons (and the jobs) keep no limit of this process
    run.limits.file_size_bytes = 0;
    ProcessResult started = RunProcess(
        {std::string(RLVR_SOURCE_DIR) + "/tests/slurm/start_cluster.sh", cluster_dir_->string()},
        run);
    if (!started.ok()) {
      start_error_ = new std::string("the Slurm cluster did not start (" + started.Describe() +
                                     "):\n" + started.out + started.err);
      return;
    }
    environment_ = new std::map<std::string, std::string>{
        {"SLURM_CONF", (*cluster_dir_ / "etc" / "slurm.conf").string()}};
    repo_ = new FixtureRepo(MakeFixtureRepo());
  }

  static void TearDownTestSuite() {
    if (cluster_dir_ != nullptr) {
      if (environment_ != nullptr) {
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
    }
    delete repo_;
    delete environment_;
    delete cluster_dir_;
    delete start_error_;
    delete local_gates_;
    delete local_repo_;
    repo_ = nullptr;
    local_repo_ = nullptr;
    environment_ = nullptr;
    cluster_dir_ = nullptr;
    start_error_ = nullptr;
    local_gates_ = nullptr;
  }

  void SetUp() override {
    if (start_error_ != nullptr) FAIL() << *start_error_;
  }

  // A test that failed part-way (an ASSERT) may leave its jobs queued; cancel them so that the
  // next tests see an empty queue and fail only for their own reasons. A passing test must leave
  // none itself (TearDownTestSuite and NoJobLeftBehind check that).
  void TearDown() override {
    if (!HasFailure() || environment_ == nullptr) return;
    ProcessResult ids = Slurm({"squeue", "-h", "-o", "%i"});
    std::istringstream lines(ids.out);
    for (std::string id; std::getline(lines, id);) {
      if (!id.empty()) Slurm({"scancel", id});
    }
    for (int i = 0; i < 80 && !ActiveJobs().empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    // Its evaluations' records too: a later test's Adopt would take them up (seen: one failure
    // made three more tests fail).
    std::error_code ignored;
    fs::remove_all(EvaluationFolder(repo_->path(), "x").parent_path(), ignored);
  }

  static ProcessResult Slurm(const std::vector<std::string>& argv) {
    RunOptions run;
    run.env = *environment_;
    run.limits.wall_seconds = 60;
    return RunProcess(argv, run);
  }

  // `squeue -h`: the jobs still pending or running, one line each; empty when none.
  static std::string ActiveJobs() {
    ProcessResult queue = Slurm({"squeue", "-h", "-o", "%i %j %T %k"});
    if (!queue.ok()) return "squeue " + queue.Describe() + ": " + queue.err;
    return queue.out;
  }

  static SlurmExecutorOptions Options() {
    SlurmExecutorOptions options;
    options.rlvr_binary = RLVR_BINARY;
    options.partition = "checks";
    options.run_tag = "test";
    options.environment = *environment_;
    options.poll_seconds = 0.5;
    // Warm trees under the cluster's folder, removed with it.
    options.node_cache_dir = (*cluster_dir_ / "warm").string();
    return options;
  }

  static EvaluationRequest Request(const std::string& key, const std::string& candidate) {
    return {key, repo_->path(), "dot", ReadCandidate(candidate), QuickSettings()};
  }

  // The failed gate ("" when none) the local executor gives each candidate: `rlvr evaluate` on a
  // repository of its own, one after the other, computed once per process.
  static std::string LocalFailedGate(const std::string& candidate) {
    if (local_gates_ == nullptr) local_gates_ = new std::map<std::string, std::string>;
    auto found = local_gates_->find(candidate);
    if (found != local_gates_->end()) return found->second;
    if (local_repo_ == nullptr) local_repo_ = new FixtureRepo(MakeFixtureRepo());
    LocalExecutor local({.rlvr_binary = RLVR_BINARY});
    std::string key = "local-" + candidate.substr(0, candidate.find('.'));
    local.Submit({key, local_repo_->path(), "dot", ReadCandidate(candidate), QuickSettings()});
    std::vector<EvaluationOutcome> outcomes = CollectAll(local, 600);
    EXPECT_EQ(outcomes.size(), 1u);
    if (outcomes.empty()) return "<no outcome>";
    EXPECT_TRUE(outcomes[0].has_verdict) << outcomes[0].error;
    std::string gate = outcomes[0].has_verdict ? outcomes[0].verdict().failed_gate : "<error>";
    local.Acknowledge(key);
    (*local_gates_)[candidate] = gate;
    return gate;
  }

  // Collects until `executor` has nothing in flight (bounded), failing on a stray outcome.
  static std::map<std::string, EvaluationOutcome> CollectByKey(Executor& executor,
                                                               double timeout_seconds = 300) {
    std::map<std::string, EvaluationOutcome> by_key;
    for (EvaluationOutcome& outcome : CollectAll(executor, timeout_seconds)) {
      EXPECT_FALSE(by_key.count(outcome.key)) << "returned twice: " << outcome.key;
      by_key[outcome.key] = std::move(outcome);
    }
    EXPECT_TRUE(executor.InFlight().empty()) << "still in flight after " << timeout_seconds << " s";
    return by_key;
  }

  // The one outcome of `key`, which must be "no verdict after `tries` tries on the cluster" with
  // an infrastructure event per try; returned for the test's own checks of the events.
  static EvaluationOutcome CollectGivenUp(Executor& executor, const std::string& key, int tries,
                                          double timeout_seconds) {
    std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor, timeout_seconds);
    EXPECT_EQ(outcomes.count(key), 1u);
    EvaluationOutcome outcome = outcomes[key];
    EXPECT_FALSE(outcome.has_verdict);
    EXPECT_THAT(outcome.error, HasSubstr("no verdict after " + std::to_string(tries) +
                                         " tries on the cluster (infrastructure)"));
    EXPECT_EQ(outcome.tries, tries);
    EXPECT_EQ(outcome.infrastructure_events.size(), static_cast<size_t>(tries));
    return outcome;
  }

  // Waits until the job of `key` runs and its script has started; returns the job id.
  static std::string WaitUntilRunning(SlurmExecutor& executor, const std::string& key) {
    fs::path folder = EvaluationFolder(repo_->path(), key);
    for (int i = 0; i < 240; ++i) {
      executor.Collect(0);  // refreshes the scheduler's state
      for (const InFlightEvaluation& job : executor.InFlight())
        if (job.key == key && job.state == "RUNNING" &&
            fs::exists(folder / ("start." + job.job_id)))
          return job.job_id;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << key << " never started running; queue:\n" << ActiveJobs();
    return "";
  }

  // Lets a job Slurm requeued start again now instead of after Slurm's two-minute hold.
  static void ReleaseRequeued(const std::string& job) {
    // Slurm sets a requeued job's begin time when it turns PENDING, after COMPLETING: an update
    // before that is overwritten (seen under load: the rerun then waited minutes, not seconds).
    // So the update that counts is one made after squeue showed PENDING. And a second later:
    // slurmd revoked the job's credential at the requeue and refuses a launch whose credential is
    // not from a later second ("Job credential revoked"), which Slurm's own delay never meets. (A
    // begin time in the future instead waits for the scheduler's next periodic pass, ~20 s.)
    std::string state;
    for (int i = 0; i < 80; ++i) {
      state = Slurm({"squeue", "-h", "-j", job, "-o", "%T"}).out;
      if (state.empty() || state.find("RUNNING") != std::string::npos) return;  // nothing holds it
      if (state.find("PENDING") != std::string::npos) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        if (Slurm({"scontrol", "update", "jobid=" + job, "StartTime=now"}).ok()) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << "job " << job << " could not be released after its requeue: " << state;
  }

  // The start lines the job script of `key` wrote for `job`, waiting (bounded) for `count`.
  static size_t WaitForStarts(const std::string& key, const std::string& job, size_t count) {
    fs::path starts = EvaluationFolder(repo_->path(), key) / ("start." + job);
    size_t lines = 0;
    for (int i = 0; i < 240 && lines < count; ++i) {
      std::ifstream in(starts);
      lines = 0;
      for (std::string line; std::getline(in, line);) lines += line.empty() ? 0 : 1;
      if (lines < count) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return lines;
  }

  // A stand-in for rlvr on the node that only sleeps (no verdict for two minutes), for tests of
  // what Slurm does to a running job.
  static fs::path SleepingRlvr() {
    fs::path sleeper = *cluster_dir_ / "sleeping-rlvr.sh";
    {
      std::ofstream out(sleeper);
      out << "#!/bin/sh\nsleep 120\n";
    }
    fs::permissions(sleeper, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
    return sleeper;
  }

  // The node the job's current run started on (its script's last start line).
  static std::string NodeOf(const std::string& key, const std::string& job) {
    std::ifstream in(EvaluationFolder(repo_->path(), key) / ("start." + job));
    std::string node, line;
    while (std::getline(in, line))
      if (!line.empty()) node = line.substr(0, line.find(' '));
    return node;
  }

  // Loses `node` with its jobs (set down: Slurm kills and requeues them), and keeps it out of
  // service (drained: ReturnToService=2 would otherwise take it back as soon as its slurmd, still
  // alive on this machine, answers) until RestoreNode.
  static void LoseNode(const std::string& node) {
    for (const char* state : {"down", "drain"}) {
      ProcessResult update = Slurm({"scontrol", "update", "nodename=" + node,
                                    std::string("state=") + state, "reason=rlvr-test-lost-node"});
      EXPECT_TRUE(update.ok()) << "scontrol update " << node << " " << state << ": " << update.err;
    }
  }
  static void RestoreNode(const std::string& node) {
    ProcessResult update = Slurm({"scontrol", "update", "nodename=" + node, "state=resume"});
    EXPECT_TRUE(update.ok()) << "scontrol update " << node << " resume: " << update.err;
  }

  // The current job of `key` once its stage is `stage`, running with its script started.
  static std::string WaitForStage(SlurmExecutor& executor, const std::string& key,
                                  const std::string& stage) {
    for (int i = 0; i < 480; ++i) {
      executor.Collect(0);
      for (const InFlightEvaluation& job : executor.InFlight()) {
        if (job.key != key || job.job_id.empty() || job.state != "RUNNING") continue;
        if (JobField(job.job_id, "Comment").find("stage=" + stage) == std::string::npos) continue;
        if (fs::exists(EvaluationFolder(repo_->path(), key) / ("start." + job.job_id)))
          return job.job_id;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << key << " never ran its " << stage << " stage; queue:\n" << ActiveJobs();
    return "";
  }

  // One field of `scontrol show job` ("OverSubscribe", "Comment", "NodeList"...).
  static std::string JobField(const std::string& job, const std::string& field) {
    std::string out = Slurm({"scontrol", "show", "job", job}).out;
    size_t at = out.find(field + "=");
    if (at == std::string::npos) return "";
    at += field.size() + 1;
    size_t end = field == "Comment" ? out.find('\n', at) : out.find_first_of(" \n", at);
    return out.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }

  // The jobs squeue still knows for evaluation `key` (by their comment), oldest first.
  static std::vector<std::string> JobsOf(const std::string& key) {
    ProcessResult queue = Slurm({"squeue", "-h", "-t", "all", "-o", "%i|%k"});
    std::vector<std::string> jobs;
    std::istringstream in(queue.out);
    for (std::string line; std::getline(in, line);)
      if (line.find(" key=" + key + " ") != std::string::npos)
        jobs.push_back(line.substr(0, line.find('|')));
    std::sort(jobs.begin(), jobs.end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) < std::stol(b);
    });
    return jobs;
  }

  static int TriesInFlight(const Executor& executor, const std::string& key) {
    for (const InFlightEvaluation& job : executor.InFlight())
      if (job.key == key) return job.tries;
    return -1;
  }

  static fs::path* cluster_dir_;
  static std::string* start_error_;
  static std::map<std::string, std::string>* environment_;
  static FixtureRepo* repo_;
  static FixtureRepo* local_repo_;  // the local executor's own copy
  static std::map<std::string, std::string>* local_gates_;
};

fs::path* SlurmExecutorTest::cluster_dir_ = nullptr;
std::string* SlurmExecutorTest::start_error_ = nullptr;
std::map<std::string, std::string>* SlurmExecutorTest::environment_ = nullptr;
FixtureRepo* SlurmExecutorTest::repo_ = nullptr;
FixtureRepo* SlurmExecutorTest::local_repo_ = nullptr;
std::map<std::string, std::string>* SlurmExecutorTest::local_gates_ = nullptr;

TEST_F(SlurmExecutorTest, ParallelJobsGiveTheLocalVerdicts) {
  const std::vector<std::string> candidates = {"speedup.txt", "crashes.txt", "edits_test.txt"};
  SlurmExecutor executor(Options());
  auto submitted_at = std::chrono::steady_clock::now();
  for (const std::string& candidate : candidates)
    executor.Submit(Request("par-" + candidate.substr(0, candidate.find('.')), candidate));
  ASSERT_EQ(executor.InFlight().size(), candidates.size());
  // All submitted at once: the controller holds every job (none waits in the executor).
  for (const InFlightEvaluation& job : executor.InFlight()) EXPECT_FALSE(job.job_id.empty());

  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted_at).count();
  std::fprintf(stderr, "%zu evaluations on the cluster in %.1f s\n", candidates.size(), seconds);
  ASSERT_EQ(outcomes.size(), candidates.size());
  std::set<std::string> job_ids;
  for (const std::string& candidate : candidates) {
    std::string key = "par-" + candidate.substr(0, candidate.find('.'));
    ASSERT_TRUE(outcomes.count(key)) << key;
    const EvaluationOutcome& outcome = outcomes[key];
    ASSERT_TRUE(outcome.has_verdict) << key << ": " << outcome.error;
    EXPECT_EQ(outcome.tries, 1);
    EXPECT_TRUE(outcome.infrastructure_events.empty());
    EXPECT_FALSE(outcome.node.empty());
    EXPECT_GT(outcome.run_seconds, 0);
    job_ids.insert(outcome.job_id);
    Verdict verdict = outcome.verdict();
    std::fprintf(stderr, "%s: job %s on %s, queued %.1f s, ran %.1f s, failed gate '%s'\n",
                 key.c_str(), outcome.job_id.c_str(), outcome.node.c_str(), outcome.queued_seconds,
                 outcome.run_seconds, verdict.failed_gate.c_str());
    EXPECT_EQ(verdict.target, "dot");
    EXPECT_EQ(verdict.head_commit, repo_->Head());
    EXPECT_EQ(verdict.failed_gate, LocalFailedGate(candidate)) << candidate;
    executor.Acknowledge(key);
    EXPECT_FALSE(fs::exists(EvaluationFolder(repo_->path(), key)));
  }
  EXPECT_EQ(job_ids.size(), candidates.size());
  // The candidates really differ: the comparison above is not between equal answers.
  EXPECT_EQ(LocalFailedGate("crashes.txt"), "tests");
  EXPECT_EQ(LocalFailedGate("edits_test.txt"), "scope");
  EXPECT_EQ(LocalFailedGate("speedup.txt"), "");
  // The user's branch and working tree are untouched by the jobs.
  EXPECT_EQ(repo_->Git("status --porcelain --untracked-files=no"), "");
}

TEST_F(SlurmExecutorTest, JobCancelledByOthersIsRetried) {
  SlurmExecutor executor(Options());
  executor.Submit(Request("cancelled", "crashes.txt"));
  std::string first_job = WaitUntilRunning(executor, "cancelled");
  ASSERT_FALSE(first_job.empty());
  ProcessResult cancel = Slurm({"scancel", first_job});
  ASSERT_TRUE(cancel.ok()) << cancel.err;

  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
  ASSERT_EQ(outcomes.count("cancelled"), 1u);
  const EvaluationOutcome& outcome = outcomes["cancelled"];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.tries, 2);
  EXPECT_NE(outcome.job_id, first_job);
  ASSERT_EQ(outcome.infrastructure_events.size(), 1u);
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("job " + first_job + " CANCELLED"));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("try 2 of 3"));
  EXPECT_EQ(outcome.verdict().failed_gate, LocalFailedGate("crashes.txt"));
  executor.Acknowledge("cancelled");
}

// Slurm requeues a running job itself (a lost node; here `scontrol requeue`): the same job id
// runs again. That is a try and an infrastructure event of its own, never a resubmission (two
// jobs for one evaluation), and the queue time is the new run's, not the lost one's.
TEST_F(SlurmExecutorTest, JobRequeuedBySlurmIsATryAndAnEvent) {
  SlurmExecutor executor(Options());
  // A hung test (cut at 12 s): the run is still going when Slurm requeues it, however loaded the
  // machine, and the run after the requeue gives the verdict.
  EvaluationRequest request = Request("requeued", "hangs.txt");
  request.settings.test_timeout_seconds = 12;
  executor.Submit(request);
  std::string job = WaitUntilRunning(executor, "requeued");
  ASSERT_FALSE(job.empty());
  std::this_thread::sleep_for(std::chrono::seconds(6));  // the lost run lasts a while
  ProcessResult requeue = Slurm({"scontrol", "requeue", job});
  ASSERT_TRUE(requeue.ok()) << requeue.err;
  for (int i = 0; i < 40 && TriesInFlight(executor, "requeued") < 2; ++i) {
    executor.Collect(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(TriesInFlight(executor, "requeued"), 2) << "the requeue was not seen while pending";
  ReleaseRequeued(job);
  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
  ASSERT_EQ(outcomes.count("requeued"), 1u);
  const EvaluationOutcome& outcome = outcomes["requeued"];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.job_id, job);  // the same job, run again: nothing resubmitted
  EXPECT_EQ(outcome.tries, 2);
  ASSERT_EQ(outcome.infrastructure_events.size(), 1u);
  EXPECT_THAT(outcome.infrastructure_events[0],
              HasSubstr("job " + job + " requeued by Slurm (restart 1; "));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("its run on "));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("try 2 of 3 under the same job id"));
  // From the requeue to the rerun's start: not the first run's queue time plus its 6 s and more.
  std::fprintf(stderr, "requeued job %s: queued %.1f s, ran %.1f s\n", job.c_str(),
               outcome.queued_seconds, outcome.run_seconds);
  EXPECT_LT(outcome.queued_seconds, 6.0);
  EXPECT_GT(outcome.run_seconds, 0);
  EXPECT_EQ(outcome.verdict().failed_gate, "tests");  // the hang, judged by the second run
  executor.Acknowledge("requeued");
  // One job only, finished (squeue may show it RUNNING a moment after its script's end line).
  std::string left;
  for (int i = 0; i < 40 && !(left = ActiveJobs()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(left, "");
}

// A requeue while no rlvr process runs is found by the one that adopts the job (squeue's restart
// count), a third process does not count it again (job.json keeps it), and Slurm's reruns count
// against max_tries: past it the job is cancelled and the evaluation is not judged.
TEST_F(SlurmExecutorTest, RequeuesSeenAfterARestartCountAgainstMaxTries) {
  const std::string key = "requeued-twice";
  SlurmExecutorOptions options = Options();
  options.max_tries = 2;
  std::string job;
  {
    SlurmExecutor first(options);
    first.Submit(Request(key, "crashes.txt"));
    job = WaitUntilRunning(first, key);
  }  // `first` goes away as a killed loop would
  ASSERT_FALSE(job.empty());
  ProcessResult requeue = Slurm({"scontrol", "requeue", job});
  ASSERT_TRUE(requeue.ok()) << requeue.err;
  {
    SlurmExecutor second(options);
    EXPECT_THAT(second.Adopt(repo_->path()), ::testing::ElementsAre(key));
    second.Collect(0);
    EXPECT_EQ(TriesInFlight(second, key), 2) << "the requeue before the restart was missed";
  }
  SlurmExecutor third(options);
  EXPECT_THAT(third.Adopt(repo_->path()), ::testing::ElementsAre(key));
  third.Collect(0);
  EXPECT_EQ(TriesInFlight(third, key), 2) << "a requeue already recorded was counted again";
  ReleaseRequeued(job);
  ASSERT_EQ(WaitForStarts(key, job, 2), 2u) << "the requeued job did not run again";
  requeue = Slurm({"scontrol", "requeue", job});
  ASSERT_TRUE(requeue.ok()) << requeue.err;

  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(third, 60);
  ASSERT_EQ(outcomes.count(key), 1u);
  const EvaluationOutcome& outcome = outcomes[key];
  EXPECT_FALSE(outcome.has_verdict);  // not judged: never a failed gate
  EXPECT_THAT(outcome.error, HasSubstr("no verdict after 2 tries"));
  EXPECT_THAT(outcome.error, HasSubstr("infrastructure"));
  EXPECT_EQ(outcome.job_id, job);
  EXPECT_EQ(outcome.tries, 2);
  ASSERT_EQ(outcome.infrastructure_events.size(), 2u);
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("requeued by Slurm (restart 1; "));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("try 2 of 2 under the same job id"));
  EXPECT_THAT(outcome.infrastructure_events[1], HasSubstr("requeued by Slurm (restart 2; "));
  EXPECT_THAT(outcome.infrastructure_events[1], HasSubstr("no tries left, job cancelled"));
  third.Acknowledge(key);
  std::string left;
  for (int i = 0; i < 40 && !(left = ActiveJobs()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(left, "") << "the job requeued past max_tries was not cancelled";
}

// A run that wrote its verdict and was requeued before its script ended (the node lost in that
// moment): the verdict stands, the job is cancelled rather than run again, and the event says so.
// The evaluation here is a stand-in rlvr that only sleeps; the test writes the verdict itself.
TEST_F(SlurmExecutorTest, VerdictWrittenBeforeARequeueIsKept) {
  const std::string key = "verdict-then-requeue";
  SlurmExecutorOptions options = Options();
  options.rlvr_binary = SleepingRlvr();
  SlurmExecutor executor(options);
  executor.Submit(Request(key, "speedup.txt"));
  std::string job = WaitUntilRunning(executor, key);
  ASSERT_FALSE(job.empty());
  nlohmann::json verdict = {
      {"target", "dot"}, {"failed_gate", ""}, {"gates", nlohmann::json::array()}};
  {
    std::ofstream out(EvaluationFolder(repo_->path(), key) / "verdict.json");
    out << verdict.dump();
  }
  executor.Collect(0);
  EXPECT_EQ(TriesInFlight(executor, key), 1) << "a verdict taken while its job still runs";
  ProcessResult requeue = Slurm({"scontrol", "requeue", job});
  ASSERT_TRUE(requeue.ok()) << requeue.err;

  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor, 30);
  ASSERT_EQ(outcomes.count(key), 1u);
  const EvaluationOutcome& outcome = outcomes[key];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.verdict_json, verdict);
  EXPECT_EQ(outcome.tries, 1);  // the rerun never happened
  ASSERT_EQ(outcome.infrastructure_events.size(), 1u);
  EXPECT_THAT(outcome.infrastructure_events[0],
              HasSubstr("job " + job + " requeued by Slurm (restart 1; "));
  EXPECT_THAT(
      outcome.infrastructure_events[0],
      HasSubstr("after its verdict was written: the verdict is kept and the job cancelled"));
  executor.Acknowledge(key);
  std::string left;
  for (int i = 0; i < 40 && !(left = ActiveJobs()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(left, "") << "the requeued job was not cancelled";
}

// Slurm requeues a job held (a failed prolog gives "launch failed requeued held"; here `scontrol
// requeuehold`): it would never run by itself, so it is cancelled and resubmitted, which here
// leaves no try (max_tries 2: the first run and Slurm's rerun).
TEST_F(SlurmExecutorTest, JobRequeuedHeldIsCancelledAndRetried) {
  const std::string key = "requeued-held";
  SlurmExecutorOptions options = Options();
  options.rlvr_binary = SleepingRlvr();
  options.max_tries = 2;
  SlurmExecutor executor(options);
  executor.Submit(Request(key, "speedup.txt"));
  std::string job = WaitUntilRunning(executor, key);
  ASSERT_FALSE(job.empty());
  ProcessResult requeue = Slurm({"scontrol", "requeuehold", job});
  ASSERT_TRUE(requeue.ok()) << requeue.err;

  const EvaluationOutcome outcome = CollectGivenUp(executor, key, 2, 30);
  ASSERT_EQ(outcome.infrastructure_events.size(), 2u);
  EXPECT_THAT(
      outcome.infrastructure_events[0],
      HasSubstr("requeued by Slurm (restart 1; Slurm's reason: job requeued in held state)"));
  EXPECT_THAT(outcome.infrastructure_events[1],
              HasSubstr("job " + job + " held by Slurm after its requeue"));
  EXPECT_THAT(outcome.infrastructure_events[1], HasSubstr("no tries left"));
  executor.Acknowledge(key);
  std::string left;
  for (int i = 0; i < 40 && !(left = ActiveJobs()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(left, "") << "the held job was not cancelled";
}

// Slurm ends a job it could not launch (here: an output file it cannot open; also seen, a
// requeued job started again within the second of its requeue, "Job credential revoked") as
// FAILED, before the job script's first line. Nothing of the candidate ran: a try lost to the
// cluster, never an evaluation ended without a verdict.
TEST_F(SlurmExecutorTest, JobSlurmCouldNotLaunchIsATryLostToTheCluster) {
  const std::string key = "never-launched";
  SlurmExecutorOptions options = Options();
  options.sbatch_args = {"--output=" + (*cluster_dir_ / "no-such-folder" / "out").string()};
  options.max_tries = 2;
  SlurmExecutor executor(options);
  executor.Submit(Request(key, "speedup.txt"));

  const EvaluationOutcome outcome = CollectGivenUp(executor, key, 2, 60);
  ASSERT_EQ(outcome.infrastructure_events.size(), 2u);
  for (const std::string& event : outcome.infrastructure_events)
    EXPECT_THAT(event, HasSubstr("FAILED on rlvr")) << event;
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("before its script started"));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("resubmitted as try 2 of 2"));
  EXPECT_THAT(outcome.infrastructure_events[1], HasSubstr("no tries left"));
  executor.Acknowledge(key);
  EXPECT_EQ(ActiveJobs(), "");
}

TEST_F(SlurmExecutorTest, RestartedExecutorAdoptsTheJobs) {
  std::map<std::string, std::string> job_of_key;
  {
    SlurmExecutor first(Options());
    first.Submit(Request("adopt-crashes", "crashes.txt"));
    first.Submit(Request("adopt-edits", "edits_test.txt"));
    for (const InFlightEvaluation& job : first.InFlight()) job_of_key[job.key] = job.job_id;
    // `first` goes away as a killed loop would: no cancel, no acknowledgement.
  }
  ASSERT_EQ(job_of_key.size(), 2u);
  // A job of this repository that no evaluation owns (its folder is gone): cancelled by Adopt.
  ProcessResult ghost =
      Slurm({"sbatch", "--parsable", "--job-name=rlvr-ghost",
             "--comment=rlvr repo=" + fs::weakly_canonical(repo_->path()).string() +
                 " key=ghost try=1 run=test",
             "--output=/dev/null", "--wrap=sleep 300"});
  ASSERT_TRUE(ghost.ok()) << ghost.err;
  std::string ghost_id = ghost.out.substr(0, ghost.out.find_first_of(";\n"));

  SlurmExecutor second(Options());
  std::vector<std::string> adopted = second.Adopt(repo_->path());
  EXPECT_THAT(adopted, ::testing::UnorderedElementsAre("adopt-crashes", "adopt-edits"));
  for (const InFlightEvaluation& job : second.InFlight())
    EXPECT_EQ(job.job_id, job_of_key[job.key]) << "adopted, not resubmitted: " << job.key;
  EXPECT_EQ(second.Adopt(repo_->path()).size(), 0u) << "adopting twice takes nothing new";

  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(second);
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes["adopt-crashes"].has_verdict) << outcomes["adopt-crashes"].error;
  ASSERT_TRUE(outcomes["adopt-edits"].has_verdict) << outcomes["adopt-edits"].error;
  EXPECT_EQ(outcomes["adopt-crashes"].tries, 1);
  EXPECT_EQ(outcomes["adopt-crashes"].verdict().failed_gate, LocalFailedGate("crashes.txt"));
  EXPECT_EQ(outcomes["adopt-edits"].verdict().failed_gate, LocalFailedGate("edits_test.txt"));

  // Not acknowledged yet: a third process would get the verdicts again (none is lost).
  {
    SlurmExecutor third(Options());
    EXPECT_EQ(third.Adopt(repo_->path()).size(), 2u);
    std::map<std::string, EvaluationOutcome> again = CollectByKey(third, 30);
    EXPECT_EQ(again.size(), 2u);
    EXPECT_TRUE(again["adopt-edits"].has_verdict);
  }
  second.Acknowledge("adopt-crashes");
  second.Acknowledge("adopt-edits");
  SlurmExecutor fourth(Options());
  EXPECT_TRUE(fourth.Adopt(repo_->path()).empty());

  ProcessResult ghost_state = Slurm({"squeue", "-h", "-t", "all", "-j", ghost_id, "-o", "%T"});
  EXPECT_THAT(ghost_state.out, HasSubstr("CANCEL")) << "the orphan job was not cancelled";
}

TEST_F(SlurmExecutorTest, CancelAllLeavesNoJob) {
  SlurmExecutor executor(Options());
  executor.Submit(Request("stop-speedup", "speedup.txt"));
  executor.Submit(Request("stop-crashes", "crashes.txt"));
  ASSERT_FALSE(WaitUntilRunning(executor, "stop-speedup").empty());
  executor.CancelAll();  // what Ctrl-C does
  EXPECT_TRUE(executor.InFlight().empty());
  EXPECT_FALSE(fs::exists(EvaluationFolder(repo_->path(), "stop-speedup")));
  std::string left;
  for (int i = 0; i < 40; ++i) {
    left = ActiveJobs();
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(left, "") << "jobs still queued or running after CancelAll";
  SlurmExecutor restarted(Options());
  EXPECT_TRUE(restarted.Adopt(repo_->path()).empty()) << "cancelled evaluations are not adopted";
}

TEST_F(SlurmExecutorTest, JobStuckInTheQueueIsRetriedThenGivenUp) {
  SlurmExecutorOptions options = Options();
  options.sbatch_args = {"--hold"};  // every try waits in the queue for ever
  options.max_queue_seconds = 2;
  options.max_tries = 2;
  SlurmExecutor executor(options);
  executor.Submit(Request("held", "edits_test.txt"));
  // Not judged: never a failed gate.
  const EvaluationOutcome outcome = CollectGivenUp(executor, "held", 2, 60);
  ASSERT_EQ(outcome.infrastructure_events.size(), 2u);
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("waited in the queue"));
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("resubmitted as try 2 of 2"));
  EXPECT_THAT(outcome.infrastructure_events[1], HasSubstr("no tries left"));
  executor.Acknowledge("held");
  EXPECT_FALSE(fs::exists(EvaluationFolder(repo_->path(), "held")));
  std::string left;
  for (int i = 0; i < 20 && !(left = ActiveJobs()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(left, "") << "the held tries were not cancelled";
}

TEST_F(SlurmExecutorTest, RefusesWhatItCannotRun) {
  SlurmExecutor executor(Options());
  EvaluationRequest bad_key = Request("../escape", "speedup.txt");
  EXPECT_THROW(executor.Submit(bad_key), ExecutorError);
  // A benchmark job goes --exclusive to the benchmark partition: an unknown one is refused by
  // sbatch, and nothing is left behind.
  SlurmExecutorOptions bench_options = Options();
  bench_options.bench_partition = "no-such-bench-partition";
  SlurmExecutor bench_executor(bench_options);
  EvaluationRequest with_benchmark = Request("bench", "speedup.txt");
  with_benchmark.settings.benchmark = true;
  EXPECT_THROW(bench_executor.Submit(with_benchmark), ExecutorError);
  EXPECT_FALSE(fs::exists(EvaluationFolder(repo_->path(), "bench")));
  SlurmExecutorOptions options = Options();
  options.partition = "no-such-partition";
  SlurmExecutor wrong_partition(options);
  try {
    wrong_partition.Submit(Request("nopart", "speedup.txt"));
    ADD_FAILURE() << "sbatch accepted an unknown partition";
  } catch (const ExecutorError& e) {
    EXPECT_THAT(e.what(), HasSubstr("sbatch"));
  }
  EXPECT_FALSE(fs::exists(EvaluationFolder(repo_->path(), "nopart")));
  // A key an earlier process submitted and nobody acknowledged is adopted, not submitted again.
  fs::path earlier = EvaluationFolder(repo_->path(), "earlier");
  fs::create_directories(earlier);
  { std::ofstream(earlier / "job.json") << "{}"; }
  EXPECT_THROW(executor.Submit(Request("earlier", "speedup.txt")), ExecutorError);
  EXPECT_TRUE(fs::exists(earlier / "job.json"));
  fs::remove_all(earlier);
  EXPECT_TRUE(executor.InFlight().empty());
}

// Jobs on one node reuse its warm tree: the second job is checked against the first's seal and
// rebuilds incrementally; a tree whose files no longer match their seal (a corrupted object file)
// is wiped and built from nothing, said in the outcome, and the verdict is still the local one.
TEST_F(SlurmExecutorTest, WarmTreeIsReusedAndACorruptOneIsRebuilt) {
  SlurmExecutorOptions options = Options();
  options.node_cache_dir = (*cluster_dir_ / "warm-reuse").string();
  options.sbatch_args = {"--nodelist=rlvr1"};
  SlurmExecutor executor(options);
  auto judge = [&](const std::string& key, const std::string& candidate) {
    executor.Submit(Request(key, candidate));
    std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
    EvaluationOutcome outcome = outcomes[key];
    std::string notes =
        ReadFileText(EvaluationFolder(repo_->path(), key) / ("warm." + outcome.job_id));
    EXPECT_TRUE(outcome.has_verdict) << key << ": " << outcome.error;
    const GateResult* build = outcome.has_verdict ? outcome.verdict().FindGate("build") : nullptr;
    double build_seconds = build == nullptr ? -1 : build->seconds;
    std::fprintf(stderr, "%s on %s: build gate %.1f s, run %.1f s; %s", key.c_str(),
                 outcome.node.c_str(), build_seconds, outcome.run_seconds, notes.c_str());
    executor.Acknowledge(key);
    return std::make_tuple(outcome, notes, build_seconds);
  };
  auto [cold, cold_notes, cold_build] = judge("warm-cold", "speedup.txt");
  EXPECT_THAT(cold_notes, HasSubstr("new, built from nothing"));
  EXPECT_EQ(cold.node, "rlvr1");
  auto [warm, warm_notes, warm_build] = judge("warm-warm", "crashes.txt");
  EXPECT_THAT(warm_notes, HasSubstr("verified"));
  EXPECT_TRUE(warm.infrastructure_events.empty());
  EXPECT_EQ(warm.verdict().failed_gate, LocalFailedGate("crashes.txt"));
  EXPECT_LT(warm_build, cold_build) << "the warm tree did not spare the build";

  // Corrupt one object file of the sealed tree, as a bad disk or a stray writer would.
  fs::path slot;
  for (const auto& entry : fs::recursive_directory_iterator(options.node_cache_dir))
    if (entry.path().filename() == "manifest") slot = entry.path().parent_path();
  ASSERT_FALSE(slot.empty()) << "no sealed slot under " << options.node_cache_dir;
  fs::path object;
  for (const auto& entry : fs::recursive_directory_iterator(slot / "repo" / ".rlvr" / "build"))
    if (entry.is_regular_file() && entry.path().extension() == ".o") object = entry.path();
  ASSERT_FALSE(object.empty());
  {
    std::fstream file(object, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(64);
    file.write("corrupt!", 8);
  }
  auto [rebuilt, rebuilt_notes, rebuilt_build] = judge("warm-corrupt", "crashes.txt");
  EXPECT_THAT(rebuilt_notes, HasSubstr("corrupt"));
  EXPECT_THAT(rebuilt_notes, HasSubstr("wiped, built from nothing"));
  ASSERT_EQ(rebuilt.infrastructure_events.size(), 1u);
  EXPECT_THAT(rebuilt.infrastructure_events[0], HasSubstr("corrupt"));
  EXPECT_EQ(rebuilt.tries, 1);  // a rebuild, not a retry
  EXPECT_EQ(rebuilt.verdict().failed_gate, LocalFailedGate("crashes.txt"));
}

// An evaluation with the benchmark stage runs its checks in a shared job and only then takes an
// exclusive node, for the benchmark alone; a candidate failing its checks never takes one.
// Warm trees no job has taken for more than kUnusedSlotDays (an older rlvr binary, a changed
// rlvr.json) would fill the node's disk night after night: the next job on the node empties
// them, but never one in use (locked) or recently taken, nor another node's.
TEST_F(SlurmExecutorTest, UnusedWarmTreesAreEmptiedByTheNextJobOnTheirNode) {
  SlurmExecutorOptions options = Options();
  options.node_cache_dir = (*cluster_dir_ / "warm-prune").string();
  options.sbatch_args = {"--nodelist=rlvr1"};
  const fs::path cache = options.node_cache_dir;
  auto make_slot = [&](const std::string& node, const std::string& key, int days_unused) {
    fs::path slot = cache / node / key / "slot-1";
    fs::create_directories(slot / "repo" / ".rlvr");
    std::ofstream(slot / "repo" / ".rlvr" / "object.o") << "built";
    std::ofstream(slot / "manifest") << "sealed";
    std::ofstream(slot / "lock");
    fs::last_write_time(
        slot / "lock", fs::file_time_type::clock::now() - std::chrono::hours(24 * days_unused + 1));
    return slot;
  };
  const fs::path unused = make_slot("rlvr1", "0000000000000old", kUnusedSlotDays + 1);
  const fs::path recent = make_slot("rlvr1", "00000000000recent", kUnusedSlotDays - 1);
  const fs::path in_use = make_slot("rlvr1", "0000000000000busy", kUnusedSlotDays + 1);
  const fs::path elsewhere = make_slot("rlvr2", "0000000000000old", kUnusedSlotDays + 1);
  int lock = open((in_use / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(flock(lock, LOCK_EX | LOCK_NB), 0);  // as a job using it holds it

  SlurmExecutor executor(options);
  executor.Submit(Request("warm-prune", "edits_test.txt"));
  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor, 120);
  close(lock);
  const EvaluationOutcome& outcome = outcomes["warm-prune"];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.node, "rlvr1");
  std::string notes =
      ReadFileText(EvaluationFolder(repo_->path(), "warm-prune") / ("warm." + outcome.job_id));
  EXPECT_THAT(notes, HasSubstr("warm tree " + unused.string() + " unused for more than " +
                               std::to_string(kUnusedSlotDays) + " days: emptied"));
  EXPECT_TRUE(outcome.infrastructure_events.empty()) << "housekeeping, not a fault";
  executor.Acknowledge("warm-prune");

  EXPECT_FALSE(fs::exists(unused / "repo"));
  EXPECT_FALSE(fs::exists(unused / "manifest"));
  EXPECT_TRUE(fs::exists(unused / "lock")) << "a job that opened it must still exclude others";
  for (const fs::path& kept : {recent, in_use, elsewhere}) {
    EXPECT_TRUE(fs::exists(kept / "repo" / ".rlvr" / "object.o")) << kept;
    EXPECT_TRUE(fs::exists(kept / "manifest")) << kept;
  }
  // The job's own slot is marked as just taken.
  bool own_slot_marked = false;
  for (const auto& entry : fs::directory_iterator(cache / "rlvr1")) {
    fs::path lock_file = entry.path() / "slot-1" / "lock";
    if (entry.path().filename().string().starts_with("0000") || !fs::exists(lock_file)) continue;
    own_slot_marked =
        fs::file_time_type::clock::now() - fs::last_write_time(lock_file) < std::chrono::hours(1);
  }
  EXPECT_TRUE(own_slot_marked);
}

TEST_F(SlurmExecutorTest, SplitStagesHoldTheBenchmarkNodeOnlyForTheBenchmark) {
  SlurmExecutorOptions options = Options();
  options.bench_partition = "bench";
  SlurmExecutor executor(options);
  EvaluationRequest fast = Request("split-fast", "speedup.txt");
  fast.settings.benchmark = true;
  fast.settings.bench_rounds = 6;
  EvaluationRequest failing = Request("split-crash", "crashes.txt");
  failing.settings.benchmark = true;
  executor.Submit(fast);
  executor.Submit(failing);
  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);

  const EvaluationOutcome& measured = outcomes["split-fast"];
  ASSERT_TRUE(measured.has_verdict) << measured.error;
  Verdict verdict = measured.verdict();
  EXPECT_TRUE(verdict.promotable) << verdict.message;
  EXPECT_EQ(measured.tries, 2);                // one job per stage
  EXPECT_THAT(measured.node, HasSubstr(","));  // the checks node, then the benchmark node
  for (const char* gate : {"tests", "history", "allocations", "benchmark"}) {
    ASSERT_NE(verdict.FindGate(gate), nullptr) << gate;
    EXPECT_EQ(verdict.FindGate(gate)->status, GateStatus::kPass) << gate;
  }
  std::vector<std::string> jobs = JobsOf("split-fast");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_THAT(JobField(jobs[0], "Comment"), HasSubstr("stage=checks"));
  EXPECT_EQ(JobField(jobs[0], "Partition"), "checks");
  EXPECT_EQ(JobField(jobs[0], "OverSubscribe"), "OK");  // shared
  EXPECT_THAT(JobField(jobs[1], "Comment"), HasSubstr("stage=benchmark"));
  EXPECT_EQ(JobField(jobs[1], "Partition"), "bench");
  EXPECT_EQ(JobField(jobs[1], "OverSubscribe"), "NO");  // exclusive
  EXPECT_EQ(jobs[1], measured.job_id);

  const EvaluationOutcome& crashed = outcomes["split-crash"];
  ASSERT_TRUE(crashed.has_verdict) << crashed.error;
  EXPECT_EQ(crashed.verdict().failed_gate, "tests");
  EXPECT_EQ(crashed.tries, 1);
  EXPECT_EQ(JobsOf("split-crash").size(), 1u) << "a failed candidate took a benchmark node";
  executor.Acknowledge("split-fast");
  executor.Acknowledge("split-crash");
}

// A node lost under a running checks job (set down: Slurm kills and requeues its jobs) costs that
// evaluation one try: it runs again on another node and the verdict is the candidate's.
TEST_F(SlurmExecutorTest, NodeLostDuringAChecksJobCostsOneTry) {
  SlurmExecutor executor(Options());
  EvaluationRequest request = Request("lost-checks", "hangs.txt");
  request.settings.test_timeout_seconds = 12;
  executor.Submit(request);
  std::string job = WaitUntilRunning(executor, "lost-checks");
  ASSERT_FALSE(job.empty());
  std::string node = NodeOf("lost-checks", job);
  ASSERT_FALSE(node.empty());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  LoseNode(node);
  for (int i = 0; i < 40 && TriesInFlight(executor, "lost-checks") < 2; ++i) {
    executor.Collect(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ReleaseRequeued(job);
  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
  RestoreNode(node);
  const EvaluationOutcome& outcome = outcomes["lost-checks"];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.tries, 2);
  ASSERT_EQ(outcome.infrastructure_events.size(), 1u);
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("its run on " + node + " is lost"));
  EXPECT_NE(outcome.node, node);  // judged on another node
  EXPECT_EQ(outcome.verdict().failed_gate, "tests");
  executor.Acknowledge("lost-checks");
}

// A node lost under a running benchmark job costs that stage one try: the checks are not run
// again, the benchmark stage runs on another node, and the candidate is still promotable.
TEST_F(SlurmExecutorTest, NodeLostDuringABenchmarkJobCostsOneTry) {
  SlurmExecutorOptions options = Options();
  options.bench_partition = "bench";
  SlurmExecutor executor(options);
  EvaluationRequest request = Request("lost-bench", "speedup.txt");
  request.settings.benchmark = true;
  request.settings.bench_rounds = 6;
  executor.Submit(request);
  std::string job = WaitForStage(executor, "lost-bench", "benchmark");
  ASSERT_FALSE(job.empty());
  std::string node = NodeOf("lost-bench", job);
  ASSERT_FALSE(node.empty());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  LoseNode(node);
  for (int i = 0; i < 40 && TriesInFlight(executor, "lost-bench") < 3; ++i) {
    executor.Collect(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ReleaseRequeued(job);
  std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(executor);
  RestoreNode(node);
  const EvaluationOutcome& outcome = outcomes["lost-bench"];
  ASSERT_TRUE(outcome.has_verdict) << outcome.error;
  EXPECT_EQ(outcome.tries, 3);  // checks once, the benchmark twice
  ASSERT_EQ(outcome.infrastructure_events.size(), 1u) << outcome.infrastructure_events[0];
  EXPECT_THAT(outcome.infrastructure_events[0], HasSubstr("its run on " + node + " is lost"));
  EXPECT_TRUE(outcome.verdict().promotable) << outcome.verdict().message;
  EXPECT_EQ(JobsOf("lost-bench").size(), 2u);  // the checks job was not repeated
  executor.Acknowledge("lost-bench");
}

// The measurement behind the README's table (run by hand: --gtest_also_run_disabled_tests): a
// round of the nine one-file fixture candidates (all but hangs.txt), checks only, without
// sanitizers, judged by the local executor one after the other in a warm repository, and by the
// cluster with warm nodes (a first round warms every slot; the second is timed). Same verdicts.
TEST_F(SlurmExecutorTest, DISABLED_RoundOfNineWarmClusterAgainstWarmLocal) {
  std::vector<std::string> candidates;
  for (const auto& entry : fs::directory_iterator(fs::path(RLVR_FIXTURES_DIR) / "candidates"))
    if (entry.path().filename() != "hangs.txt") candidates.push_back(entry.path().filename());
  std::sort(candidates.begin(), candidates.end());
  ASSERT_EQ(candidates.size(), 9u);
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  FixtureRepo local_repo = MakeFixtureRepo();
  LocalExecutor local({.rlvr_binary = RLVR_BINARY});
  std::map<std::string, std::string> local_gates;
  double local_seconds = 0;
  for (int round = 0; round < 2; ++round) {  // the first warms the repository's build dirs
    auto start = std::chrono::steady_clock::now();
    for (const std::string& candidate : candidates) {
      std::string key =
          "l" + std::to_string(round) + "-" + candidate.substr(0, candidate.find('.'));
      local.Submit({key, local_repo.path(), "dot", ReadCandidate(candidate), QuickSettings()});
      for (EvaluationOutcome& outcome : CollectAll(local, 600)) {
        ASSERT_TRUE(outcome.has_verdict) << outcome.error;
        local_gates[candidate] = outcome.verdict().failed_gate;
        local.Acknowledge(outcome.key);
      }
    }
    local_seconds = seconds_since(start);
    std::fprintf(stderr, "local round %d: %.1f s\n", round + 1, local_seconds);
  }

  SlurmExecutor cluster(Options());
  double cluster_seconds = 0;
  for (int round = 0; round < 2; ++round) {  // the first warms the nodes' slots
    auto start = std::chrono::steady_clock::now();
    for (const std::string& candidate : candidates)
      cluster.Submit(Request(
          "c" + std::to_string(round) + "-" + candidate.substr(0, candidate.find('.')), candidate));
    std::map<std::string, EvaluationOutcome> outcomes = CollectByKey(cluster, 600);
    cluster_seconds = seconds_since(start);
    std::fprintf(stderr, "cluster round %d: %.1f s\n", round + 1, cluster_seconds);
    for (const std::string& candidate : candidates) {
      std::string key =
          "c" + std::to_string(round) + "-" + candidate.substr(0, candidate.find('.'));
      const EvaluationOutcome& outcome = outcomes[key];
      ASSERT_TRUE(outcome.has_verdict) << key << ": " << outcome.error;
      EXPECT_EQ(outcome.verdict().failed_gate, local_gates[candidate]) << candidate;
      std::fprintf(stderr, "  %s on %s: queued %.1f s, ran %.1f s, failed gate '%s'\n", key.c_str(),
                   outcome.node.c_str(), outcome.queued_seconds, outcome.run_seconds,
                   outcome.verdict().failed_gate.c_str());
      cluster.Acknowledge(key);
    }
  }
  std::fprintf(stderr, "warm cluster / warm local: %.2fx\n", cluster_seconds / local_seconds);
}

TEST_F(SlurmExecutorTest, NoJobLeftBehind) {
  EXPECT_EQ(ActiveJobs(), "");
}

}  // namespace
}  // namespace rlvr
