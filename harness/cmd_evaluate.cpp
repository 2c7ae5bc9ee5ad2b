// Placeholder registration for `rlvr evaluate` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddEvaluateCommand(CLI::App& app) {
  app.add_subcommand("evaluate", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr evaluate is not built yet", 2);
  });
}

}  // namespace rlvr
