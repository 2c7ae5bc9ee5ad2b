// `rlvr check [-C DIR] [--target T]...`: verifies everything a verdict needs (repo/check.h), one
// line per check ("ok", "warning" or "FAIL" followed by what to fix), under the repository lock
// once rlvr.json has loaded. Exit status 0 when nothing FAILs, 1 otherwise, 2 for a usage error.
//
// `rlvr check --mutants [--max N] [--seed S]`: after those checks pass, how strong the gate is:
// the kill rate of a seeded sample of single-point mutants of each target's editable files and
// the survivors (repo/kill_rate.h).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/base/run_lock.h"
#include "harness/bench/setup.h"
#include "harness/cli/commands.h"
#include "harness/repo/check.h"
#include "harness/repo/kill_rate.h"

namespace rlvr {

namespace {

struct CheckArgs {
  std::string directory = ".";
  std::vector<std::string> targets;
  bool mutants = false;
  int max_mutants = 20;
  uint64_t seed = 1;
  int jobs = 2;
  double test_timeout = 60;
};

void ThrowIfStopped(const std::optional<CheckStop>& stop) {
  if (stop) throw CLI::RuntimeError(stop->message, stop->exit_status);
}

void RunCheck(const CheckArgs& args) {
  if (args.max_mutants < 1) throw CLI::RuntimeError("rlvr check: --max must be at least 1", 2);
  std::filesystem::path root = RepoRootOrFail("check", args.directory);
  RepositoryCheck check(root, {args.targets, args.jobs, args.test_timeout});
  ThrowIfStopped(check.CheckConfig());
  std::unique_ptr<RunLock> lock = LockRepositoryOrFail("check", root);
  ThrowIfStopped(check.CheckHead());
  if (!args.mutants) return;
  JudgeMutants(check.project(), check.targets(),
               {args.max_mutants, args.seed, args.jobs, args.test_timeout});
}

}  // namespace

void AddCheckCommand(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* command = app.add_subcommand(
      "check", "verify that rlvr.json, the build, the binaries and every filter work");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->add_option("--target,-t", args->targets, "target name (repeatable; default: all)");
  command->add_flag("--mutants", args->mutants,
                    "also judge a sample of single-point mutants of the editable files and "
                    "report the tests' kill rate");
  command->add_option("--max", args->max_mutants, "mutants per target (default 20)");
  command->add_option("--seed", args->seed, "seed of the mutant sample and of the test inputs");
  command->add_option("--jobs,-j", args->jobs, "build parallelism");
  command->add_option("--test-timeout", args->test_timeout,
                      "seconds per test run of a mutant (a mutant that hangs is killed by it)");
  command->callback([args] { ReportFailures([&] { RunCheck(*args); }); });
}

}  // namespace rlvr
