// Placeholder registration for `rlvr targets` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddTargetsCommand(CLI::App& app) {
  app.add_subcommand("targets", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr targets is not built yet", 2);
  });
}

}  // namespace rlvr
