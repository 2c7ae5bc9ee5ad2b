// The optimisation loop behind `rlvr iterate`: for each target in turn, ask the model for N
// candidates (prompt from the accepted files, baseline figures and recent history), evaluate
// each through every gate (with repair turns for candidates that fail to apply, build or pass
// tests), promote the best passing one, and go on from the new baseline. Every attempt is
// written to the ledger as it happens and printed as one line; the loop stops on its budgets,
// after K consecutive endpoint failures, or on a stop signal (see base/signals.h).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/executors/executor.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/client.h"
// How RunLoop records and shows attempts (AttemptLine, VerdictReason, EvaluationKey).
#include "harness/loop/attempt.h"
#include "harness/loop/models.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

struct LoopSettings {
  std::vector<std::string> targets;  // empty = every target of rlvr.json, in file order
  int candidates = 2;                // replies asked for per round
  int max_repairs = 1;               // repair turns per candidate
  int max_iterations = 0;            // rounds with a usable reply, one target each; 0 = no limit
  double max_hours = 0;              // 0 = no limit
  int64_t max_tokens = 0;            // prompt + completion tokens of this run; 0 = no limit
  double max_cost = 0;               // dollars of this run's requests (priced models); 0 = no limit
  // How candidates are sought (loop/strategy.h): "greedy" (default), "best-of-n", "independent",
  // "archive". Recorded with the run.
  std::string strategy = "greedy";
  // Seeds the model bandit and the archive's choice of parent; 0 = drawn at start (recorded).
  uint64_t seed = 0;
  // Target scheduling (target_schedule.h): a target at this fraction of its roofline, or after
  // this many rounds in a row without a promotion, is rested; 0 = never rested that way.
  double rest_at_fraction = 0.9;
  int rest_after_failures = 10;
  // Before each round, a disk with less free space than this under the repository's .rlvr stops
  // the run (a machine fault, exit 2) before any reply is paid for.
  uint64_t min_free_disk_bytes = uint64_t{256} << 20;
  int max_endpoint_failures = 3;  // consecutive model calls without a usable reply
  int history_attempts = 8;       // recent attempts shown in the prompt
  size_t prompt_max_chars = 120000;
  // How long an evaluation may still take, said when a stop is requested during one (e.g. "each
  // build is limited to 20 min, ..."); the evaluator's own limits.
  std::string evaluation_limits = "its builds, tests and benchmarks each run under a time limit";
  // Set by the loop to what it judges now ("vsum 3.1"), so the in-process evaluation's
  // heartbeats (EvaluateOptions::progress, heartbeats only) say which attempt they are about.
  std::shared_ptr<ProgressLabel> evaluation_label;
  // Where candidates are judged. nullptr: in-process by the loop's Evaluator, one after the other
  // (today's behaviour, `--executor local`). Otherwise (a SlurmExecutor) every reply of a round
  // is submitted at once as an evaluation keyed "a<attempt id>" and judged in parallel; repair
  // turns are submitted as their verdicts come back. The loop alone still writes the ledger, the
  // branch and the baselines: at most one candidate per round is promoted (the fastest passing
  // one whose base commit is still HEAD), the others are recorded with their verdicts. At start
  // the loop adopts the evaluations a killed loop left (Adopt) and records their verdicts; the
  // first stop signal cancels the round's jobs (CancelAll).
  Executor* executor = nullptr;
  EvaluationSettings evaluation;  // what the executor's evaluations are told
};

struct LoopResult {
  std::string stop_reason;
  int rounds = 0;    // rounds with a usable reply (what --max-iterations counts)
  int attempts = 0;  // rows written to the ledger, judged or not
  int promotions = 0;
  // The loop stopped because the model could not be used (bad key or model, an unreachable or
  // failing endpoint): `rlvr iterate` exits non-zero.
  bool model_unusable = false;
  // The loop stopped because of a stop signal (Ctrl-C, SIGTERM, RequestStop): its stop reason is
  // "stop signal". `rlvr iterate` exits 128 + the signal.
  bool stopped_by_signal = false;
  // The loop stopped because the machine failed a gate, not a candidate (a nearly full disk, a
  // harness error): `rlvr iterate` exits 2.
  bool machine_fault = false;
};

// Runs the loop under a new ledger run (started and finished here). `settings_json` is stored
// with the run (it must hold no secret). The caller holds the repository lock.
LoopResult RunLoop(const Project& project, CandidateJudge& evaluator, LlmSource& llm,
                   Ledger& ledger, const LoopSettings& settings,
                   const nlohmann::json& settings_json, std::ostream& out);

// The same with several models (at least one), requests allocated among them by the model bandit.
LoopResult RunLoop(const Project& project, CandidateJudge& evaluator,
                   const std::vector<LoopModel>& models, Ledger& ledger,
                   const LoopSettings& settings, const nlohmann::json& settings_json,
                   std::ostream& out);

}  // namespace rlvr
