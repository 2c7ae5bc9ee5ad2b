// `rlvr iterate`: the unattended, model-driven optimisation loop (see loop/loop.h). Model settings
// come from flags, falling back to the "llm" section of rlvr.json, then to defaults; the API key
// comes only from the environment variable named by --api-key-env. Exit status 0 when the loop ran
// and stopped on a budget or a signal; 1 when it stopped because the endpoint failed; 2 on usage or
// harness errors (another loop holds the lock, bad rlvr.json, unreadable ledger).
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/run_lock.h"
#include "harness/base/signals.h"
#include "harness/cli/commands.h"
#include "harness/executors/config.h"
#include "harness/executors/local_pool.h"
#include "harness/executors/slurm.h"
#include "harness/git/repo.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/client.h"
#include "harness/loop/loop.h"
#include "harness/loop/reconcile.h"
#include "harness/verify/evaluate.h"

namespace rlvr {
namespace {

// CLI11 prints nothing for a RuntimeError: say why on stderr, then exit with `status`.
[[noreturn]] void Fail(const std::string& message, int status) {
  throw CLI::RuntimeError(message, status);
}

using nlohmann::json;

// "20 min", "90 s".
std::string Duration(double seconds) {
  return seconds >= 120 ? fmt::format("{:.0f} min", seconds / 60)
                        : fmt::format("{:.0f} s", seconds);
}

struct IterateArgs {
  std::string directory = ".";
  std::vector<std::string> targets;
  std::string llm = "http";
  std::optional<std::string> base_url, model, api, api_key_env;
  std::optional<double> temperature;
  std::optional<int> reply_tokens;
  std::optional<int> candidates;
  double connect_timeout = 10;
  double timeout = 600;
  int retries = 5;
  LoopSettings loop;
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

void RunIterate(IterateArgs args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root) {
    Fail("rlvr iterate: " + args.directory + " is not inside a git repository", 2);
  }
  Project project;
  try {
    project = LoadProject(*root);
    for (const std::string& t : args.targets) project.GetTarget(t);
  } catch (const ConfigError& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  json section = LlmSection(*root);
  LlmSettings llm;
  llm.base_url = Pick(args.base_url, section, "base_url", llm.base_url);
  llm.model = Pick(args.model, section, "model", llm.model);
  std::string api = Pick(args.api, section, "api", std::string("chat"));
  if (api == "chat") {
    llm.api = LlmApi::kChatCompletions;
  } else if (api == "responses") {
    llm.api = LlmApi::kResponses;
  } else {
    Fail("rlvr iterate: --api must be 'chat' or 'responses', not '" + api + "'", 2);
  }
  llm.temperature = Pick(args.temperature, section, "temperature", llm.temperature);
  llm.max_tokens = Pick(args.reply_tokens, section, "max_tokens", llm.max_tokens);
  llm.api_key_env = Pick(args.api_key_env, section, "api_key_env", llm.api_key_env);
  llm.connect_timeout_seconds = args.connect_timeout;
  llm.total_timeout_seconds = args.timeout;
  llm.max_retries = args.retries;
  // The first stop signal abandons a model request in flight: nothing has been received (and
  // paid for) yet, and what has is already in the ledger.
  llm.cancelled = [] { return StopRequested(); };
  ExecutorConfig executor_config;
  try {
    std::ifstream in(*root / "rlvr.json");
    executor_config = ExecutorConfigFromJson(json::parse(in, nullptr, false));
    if (args.executor) executor_config.kind = *args.executor;
    if (args.partition) executor_config.partition = *args.partition;
    if (args.bench_partition) executor_config.bench_partition = *args.bench_partition;
    if (args.bench_constraint) executor_config.bench_constraint = *args.bench_constraint;
    if (args.rlvr_binary) executor_config.rlvr_binary = *args.rlvr_binary;
    if (!args.sbatch_args.empty()) executor_config.sbatch_args = args.sbatch_args;
    if (args.max_jobs) executor_config.max_jobs = *args.max_jobs;
    if (args.max_tries) executor_config.max_tries = *args.max_tries;
    if (args.max_queue_seconds) executor_config.max_queue_seconds = *args.max_queue_seconds;
    ValidateExecutorConfig(executor_config);
  } catch (const std::invalid_argument& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  bool slurm = executor_config.kind == "slurm";
  if (args.jobs < 1 || args.jobs > 64) Fail("rlvr iterate: --jobs must be between 1 and 64", 2);
  if (slurm && args.jobs > 1)
    Fail("rlvr iterate: --jobs N is for the local executor; with slurm use --max-jobs", 2);
  if (args.candidates_per_round) args.candidates = args.candidates_per_round;
  // On a cluster (or with --jobs) a round fills the evaluations it may have at once, unless told
  // otherwise.
  args.loop.candidates =
      Pick(args.candidates, section, "n",
           slurm ? executor_config.max_jobs : (args.jobs > 1 ? args.jobs : args.loop.candidates));
  int most = slurm ? 256 : 16;
  if (args.loop.candidates < 1 || args.loop.candidates > most) {
    Fail(fmt::format("rlvr iterate: -n/--candidates-per-round must be between 1 and {}", most), 2);
  }
  args.loop.targets = args.targets;

  std::unique_ptr<LlmSource> source;
  try {
    source = MakeLlmSource(args.llm, llm, SleepUnlessStopped);
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }

  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("iterate", *root);
  std::unique_ptr<Ledger> ledger;
  try {
    ledger = std::make_unique<Ledger>(Ledger::DefaultPath(*root));
  } catch (const LedgerError& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  // We hold the lock, so any unfinished run belongs to a loop that died.
  try {
    if (int closed = ledger->CloseAbandonedRuns("interrupted (process died)"); closed > 0) {
      std::cout << "rlvr iterate: closed " << closed << " run(s) left unfinished by a dead loop\n";
    }
  } catch (const LedgerError& e) {
    Fail(std::string("rlvr iterate: the ledger cannot be written: ") + e.what(), 2);
  }
  // A loop killed between its promotion commit and the ledger update left a half promotion.
  try {
    for (const auto& line : ReconcilePromotions(*root, *ledger))
      std::cout << "rlvr iterate: recovered an interrupted promotion: " << line << "\n";
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: cannot check for interrupted promotions: ") + e.what(), 2);
  }

  // Recorded with the run; everything but the key, which never leaves the environment.
  json settings = {{"llm_source", args.llm},
                   {"base_url", llm.base_url},
                   {"model", llm.model},
                   {"api", api},
                   {"temperature", llm.temperature},
                   {"max_tokens_per_reply", llm.max_tokens},
                   {"api_key_env", llm.api_key_env},
                   {"n", args.loop.candidates},
                   {"max_repairs", args.loop.max_repairs},
                   {"max_iterations", args.loop.max_iterations},
                   {"max_hours", args.loop.max_hours},
                   {"max_tokens", args.loop.max_tokens},
                   {"max_endpoint_failures", args.loop.max_endpoint_failures},
                   {"targets", args.targets},
                   {"sanitizers", !args.no_sanitizers},
                   {"benchmark", !args.no_benchmark},
                   {"bench_rounds", args.bench_rounds},
                   {"jobs", args.jobs},
                   {"executor",
                    {{"kind", executor_config.kind},
                     {"partition", executor_config.partition},
                     {"bench_partition", executor_config.bench_partition},
                     {"bench_constraint", executor_config.bench_constraint},
                     {"sbatch_args", executor_config.sbatch_args},
                     {"max_jobs", executor_config.max_jobs},
                     {"max_tries", executor_config.max_tries}}}};

  EvaluateOptions options;
  options.sanitizers = !args.no_sanitizers;
  options.benchmark = !args.no_benchmark;
  options.bench_rounds = args.bench_rounds;
  options.jobs = args.build_jobs;
  options.verbose = args.verbose;
  // Test binaries run under twice their limit when shuffled, four times under the sanitizers.
  args.loop.evaluation_limits =
      fmt::format("each build may take up to {}, each test run {}, each benchmark run {}",
                  Duration(options.build_timeout_seconds),
                  Duration(options.test_timeout_seconds * (options.sanitizers ? 4 : 2)),
                  Duration(options.bench_timeout_seconds));
  std::unique_ptr<Executor> executor;
  if (slurm) {
    SlurmExecutorOptions slurm_options;
    std::error_code error;
    slurm_options.rlvr_binary = executor_config.rlvr_binary.empty()
                                    ? std::filesystem::read_symlink("/proc/self/exe", error)
                                    : std::filesystem::path(executor_config.rlvr_binary);
    slurm_options.partition = executor_config.partition;
    slurm_options.bench_partition = executor_config.bench_partition;
    slurm_options.bench_constraint = executor_config.bench_constraint;
    slurm_options.sbatch_args = executor_config.sbatch_args;
    slurm_options.run_tag = std::to_string(getpid());
    slurm_options.max_in_flight = executor_config.max_jobs;
    slurm_options.max_tries = executor_config.max_tries;
    slurm_options.max_queue_seconds = executor_config.max_queue_seconds;
    try {
      executor = std::make_unique<SlurmExecutor>(slurm_options);
    } catch (const ExecutorError& e) {
      Fail(std::string("rlvr iterate: ") + e.what(), 2);
    }
    args.loop.executor = executor.get();
    args.loop.evaluation.sanitizers = options.sanitizers;
    args.loop.evaluation.benchmark = options.benchmark;
    args.loop.evaluation.test_timeout_seconds = options.test_timeout_seconds;
    args.loop.evaluation.bench_rounds = options.bench_rounds;
    std::cout << fmt::format(
        "rlvr iterate: Slurm executor: up to {} job(s) in flight, {} candidate(s) per round, "
        "checks on partition {}, {}\n",
        executor_config.max_jobs, args.loop.candidates,
        executor_config.partition.empty() ? "(default)" : executor_config.partition,
        options.benchmark
            ? fmt::format("benchmarks --exclusive on partition {}{}",
                          executor_config.bench_partition.empty()
                              ? (executor_config.partition.empty() ? "(default)"
                                                                   : executor_config.partition)
                              : executor_config.bench_partition,
                          executor_config.bench_constraint.empty()
                              ? ""
                              : " with constraint " + executor_config.bench_constraint)
            : std::string("no benchmark stage"));
  }
  if (!slurm && args.jobs > 1) {
    LocalPoolOptions pool;
    std::error_code error;
    pool.rlvr_binary = std::filesystem::read_symlink("/proc/self/exe", error);
    pool.parallel = args.jobs;
    executor = std::make_unique<LocalPoolExecutor>(pool);
    args.loop.executor = executor.get();
    args.loop.evaluation.sanitizers = options.sanitizers;
    args.loop.evaluation.benchmark = options.benchmark;
    args.loop.evaluation.test_timeout_seconds = options.test_timeout_seconds;
    args.loop.evaluation.bench_rounds = options.bench_rounds;
    std::cout << fmt::format(
        "rlvr iterate: {} candidate(s) judged at once on this machine, {} per round; "
        "benchmarks one at a time with no check running\n",
        args.jobs, args.loop.candidates);
  }
  ResetStopRequests();
  InstallStopHandlers();
  LoopResult result;
  try {
    Evaluator evaluator(project, options);
    result = RunLoop(project, evaluator, *source, *ledger, args.loop, settings, std::cout);
  } catch (const CLI::Error&) {
    throw;
  } catch (const LedgerError& e) {
    // Each ledger write is one transaction: the row being written is there whole or not at all.
    Fail(std::string("rlvr iterate: stopped, the ledger cannot be written: ") + e.what(), 2);
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  if (result.model_unusable)
    Fail("rlvr iterate: the model could not be used: " + result.stop_reason, 1);
}

}  // namespace

void AddIterateCommand(CLI::App& app) {
  auto args = std::make_shared<IterateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "iterate", "Run the model-driven optimisation loop: propose, verify, promote, repeat");
  cmd->add_option("-C", args->directory, "Run in this repository instead of the current one");
  cmd->add_option("--target", args->targets, "Only these targets (repeatable); default all");
  cmd->add_option("--llm", args->llm,
                  "Model source: 'http' (the endpoint of --base-url) or 'replay:PATH' (a ledger "
                  "file or a folder of reply files)");
  cmd->add_option("--base-url", args->base_url,
                  "OpenAI-compatible base URL (default https://api.openai.com/v1)");
  cmd->add_option("--model", args->model, "Model name (default gpt-4o)");
  cmd->add_option("--api", args->api, "'chat' (/chat/completions, default) or 'responses'");
  cmd->add_option("--temperature", args->temperature, "Sampling temperature (default 0.7)");
  cmd->add_option("--reply-tokens", args->reply_tokens, "Max tokens per reply (default 8192)");
  cmd->add_option("-n,--candidates", args->candidates, "Candidates per round (default 2)");
  cmd->add_option("--api-key-env", args->api_key_env,
                  "Environment variable holding the API key (default OPENAI_API_KEY)");
  cmd->add_option("--connect-timeout", args->connect_timeout, "Seconds to connect")
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout, "Seconds per model request")->capture_default_str();
  cmd->add_option("--retries", args->retries, "Retries per request on 429/5xx/network errors")
      ->capture_default_str();
  cmd->add_option("--max-repairs", args->loop.max_repairs, "Repair turns per candidate")
      ->capture_default_str();
  cmd->add_option("--max-iterations", args->loop.max_iterations, "Rounds in total; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-hours", args->loop.max_hours, "Wall-clock budget; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-tokens", args->loop.max_tokens, "Token budget of the run; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-endpoint-failures", args->loop.max_endpoint_failures,
                  "Stop after this many consecutive model calls without a usable reply")
      ->capture_default_str();
  cmd->add_option("--history", args->loop.history_attempts, "Recent attempts shown to the model")
      ->capture_default_str();
  cmd->add_option("--prompt-chars", args->loop.prompt_max_chars, "Bound on the prompt size")
      ->capture_default_str();
  cmd->add_flag("--no-sanitizers", args->no_sanitizers, "Skip the sanitizer gate (faster)");
  cmd->add_flag("--no-benchmark", args->no_benchmark,
                "Skip the benchmark stage (checks only; nothing can be promoted)");
  cmd->add_option("--executor", args->executor,
                  "Where candidates are judged: 'local' (this machine, one at a time; default) or "
                  "'slurm' (one batch job per candidate, in parallel); rlvr.json executor.kind");
  cmd->add_option("--candidates-per-round", args->candidates_per_round,
                  "Replies asked for per round (same as -n); with slurm default --max-jobs");
  cmd->add_option("--partition", args->partition, "Slurm partition of the checks-only jobs");
  cmd->add_option("--bench-partition", args->bench_partition,
                  "Slurm partition of the jobs with the benchmark stage (run --exclusive)");
  cmd->add_option("--bench-constraint", args->bench_constraint,
                  "Slurm --constraint of the jobs with the benchmark stage");
  cmd->add_option("--sbatch-arg", args->sbatch_args,
                  "Extra sbatch argument (repeatable), e.g. --sbatch-arg=--time=60");
  cmd->add_option("--max-jobs", args->max_jobs, "Slurm jobs in flight at once (default 4)");
  cmd->add_option("--max-tries", args->max_tries,
                  "Submissions per evaluation when the cluster cancels/preempts (default 3)");
  cmd->add_option("--max-queue-seconds", args->max_queue_seconds,
                  "A job pending longer is resubmitted (0 = no limit)");
  cmd->add_option("--rlvr-binary", args->rlvr_binary,
                  "rlvr on the nodes (same path on the shared filesystem; default this rlvr)");
  cmd->add_option("--bench-rounds", args->bench_rounds, "Benchmark rounds; 0 = default");
  cmd->add_option("-j,--jobs", args->jobs,
                  "Local executor: candidates judged at once (their builds and tests overlap, "
                  "benchmarks stay one at a time); default 1")
      ->capture_default_str();
  cmd->add_option("--build-jobs", args->build_jobs, "Build parallelism of each evaluation")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Gate progress on stderr");
  cmd->callback([args] { RunIterate(*args); });
}

}  // namespace rlvr
