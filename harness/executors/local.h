// The executor of one machine (executors/executor.h): candidates are judged one after the other, as
// rlvr always did. Either in-process, by the caller's Evaluator (the loop's own, whose scratch
// worktrees and builds stay warm and which can then Promote the verdict), or by running
// `rlvr evaluate --json` as a child process (for tools and tests that hold no Evaluator; that
// command takes the repository lock, so not while a loop holds it).
//
// Nothing here outlives the process: Adopt finds nothing, and an evaluation cut short by a kill
// is simply judged again by whoever asks again.
#pragma once

#include <deque>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "harness/executors/executor.h"

namespace rlvr {

struct LocalExecutorOptions {
  // In-process: this evaluator judges every request (its project's root must be the request's
  // repository). Its own EvaluateOptions apply; the requests' settings are ignored.
  Evaluator* evaluator = nullptr;
  // Otherwise: this rlvr binary's `evaluate` command, one child process per candidate, with the
  // request's settings as its flags.
  std::filesystem::path rlvr_binary;
  double timeout_seconds = 4 * 3600;  // per child process
};

class LocalExecutor : public Executor {
 public:
  explicit LocalExecutor(LocalExecutorOptions options);

  std::string name() const override { return "local"; }
  void Submit(const EvaluationRequest& request) override;
  std::vector<EvaluationOutcome> Collect(double timeout_seconds) override;
  void Acknowledge(const std::string& key) override;
  void Cancel(const std::string& key) override;
  void CancelAll() override;
  std::vector<InFlightEvaluation> InFlight() const override;
  std::vector<std::string> Adopt(const std::filesystem::path& repo) override;

 private:
  EvaluationOutcome RunInProcess(const EvaluationRequest& request);
  EvaluationOutcome RunChild(const EvaluationRequest& request);

  LocalExecutorOptions options_;
  std::deque<EvaluationRequest> queue_;
  std::set<std::string> keys_;  // queued, or returned and not yet acknowledged
  std::vector<std::pair<std::string, std::filesystem::path>> folders_;  // key -> its job folder
};

}  // namespace rlvr
