// Placeholder registration for `rlvr baseline` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddBaselineCommand(CLI::App& app) {
  app.add_subcommand("baseline", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr baseline is not built yet", 2);
  });
}

}  // namespace rlvr
