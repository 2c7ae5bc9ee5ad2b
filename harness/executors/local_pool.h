// Local parallelism without a cluster (`rlvr iterate --jobs N`): up to N candidates are judged at
// once on this machine, each by `rlvr evaluate --json` in a clone of the repository at the judged
// commit (<repo>/.rlvr/pool/<key>/, removed after), so their apply, build and test stages
// overlap. Benchmarks stay serialized under one lock: a candidate that passes every check is
// measured by a second `rlvr evaluate` in its (now warm) clone while holding the lock exclusively,
// and no check of another candidate starts or runs meanwhile (checks hold the lock shared; a
// waiting benchmark keeps new checks from starting). So the A/B timing sees a quiet machine, at
// the price of running the passing candidates' checks twice.
//
// Nothing outlives the process: its `rlvr evaluate` children die with it (base/process_guard.h)
// and record their own children where it does (base/leftover_processes.h); CancelAll kills every
// process group this process runs (so only where no other child must survive, as in the loop);
// Adopt takes over nothing but removes the clones a killed predecessor left in .rlvr/pool/.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/executors/executor.h"

namespace rlvr {

struct LocalPoolOptions {
  std::filesystem::path rlvr_binary;  // this rlvr
  int parallel = 2;                   // candidates judged at once
  double timeout_seconds = 4 * 3600;  // per `rlvr evaluate`
};

class LocalPoolExecutor : public Executor {
 public:
  explicit LocalPoolExecutor(LocalPoolOptions options);
  ~LocalPoolExecutor() override;  // cancels what is still running

  std::string name() const override { return "local"; }
  void Submit(const EvaluationRequest& request) override;
  std::vector<EvaluationOutcome> Collect(double timeout_seconds) override;
  void Acknowledge(const std::string& key) override;
  void Cancel(const std::string& key) override;
  void CancelAll() override;
  std::vector<InFlightEvaluation> InFlight() const override;
  std::vector<std::string> Adopt(const std::filesystem::path& repo) override;

 private:
  void Work();
  EvaluationOutcome Evaluate(const EvaluationRequest& request);
  void LockChecks();
  void UnlockChecks();
  void LockBenchmark();
  void UnlockBenchmark();

  LocalPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a request queued, or stopping
  std::condition_variable done_cv_;  // an outcome finished
  std::deque<EvaluationRequest> queue_;
  std::set<std::string> running_;
  std::set<std::string> cancelled_;  // running, their outcome to be dropped
  std::vector<EvaluationOutcome> done_;
  bool stopping_ = false;

  // The benchmark lock (checks shared, benchmark exclusive, benchmarks preferred).
  std::mutex lock_mu_;
  std::condition_variable lock_cv_;
  int checks_running_ = 0;
  int benchmarks_waiting_ = 0;
  bool benchmark_running_ = false;

  std::vector<std::thread> workers_;
};

}  // namespace rlvr
