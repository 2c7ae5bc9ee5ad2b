// `rlvr iterate`: the unattended, model-driven optimisation loop (see loop.h). Model settings come
// from flags, falling back to the "llm" section of rlvr.json, then to defaults; the API key comes
// only from the environment variable named by --api-key-env. Exit status 0 when the loop ran and
// stopped on a budget or a signal; 1 when it stopped because the endpoint failed; 2 on usage or
// harness errors (another loop holds the lock, bad rlvr.json, unreadable ledger).
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/commands.h"
#include "harness/config.h"
#include "harness/evaluate.h"
#include "harness/ledger.h"
#include "harness/llm_client.h"
#include "harness/loop.h"
#include "harness/reconcile.h"
#include "harness/repo.h"
#include "harness/run_lock.h"
#include "harness/signals.h"

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
  int bench_rounds = 0;
  int jobs = 2;
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
  args.loop.candidates = Pick(args.candidates, section, "n", args.loop.candidates);
  if (args.loop.candidates < 1 || args.loop.candidates > 16) {
    Fail("rlvr iterate: -n must be between 1 and 16", 2);
  }
  args.loop.targets = args.targets;

  std::unique_ptr<LlmSource> source;
  try {
    source = MakeLlmSource(args.llm, llm, SleepUnlessStopped);
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }

  std::unique_ptr<RunLock> lock;
  try {
    lock = std::make_unique<RunLock>(*root, "rlvr iterate");
  } catch (const RunLockError& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
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
                   {"bench_rounds", args.bench_rounds}};

  EvaluateOptions options;
  options.sanitizers = !args.no_sanitizers;
  options.bench_rounds = args.bench_rounds;
  options.jobs = args.jobs;
  options.verbose = args.verbose;
  // Test binaries run under twice their limit when shuffled, four times under the sanitizers.
  args.loop.evaluation_limits =
      fmt::format("each build may take up to {}, each test run {}, each benchmark run {}",
                  Duration(options.build_timeout_seconds),
                  Duration(options.test_timeout_seconds * (options.sanitizers ? 4 : 2)),
                  Duration(options.bench_timeout_seconds));
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
  cmd->add_option("--bench-rounds", args->bench_rounds, "Benchmark rounds; 0 = default");
  cmd->add_option("-j,--jobs", args->jobs, "Build parallelism")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Gate progress on stderr");
  cmd->callback([args] { RunIterate(*args); });
}

}  // namespace rlvr
