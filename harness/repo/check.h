// What `rlvr check` verifies before a first verdict, one report line per check (check_report.h):
// rlvr.json parses; each target's editable and context files exist at HEAD; the tools are there
// (cmake and ninja, or the build command's program; clang-format and whether a .clang-format
// exists); HEAD builds (head_build.h) and its compile_commands.json or linked programs serve the
// build gate's audits; the test and benchmark binaries answer their list flags; every filter
// (tests, alloc_tests, history_tests) selects a test; each test command passes on HEAD; the
// benchmark command prints Google Benchmark JSON; the benchmarks regex selects benchmarks; every
// primary and reference benchmark exists; the oracle repeats its output for a seed and tells a
// mutant of the editable files from HEAD (oracle_reach.h: else it does not run the target's code);
// an editable file with instruction-set #if blocks has build.portable_args.
//
// Two steps, so the command can take the repository lock between them: CheckConfig() reads
// rlvr.json, CheckHead() builds and runs. Each returns a CheckStop when the command must stop.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/repo/check_report.h"

namespace rlvr {

struct CheckOptions {
  std::vector<std::string> targets;  // names of the targets to check; empty = every target
  int jobs = 2;                      // build parallelism
  double test_timeout = 60;          // seconds per test command run and oracle run
};

// Why the checks stopped: the message for stderr and the command's exit status (1 after FAIL
// lines, 2 for a usage error such as an unknown target).
struct CheckStop {
  std::string message;
  int exit_status = 1;
};

class RepositoryCheck {
 public:
  // `root` is the top directory of a git repository. Nothing is read or run yet.
  RepositoryCheck(std::filesystem::path root, CheckOptions options);
  RepositoryCheck(const RepositoryCheck&) = delete;  // targets() points into project()
  RepositoryCheck& operator=(const RepositoryCheck&) = delete;

  // Loads rlvr.json and picks the targets: prints "ok rlvr.json: parses; target(s) ..." and
  // returns nothing, or stops: a FAIL line and {summary, 1} when rlvr.json does not load or has
  // no targets; {"rlvr check: <error>", 2} and no line when a requested target does not exist.
  // Call first, once.
  std::optional<CheckStop> CheckConfig();

  // Every other check, ending with the summary line on stdout; returns nothing when no line
  // FAILed, else {"fix the FAIL lines above, then run rlvr check again", 1}. Stops early with
  // {summary, 1} (no summary line) when HEAD cannot be read. Preconditions: CheckConfig() returned
  // nothing; the caller holds the repository lock (HEAD is built under .rlvr/, the evaluator's
  // baseline build). Call once.
  std::optional<CheckStop> CheckHead();

  // The loaded rlvr.json and the targets checked. Precondition: CheckConfig() returned nothing.
  const Project& project() const { return project_; }
  const std::vector<const Target*>& targets() const { return targets_; }

  const CheckReport& report() const { return report_; }

 private:
  std::filesystem::path root_;
  CheckOptions options_;
  CheckReport report_;
  Project project_;
  std::vector<const Target*> targets_;  // into project_.targets
};

}  // namespace rlvr
