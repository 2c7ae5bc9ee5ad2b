// The settings of one `rlvr iterate` run (iterate.h), resolved before anything starts: the flags
// as given, falling back to rlvr.json's "llm" and "executor" sections (executors/config.h), then
// to defaults. The API key is never among them: it stays in the environment variable they name.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/executors/config.h"
#include "harness/llm/client.h"
#include "harness/llm/price.h"
#include "harness/loop/loop.h"
#include "harness/loop/model_list.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

// `rlvr iterate`'s flags as given; an unset optional falls back to rlvr.json, then a default.
struct IterateFlags {
  std::vector<std::string> targets;  // empty = every target
  std::string llm = "http";          // the model source: "http" or "replay:PATH"
  // Per model (loop/model_list.h): --model repeated for several models; the others once for all
  // models or once per --model.
  std::vector<std::string> models, base_urls, api_key_envs, prices;
  std::vector<double> temperatures;
  std::optional<std::string> api;
  std::optional<int> reply_tokens;
  std::optional<int> candidates;
  std::optional<std::string> strategy;  // loop/strategy.h; rlvr.json llm.strategy
  double connect_timeout = 10;
  double timeout = 600;
  int retries = 5;
  LoopSettings loop;  // budgets, repairs, history, prompt size as the flags set them
  bool no_sanitizers = false;
  bool no_benchmark = false;
  int bench_rounds = 0;
  // Executor: flags override rlvr.json's "executor" section (executors/config.h).
  std::optional<std::string> executor, partition, bench_partition, bench_constraint, rlvr_binary;
  std::vector<std::string> sbatch_args;
  std::optional<int> max_jobs, max_tries, candidates_per_round;
  std::optional<double> max_queue_seconds;
  int jobs = 1;        // candidates judged at once by the local executor
  int build_jobs = 2;  // build parallelism of each evaluation
  bool verbose = false;
};

// What the run uses, every choice made.
struct IterateSettings {
  Project project;
  std::string llm_source;         // IterateFlags::llm
  LlmSettings llm;                // the first model's; its `cancelled` abandons a request on a stop
  std::vector<ModelSpec> models;  // at least one (loop/model_list.h)
  ExecutorConfig executor;
  int jobs = 1;  // candidates judged at once by the local executor (> 1: a local pool)
  EvaluateOptions evaluation;
  // Targets, candidates per round and the evaluation limits resolved; no executor yet (RunIterate
  // makes it).
  LoopSettings loop;
  nlohmann::json recorded;  // stored with the ledger's run: every setting but the key
};

// Reads `repo_root`/rlvr.json (LoadProject, which also sets the children's pass-through
// environment) and resolves `flags` against it. Changes nothing in the repository. Throws
// CLI::RuntimeError with exit status 2, its message starting "rlvr iterate: ", on a bad rlvr.json,
// an unknown target, a wrong type in the "llm" section (its "price" included), a bad executor
// setting, flags out of range (--api, --jobs, -n, --price, a negative --max-cost) or --max-cost
// without a price.
IterateSettings ResolveIterateSettings(const std::filesystem::path& repo_root, IterateFlags flags);

}  // namespace rlvr
