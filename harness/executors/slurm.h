// The Slurm executor (executors/executor.h): each candidate's evaluation is one batch job, so a
// round's candidates are judged in parallel on the cluster's nodes. Workers need no network: the
// job reads the repository through the shared filesystem every Slurm cluster has (the repository
// and the rlvr binary must be at the same paths on the nodes), checks out the commit the candidate
// is judged against in a warm tree of the node (executors/slurm_warm_tree.h: build dirs kept
// between jobs, verified against their seal, rebuilt when unsealed or corrupt), runs
//   rlvr evaluate <reply> --target T --json [--no-benchmark | --benchmark-stage] -C <tree>
// and writes verdict.json into the evaluation's folder <repo>/.rlvr/jobs/<key>/, where the
// executor reads it. An evaluation with the benchmark stage (settings.benchmark) runs as two jobs
// (split_stages): its checks on a shared node of the checks partition, then, only if they all
// passed (their verdict kept as checks.json), the benchmark stage --exclusive on the benchmark
// partition (and constraint), so `rlvr evaluate --benchmark-stage` builds and runs HEAD's and the
// candidate's benchmark binaries interleaved on that one node, alone; absolute times from
// different nodes are never compared. The two verdicts are joined (executors/staged_verdict.h).
// Each stage has max_tries of its own; the job's comment names its stage.
//
// Identity that survives a restart: the folder holds job.json (request, commit, every try's job
// id) and every job carries the name "rlvr-<key>" and the comment
// "rlvr repo=<repo> key=<key> try=<n> run=<run tag>", so Adopt finds a killed process's jobs
// both ways, and cancels jobs of this repository that no unacknowledged evaluation owns.
//
// A job that ends CANCELLED (not by this executor), PREEMPTED, NODE_FAIL, TIMEOUT, BOOT_FAIL,
// DEADLINE or OUT_OF_MEMORY, that vanishes from the queue without a verdict, or that waits in the
// queue longer than max_queue_seconds, is resubmitted (max_tries in all) and the fault listed in
// the outcome's infrastructure_events. A job that ends by itself without a verdict (the
// evaluation could not run, e.g. rlvr evaluate exited 2) is an outcome without verdict at once.
//
// A job Slurm requeues itself (a lost node, `scontrol requeue`, a failed prolog) runs again under
// the same id: squeue's RestartCnt and the restart count on each start line its script writes
// reveal it (executors/slurm_job_view.h). Each restart is a try of that job id (job.json keeps
// its restart number, so a restarted rlvr neither misses nor double-counts one) and an
// infrastructure event; the outcome's queue time is the last run's, from Slurm's submit time
// after the requeue to its start. Restarts count against max_tries like resubmissions do: a try
// is a start, whoever made it, and a job Slurm keeps losing (a flapping node) must end as "not
// judged" rather than hold the loop for ever; past max_tries the job is cancelled. A verdict a
// run wrote before Slurm requeued its job is kept and the requeued job cancelled. A job Slurm
// requeued held (a failed prolog, `scontrol requeuehold`) would never run by itself: it is
// cancelled and resubmitted like the faults above.
//
// Every scheduler command (sbatch, squeue, scancel) runs through RunProcess.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/executors/executor.h"
#include "harness/executors/slurm_job_view.h"

namespace rlvr {

struct SlurmExecutorOptions {
  // rlvr on the nodes: the same path must hold the same program there (shared filesystem).
  std::filesystem::path rlvr_binary;
  std::string partition;  // for the checks; empty = the cluster's default
  // For evaluations with the benchmark stage (submitted --exclusive): the partition (empty = the
  // checks partition) and a node feature constraint (--constraint; empty = none).
  std::string bench_partition;
  std::string bench_constraint;
  std::vector<std::string> sbatch_args;  // extra, e.g. {"--time=60", "--cpus-per-task=4"}
  std::string run_tag;                   // names the rlvr run in the jobs' comment ("12")
  int max_in_flight = 0;                 // jobs submitted at once; 0 = no limit
  // Tries per evaluation, the first included: submissions and Slurm's own reruns of a job.
  int max_tries = 3;
  double max_queue_seconds = 0;  // pending longer: cancelled and resubmitted; 0 = no limit
  double poll_seconds = 1;       // between looks at the queue
  // Node-local root of the warm trees (executors/slurm_warm_tree.h): empty = the default,
  // ${TMPDIR:-/tmp}/rlvr-warm-<uid> on the node; "none" = a fresh clone built from nothing per job.
  std::string node_cache_dir;
  // An evaluation with the benchmark stage runs as two jobs: the checks on a shared node of
  // `partition`, then, only if they passed, the benchmark stage on an exclusive node (false: one
  // exclusive job does everything).
  bool split_stages = true;
  // Variables set for sbatch, squeue and scancel (and thus the jobs), e.g. SLURM_CONF. When it
  // does not name SLURM_CONF, rlvr's own SLURM_CONF (if any) is passed on.
  std::map<std::string, std::string> environment;
};

class SlurmExecutor : public Executor {
 public:
  explicit SlurmExecutor(SlurmExecutorOptions options);
  ~SlurmExecutor() override;  // leaves jobs running: Adopt or CancelAll decide their fate

  std::string name() const override { return "slurm"; }
  void Submit(const EvaluationRequest& request) override;
  std::vector<EvaluationOutcome> Collect(double timeout_seconds) override;
  void Acknowledge(const std::string& key) override;
  void Cancel(const std::string& key) override;
  void CancelAll() override;
  std::vector<InFlightEvaluation> InFlight() const override;
  std::vector<std::string> Adopt(const std::filesystem::path& repo) override;

 private:
  struct Evaluation;
  using Queue = std::map<std::string, SlurmQueueEntry>;  // by job id

  Queue LookAtQueue(bool* ok) const;
  void SubmitTry(Evaluation& evaluation);  // throws ExecutorError when sbatch fails
  void SubmitWaiting(std::vector<EvaluationOutcome>& finished);
  // Decides what `evaluation` has become; appends to `finished` when it is over.
  void Advance(Evaluation& evaluation, const Queue& queue,
               std::vector<EvaluationOutcome>& finished);
  void Retry(Evaluation& evaluation, const std::string& fault,
             std::vector<EvaluationOutcome>& finished);
  // Records the restarts of the current try's job that Slurm made (a lost node, `scontrol
  // requeue`: the same job id runs again) beyond those already recorded, up to `restarts`: one try
  // and one infrastructure event each. `entry` is the job's line in squeue (nullptr if none),
  // `starts` its script's start lines. Returns false when max_tries ran out: the job is then
  // cancelled and the outcome (not judged) appended to `finished`.
  bool NoteRestarts(Evaluation& evaluation, const SlurmQueueEntry* entry,
                    const std::vector<JobStart>& starts, int restarts,
                    std::vector<EvaluationOutcome>& finished);
  EvaluationOutcome Finish(Evaluation& evaluation);
  // The current job left verdict.json: the outcome, or, after a passed checks stage, the
  // benchmark stage's job made ready to submit (the evaluation then waits again).
  void VerdictArrived(Evaluation& evaluation, std::vector<EvaluationOutcome>& finished);
  std::string NodeCacheDir() const;
  // Throws ExecutorError when the controller would refuse the benchmark stage's job (sbatch
  // --test-only, once per executor).
  void CheckBenchmarkStageSubmits();
  std::vector<std::string> BenchmarkStageArguments()
      const;  // --partition, --constraint  // a shell word for the job script; empty = no warm tree
  // Finish with the verdict.json of the evaluation's folder (or the error of reading it).
  EvaluationOutcome FinishWithVerdict(Evaluation& evaluation);
  void Save(const Evaluation& evaluation) const;
  bool ScancelJobs(const std::vector<std::string>& job_ids) const;
  int Submitted() const;

  SlurmExecutorOptions options_;
  std::map<std::string, std::unique_ptr<Evaluation>> evaluations_;  // by key, not yet collected
  std::map<std::string, std::filesystem::path> collected_;  // key -> folder, until acknowledged
  bool benchmark_stage_checked_ = false;
};

}  // namespace rlvr
