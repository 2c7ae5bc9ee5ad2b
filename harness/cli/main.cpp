// Entry point of the rlvr program: dispatches to the subcommands declared in commands.h.
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "harness/base/leftover_processes.h"
#include "harness/base/secrets.h"
#include "harness/cli/commands.h"

int main(int argc, char** argv) {
  // Before anything runs, prints or stores: every secret-looking variable's value is redacted.
  rlvr::RegisterSecretsFromEnvironment();
  // Candidate processes run as our user: without this they could read our environment (the API
  // key) from /proc/<our pid>/environ or our memory. (Root bypasses it; see README.)
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // An rlvr started by another (a pool's `rlvr evaluate`) records the process groups it runs
  // where its parent does, so a later loop can end them if both are killed.
  if (const char* dir = std::getenv(rlvr::kProcessRecordDirVariable); dir && *dir) {
    try {
      rlvr::RecordProcessGroupsIn(dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rlvr: warning: cannot record process groups in %s: %s\n", dir,
                   e.what());
    }
  }
  CLI::App app{"rlvr: let a language model optimise performance kernels, safely"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rlvr 0.1");
  rlvr::AddApplyCommand(app);
  rlvr::AddTargetsCommand(app);
  rlvr::AddEvaluateCommand(app);
  rlvr::AddBaselineCommand(app);
  rlvr::AddCalibrateCommand(app);
  rlvr::AddIterateCommand(app);
  rlvr::AddStatusCommand(app);
  rlvr::AddReportCommand(app);
  rlvr::AddInitCommand(app);
  rlvr::AddCheckCommand(app);
  rlvr::AddLoopBenchCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A command's failure: its message (if it did not print one itself) and its exit status.
    if (std::string message = e.what(); !message.empty() && message != "Runtime error")
      std::fprintf(stderr, "%s\n", message.c_str());
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlvr: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
