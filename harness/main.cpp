// Entry point of the rlvr program: dispatches to the subcommands declared in commands.h.
#include <cstdio>
#include <exception>

#include "harness/commands.h"

int main(int argc, char** argv) {
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlvr: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
