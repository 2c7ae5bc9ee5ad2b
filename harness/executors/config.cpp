#include "harness/executors/config.h"

#include <stdexcept>

namespace rlvr {

namespace {

using nlohmann::json;

[[noreturn]] void Bad(const std::string& key, const std::string& why) {
  throw std::invalid_argument("rlvr.json executor." + key + ": " + why);
}

std::string String(const json& value, const std::string& key) {
  if (!value.is_string()) Bad(key, "must be a string");
  return value.get<std::string>();
}

}  // namespace

ExecutorConfig ExecutorConfigFromJson(const json& rlvr_json) {
  ExecutorConfig config;
  if (!rlvr_json.is_object() || !rlvr_json.contains("executor")) return config;
  const json& section = rlvr_json["executor"];
  if (!section.is_object()) throw std::invalid_argument("rlvr.json \"executor\" must be an object");
  for (const auto& [key, value] : section.items()) {
    if (key == "kind") {
      config.kind = String(value, key);
    } else if (key == "partition") {
      config.partition = String(value, key);
    } else if (key == "bench_partition") {
      config.bench_partition = String(value, key);
    } else if (key == "bench_constraint") {
      config.bench_constraint = String(value, key);
    } else if (key == "rlvr_binary") {
      config.rlvr_binary = String(value, key);
    } else if (key == "node_cache") {
      config.node_cache = String(value, key);
    } else if (key == "split_stages") {
      if (!value.is_boolean()) Bad(key, "must be true or false");
      config.split_stages = value.get<bool>();
    } else if (key == "sbatch_args") {
      if (!value.is_array()) Bad(key, "must be an array of strings");
      for (const json& arg : value) config.sbatch_args.push_back(String(arg, key));
    } else if (key == "max_jobs" || key == "max_tries") {
      if (!value.is_number_integer()) Bad(key, "must be an integer");
      (key == "max_jobs" ? config.max_jobs : config.max_tries) = value.get<int>();
    } else if (key == "max_queue_seconds") {
      if (!value.is_number()) Bad(key, "must be a number");
      config.max_queue_seconds = value.get<double>();
    } else {
      Bad(key,
          "unknown field (expected kind, partition, bench_partition, bench_constraint, "
          "sbatch_args, max_jobs, max_tries, max_queue_seconds, rlvr_binary, node_cache or "
          "split_stages)");
    }
  }
  ValidateExecutorConfig(config);
  return config;
}

void ValidateExecutorConfig(const ExecutorConfig& config) {
  if (config.kind != "local" && config.kind != "slurm")
    Bad("kind", "must be \"local\" or \"slurm\", not \"" + config.kind + "\"");
  if (config.max_jobs < 1 || config.max_jobs > 1024) Bad("max_jobs", "must be between 1 and 1024");
  if (config.max_tries < 1 || config.max_tries > 20) Bad("max_tries", "must be between 1 and 20");
  if (config.max_queue_seconds < 0) Bad("max_queue_seconds", "must not be negative");
}

}  // namespace rlvr
