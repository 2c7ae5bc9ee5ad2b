// `rlvr loop-bench`: the real loop (RunLoop) run against simulated models serving a labelled
// proposal library, once per strategy and seed, one after the other, each from the same start
// state of a clone of the user's repository (loopbench/bench_repo.h), every distinct candidate
// judged once over the whole bench (loopbench/verdict_cache.h). Says per strategy and seed what
// the run achieved (loopbench/run_metrics.h), then per strategy the median and spread over seeds,
// strategies ranked by what a dollar bought; false promotions are verifier holes.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/llm/proposal_library.h"
#include "harness/loopbench/run_metrics.h"
#include "harness/loopbench/settings.h"

namespace rlvr {

// One strategy over its seeds: median and min-max of each figure.
struct StrategySummary {
  std::string strategy;
  int rank = 0;  // 1 = best
  struct Spread {
    double median = 0, min = 0, max = 0;
  };
  Spread speedup, promotions, false_promotions, proposals, tokens, cost, wall_seconds;
  std::optional<Spread> cost_per_promotion;      // over the seeds that promoted
  std::optional<double> median_gain_per_dollar;  // the ranking's key when every run was paid for
};

struct LoopBenchResult {
  std::string start_commit;
  std::vector<RunMetrics> runs;             // strategy-major, seeds in order
  std::vector<StrategySummary> strategies;  // ranked
  int judged = 0;                           // evaluations the verifier made
  int reused = 0;                           // evaluations answered from an identical earlier one
  int false_promotions = 0;
  bool interrupted = false;  // a stop signal ended a run; the runs after it were not made

  nlohmann::json ToJson(const LoopBenchSettings& settings) const;
  // The table per strategy and seed, the summaries in rank order, the evaluation counts.
  std::string Render() const;
};

// Where the bench keeps its clone, verdicts, ledgers and loop logs.
struct LoopBenchPaths {
  std::filesystem::path repo_root;  // the user's repository (read, cloned, never changed)
  std::filesystem::path work_dir;   // default <repo_root>/.rlvr/loop-bench
};

// Runs the bench. `proposals` is the library (LoadProposalLibrary). Each run's loop lines go to
// <work_dir>/logs/<strategy>-seed<N>.log; one progress line per run goes to `out`. Throws
// LoopBenchSettingsError for settings the repository or library cannot serve (an unknown target,
// a target with no proposal of a weighted label), std::exception when the harness cannot work.
LoopBenchResult RunLoopBench(const LoopBenchSettings& settings,
                             const std::vector<Proposal>& proposals, const LoopBenchPaths& paths,
                             std::ostream& out);

// Ranks and summarises `runs` per strategy (in `strategies` order before ranking).
std::vector<StrategySummary> SummariseStrategies(const std::vector<std::string>& strategies,
                                                 const std::vector<RunMetrics>& runs);

}  // namespace rlvr
