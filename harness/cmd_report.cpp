// Placeholder registration for `rlvr report` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddReportCommand(CLI::App& app) {
  app.add_subcommand("report", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr report is not built yet", 2);
  });
}

}  // namespace rlvr
