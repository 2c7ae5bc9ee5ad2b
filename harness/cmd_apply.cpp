// Placeholder registration for `rlvr apply` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddApplyCommand(CLI::App& app) {
  app.add_subcommand("apply", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr apply is not built yet", 2);
  });
}

}  // namespace rlvr
