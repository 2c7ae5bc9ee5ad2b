#include "harness/loop/settings.h"

#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/base/signals.h"
#include "harness/loop/strategy.h"

namespace rlvr {
namespace {

using nlohmann::json;

// CLI11 prints nothing for a RuntimeError: say why on stderr, then exit with `status`.
[[noreturn]] void Fail(const std::string& message, int status) {
  throw CLI::RuntimeError(message, status);
}

// "20 min", "90 s".
std::string Duration(double seconds) {
  return seconds >= 120 ? fmt::format("{:.0f} min", seconds / 60)
                        : fmt::format("{:.0f} s", seconds);
}

// The optional "llm" section of rlvr.json: defaults a repository can carry (never a key).
json LlmSection(const std::filesystem::path& root) {
  std::ifstream in(root / "rlvr.json");
  json all = json::parse(in, nullptr, false);
  if (all.is_discarded() || !all.is_object() || !all.contains("llm")) return json::object();
  if (!all["llm"].is_object()) Fail("rlvr iterate: rlvr.json \"llm\" must be an object", 2);
  return all["llm"];
}

template <typename T>
T Pick(const std::optional<T>& flag, const json& section, const char* key, T fallback) {
  if (flag) return *flag;
  if (section.contains(key)) {
    try {
      return section[key].get<T>();
    } catch (const json::exception&) {
      Fail(std::string("rlvr iterate: rlvr.json llm.") + key + " has the wrong type", 2);
    }
  }
  return fallback;
}

json PriceJson(const ModelPrice& price) {
  json out = {{"input", price.input_per_million}, {"output", price.output_per_million}};
  if (price.cached_input_per_million) out["cached_input"] = *price.cached_input_per_million;
  return out;
}

}  // namespace

IterateSettings ResolveIterateSettings(const std::filesystem::path& repo_root, IterateFlags flags) {
  IterateSettings settings;
  try {
    settings.project = LoadProject(repo_root);
    for (const std::string& t : flags.targets) settings.project.GetTarget(t);
  } catch (const ConfigError& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  json section = LlmSection(repo_root);
  LlmSettings& llm = settings.llm;
  std::string api = Pick(flags.api, section, "api", std::string("chat"));
  if (api == "chat") {
    llm.api = LlmApi::kChatCompletions;
  } else if (api == "responses") {
    llm.api = LlmApi::kResponses;
  } else {
    Fail("rlvr iterate: --api must be 'chat' or 'responses', not '" + api + "'", 2);
  }
  llm.max_tokens = Pick(flags.reply_tokens, section, "max_tokens", llm.max_tokens);
  llm.connect_timeout_seconds = flags.connect_timeout;
  llm.total_timeout_seconds = flags.timeout;
  llm.max_retries = flags.retries;
  if (!(flags.loop.max_cost >= 0)) {
    Fail("rlvr iterate: --max-cost must be a non-negative number of dollars", 2);
  }
  // The first stop signal abandons a model request in flight: nothing has been received (and
  // paid for) yet, and what has is already in the ledger.
  llm.cancelled = [] { return StopRequested(); };
  ModelFlags model_flags{flags.models, flags.base_urls, flags.api_key_envs, flags.prices,
                         flags.temperatures};
  try {
    settings.models = ResolveModels(section, model_flags, llm);
  } catch (const std::invalid_argument& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  for (ModelSpec& spec : settings.models) {
    if (flags.reply_tokens) spec.llm.max_tokens = *flags.reply_tokens;
  }
  if (settings.models.size() > 1 && flags.llm != "http")
    Fail("rlvr iterate: several models need --llm http (a replay is one model)", 2);
  llm = settings.models.front().llm;
  for (const ModelSpec& spec : settings.models) {
    if (flags.loop.max_cost > 0 && !spec.price) {
      Fail("rlvr iterate: --max-cost needs the price of model '" + spec.name +
               "': give --price IN/OUT[/CACHED] (dollars per million tokens) or rlvr.json "
               "llm.price",
           2);
    }
  }
  ExecutorConfig& executor_config = settings.executor;
  try {
    std::ifstream in(repo_root / "rlvr.json");
    executor_config = ExecutorConfigFromJson(json::parse(in, nullptr, false));
    if (flags.executor) executor_config.kind = *flags.executor;
    if (flags.partition) executor_config.partition = *flags.partition;
    if (flags.bench_partition) executor_config.bench_partition = *flags.bench_partition;
    if (flags.bench_constraint) executor_config.bench_constraint = *flags.bench_constraint;
    if (flags.rlvr_binary) executor_config.rlvr_binary = *flags.rlvr_binary;
    if (!flags.sbatch_args.empty()) executor_config.sbatch_args = flags.sbatch_args;
    if (flags.max_jobs) executor_config.max_jobs = *flags.max_jobs;
    if (flags.max_tries) executor_config.max_tries = *flags.max_tries;
    if (flags.max_queue_seconds) executor_config.max_queue_seconds = *flags.max_queue_seconds;
    ValidateExecutorConfig(executor_config);
  } catch (const std::invalid_argument& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  bool slurm = executor_config.kind == "slurm";
  if (flags.jobs < 1 || flags.jobs > 64) Fail("rlvr iterate: --jobs must be between 1 and 64", 2);
  if (slurm && flags.jobs > 1)
    Fail("rlvr iterate: --jobs N is for the local executor; with slurm use --max-jobs", 2);
  if (flags.candidates_per_round) flags.candidates = flags.candidates_per_round;
  // On a cluster (or with --jobs) a round fills the evaluations it may have at once, unless told
  // otherwise.
  flags.loop.candidates = Pick(
      flags.candidates, section, "n",
      slurm ? executor_config.max_jobs : (flags.jobs > 1 ? flags.jobs : flags.loop.candidates));
  int most = slurm ? 256 : 16;
  if (flags.loop.candidates < 1 || flags.loop.candidates > most) {
    Fail(fmt::format("rlvr iterate: -n/--candidates-per-round must be between 1 and {}", most), 2);
  }
  flags.loop.strategy = Pick(flags.strategy, section, "strategy", flags.loop.strategy);
  if (!ParseStrategy(flags.loop.strategy))
    Fail("rlvr iterate: --strategy must be one of " + StrategyNames() + ", not '" +
             flags.loop.strategy + "'",
         2);
  // The other strategies decide round by round what the next request is; an executor's round
  // submits a whole batch at once.
  if (flags.loop.strategy != "greedy" && (slurm || flags.jobs > 1))
    Fail("rlvr iterate: --strategy " + flags.loop.strategy +
             " judges candidates one at a time (local executor, --jobs 1); with --executor slurm "
             "or --jobs N only greedy is available",
         2);
  if (flags.loop.rest_at_fraction < 0 || flags.loop.rest_after_failures < 0)
    Fail("rlvr iterate: --rest-at-roofline and --rest-after must not be negative", 2);
  flags.loop.targets = flags.targets;
  settings.llm_source = flags.llm;
  settings.jobs = flags.jobs;

  // Recorded with the run; everything but the key, which never leaves the environment.
  json models = json::array();
  for (const ModelSpec& spec : settings.models) {
    json m = {{"name", spec.name},
              {"model", spec.llm.model},
              {"base_url", spec.llm.base_url},
              {"temperature", spec.llm.temperature},
              {"api_key_env", spec.llm.api_key_env}};
    if (spec.price) m["price"] = PriceJson(*spec.price);
    models.push_back(std::move(m));
  }
  settings.recorded = {
      {"llm_source", flags.llm},
      {"base_url", llm.base_url},
      {"model", llm.model},
      {"api", api},
      {"temperature", llm.temperature},
      {"max_tokens_per_reply", llm.max_tokens},
      {"api_key_env", llm.api_key_env},
      {"models", models},
      {"n", flags.loop.candidates},
      {"max_repairs", flags.loop.max_repairs},
      {"max_iterations", flags.loop.max_iterations},
      {"max_hours", flags.loop.max_hours},
      {"max_tokens", flags.loop.max_tokens},
      {"max_cost", flags.loop.max_cost},
      {"price",
       settings.models.front().price ? PriceJson(*settings.models.front().price) : json(nullptr)},
      {"max_endpoint_failures", flags.loop.max_endpoint_failures},
      {"targets", flags.targets},
      {"strategy", flags.loop.strategy},
      {"rest_at_roofline", flags.loop.rest_at_fraction},
      {"rest_after", flags.loop.rest_after_failures},
      {"sanitizers", !flags.no_sanitizers},
      {"benchmark", !flags.no_benchmark},
      {"bench_rounds", flags.bench_rounds},
      {"jobs", flags.jobs},
      {"executor",
       {{"kind", executor_config.kind},
        {"partition", executor_config.partition},
        {"bench_partition", executor_config.bench_partition},
        {"bench_constraint", executor_config.bench_constraint},
        {"sbatch_args", executor_config.sbatch_args},
        {"max_jobs", executor_config.max_jobs},
        {"max_tries", executor_config.max_tries}}}};

  EvaluateOptions& options = settings.evaluation;
  options.sanitizers = !flags.no_sanitizers;
  options.benchmark = !flags.no_benchmark;
  options.bench_rounds = flags.bench_rounds;
  options.jobs = flags.build_jobs;
  options.verbose = flags.verbose;
  // In the loop a line per step of every candidate would flood the terminal: heartbeats only, at
  // most one per 30 s of an evaluation, each naming the attempt.
  options.progress.announce_steps = false;
  options.progress.label = std::make_shared<ProgressLabel>();
  flags.loop.evaluation_label = options.progress.label;
  // Test binaries run under twice their limit when shuffled, four times under the sanitizers.
  flags.loop.evaluation_limits =
      fmt::format("each build may take up to {}, each test run {}, each benchmark run {}",
                  Duration(options.build_timeout_seconds),
                  Duration(options.test_timeout_seconds * (options.sanitizers ? 4 : 2)),
                  Duration(options.bench_timeout_seconds));
  settings.loop = std::move(flags.loop);
  return settings;
}

}  // namespace rlvr
