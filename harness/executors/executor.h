// Where candidates are judged. An Executor takes the evaluation of one candidate (a repository,
// a target, the model's reply, the settings `rlvr evaluate` is given) and later hands back its
// verdict JSON (Verdict::ToJson), so the loop can judge candidates one after the other on this
// machine (LocalExecutor, today's behaviour) or many at once as jobs of a Slurm cluster
// (SlurmExecutor). The loop stays the only writer of the ledger, the branch and the baselines:
// an executor only produces verdicts.
//
// Faults of the infrastructure are not faults of the candidate: a job that is cancelled by
// someone else, preempted, loses its node or times out is retried (a bounded number of times) and
// reported as an infrastructure event; if it still yields no verdict the outcome says so
// (has_verdict=false, error), never a failed gate.
//
// Every evaluation is named by the caller's key (e.g. the ledger attempt id, "a17"), which is the
// identity that survives a restart: a new executor for the same repository finds the evaluations
// a killed process submitted and never acknowledged (Adopt), collects the finished ones and
// follows the rest, so no verdict is lost and no job is orphaned.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/signals.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/verdict.h"

namespace rlvr {

class ExecutorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What `rlvr evaluate` is told for one candidate (its flags of the same names).
struct EvaluationSettings {
  bool sanitizers = true;
  // SlurmExecutor: a job with the benchmark stage is submitted --exclusive to the benchmark
  // partition/constraint (HEAD and candidate interleaved on that one node); without, it may
  // share a node of the checks partition.
  bool benchmark = true;
  bool check_format_only = false;
  uint64_t seed = 0;  // RLVR_TEST_SEED; 0 = fresh random
  double test_timeout_seconds = 120;
  int bench_rounds = 0;  // interleaved benchmark rounds (`rlvr evaluate --rounds`); 0 = default
};

struct EvaluationRequest {
  // The caller's name for this evaluation: unique among the repository's unacknowledged
  // evaluations, stable across restarts; letters, digits, '.', '_' and '-' only, at most 64.
  std::string key;
  std::filesystem::path repo;  // the repository's root (on the shared filesystem for Slurm)
  std::string target;          // a target of the repository's rlvr.json
  std::string reply;           // the model's reply (or a plain patch)
  EvaluationSettings settings;
};

struct EvaluationOutcome {
  std::string key;
  // True when verdict_json holds the verdict. False when no verdict could be produced (the
  // infrastructure gave up after its retries, or the evaluation itself could not run); `error`
  // says why. The candidate was then not judged: record it as such, never as a failed gate.
  bool has_verdict = false;
  nlohmann::json verdict_json;
  std::string error;

  // Where and how it ran, for the ledger.
  std::string job_id;  // the Slurm job id of the try that produced the outcome; "local" locally
  std::string node;    // the host that evaluated it
  double queued_seconds = 0;  // submission to start (of that try)
  double run_seconds = 0;     // start to end (of that try)
  int tries = 0;              // how many times it was started
  // One line per infrastructure fault met on the way ("job 41 CANCELLED on vm after 3.2 s
  // (not by rlvr); resubmitted as try 2 of 3").
  std::vector<std::string> infrastructure_events;

  // VerdictFromJson(verdict_json); meaningful only when has_verdict.
  Verdict verdict() const { return VerdictFromJson(verdict_json); }
};

// One evaluation not yet returned by Collect.
struct InFlightEvaluation {
  std::string key;
  std::string job_id;  // empty while waiting to be submitted
  std::string
      state;  // "waiting" (not submitted yet), or the scheduler's: "PENDING", "RUNNING", ...
  int tries = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;

  virtual std::string name() const = 0;  // "local" | "slurm"

  // Hands over one evaluation; it starts now or as soon as there is room. Throws ExecutorError
  // when the request is malformed (bad key, key in flight) or cannot be submitted at all (no
  // sbatch, the controller refuses it) -- a harness problem, not a verdict.
  virtual void Submit(const EvaluationRequest& request) = 0;

  // Waits up to `timeout_seconds` (0: only look) for evaluations to finish and returns those that
  // did since the last call, each once per executor. Returns early, possibly empty, when a second
  // stop signal arrives (base/signals.h StopRequested). LocalExecutor runs at most one queued
  // evaluation per call, in the calling thread, whatever the timeout.
  virtual std::vector<EvaluationOutcome> Collect(double timeout_seconds) = 0;

  // The caller has recorded this outcome (in the ledger): its job folder is removed and a later
  // Adopt will not report it again. Until then a restarted process gets it again.
  virtual void Acknowledge(const std::string& key) = 0;

  // Stops one evaluation (scancel of its job); it is never returned by Collect nor adopted.
  virtual void Cancel(const std::string& key) = 0;
  // Cancel for every evaluation this executor submitted or adopted (Ctrl-C).
  virtual void CancelAll() = 0;

  virtual std::vector<InFlightEvaluation> InFlight() const = 0;

  // After a restart: takes over the evaluations a previous process submitted for `repo` and did
  // not acknowledge, finished or not; Collect then returns them. Returns their keys.
  virtual std::vector<std::string> Adopt(const std::filesystem::path& repo) = 0;
};

// Collects until nothing is in flight, `timeout_seconds` passed or a stop signal came;
// returns what came back, in completion order.
std::vector<EvaluationOutcome> CollectAll(Executor& executor, double timeout_seconds);

// A key Submit accepts (see EvaluationRequest::key).
inline bool IsValidEvaluationKey(const std::string& key) {
  if (key.empty() || key.size() > 64 || key[0] == '.' || key[0] == '-') return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// <repo>/.rlvr/jobs/<key>: the folder of one evaluation (reply, job script, logs, verdict.json).
inline std::filesystem::path EvaluationFolder(const std::filesystem::path& repo,
                                              const std::string& key) {
  return repo / ".rlvr" / "jobs" / key;
}

inline std::vector<EvaluationOutcome> CollectAll(Executor& executor, double timeout_seconds) {
  std::vector<EvaluationOutcome> outcomes;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (!executor.InFlight().empty() && !StopRequested()) {
    double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    for (EvaluationOutcome& outcome : executor.Collect(left))
      outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace rlvr
