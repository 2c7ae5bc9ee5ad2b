// `rlvr evaluate PATCH --target NAME [--promote] [--json] ...`: judges one candidate (a patch or
// a whole model reply) for a target through every gate and prints the verdict; with --promote, a
// promotable candidate is committed with its baseline. Exit status 0 only when promotable (and,
// with --promote, promoted); 1 when rejected; 2 on usage or harness errors.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "harness/base/config.h"
#include "harness/base/run_lock.h"
#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

namespace {

struct EvaluateArgs {
  std::string patch_file;
  std::string target;
  bool promote = false;
  bool json = false;
  bool check_format = false;
  bool no_sanitizers = false;
  bool no_benchmark = false;
  bool benchmark_stage = false;
  uint64_t seed = 0;
  int rounds = 0;
  double test_timeout = 120;
  bool verbose = false;
  double progress_seconds = 30;
  std::string directory = ".";
};

std::string ReadReply(const std::string& file, size_t limit) {
  std::string bytes(limit + 1, '\0');
  if (file == "-") {
    std::cin.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<size_t>(std::cin.gcount()));
    return bytes;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CLI::RuntimeError("rlvr evaluate: cannot read " + file, 2);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

void RunEvaluate(const EvaluateArgs& args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root)
    throw CLI::RuntimeError("rlvr evaluate: " + args.directory + " is not inside a git repository",
                            2);
  // The scratch worktrees and build directories under .rlvr/ are shared with a running loop.
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("evaluate", *root);
  Project project;
  const Target* target = nullptr;
  try {
    project = LoadProject(*root);
    target = &project.GetTarget(args.target);
  } catch (const ConfigError& e) {
    throw CLI::RuntimeError(std::string("rlvr evaluate: ") + e.what(), 2);
  }
  EvaluateOptions options;
  options.check_format_only = args.check_format;
  options.sanitizers = !args.no_sanitizers;
  options.benchmark = !args.no_benchmark;
  options.benchmark_stage_only = args.benchmark_stage;
  if (args.benchmark_stage && (args.no_benchmark || args.promote))
    throw CLI::RuntimeError(
        "rlvr evaluate: --benchmark-stage measures, so it takes neither --no-benchmark nor "
        "--promote (its verdict is promotable only with its checks' verdict)",
        2);
  options.seed = args.seed;
  options.bench_rounds = args.rounds;
  options.test_timeout_seconds = args.test_timeout;
  options.verbose = args.verbose;
  options.progress.heartbeat_seconds = args.progress_seconds;
  std::string reply = ReadReply(args.patch_file, options.max_reply_bytes);
  if (reply.size() > options.max_reply_bytes)
    throw CLI::RuntimeError("rlvr evaluate: " + args.patch_file + " is larger than " +
                                std::to_string(options.max_reply_bytes) + " bytes",
                            2);
  Evaluator evaluator(project, options);
  Verdict verdict = evaluator.Evaluate(*target, reply);
  std::optional<PromoteResult> promotion;
  if (args.promote && verdict.promotable) promotion = evaluator.Promote(*target, verdict);

  if (args.json) {
    nlohmann::json out = verdict.ToJson();
    if (promotion) {
      out["promotion"] = {{"promoted", promotion->promoted},
                          {"commit", promotion->commit},
                          {"message", promotion->message}};
      if (promotion->promoted) out["verdict"] = "promoted";
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s", verdict.Render().c_str());
    if (promotion) {
      if (promotion->promoted)
        std::printf("promoted as %s: %s\n", promotion->commit.substr(0, 12).c_str(),
                    promotion->message.c_str());
      else
        std::printf("not promoted: %s\n", promotion->message.c_str());
    } else if (args.promote) {
      std::printf("not promoted: the candidate is not promotable\n");
    }
  }
  std::fflush(stdout);
  // The machine failed, not the candidate: no verdict (a job script records none either).
  if (!verdict.machine_fault.empty())
    throw CLI::RuntimeError(
        "rlvr evaluate: no verdict, the machine failed: " + verdict.machine_fault, 2);
  bool success = verdict.promotable && (!promotion || promotion->promoted);
  if (!success) throw CLI::RuntimeError(1);
}

}  // namespace

void AddEvaluateCommand(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* command = app.add_subcommand(
      "evaluate",
      "Judge a candidate patch or model reply for a target through every gate (scope, apply, "
      "format, build, tests, sanitizers, allocations, benchmark)");
  command->add_option("PATCH", args->patch_file, "patch or model reply file ('-' for stdin)")
      ->required();
  command->add_option("--target,-t", args->target, "target name from rlvr.json")->required();
  command->add_flag("--promote", args->promote,
                    "commit a promotable candidate and its baseline on the current branch");
  command->add_flag("--json", args->json, "print the whole verdict as JSON");
  command->add_flag("--check-format", args->check_format,
                    "fail unformatted code instead of formatting it");
  command->add_flag("--no-sanitizers", args->no_sanitizers, "skip the ASan+UBSan test run");
  command->add_flag("--no-benchmark", args->no_benchmark,
                    "stop before the benchmark gate (never promotable)");
  command->add_flag("--benchmark-stage", args->benchmark_stage,
                    "the benchmark stage of a split evaluation: skip tests, history, portable, "
                    "sanitizers and allocations (run before with --no-benchmark); never promotable "
                    "by itself");
  command->add_option("--seed", args->seed,
                      "RLVR_TEST_SEED for the fresh-seed test run (0 = random)");
  command->add_option("--rounds", args->rounds, "interleaved benchmark rounds (0 = default)");
  command->add_option("--test-timeout", args->test_timeout, "seconds per test-binary run")
      ->check(CLI::PositiveNumber);
  command->add_flag("--verbose,-v", args->verbose, "each gate's result on stderr as it ends");
  command
      ->add_option("--progress-seconds", args->progress_seconds,
                   "progress on stderr: a line as each long step starts and at least one per "
                   "this many seconds while it runs (0 = none)")
      ->capture_default_str();
  command->add_option("-C", args->directory, "run as if started in this directory");
  command->callback([args] {
    try {
      RunEvaluate(*args);
    } catch (const CLI::RuntimeError&) {
      throw;  // its message reaches stderr once, from main
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rlvr evaluate: %s\n", e.what());
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace rlvr
