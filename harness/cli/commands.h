// The rlvr subcommands. Each lives in its own cmd_*.cpp, registers its options on the CLI11 app
// and runs from its callback; the callback reports failure by throwing CLI::RuntimeError with
// the exit status the command wants (see main.cpp).
#pragma once

#include <CLI/CLI.hpp>

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

}  // namespace rlvr
