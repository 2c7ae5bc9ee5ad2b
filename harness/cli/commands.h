// The rlvr subcommands. Each lives in its own cmd_*.cpp, registers its options on the CLI11 app
// and runs from its callback; the callback reports failure by throwing CLI::RuntimeError with
// the exit status the command wants (see main.cpp).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "harness/base/run_lock.h"

namespace rlvr {

void AddApplyCommand(CLI::App& app);      // apply a patch or model reply to the working tree
void AddTargetsCommand(CLI::App& app);    // list the targets of rlvr.json
void AddEvaluateCommand(CLI::App& app);   // judge one candidate; optionally promote it
void AddBaselineCommand(CLI::App& app);   // record the stored baseline of the accepted state
void AddCalibrateCommand(CLI::App& app);  // A/A and known-difference runs of the benchmark gate
void AddIterateCommand(CLI::App& app);    // the model-driven optimisation loop
void AddStatusCommand(CLI::App& app);     // show a running or finished loop from the ledger
void AddReportCommand(CLI::App& app);     // benchmark history reports (HTML + Markdown)
void AddInitCommand(CLI::App& app);       // write a starting rlvr.json for a repository
void AddCheckCommand(CLI::App& app);      // verify rlvr.json, build, binaries, filters; mutants
void AddLoopBenchCommand(CLI::App& app);  // the loop against simulated models, per strategy

// The git repository containing `directory` (walking up). Throws CLI::RuntimeError (exit status 2)
// "rlvr <command>: <directory> is not inside a git repository" when there is none.
std::filesystem::path RepoRootOrFail(const std::string& command,
                                     const std::filesystem::path& directory);

// The one place a command takes the repository lock (harness/base/run_lock.h), held while the
// result lives. Throws CLI::RuntimeError (exit status 2) naming the pid and command that hold it.
std::unique_ptr<RunLock> LockRepositoryOrFail(const std::string& command,
                                              const std::filesystem::path& root);

}  // namespace rlvr
