// `rlvr iterate`: the unattended, model-driven optimisation loop (see loop/loop.h). Model settings
// come from flags, falling back to the "llm" section of rlvr.json, then to defaults
// (loop/settings.h); the API key comes only from the environment variable named by --api-key-env.
// Exit status (also in its --help): 0 when the loop ran and stopped on a budget;
// 130 / 143 when SIGINT / SIGTERM stopped it; 1 when it stopped because the model could not be
// used; 2 when the machine or its storage could not be (another loop holds the lock, bad
// rlvr.json, an unreadable or unwritable ledger, harness errors); see loop/iterate.h.
#include <iostream>
#include <memory>
#include <optional>

#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/loop/iterate.h"
#include "harness/loop/settings.h"

namespace rlvr {
namespace {

struct IterateArgs {
  std::string directory = ".";
  IterateFlags flags;
};

void Iterate(const IterateArgs& args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root) {
    throw CLI::RuntimeError("rlvr iterate: " + args.directory + " is not inside a git repository",
                            2);
  }
  IterateSettings settings = ResolveIterateSettings(*root, args.flags);
  std::vector<std::unique_ptr<LlmSource>> sources = OpenModelSources(settings);
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("iterate", *root);
  RunIterate(settings, sources, std::cout);
}

}  // namespace

void AddIterateCommand(CLI::App& app) {
  auto args = std::make_shared<IterateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "iterate",
      "Run the model-driven optimisation loop: propose, verify, promote, repeat.\n"
      "Exit status: 0 the budget was spent (--max-iterations, --max-hours, --max-tokens, "
      "--max-cost, or a "
      "replay ran out); 130 stopped by SIGINT (Ctrl-C), 143 by SIGTERM; 1 the model could not be "
      "used (bad key or model, dead endpoint, --max-endpoint-failures in a row); 2 the machine or "
      "its storage could not be (lock held, bad rlvr.json, ledger unreadable or unwritable, "
      "executor or harness failure)");
  cmd->add_option("-C", args->directory, "Run in this repository instead of the current one");
  cmd->add_option("--target", args->flags.targets, "Only these targets (repeatable); default all");
  cmd->add_option("--llm", args->flags.llm,
                  "Model source: 'http' (the endpoint of --base-url) or 'replay:PATH' (a ledger "
                  "file or a folder of reply files)");
  cmd->add_option("--base-url", args->flags.base_urls,
                  "OpenAI-compatible base URL (default https://api.openai.com/v1); once for all "
                  "models or once per --model")
      ->allow_extra_args(false);
  cmd->add_option("--model", args->flags.models,
                  "Model name (default gpt-4o); repeat for several models, the requests shared by "
                  "a bandit on the value each delivers per dollar")
      ->allow_extra_args(false);
  cmd->add_option("--api", args->flags.api, "'chat' (/chat/completions, default) or 'responses'");
  cmd->add_option("--temperature", args->flags.temperatures,
                  "Sampling temperature (default 0.7); once for all models or once per --model")
      ->allow_extra_args(false);
  cmd->add_option("--reply-tokens", args->flags.reply_tokens,
                  "Max tokens per reply (default 8192)");
  cmd->add_option("-n,--candidates", args->flags.candidates, "Candidates per round (default 2)");
  cmd->add_option("--strategy", args->flags.strategy,
                  "How candidates are sought: greedy (default: N replies per round from HEAD, "
                  "history shown, the fastest passing one promoted), best-of-n (N separate "
                  "requests without history), independent (all samples from the starting commit, "
                  "the best promoted at the end), archive (further parents kept among the best "
                  "earlier candidates)");
  cmd->add_option("--seed", args->flags.loop.seed,
                  "Seed of the model bandit and the archive's choices; 0 = drawn (recorded)")
      ->capture_default_str();
  cmd->add_option("--rest-at-roofline", args->flags.loop.rest_at_fraction,
                  "Rest a target that reaches this fraction of its roofline (its baseline's "
                  "counters against the reference benchmarks'); 0 = never")
      ->capture_default_str();
  cmd->add_option("--rest-after", args->flags.loop.rest_after_failures,
                  "Rest a target after this many rounds in a row without a promotion; 0 = never")
      ->capture_default_str();
  cmd->add_option("--api-key-env", args->flags.api_key_envs,
                  "Environment variable holding the API key (default OPENAI_API_KEY); once for all "
                  "models or once per --model")
      ->allow_extra_args(false);
  cmd->add_option("--price", args->flags.prices,
                  "The model's price, IN/OUT[/CACHED] dollars per million prompt, completion and "
                  "cached prompt tokens (e.g. 2.5/10/1.25); default rlvr.json llm.price; once for "
                  "all models or once per --model")
      ->allow_extra_args(false);
  cmd->add_option("--connect-timeout", args->flags.connect_timeout, "Seconds to connect")
      ->capture_default_str();
  cmd->add_option("--timeout", args->flags.timeout, "Seconds per model request")
      ->capture_default_str();
  cmd->add_option("--retries", args->flags.retries, "Retries per request on 429/5xx/network errors")
      ->capture_default_str();
  cmd->add_option("--max-repairs", args->flags.loop.max_repairs, "Repair turns per candidate")
      ->capture_default_str();
  cmd->add_option("--max-iterations", args->flags.loop.max_iterations,
                  "Rounds in total; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-hours", args->flags.loop.max_hours, "Wall-clock budget; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-tokens", args->flags.loop.max_tokens,
                  "Token budget of the run; 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-cost", args->flags.loop.max_cost,
                  "Dollar budget of the run (needs a price); 0 = no limit")
      ->capture_default_str();
  cmd->add_option("--max-endpoint-failures", args->flags.loop.max_endpoint_failures,
                  "Stop after this many consecutive model calls without a usable reply")
      ->capture_default_str();
  cmd->add_option("--history", args->flags.loop.history_attempts,
                  "Recent attempts shown to the model")
      ->capture_default_str();
  cmd->add_option("--prompt-chars", args->flags.loop.prompt_max_chars, "Bound on the prompt size")
      ->capture_default_str();
  cmd->add_flag("--no-sanitizers", args->flags.no_sanitizers, "Skip the sanitizer gate (faster)");
  cmd->add_flag("--no-benchmark", args->flags.no_benchmark,
                "Skip the benchmark stage (checks only; nothing can be promoted)");
  cmd->add_option("--executor", args->flags.executor,
                  "Where candidates are judged: 'local' (this machine, one at a time; default) or "
                  "'slurm' (one batch job per candidate, in parallel); rlvr.json executor.kind");
  cmd->add_option("--candidates-per-round", args->flags.candidates_per_round,
                  "Replies asked for per round (same as -n); with slurm default --max-jobs");
  cmd->add_option("--partition", args->flags.partition, "Slurm partition of the checks-only jobs");
  cmd->add_option("--bench-partition", args->flags.bench_partition,
                  "Slurm partition of the jobs with the benchmark stage (run --exclusive)");
  cmd->add_option("--bench-constraint", args->flags.bench_constraint,
                  "Slurm --constraint of the jobs with the benchmark stage");
  cmd->add_option("--sbatch-arg", args->flags.sbatch_args,
                  "Extra sbatch argument (repeatable), e.g. --sbatch-arg=--time=60");
  cmd->add_option("--max-jobs", args->flags.max_jobs, "Slurm jobs in flight at once (default 4)");
  cmd->add_option("--max-tries", args->flags.max_tries,
                  "Tries per evaluation: submissions when the cluster cancels/preempts and Slurm's "
                  "own requeues (default 3)");
  cmd->add_option("--max-queue-seconds", args->flags.max_queue_seconds,
                  "A job pending longer is resubmitted (0 = no limit)");
  cmd->add_option("--rlvr-binary", args->flags.rlvr_binary,
                  "rlvr on the nodes (same path on the shared filesystem; default this rlvr)");
  cmd->add_option("--bench-rounds", args->flags.bench_rounds, "Benchmark rounds; 0 = default");
  cmd->add_option("-j,--jobs", args->flags.jobs,
                  "Local executor: candidates judged at once (their builds and tests overlap, "
                  "benchmarks stay one at a time); default 1")
      ->capture_default_str();
  cmd->add_option("--build-jobs", args->flags.build_jobs, "Build parallelism of each evaluation")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", args->flags.verbose, "Gate progress on stderr");
  cmd->callback([args] { Iterate(*args); });
}

}  // namespace rlvr
