#include "harness/loop/iterate.h"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/base/leftover_processes.h"
#include "harness/base/signals.h"
#include "harness/executors/local_pool.h"
#include "harness/executors/slurm.h"
#include "harness/ledger/ledger.h"
#include "harness/loop/reconcile.h"

namespace rlvr {
namespace {

// CLI11 prints nothing for a RuntimeError: say why on stderr, then exit with `status`.
[[noreturn]] void Fail(const std::string& message, int status) {
  throw CLI::RuntimeError(message, status);
}

// The ledger of `root`, with what a loop that died left in it repaired: its unfinished runs
// closed, a promotion cut short between its commit and its ledger row finished. The caller holds
// the repository lock.
std::unique_ptr<Ledger> OpenLedgerAndRecover(const std::filesystem::path& root, std::ostream& out) {
  std::unique_ptr<Ledger> ledger;
  try {
    ledger = std::make_unique<Ledger>(Ledger::DefaultPath(root));
  } catch (const LedgerError& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  // We hold the lock, so any unfinished run belongs to a loop that died.
  try {
    if (int closed = ledger->CloseAbandonedRuns("interrupted (process died)"); closed > 0) {
      out << "rlvr iterate: closed " << closed << " run(s) left unfinished by a dead loop\n";
    }
  } catch (const LedgerError& e) {
    Fail(std::string("rlvr iterate: the ledger cannot be written: ") + e.what(), 2);
  }
  // A loop killed between its promotion commit and the ledger update left a half promotion.
  try {
    for (const auto& line : ReconcilePromotions(root, *ledger))
      out << "rlvr iterate: recovered an interrupted promotion: " << line << "\n";
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: cannot check for interrupted promotions: ") + e.what(), 2);
  }
  return ledger;
}

// Ends the builds, tests and evaluations a killed loop (and its guard) left running, by the
// process groups it recorded, then records this run's own there. The caller holds the lock.
void EndWhatAKilledLoopLeft(const std::filesystem::path& root, std::ostream& out) {
  std::filesystem::path records = root / ".rlvr" / "processes";
  for (const std::string& line : EndLeftoverProcessGroups(records))
    out << "rlvr iterate: ended " << line << " (a killed loop left it running)\n";
  try {
    RecordProcessGroupsIn(records);
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: cannot record process groups: ") + e.what(), 2);
  }
}

// The executor `settings` choose, said on `out`, with `loop` told to use it and what its
// evaluations run: Slurm, or a local pool with --jobs above 1. nullptr for the in-process
// evaluator (one candidate at a time).
std::unique_ptr<Executor> MakeExecutor(const IterateSettings& settings, LoopSettings& loop,
                                       std::ostream& out) {
  const ExecutorConfig& executor_config = settings.executor;
  const EvaluateOptions& options = settings.evaluation;
  bool slurm = executor_config.kind == "slurm";
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
    slurm_options.node_cache_dir = executor_config.node_cache;
    slurm_options.split_stages = executor_config.split_stages;
    try {
      executor = std::make_unique<SlurmExecutor>(slurm_options);
    } catch (const ExecutorError& e) {
      Fail(std::string("rlvr iterate: ") + e.what(), 2);
    }
    loop.executor = executor.get();
    loop.evaluation.sanitizers = options.sanitizers;
    loop.evaluation.benchmark = options.benchmark;
    loop.evaluation.test_timeout_seconds = options.test_timeout_seconds;
    loop.evaluation.bench_rounds = options.bench_rounds;
    out << fmt::format(
        "rlvr iterate: Slurm executor: up to {} job(s) in flight, {} candidate(s) per round, "
        "checks on partition {}, {}\n",
        executor_config.max_jobs, loop.candidates,
        executor_config.partition.empty() ? "(default)" : executor_config.partition,
        options.benchmark
            ? fmt::format(
                  "{} --exclusive on partition {}{}",
                  executor_config.split_stages ? "benchmark stages" : "benchmarked evaluations",
                  executor_config.bench_partition.empty()
                      ? (executor_config.partition.empty() ? "(default)"
                                                           : executor_config.partition)
                      : executor_config.bench_partition,
                  executor_config.bench_constraint.empty()
                      ? ""
                      : " with constraint " + executor_config.bench_constraint)
            : std::string("no benchmark stage"));
  }
  if (!slurm && settings.jobs > 1) {
    LocalPoolOptions pool;
    std::error_code error;
    pool.rlvr_binary = std::filesystem::read_symlink("/proc/self/exe", error);
    pool.parallel = settings.jobs;
    executor = std::make_unique<LocalPoolExecutor>(pool);
    loop.executor = executor.get();
    loop.evaluation.sanitizers = options.sanitizers;
    loop.evaluation.benchmark = options.benchmark;
    loop.evaluation.test_timeout_seconds = options.test_timeout_seconds;
    loop.evaluation.bench_rounds = options.bench_rounds;
    out << fmt::format(
        "rlvr iterate: {} candidate(s) judged at once on this machine, {} per round; "
        "benchmarks one at a time with no check running\n",
        settings.jobs, loop.candidates);
  }
  return executor;
}

}  // namespace

std::vector<std::unique_ptr<LlmSource>> OpenModelSources(const IterateSettings& settings) {
  std::vector<std::unique_ptr<LlmSource>> sources;
  try {
    for (const ModelSpec& spec : settings.models)
      sources.push_back(MakeLlmSource(settings.llm_source, spec.llm, SleepUnlessStopped));
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  return sources;
}

void RunIterate(const IterateSettings& settings,
                const std::vector<std::unique_ptr<LlmSource>>& sources, std::ostream& out) {
  const Project& project = settings.project;
  std::unique_ptr<Ledger> ledger = OpenLedgerAndRecover(project.root, out);
  EndWhatAKilledLoopLeft(project.root, out);
  LoopSettings loop = settings.loop;
  std::unique_ptr<Executor> executor = MakeExecutor(settings, loop, out);
  ResetStopRequests();
  InstallStopHandlers();
  LoopResult result;
  try {
    Evaluator evaluator(project, settings.evaluation);
    std::vector<LoopModel> models;
    for (size_t i = 0; i < sources.size(); ++i) {
      LoopModel model;
      // A replay source names itself ("replay"); an endpoint's model is its spec's name.
      model.name = settings.llm_source == "http" || settings.llm_source.empty()
                       ? settings.models[i].name
                       : sources[i]->model();
      model.source = sources[i].get();
      model.price = settings.models[i].price;
      models.push_back(std::move(model));
    }
    result = RunLoop(project, evaluator, models, *ledger, loop, settings.recorded, out);
  } catch (const CLI::Error&) {
    throw;
  } catch (const LedgerError& e) {
    // Each ledger write is one transaction: the row being written is there whole or not at all.
    Fail(std::string("rlvr iterate: stopped, the ledger cannot be written: ") + e.what(), 2);
  } catch (const std::exception& e) {
    Fail(std::string("rlvr iterate: ") + e.what(), 2);
  }
  if (result.machine_fault)
    Fail("rlvr iterate: stopped, this machine cannot judge candidates now: " + result.stop_reason,
         2);
  if (result.model_unusable)
    Fail("rlvr iterate: the model could not be used: " + result.stop_reason, 1);
  // Stopped by a signal: the shell's status for it (130 for SIGINT, 143 for SIGTERM), so a script
  // or scheduler can tell an interrupted run from one that spent its budget. The loop has said
  // why already.
  if (result.stopped_by_signal) {
    int signal_number = FirstStopSignal();
    throw CLI::RuntimeError(128 + (signal_number > 0 ? signal_number : SIGINT));
  }
}

}  // namespace rlvr
