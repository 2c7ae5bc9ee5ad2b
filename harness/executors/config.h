// Which executor judges the loop's candidates (executors/executor.h), and how: the optional
// "executor" section of rlvr.json, overridden by `rlvr iterate`'s flags of the same meaning.
//
//   "executor": {
//     "kind": "slurm",                  // "local" (default: this machine, one at a time) | "slurm"
//     "partition": "checks",            // jobs without the benchmark stage (shared nodes)
//     "bench_partition": "bench",       // jobs with it, submitted --exclusive
//     "bench_constraint": "icelake",    // --constraint for those jobs (same hardware as baseline)
//     "sbatch_args": ["--time=60", "--cpus-per-task=4"],
//     "max_jobs": 8,                    // jobs in flight at once; also candidates per round
//     "max_tries": 3,                   // tries per evaluation: submissions and Slurm's reruns
//     "max_queue_seconds": 0,           // a job pending longer is resubmitted; 0 = no limit
//     "rlvr_binary": "/shared/bin/rlvr", // rlvr on the nodes; default: this rlvr's own path
//     "node_cache": "/scratch/rlvr",    // warm trees on each node (executors/slurm_warm_tree.h);
//                                       // default ${TMPDIR:-/tmp}/rlvr-warm-<uid>; "none" = off
//     "split_stages": true              // checks on a shared node, then the benchmark exclusive
//   }
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlvr {

struct ExecutorConfig {
  std::string kind = "local";
  std::string partition;
  std::string bench_partition;
  std::string bench_constraint;
  std::vector<std::string> sbatch_args;
  int max_jobs = 4;
  int max_tries = 3;
  double max_queue_seconds = 0;
  std::string rlvr_binary;
  std::string node_cache;    // empty = the default on the node; "none" = no warm trees
  bool split_stages = true;  // false: one exclusive job runs a benchmarked evaluation whole
};

// The "executor" section of `rlvr_json` (a whole rlvr.json; absent = defaults). Throws
// std::invalid_argument naming the field for an unknown field, a wrong type or a bad value.
ExecutorConfig ExecutorConfigFromJson(const nlohmann::json& rlvr_json);

// Checks a config after the flags were applied (kind, max_jobs >= 1, max_tries >= 1); throws
// std::invalid_argument.
void ValidateExecutorConfig(const ExecutorConfig& config);

}  // namespace rlvr
