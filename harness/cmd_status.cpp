// Placeholder registration for `rlvr status` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddStatusCommand(CLI::App& app) {
  app.add_subcommand("status", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr status is not built yet", 2);
  });
}

}  // namespace rlvr
